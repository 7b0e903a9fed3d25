"""The cycle-level model and the fluid engine against the RTL at scale, small instance
(``make validate``: the whole set, ``tools/validate_scale.py``).

``ring4_64`` (4 devices x 64 tiles x 32 beats, ideal memory) runs on the RTL ring with the RTL
producers (bare Verilator harness of ``make scale``, checksums checked), on the cycle-level model
(:mod:`sim.xval.scale_model`; two modes, Domino (sliced software reduce-scatter) and T3, to keep
the test short) and on the fluid engine given the RTL platform (:mod:`sim.model.rtl`). Required:
CL cycles within 5 %, fluid cycles within 10 %, memory and link beat counts equal. The fluid
comparison with a wrong platform (twice the memory's grants per cycle) must fail its bound, so
the check can fail; the CL model's own can-fail checks are in ``tests/test_scale_model.py``."""
from dataclasses import replace

import pytest


from sim import scale as sc
from sim.model import rtl as fluid
from sim.xval.scale_model import model_scale
from tools.validate_scale import BOUND, CL_BOUND, compare, run_rtl


@pytest.mark.heavy(110)
def test_levels_match_rtl_at_scale():
    """One test, so that one xdist worker runs the RTL once (a module fixture shared by several
    tests ran on both workers: ``--dist loadgroup`` does not keep them together here)."""
    s = sc.load_all(names=["ring4_64"])[0]
    rows = run_rtl(s, jobs=1, timeout=600)
    for r in rows:
        assert r["checksum_ok"], f"{r['mode']}: {sc.status(r)}"
    check_fluid(s, rows)
    check_wrong_platform_fails(s, rows)
    check_cl(s, rows)


def check_fluid(s, rows):
    for r in compare(s, rows, cl=False):
        assert abs(r["error"]) <= BOUND, (
            f"{r['mode']}: fluid {r['fluid']:.0f} vs RTL {r['rtl']} cycles ({100 * r['error']:+.1f}%)")
        assert r["mem_equal"], f"{r['mode']}: memory beats {r['fluid_mem']} vs RTL {r['rtl_mem']}"
        assert r["link_equal"], f"{r['mode']}: link beats {r['fluid_link']} vs RTL {r['rtl_link']}"


def check_wrong_platform_fails(s, rows):
    t3 = next(r for r in rows if r["mode"] == "t3")
    wrong = replace(fluid.RtlPlatform.from_scenario(s), capacity=2.0)
    f = fluid.simulate(s, "t3", wrong)
    assert abs(f["cycles"] - t3["cycles"]) / t3["cycles"] > BOUND


def check_cl(s, rows):
    for r in rows:
        if r["mode"] not in ("domino", "t3"):
            continue
        c = model_scale(s, r["mode"])
        err = (c["cycles"] - r["cycles"]) / r["cycles"]
        assert abs(err) <= CL_BOUND, (
            f"{r['mode']}: CL {c['cycles']} vs RTL {r['cycles']} cycles ({100 * err:+.2f}%)")
        for k in ("mem_reads", "mem_writes", "link_beats"):
            assert c[k] == r[k], f"{r['mode']}: {k} CL {c[k]} vs RTL {r[k]}"
