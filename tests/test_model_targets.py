"""The paper's targets on `t3-paper`, calibration facts, DGX-H100, determinism.

The sweep runs once per module (about 5 s)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.model.dataflows import run_configs
from sim.model.experiments import (calibration_facts, h100_domino, paper_sweep, summarize,
                                   token_sensitivity)
from sim.systems import get_system
from sim.workloads import sublayer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep():
    return paper_sweep("t3-paper")


@pytest.fixture(scope="module")
def summary(sweep):
    return summarize(sweep)


@pytest.fixture(scope="module")
def fit_summary():
    return summarize(paper_sweep("t3-paper-fit"))


def test_sweep_covers_the_paper(sweep):
    assert len(sweep) == 16
    assert {(p.model, p.tp) for p in sweep} == {("mega-gpt-2", 8), ("mega-gpt-2", 16),
                                                ("t-nlg", 8), ("t-nlg", 16)}


# -- the prediction: t3-paper, HBM contention constants measured on the RTL's DRAM timing --------
@pytest.mark.parametrize("cfg,paper", [("t3", 0.20), ("ideal", 0.35)])
def test_prediction_sanity_band(summary, cfg, paper):
    """Not a fitting target: a loose band (+-10 pp) around the paper's geomean."""
    g, _ = summary[cfg]
    assert abs((g - 1) - paper) <= 0.10, f"{cfg}: model {100 * (g - 1):.1f}% vs paper {100 * paper}%"


def test_prediction_t3_mca_band(summary):
    """T3-MCA at the best measured arbiter setting per sublayer (``mca_tuning = "measured"``):
    the same loose band (the default setting alone misses it: docs/model.md)."""
    g, _ = summary["t3-mca"]
    assert abs((g - 1) - 0.30) <= 0.10, f"t3-mca: model {100 * (g - 1):.1f}% vs paper 30%"


def test_t3_mca_tuning_is_a_choice_among_measured_settings(sweep):
    """Per sublayer the tuned T3-MCA is the fastest of the runs at the measured settings, each
    with that setting's constants: never slower than the default setting (8/32) alone, and the
    setting it reports is one of contention.json's."""
    from sim.model.config import mca_variants
    from sim.model.contention import MEASURED
    from sim.model.dataflows import simulate
    sysc = get_system("t3-paper")
    fixed = sysc.with_(mca_tuning="fixed")
    settings = set(MEASURED["mca_settings"])
    assert len(mca_variants(sysc)) == len(settings) >= 2
    assert mca_variants(fixed) == [("", fixed)]
    slower = 0
    for p in sweep:
        r = p.results["t3-mca"]
        assert r.mca_setting in settings
        r0 = simulate(fixed, sublayer(p.model, p.sublayer, p.tp, 8192), "t3-mca")
        assert r0.mca_setting == ""
        assert r.time_s <= r0.time_s * (1 + 1e-12)
        slower += r.time_s < r0.time_s * (1 - 1e-6)
    assert slower > 0      # the tuning changes something


def test_prediction_bounds_on_every_sublayer(summary):
    # the ideal (with NMC's shorter RS) bounds both T3 modes, both beat sequential; T3-MCA
    # against plain T3 is a result (listed in docs/results.md), not asserted
    assert summary["bounds_ok"]


# -- the fit: t3-paper-fit, v0.1's constants chosen against the paper ------------------------------
@pytest.mark.parametrize("cfg,paper", [("t3-mca", 0.30), ("t3", 0.20), ("ideal", 0.35)])
def test_fit_within_5pp(fit_summary, cfg, paper):
    """``t3-paper-fit`` is a fit: ``interference`` was chosen against the T3 geomean."""
    g, _ = fit_summary[cfg]
    assert abs((g - 1) - paper) <= 0.05, f"{cfg}: model {100 * (g - 1):.1f}% vs paper {100 * paper}%"


def test_fit_ordering_on_every_sublayer(fit_summary):
    assert fit_summary["ordering_ok"]


def test_data_movement_reduction(summary):
    g, _ = summary["data_movement"]
    assert abs(g - 0.22) <= 0.05, f"model -{100 * g:.1f}% vs paper -22%"


def test_rs_reads_drop(summary):
    # sequential RS reads 2N-1 chunks, T3 N-2: 2.5x (N=8), 2.21x (N=16); paper: about 2.4x
    g, m = summary["rs_read_drop"]
    assert 2.2 <= g <= 2.6 and m == pytest.approx(2.5)


def test_calibration_facts():
    f = calibration_facts()
    assert abs(f["gemm_16cu_slowdown"] - 1.21) <= 0.03          # paper: 21% slower
    assert abs(f["allreduce_8cu_slowdown"] - 1.41) <= 0.03      # paper: 41% slower
    assert 1.2 <= f["gemm_with_collective_slowdown"] <= 1.8     # peers: up to 1.8x


def test_h100_domino_shapes_ring():
    # DGX-H100 driven as a one-way ring (the model's dgx-h100 before it used the switch)
    rows = h100_domino("dgx-h100-ring")
    assert set(rows) == {"op", "fc2", "fc1", "ip"}
    for sl, r in rows.items():
        assert 0.3 < r["comm_share"] < 0.95, sl
        assert 1.0 < r["domino2"] <= 1.3, sl       # within Domino's reported "up to 1.3x"
        assert r["domino_auto"] >= r["domino2"] - 1e-12, sl
        assert r["t3-mca"] > r["t3"], sl
        assert r["ideal"] >= r["t3-mca"], sl


def test_h100_domino_shapes_switch():
    # dgx-h100 (NVSwitch): T3's direct dataflow sends 7/8 of the GEMM's output as remote stores
    # during the GEMM. On the RS-bound OP sublayer that makes the GEMM link-bound, so the memory
    # arbitration cannot matter (t3 == t3-mca); elsewhere MCA helps. NMC lets T3 end a hair
    # before `ideal` (whose RS is the baseline kernel); ideal-rs-nmc bounds it to 0.5%: under
    # MCA the GEMM's own output, which now leaves as remote updates (communication class at the
    # receiver), costs the GEMM less memory queueing than its plain stores in the sequential run
    # that the ideal bounds take the GEMM time from (fc2: 540.1 vs 541.6 us). The tracker's
    # threshold is N contributions per tile and its entries live for about one tile group of the
    # GEMM, so nothing spills (the ring's T3 spills here).
    rows = h100_domino()
    for sl, r in rows.items():
        assert 1.0 < r["domino2"] <= 1.3, sl
        assert r["t3-mca"] >= r["t3"] * (1 - 1e-12) and r["t3"] > 1.0, sl
        assert r["ideal-rs-nmc"] >= r["t3-mca"] * (1 - 0.005), sl
        assert r["tracker_spills"] == 0, sl
    assert rows["op"]["t3-mca"] == pytest.approx(rows["op"]["t3"], rel=1e-9)
    assert rows["fc2"]["t3-mca"] > rows["fc2"]["t3"] * 1.05
    ring = h100_domino("dgx-h100-ring")
    assert all(ring[sl]["tracker_spills"] > 0 for sl in ring)


def test_results_move_with_tokens():
    s = token_sensitivity("t3-paper", (2048, 16384))
    assert abs(s[2048]["domino"][0] - s[16384]["domino"][0]) > 0.01
    for t in s:
        # away from the default token count t3-mca may beat `ideal` by a hair where NMC
        # shortens the RS tail (see docs/results.md); ideal-rs-nmc always bounds it
        assert s[t]["bounds_ok"], t
        assert all(gain < 0.01 for *_, gain in s[t]["t3mca_beats_ideal"]), t


def test_deterministic_in_process():
    sysc = get_system("t3-paper")
    sub = sublayer("t-nlg", "ip", 16)
    a = {c: r.to_json() for c, r in run_configs(sysc, sub).items()}
    b = {c: r.to_json() for c, r in run_configs(sysc, sub).items()}
    assert a == b                       # float equality: bit for bit


def test_deterministic_across_processes():
    cmd = [sys.executable, "-m", "sim", "run", "--model", "mega-gpt-2", "--tp", "16",
           "--sublayer", "op", "--json"]
    outs = [subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1]
    d = json.loads(outs[0])
    assert d["speedup"]["sequential"] == 1.0
