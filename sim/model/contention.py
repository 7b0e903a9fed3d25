"""HBM contention constants of the GPU model, **measured** on the RTL's DRAM timing.

The fluid engine's :class:`~sim.model.engine.MemoryController` charges a mix of compute and
communication traffic with five numbers. Until v0.2 they were chosen against the T3 paper's
results (``interference``) or assumed (the other four). They now come from two measurements of
the project's own hardware models:

1. ``tools/interference.py`` (``make bench``, memory section): the RTL unit (arbiter, memory
   port) in front of the DRAM timing model ``hw/dram.py`` (one HBM2 pseudo-channel, DRAMsim3's
   ``HBM2_8Gb_x128`` timing, an 8-deep FR-FCFS queue), under Verilator. A memory-bound compute
   stream (*bound*: a request every cycle) and a GEMM-like one (*gemm*: 16 reads, 16 cycles of
   math, 8 stores per tile) run alone and beside a communication stream of one DMA read and one
   incoming NMC update per link beat. The points used are at **100 % of the link rate**: the T3
   paper's GPU ratio, 75 GB/s one way against 1 TB/s of HBM (0.075 beat per memory cycle).
   The unit and the DRAM model are reset between runs, so every run starts from the same state.
2. :func:`sim.model.dram_curve.gemm_tile` on the DRAM reference (``sim/ref/dram.py``, checked
   cycle by cycle against ``hw/dram.py``): a stream of 32-beat tiles written with stores, then with
   updates (a read and a write of each beat).

Derivation (:func:`derive`), with ``C`` compute requests per cycle, ``M`` communication requests
per cycle (2 per link beat), ``S`` a compute stream's slowdown:

* ``interference = (C_alone - C_rr) / M_rr`` on the bound stream, round-robin (compute requests
  displaced per communication request; the engine's FR-FCFS cost multiplier);
* ``mca_interference`` the same under T3-MCA (threshold 8, starvation limit 32, the default
  setting :data:`MCA_DEFAULT`; :func:`derive_mca_settings` gives the three T3-MCA constants at
  every measured setting, ``mca_settings`` in the JSON, which ``mca_tuning = "measured"``
  systems try per sublayer);
* ``mca_leak = ((S_mca - 1) / M_mca) / ((S_rr - 1) / M_rr)`` on the gemm stream: the slowdown per
  communication request compute feels under T3-MCA, relative to round-robin;
* ``mca_starvation_share = mca_interference * M_mca / C_alone`` on the bound stream: the share of
  the memory the communication still takes while compute saturates it (the starvation floor);
* ``nmc_cost``: the memory time of an update tile over a store tile (set-up cycles removed).

**Scaling to a GPU's HBM.** A GPU interleaves consecutive addresses over every pseudo-channel of
every stack, so each pseudo-channel sees the same mix of streams at the same fraction of its
bandwidth; the five numbers are ratios (of requests, of slowdowns, of times), so they carry over
unchanged from one pseudo-channel to the whole HBM, provided the link-to-HBM bandwidth ratio is
the one measured (0.075: the T3 paper's GPU). The rule assumes HBM2 timing (the V100-class GPU of
the paper) and ignores what one pseudo-channel cannot show: many more concurrent streams,
cross-channel refresh, the NoC. T3-MCA's numbers are those of *this* RTL's arbiter (occupancy of
the memory port's outstanding requests against the threshold), not a GPU memory controller's.

``python -m sim.model.contention [--from build/bench/interference.json] [--write]`` prints (and
writes) ``sim/model/contention.json``; :data:`MEASURED` holds it; ``tests/test_model_contention.py``
checks the derivation and the DRAM-reference part against a fresh measurement.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["derive", "derive_mca_settings", "measure_nmc", "MEASURED", "CONSTANTS",
           "SOURCE_RUNS", "MCA_DEFAULT", "MCA_CONSTANTS"]

_FILE = Path(__file__).with_name("contention.json")
#: the runs of tools/interference.py the constants are derived from
SOURCE_RUNS = ("bound alone", "bound rr@100%", "bound mca8/32@100%", "gemm alone",
               "gemm rr@100%", "gemm mca8/32@100%")
CONSTANTS = ("interference", "mca_interference", "mca_leak", "mca_starvation_share", "nmc_cost")
#: the T3-MCA setting (threshold/starvation limit) of the system defaults
MCA_DEFAULT = "8/32"
#: the constants that depend on the T3-MCA setting
MCA_CONSTANTS = ("mca_interference", "mca_leak", "mca_starvation_share")


def measure_nmc():
    """Cycles of four 32-beat tiles of stores and of updates on the DRAM reference."""
    from .dram_curve import gemm_tile
    outs = [0, 32, 64, 96, 128]
    return {"store_tile": gemm_tile(0, 1, 32, [0] * 5, outs, False),
            "update_tile": gemm_tile(0, 1, 32, [0] * 5, outs, True)}


def derive(runs: dict, tiles: dict, mca: str = MCA_DEFAULT) -> dict:
    """The five constants from the named runs (``{name: run}``, DRAM memory) and the tiles;
    the T3-MCA ones at the setting ``mca`` (``"threshold/starvation"``)."""
    def req(r):
        return r["compute_rate"], 2 * r["link_rate"]
    need = [n.replace(f"mca{MCA_DEFAULT}@", f"mca{mca}@") for n in SOURCE_RUNS]
    missing = [n for n in need if n not in runs]
    if missing:
        raise ValueError(f"runs: missing {', '.join(missing)}")
    c0, _ = req(runs["bound alone"])
    c_rr, m_rr = req(runs["bound rr@100%"])
    c_mca, m_mca = req(runs[f"bound mca{mca}@100%"])
    s_rr, s_mca = runs["gemm rr@100%"]["slowdown"], runs[f"gemm mca{mca}@100%"]["slowdown"]
    _, gm_rr = req(runs["gemm rr@100%"])
    _, gm_mca = req(runs[f"gemm mca{mca}@100%"])
    k_rr = (c0 - c_rr) / m_rr
    k_mca = (c0 - c_mca) / m_mca
    leak = ((s_mca - 1) / gm_mca) / ((s_rr - 1) / gm_rr)
    setup = 2                          # set-up and one compute cycle per tile of gemm_tile
    return {
        "interference": round(max(k_rr, 1.0), 3),
        "mca_interference": round(max(k_mca, 1.0), 3),
        "mca_leak": round(min(max(leak, 0.0), 1.0), 3),
        "mca_starvation_share": round(min(k_mca * m_mca / c0, 1.0), 3),
        "nmc_cost": round((tiles["update_tile"] - setup) / (tiles["store_tile"] - setup), 3),
    }


def setting_key(m: str) -> tuple[int, ...]:
    """Sort key of a T3-MCA setting ``"threshold/starvation"``: by threshold, then limit."""
    return tuple(int(x) for x in m.split("/"))


def mca_settings(runs: dict) -> list[str]:
    """The T3-MCA settings (``"threshold/starvation"``) with both streams measured at 100 %."""
    found = [n[len("bound mca"):-len("@100%")] for n in runs
             if n.startswith("bound mca") and n.endswith("@100%")]
    return sorted((m for m in found if f"gemm mca{m}@100%" in runs), key=setting_key)


def derive_mca_settings(runs: dict, tiles: dict) -> dict:
    """``{setting: {mca_interference, mca_leak, mca_starvation_share}}`` for every measured
    T3-MCA setting, each by :func:`derive`'s formulas."""
    return {m: {k: v for k, v in derive(runs, tiles, m).items() if k in MCA_CONSTANTS}
            for m in mca_settings(runs)}


def build(source: Path) -> dict:
    data = json.loads(Path(source).read_text())
    keep = {n for n in SOURCE_RUNS if " mca" not in n}      # the T3-MCA runs: every setting's
    runs = {r["name"]: {k: r[k] for k in ("compute_rate", "link_rate", "slowdown", "k",
                                             "link_rate_offered", "policy")}
            for r in data["runs"] if r.get("memory") == "dram"
            and (r["name"] in keep or (r["policy"] == "t3-mca" and r["name"].endswith("@100%")))}
    tiles = measure_nmc()
    return {"source": "tools/interference.py (RTL unit + hw/dram.py, Verilator) and "
                      "sim.model.dram_curve.gemm_tile (sim/ref/dram.py)",
            "work": data.get("work"), "runs": runs, "tiles": tiles,
            "constants": derive(runs, tiles),
            "mca_settings": derive_mca_settings(runs, tiles)}


def _load():
    return json.loads(_FILE.read_text()) if _FILE.exists() else None


#: the committed measurement (``sim/model/contention.json``)
MEASURED = _load()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="src", type=Path,
                    default=Path(__file__).resolve().parents[2] / "build" / "bench"
                    / "interference.json", help="tools/interference.py's JSON (make bench)")
    ap.add_argument("--write", action="store_true", help="write sim/model/contention.json")
    a = ap.parse_args(argv)
    r = build(a.src)
    text = json.dumps(r, indent=1, sort_keys=True) + "\n"
    if a.write:
        _FILE.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
