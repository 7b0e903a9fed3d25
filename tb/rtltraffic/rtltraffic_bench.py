"""cocotb bench: T3Core fed by the RTL traffic generator. Python programs registers and then only
waits, so the simulator runs free: this measures simulation speed with RTL-generated traffic.

Two phases: a checked run (tiles armed with DMA commands that loop back to the same unit as
updates and notifications: every tile must fire and notify), then a long untracked store
stream for the speed figure."""

import json
import os
import time

import cocotb
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from hw.params import Kind, T3Params
from hw.trafficgen import TG_REGS
from tb.common.bench import bench_env, start_clock_reset
from tb.common.t3 import CsrDriver


async def tg_write(tg, name, value):
    resp = await tg.write(TG_REGS[name], value.to_bytes(4, "little"))
    assert resp.resp == 0, f"traffic generator {name}: {resp.resp}"


async def tg_run(dut, tg, *, tiles, beats, gap, tracked, chunk=2000):
    await tg_write(tg, "NUM_TILES", tiles)
    await tg_write(tg, "BEATS", beats)
    await tg_write(tg, "FIRST_TILE", 0)
    await tg_write(tg, "BASE_ADDR", 0)
    await tg_write(tg, "GAP", gap)
    await tg_write(tg, "MODE", (int(tracked) << 3) | (1 << 2))    # store, counter, interleaved
    t0 = time.perf_counter()
    await tg_write(tg, "CTRL", 1)
    cycles = 0
    await ClockCycles(dut.clk, 4)
    while not dut.tg_done.value:
        await ClockCycles(dut.clk, chunk)
        cycles += chunk
    return cycles, time.perf_counter() - t0


@cocotb.test(timeout_time=600, timeout_unit="sec")
async def rtl_traffic(dut):
    cfg = bench_env("T3_RTLTRAFFIC", {"tiles": 32, "beats": 8, "speed_cycles": 200000})
    p = T3Params()
    await start_clock_reset(dut)
    await ClockCycles(dut.clk, p.tracker_entries + 4)
    tg = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "tg_s_axil"), dut.clk, dut.rst)
    csr = CsrDriver(dut, "u_s_axil", dut.clk, dut.rst)
    await csr.configure(dev_id=0)
    tiles, beats = cfg["tiles"], cfg["beats"]
    for t in range(tiles):
        assert await csr.program(t, src_addr=t * beats, length=beats, dst_dev=0,
                                 dst_addr=2048 + t * beats, tile=128 + t, op=Kind.UPDATE) == 0
        assert await csr.program(128 + t, src_addr=0, length=0, dst_dev=0, dst_addr=0, tile=0) == 0
        assert await csr.arm(t, beats) == 0
        assert await csr.arm(128 + t, beats) == 0
    await tg_run(dut, tg, tiles=tiles, beats=beats, gap=2, tracked=True, chunk=100)
    for _ in range(100):
        if await csr.read("CNT_NOTIFICATIONS") == tiles:
            break
        await ClockCycles(dut.clk, 50)
    cnt = await csr.counters()
    assert cnt["notifications"] == tiles and cnt["fires"] == 2 * tiles
    assert cnt["updates_applied"] == tiles * beats
    assert await csr.read("ERR") == 0
    # Speed: a long untracked store stream, Python idle.
    speed_beats = 64
    speed_tiles = max(1, cfg["speed_cycles"] // speed_beats)
    cycles, wall = await tg_run(dut, tg, tiles=speed_tiles, beats=speed_beats, gap=0,
                                tracked=False)
    out = os.environ.get("T3_RTLTRAFFIC_OUT")
    if out:
        with open(out, "w") as f:
            json.dump({"cycles": cycles, "seconds": wall, "cycles_per_s": cycles / wall,
                       "requests": speed_tiles * speed_beats}, f, indent=2)
    dut._log.info(f"{cycles} cycles in {wall:.2f} s = {cycles / wall:.0f} cycles/s")
