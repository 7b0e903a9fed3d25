"""DRAM efficiency measurement on :class:`hw.dram.DramModel` (driven by ``tools/dram_bench.py``).

Each cocotb test drives one traffic pattern through cocotbext-axi's ``AxiMaster`` with no stalls
(``rready``/``bready`` always high, requests issued as fast as the model accepts them) and
records: data beats moved (R plus W), the cycles from the first request to the last response,
and the mean scheduler-queue occupancy (how full the model was kept: near ``queue_depth`` means
the driver was not the bottleneck). Results go to the JSON file named by ``DRAM_EFF_OUT``.
"""

import json
import logging
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiMaster

from hw.dram_params import DramParams, Scheduler
from tb.common.bench import CLOCK_NS, bench_env, start_clock_reset

OUT = os.environ.get("DRAM_EFF_OUT")
CFG = dict(bench_env("DRAM_PARAMS", {}))
if "scheduler" in CFG:
    CFG["scheduler"] = Scheduler(CFG["scheduler"])
P = DramParams(**CFG)
BEATS = int(os.environ.get("DRAM_EFF_BEATS", "16384"))
RESULTS = {}

#: pattern name -> (description, list of (kind, beat address, beats))


def patterns():
    n, cap, row_span = P.max_burst, P.capacity, P.banks * P.cols
    rng = random.Random(11)
    count = BEATS // n
    seq = [(k * n) % cap for k in range(count)]
    # 50/50: reads in banks [0, banks/2), writes at the same rows and columns in the other half of
    # the banks, so the pattern costs read/write turnarounds, not row conflicts
    def lower_half(k):
        chunk, col = divmod(k * n, P.cols)
        bank, row = chunk % (P.banks // 2), chunk // (P.banks // 2) % P.rows
        return row * row_span + bank * P.cols + col
    other_half = (P.banks // 2) * P.cols
    two = []
    for k in range(count // 2):
        a = (k * n) % (row_span * (P.rows // 2))
        two += [a, a + row_span * (P.rows // 2)]         # same bank, row + rows/2
    rnd_n = 2
    return {
        "sequential reads": [("R", a, n) for a in seq],
        "sequential writes": [("W", a, n) for a in seq],
        "random reads": [("R", rng.randrange(cap // rnd_n) * rnd_n, rnd_n)
                         for _ in range(BEATS // rnd_n // 2)],
        "reads+writes 50/50": [(("R", lower_half(k // 2), n) if k % 2 == 0 else
                                ("W", lower_half(k // 2) + other_half, n)) for k in range(count)],
        "two streams, same banks, different rows": [("R", a, n) for a in two],
    }


async def run_pattern(dut, name, reqs):
    axi = AxiMaster(AxiBus.from_prefix(dut, "s_axi_"), dut.clk, dut.rst)
    for log in (axi.write_if.log, axi.read_if.log):
        log.setLevel(logging.WARNING)
    await start_clock_reset(dut)
    occ = {"sum": 0, "cycles": 0, "run": True}

    async def sample():
        while occ["run"]:
            await RisingEdge(dut.clk)
            await ReadOnly()
            occ["sum"] += int(dut.occupancy.value)
            occ["cycles"] += 1

    cocotb.start_soon(sample())
    t0 = get_sim_time("ns")
    payload = bytes(range(256)) * (P.max_burst * P.beat_bytes // 256 + 1)
    events = []
    for k, (kind, beat, n) in enumerate(reqs):
        ident = k % (1 << P.id_width)
        if kind == "R":
            events.append(axi.init_read(beat * P.beat_bytes, n * P.beat_bytes, arid=ident))
        else:
            events.append(axi.init_write(beat * P.beat_bytes, payload[:n * P.beat_bytes],
                                         awid=ident))
    for ev in events:
        await ev.wait()
    t1 = get_sim_time("ns")
    occ["run"] = False
    for ev in events:
        assert int(ev.data.resp) == 0, f"{name}: error response"
    beats = sum(n for _, _, n in reqs)
    cycles = round((t1 - t0) / CLOCK_NS)
    RESULTS[name] = dict(beats=beats, cycles=cycles, efficiency=beats / cycles,
                         requests=len(reqs), mean_occupancy=occ["sum"] / max(1, occ["cycles"]))
    dut._log.info("%s: %d beats in %d cycles, efficiency %.3f", name, beats, cycles,
                  beats / cycles)
    if OUT:
        with open(OUT, "w") as f:
            json.dump(RESULTS, f, indent=1)


PATTERNS = patterns()


@cocotb.test(timeout_time=2000, timeout_unit="ms")
@cocotb.parametrize(name=list(PATTERNS))
async def test_efficiency(dut, name):
    await run_pattern(dut, name, PATTERNS[name])
