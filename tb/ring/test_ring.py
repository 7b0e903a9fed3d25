"""Launches the 4-device ring GEMM + reduce-scatter bench on Icarus Verilog and Verilator."""

import json

import pytest

from hw.dram_params import DramParams
from hw.params import T3Params
from hw.ring import T3Ring
from tb.common.runner import ROOT, SIMULATORS, run_bench

MODES = ("sequential", "domino", "t3", "t3-mca")


def run_ring(sim, out=None, memory="ideal", modes=MODES, devices=4, cfg=None, tag=None,
             dram_params=None):
    """Run the ring bench in ``modes`` on ``devices`` devices with ``memory`` ("ideal" or
    "dram", with ``dram_params``' geometry and timings: default HBM2) behind each unit; ``cfg``
    overrides the bench's workload (``ring_bench.DEFAULT``)."""
    tag = tag or ("default" if memory == "ideal" else memory)
    out = out or ROOT / "build" / "ring" / (sim if tag == "default" else f"{sim}-{tag}")
    out.parent.mkdir(parents=True, exist_ok=True)
    testcase = None if tuple(modes) == MODES else \
        [f"gemm_reduce_scatter/mode={MODES.index(m)}" for m in modes]
    env = {"T3_RING_OUT": str(out)}
    if cfg or devices != 4:
        env["T3_RING"] = dict(cfg or {}, devices=devices)
    ring = T3Ring(T3Params(), devices=devices, memory=memory, dram_params=dram_params)
    run_bench("t3_ring", ring, "tb.ring.ring_bench",
              sim, tag=tag, env=env, testcase=testcase)
    return {m: json.loads(open(f"{out}.{m}.json").read()) for m in modes}


#: The small ring of the Icarus run on DRAM timing (the 4-device one takes minutes there).
SMALL_DRAM = dict(tiles=2, beats=4, reads=2, compute=8, slices=2)
#: The DRAM of the Verilator run: HBM2 timings on 4 banks of 16 columns (interleave 8, queues of
#: 4) instead of 16 banks of 32 with queues of 8, so two of them build in a fraction of the time.
#: The Icarus run keeps the HBM2 geometry; ``make scale`` and ``make validate`` run it at scale.
SMALL_GEOMETRY = DramParams(banks=4, cols=16, interleave=8, max_burst=8, queue_depth=4,
                            read_buffer=12, age_cap=4 * 4 * 8)


def check_ring(res):
    seq = res["sequential"]
    for mode in ("t3", "t3-mca"):
        assert res[mode]["cycles"] < seq["cycles"], f"{mode} must beat sequential"
        traffic = res[mode]["mem_reads"] + res[mode]["mem_writes"]
        assert traffic < seq["mem_reads"] + seq["mem_writes"], f"{mode} must move less data"


@pytest.mark.parametrize("sim, memory", [("icarus", "ideal"),
                                         pytest.param("verilator", "dram", marks=pytest.mark.heavy(70))])
def test_ring(sim, memory):
    """Every mode, on the ideal memory (Icarus, 4 devices) and on DRAM timing (Verilator, 2
    devices on the small geometry :data:`SMALL_GEOMETRY`: the build of the DRAM models is most
    of the cost; the 4-device ring on HBM2 DRAM timing runs at scale in ``make scale`` and
    ``make validate``). The bench checks exact sums on every
    device; T3 and T3-MCA must beat sequential and move less data. The same 4-device run on
    Verilator is ``tests/test_validate.py::test_model_matches_rtl``'s "base" scenario (the
    bench's defaults, on this build), which makes the same two checks, compares the run with
    the cycle-level model, and runs T3 once more with the paper's step 1
    (``check_direct_step1``)."""
    if memory == "dram":
        check_ring(run_ring(sim, memory=memory, devices=2, tag="dram2-b4",
                            dram_params=SMALL_GEOMETRY))
    else:
        check_ring(run_ring(sim, memory=memory))


def check_direct_step1(stored, direct):
    """The paper's step 1 (the GEMM sends the chunk it originates straight to the neighbour as
    remote updates) against storing it and sending it by DMA: exact sums in both (the bench
    checks them); per device, the chunk's ``tiles x beats`` local writes and DMA reads are
    saved, and nothing else changes: the same link beats (one packet per tile either way) and
    the same traffic at the receivers."""
    cfg = stored["config"]
    chunk = cfg["devices"] * cfg["tiles"] * cfg["beats"]
    assert stored["mem_writes"] - direct["mem_writes"] == chunk
    assert stored["mem_reads"] - direct["mem_reads"] == chunk
    assert stored["counters"]["rd_beats_comm"] - direct["counters"]["rd_beats_comm"] == chunk
    assert direct["link_beats"] == stored["link_beats"]
    assert direct["counters"]["updates_applied"] == stored["counters"]["updates_applied"]


def test_ring_dram_small_icarus():
    """Every mode on DRAM timing on Icarus, on a 2-device ring with 2 tiles of 4 beats."""
    check_ring(run_ring("icarus", memory="dram", devices=2, cfg=SMALL_DRAM, tag="dram-small"))


@pytest.mark.parametrize("sim", [pytest.param(s, marks=pytest.mark.heavy(90)) if s == "verilator" else s
                                 for s in SIMULATORS])
def test_bf16_determinism(sim):
    """tb/ring/determinism_bench.py: a 3-device bf16 ring, the arrival order at every hop chosen
    per round; the reduced chunks are bit-identical across rounds and equal the bf16 reference."""
    from hw.params import LaneType
    run_bench("t3_ring", T3Ring(T3Params(lane=LaneType.BF16), devices=3),
              "tb.ring.determinism_bench", sim, tag="bf16x3")
