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


def _row(scenario="ring4_64", mode="t3", rtl=1000, fluid=1000, cl=1000, **kw):
    r = {"scenario": scenario, "mode": mode, "rtl": rtl, "fluid": fluid,
         "error": (fluid - rtl) / rtl, "cl": cl, "cl_error": None if cl is None else (cl - rtl) / rtl,
         "rtl_mem": 10, "cl_mem": 10, "fluid_mem": 10, "mem_equal": True, "rtl_link": 5,
         "cl_link": 5, "fluid_link": 5, "link_equal": True, "checksum_ok": True}
    r.update(kw)
    return r


def test_validate_verdict_is_strict():
    """``make validate``'s exit status (tools/validate_scale.py): every bound is checked, a known
    fluid miss is tolerated only while it misses, and an unknown one fails."""
    from tools.validate_scale import verdict
    known = {("ring4_64_dram", "t3"): "reason"}
    assert verdict([_row()], known) == ([], [])
    # each bound on its own
    for bad in (_row(fluid=1101), _row(cl=1051), _row(checksum_ok=False),
                _row(mem_equal=False), _row(link_equal=False)):
        unexpected, fixed = verdict([bad], known)
        assert len(unexpected) == 1 and not fixed, (bad, unexpected)
    # a known miss: tolerated while it misses (its CL bound still holds), an error once inside
    assert verdict([_row("ring4_64_dram", fluid=800)], known) == ([], [])
    assert len(verdict([_row("ring4_64_dram", fluid=800, cl=1100)], known)[0]) == 1
    unexpected, fixed = verdict([_row("ring4_64_dram", fluid=950)], known)
    assert not unexpected and len(fixed) == 1 and "KNOWN_MISSES" in fixed[0]
    # the same miss under another mode is not known
    assert len(verdict([_row("ring4_64_dram", "t3-mca", fluid=800)], known)[0]) == 1
