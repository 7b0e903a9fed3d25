"""The scale path at a small size, on both simulators: Icarus through the cocotb bench (Python
programs the registers and waits on ``done``), Verilator through the bare C++ harness of
``make scale``. Every device's checksum must equal the one computed from the data definition."""

import json

import pytest

from sim import scale as sc
from tb.common.runner import ROOT, run_bench

SMALL = {
    "devices": 3, "tiles": 2, "beats": 4, "reads": 2, "compute": 4, "slices": 2,
    "memory": {"latency": 4}, "link": {"latency": 8, "bandwidth": [1, 1]},
    "policy": {"mca_threshold": 4, "mca_starvation": 32},
    "hardware": {"data_width": 64, "addr_width": 7, "tracker_entries": 16, "len_width": 8,
                 "input_window": 16, "seed": 7},
}


#: The Verilator run: the same small workload on the hardware set of ``ring4_64`` (4 devices, its
#: memory, tracker, link), so that it shares the harness build of tests/test_validate_scale.py
#: (``tools.scale.build`` keys builds by ``ScaleScenario.hw_tag``).
SMALL_V = {**SMALL, "devices": 4,
           "hardware": {**SMALL["hardware"], "addr_width": 15, "tracker_entries": 512}}


def _check(res, spec=SMALL):
    for mode in sc.MODES:
        r = res[mode]
        assert r["checksum_ok"], f"{mode}: {sc.status(r)}"
    seq = res["sequential"]
    for mode in ("t3", "t3-mca"):
        assert res[mode]["cycles"] < seq["cycles"], f"{mode} must beat sequential"
        assert res[mode]["mem_reads"] + res[mode]["mem_writes"] < \
            seq["mem_reads"] + seq["mem_writes"], f"{mode} must move less data"
    # the reduction kernel ran only in the software modes, the GEMM wrote every tile once
    s = sc.from_dict(spec, "small")
    for mode in sc.MODES:
        prod = res[mode]["producer"]
        assert sum(p["GEMM_WR"] for p in prod) == s.devices * s.region
        red = sum(p["RED_WR"] for p in prod)
        want = s.devices * (s.devices - 1) * s.tiles * s.beats if mode in ("sequential", "domino") else 0
        assert red == want, f"{mode}: {red} reduction writes, want {want}"


def test_scale_icarus():
    from tb.scale.top import ScaleTop
    s = sc.from_dict(SMALL, "small")
    out = ROOT / "build" / "scale" / "icarus" / "small"
    out.parent.mkdir(parents=True, exist_ok=True)
    for f in out.parent.glob("small*.json"):     # no result of an earlier run is read
        f.unlink()
    run_bench("scale_top", ScaleTop(s.params, devices=s.devices, link_latency=s.link_latency),
              "tb.scale.scale_bench", "icarus", tag="small",
              env={"T3_SCALE": {"scenario": SMALL, "name": "small", "direct_modes": ["t3"]},
                   "T3_SCALE_OUT": str(out)})
    res = {m: json.loads(open(f"{out}.{m}.json").read()) for m in sc.MODES}
    _check(res)
    # the paper's step 1 (the producers' remote packets), T3, in the same simulator session
    _check_direct(res["t3"], json.loads(open(f"{out}_direct.t3.json").read()),
                  sc.from_dict({**SMALL, "direct": True}, "small_direct"))


def test_scale_verilator():
    import tools.scale as ts
    s = sc.from_dict(SMALL_V, "small")
    assert s.hw_tag == sc.load_all(names=["ring4_64"])[0].hw_tag, "the shared build"
    exe = ts.build(s)
    res = {m: ts.run(s, m, exe) for m in sc.MODES}
    _check(res, SMALL_V)
    # the check can fail: the same run against another seed's expectation does not match
    other = sc.from_dict({**SMALL_V, "hardware": {**SMALL_V["hardware"], "seed": 8}}, "small")
    raw = json.loads((exe.parent.parent / "runs" / "small.t3.json").read_text())
    assert not sc.summarize(other, "t3", raw)["checksum_ok"]
    # the paper's step 1 (scenario direct, the producers' remote packets) on the same build
    d = sc.from_dict({**SMALL_V, "direct": True}, "small_direct")
    for mode in ("t3", "t3-mca"):
        r = ts.run(d, mode, exe)
        _check_direct(res[mode], r, d)
        _check_cl(d, mode, r)
    _check_skews(s, exe, res)


def _check_skews(s, exe, lockstep):
    """Start skews (``tools/scale.py --skew-seed``): the harness starts device ``g``
    ``start_skews(s, seed)[g]`` cycles late, and the cycle-level model given the same skews
    gives the RTL's cycles and beat counts exactly (as it does at the lockstep start, 40 of 40
    runs in ``docs/validation-scale.md``); the lockstep model does not."""
    import tools.scale as ts
    from sim.xval.scale_model import model_scale
    for seed in (1, 2):
        r = ts.run(s, "t3", exe, skew_seed=seed)
        assert r["checksum_ok"], sc.status(r)
        assert r["skews"] == list(sc.start_skews(s, seed)) and any(r["skews"])
        c = model_scale(s, "t3", skew_seed=seed)
        assert c["cycles"] == r["cycles"], f"seed {seed}: CL {c['cycles']} vs RTL {r['cycles']}"
        for k in ("mem_reads", "mem_writes", "link_beats"):
            assert c[k] == r[k], f"seed {seed}: {k} CL {c[k]} vs RTL {r[k]}"
        # per device, each from its own start: a skew moves the devices' work against each other
        got = [p["CYC_TOTAL"] for p in r["producer"]]
        assert got == [p["CYC_TOTAL"] for p in c["producer"]]
        assert got != [p["CYC_TOTAL"] for p in lockstep["t3"]["producer"]], \
            f"seed {seed}: the skewed run's per-device cycles equal the lockstep run's"


def _check_cl(s, mode, rtl):
    """The cycle-level model of the scale ring (its remote packets and the unit's link merge)
    on the same run: cycles within ``make validate``'s bound, the same beat counts."""
    from sim.xval.scale_model import model_scale
    from tools.validate_scale import CL_BOUND
    c = model_scale(s, mode)
    assert abs(c["cycles"] - rtl["cycles"]) <= CL_BOUND * rtl["cycles"], \
        f"{mode}: CL {c['cycles']} vs RTL {rtl['cycles']} cycles"
    for k in ("mem_reads", "mem_writes", "link_beats"):
        assert c[k] == rtl[k], f"{mode}: {k} CL {c[k]} vs RTL {rtl[k]}"


def _check_direct(stored, direct, s):
    """Exact sums with the paper's step 1; per device the chunk it originates is neither
    written locally nor read back by the DMA (``tiles x beats`` each), one packet per tile on
    the link either way (the same link beats), the same updates applied at the receivers."""
    assert direct["checksum_ok"], sc.status(direct)
    chunk = s.devices * s.tiles * s.beats
    tot = lambda r, k: sum(u[k] for u in r["unit"])          # noqa: E731
    assert stored["mem_writes"] - direct["mem_writes"] == chunk
    assert stored["mem_reads"] - direct["mem_reads"] == chunk
    assert tot(stored, "CNT_RD_BEATS_COMM") - tot(direct, "CNT_RD_BEATS_COMM") == chunk
    assert tot(stored, "CNT_WR_BEATS_COMPUTE") - tot(direct, "CNT_WR_BEATS_COMPUTE") == chunk
    assert direct["link_beats"] == stored["link_beats"]
    assert tot(direct, "CNT_UPDATES_APPLIED") == tot(stored, "CNT_UPDATES_APPLIED")
    assert [p["GEMM_RMT"] for p in direct["producer"]] == [s.tiles * (1 + s.beats)] * s.devices
