"""Launches the 4-device ring GEMM + reduce-scatter bench on Icarus Verilog and Verilator."""

import json

import pytest

from hw.params import T3Params
from hw.ring import T3Ring
from tb.common.runner import ROOT, SIMULATORS, run_bench

MODES = ("sequential", "domino", "t3", "t3-mca")


def run_ring(sim, out=None, memory="ideal", modes=MODES):
    """Run the ring bench in ``modes`` with ``memory`` ("ideal" or "dram") behind each unit."""
    out = out or ROOT / "build" / "ring" / (sim if memory == "ideal" else f"{sim}-{memory}")
    out.parent.mkdir(parents=True, exist_ok=True)
    testcase = None if tuple(modes) == MODES else \
        [f"gemm_reduce_scatter/mode={MODES.index(m)}" for m in modes]
    run_bench("t3_ring", T3Ring(T3Params(), memory=memory), "tb.ring.ring_bench", sim,
              tag="default" if memory == "ideal" else memory, env={"T3_RING_OUT": str(out)},
              testcase=testcase)
    return {m: json.loads(open(f"{out}.{m}.json").read()) for m in modes}


#: Modes run on the DRAM timing model. Domino is left out: on the DRAM ring its run did not end
#: (more than 10 minutes, against 10 s for sequential); not yet root-caused (bench protocol race
#: or a memory-side deadlock), see the project's open issues.
DRAM_MODES = ("sequential", "t3", "t3-mca")


@pytest.mark.parametrize("sim, memory", [("icarus", "ideal"), ("verilator", "ideal"),
                                         ("verilator", "dram")])
def test_ring(sim, memory):
    """Every mode on the ideal memory (both simulators); sequential, T3 and T3-MCA on DRAM
    timing (Verilator). The bench checks exact sums on every device; T3 and T3-MCA must beat
    sequential and move less data."""
    res = run_ring(sim, memory=memory, modes=MODES if memory == "ideal" else DRAM_MODES)
    seq = res["sequential"]
    for mode in ("t3", "t3-mca"):
        assert res[mode]["cycles"] < seq["cycles"], f"{mode} must beat sequential"
        traffic = res[mode]["mem_reads"] + res[mode]["mem_writes"]
        assert traffic < seq["mem_reads"] + seq["mem_writes"], f"{mode} must move less data"


@pytest.mark.parametrize("sim", SIMULATORS)
def test_bf16_determinism(sim):
    """tb/ring/determinism_bench.py: a 3-device bf16 ring, the arrival order at every hop chosen
    per round; the reduced chunks are bit-identical across rounds and equal the bf16 reference."""
    from hw.params import LaneType
    run_bench("t3_ring", T3Ring(T3Params(lane=LaneType.BF16), devices=3),
              "tb.ring.determinism_bench", sim, tag="bf16x3")
