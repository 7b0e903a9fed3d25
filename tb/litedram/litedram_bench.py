"""cocotb bench: the T3 unit on LiteDRAM + SDRAM model (or on block RAM, for comparison).

Python writes registers and then waits while the RTL traffic generator runs; the memory's
contents are checked with exact data through the top's back-door AXI4 port (the same memory
controller the unit uses), against references written from the specification of each step:

1. ``burst``: the back door writes and reads back a 512-beat region in 256-beat INCR bursts
   (the controller streaming on its own).
2. ``store``: the generator writes ``tiles x beats`` counter-valued beats (untracked STOREs);
   every beat must hold ``SEED + n`` in each 32-bit lane.
3. ``update``: the generator UPDATEs the same beats (read, add, write in the unit's NMC); each
   beat must be the sum, lane by lane modulo 2**32, of the two runs' values.
4. ``dma``: the FPGA demo's sequence on a ring of one device: tracked STOREs of tiles armed with
   DMA commands that send each tile over the looped-back link as an UPDATE of a destination
   region (pre-filled with a known pattern through the back door); the destination must be
   pattern + source, every tile must fire and notify.

For each run the generator's ``CYCLES`` register (cycles until its last request was accepted by
the unit) gives cycles per beat; they go to ``T3_LITEDRAM_OUT`` as JSON.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiMaster

from hw.params import Kind, T3Params
from host.board import lanes_add
from hw.trafficgen import TG_REGS, reference
from tb.common.bench import bench_env, start_clock_reset
from tb.common.t3 import CsrDriver

BEAT_BYTES = 8
LANES = 2          # 32-bit lanes of a beat
MASK32 = 0xFFFF_FFFF


def pattern(addr):
    """Known pre-fill of a destination beat: distinct per address and per lane."""
    return ((0x5A000000 + 2 * addr) & MASK32) | ((((0xA5000000 + 2 * addr + 1) & MASK32)) << 32)


async def bd_write(bd, addr, beats):
    await bd.write(addr * BEAT_BYTES, b"".join(v.to_bytes(BEAT_BYTES, "little") for v in beats))


async def bd_read(bd, addr, n):
    data = (await bd.read(addr * BEAT_BYTES, n * BEAT_BYTES)).data
    return [int.from_bytes(data[i:i + BEAT_BYTES], "little") for i in range(0, len(data),
                                                                             BEAT_BYTES)]


async def tg_write(tg, name, value):
    resp = await tg.write(TG_REGS[name], value.to_bytes(4, "little"))
    assert resp.resp == 0, f"traffic generator {name}: {resp.resp}"


async def tg_read(tg, name):
    return int.from_bytes((await tg.read(TG_REGS[name], 4)).data, "little")


async def tg_run(dut, tg, *, tiles, beats, base=0, op=0, tracked=False, seed=0, order=0):
    for name, value in (("NUM_TILES", tiles), ("BEATS", beats), ("FIRST_TILE", 0),
                        ("BASE_ADDR", base), ("GAP", 0), ("SEED", seed),
                        ("MODE", (int(tracked) << 3) | (order << 2) | op)):
        await tg_write(tg, name, value)
    await tg_write(tg, "CTRL", 1)
    await ClockCycles(dut.clk, 4)
    while not dut.tg_done.value:
        await ClockCycles(dut.clk, 64)
    assert await tg_read(tg, "BEATS_SENT") == tiles * beats
    return await tg_read(tg, "CYCLES")


async def idle(dut, quiet=64):
    """Wait until the unit has had no AXI4 transaction in flight for ``quiet`` cycles (an
    UPDATE's write follows its read by a few cycles), so the back door may take the memory."""
    calm = 0
    while calm < quiet:
        await RisingEdge(dut.clk)
        calm = calm + 1 if int(dut.unit_pending.value) == 0 else 0


@cocotb.test(timeout_time=900, timeout_unit="sec")
async def litedram_traffic(dut):
    cfg = bench_env("T3_LITEDRAM", {"tiles": 8, "beats": 32, "dma_tiles": 4, "dma_beats": 16})
    p = T3Params()
    dut.bd_sel.value = 0
    await start_clock_reset(dut)
    init = 0
    while not dut.init_done.value:
        await RisingEdge(dut.clk)
        init += 1
    dut._log.info(f"memory ready {init} cycles after reset")
    await ClockCycles(dut.clk, p.tracker_entries + 4)
    tg = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "tg_s_axil"), dut.clk, dut.rst)
    csr = CsrDriver(dut, "u_s_axil", dut.clk, dut.rst)
    bd = AxiMaster(AxiBus.from_prefix(dut, "bd_axi_"), dut.clk, dut.rst)
    for log in (bd.write_if.log, bd.read_if.log, tg.write_if.log, tg.read_if.log):
        log.setLevel("WARNING")
    out = {"init_cycles": init}

    # 1. back-door bursts --------------------------------------------------------------------
    dut.bd_sel.value = 1
    n = 512
    data = [pattern(3000 + i) ^ (i << 20) for i in range(n)]
    t0 = cocotb.utils.get_sim_time("ns")
    await bd_write(bd, 1024, data)
    t1 = cocotb.utils.get_sim_time("ns")
    got = await bd_read(bd, 1024, n)
    t2 = cocotb.utils.get_sim_time("ns")
    assert got == data, "burst read-back differs"
    period = 10  # ns, tb.common.bench's clock
    out["burst_write_cycles_per_beat"] = (t1 - t0) / period / n
    out["burst_read_cycles_per_beat"] = (t2 - t1) / period / n
    dut.bd_sel.value = 0

    # 2. STOREs from the generator ------------------------------------------------------------
    await csr.configure(dev_id=0)
    tiles, beats = cfg["tiles"], cfg["beats"]
    nbeats = tiles * beats
    seed1, seed2 = 0x1000, 0x7777_0000
    cyc = await tg_run(dut, tg, tiles=tiles, beats=beats, seed=seed1)
    out["store_beats"], out["store_cycles"] = nbeats, cyc
    await idle(dut)
    dut.bd_sel.value = 1
    want = [r["data"] for r in reference(p, num_tiles=tiles, beats=beats, seed=seed1)]
    got = await bd_read(bd, 0, nbeats)
    bad = [i for i in range(nbeats) if got[i] != want[i]]
    assert not bad, f"{len(bad)} stored beats differ, first at {bad[0]}: {got[bad[0]]:#x}"
    dut.bd_sel.value = 0

    # 3. UPDATEs (read + add + write) from the generator ---------------------------------------
    cyc = await tg_run(dut, tg, tiles=tiles, beats=beats, op=1, seed=seed2)
    out["update_beats"], out["update_cycles"] = nbeats, cyc
    await idle(dut)
    dut.bd_sel.value = 1
    upd = [r["data"] for r in reference(p, num_tiles=tiles, beats=beats, seed=seed2, op=1)]
    want = [lanes_add(a, b, LANES) for a, b in zip(want, upd)]
    got = await bd_read(bd, 0, nbeats)
    bad = [i for i in range(nbeats) if got[i] != want[i]]
    assert not bad, f"{len(bad)} updated beats differ, first at {bad[0]}: {got[bad[0]]:#x}"

    # 4. the demo: tracked STOREs, DMA over the looped-back link as UPDATEs --------------------
    dt, db = cfg["dma_tiles"], cfg["dma_beats"]
    src, dst = 256, 2048
    await bd_write(bd, dst, [pattern(dst + i) for i in range(dt * db)])
    dut.bd_sel.value = 0
    for t in range(dt):
        assert await csr.program(t, src_addr=src + t * db, length=db, dst_dev=0,
                                 dst_addr=dst + t * db, tile=128 + t, op=Kind.UPDATE) == 0
        assert await csr.program(128 + t, src_addr=0, length=0, dst_dev=0, dst_addr=0,
                                 tile=0) == 0
        assert await csr.arm(t, db) == 0
        assert await csr.arm(128 + t, db) == 0
    seed3 = 0x3C3C_0000
    cyc = await tg_run(dut, tg, tiles=dt, beats=db, base=src, tracked=True, seed=seed3)
    for _ in range(400):
        if await csr.read("CNT_NOTIFICATIONS") == dt:
            break
        await ClockCycles(dut.clk, 100)
    cnt = await csr.counters()
    assert cnt["notifications"] == dt and cnt["fires"] == 2 * dt, cnt
    assert cnt["updates_applied"] == nbeats + dt * db, cnt
    assert await csr.read("ERR") == 0
    await idle(dut)
    dut.bd_sel.value = 1
    srcv = [r["data"] for r in reference(p, num_tiles=dt, beats=db, seed=seed3)]
    got = await bd_read(bd, src, dt * db)
    assert got == srcv, "DMA source tiles differ"
    got = await bd_read(bd, dst, dt * db)
    want = [lanes_add(pattern(dst + i), srcv[i], LANES) for i in range(dt * db)]
    bad = [i for i in range(dt * db) if got[i] != want[i]]
    assert not bad, f"{len(bad)} destination beats differ, first at {bad[0]}: {got[bad[0]]:#x}"
    dut.bd_sel.value = 0
    out["dma_beats"], out["dma_store_cycles"] = dt * db, cyc

    for k in ("store", "update"):
        out[f"{k}_cycles_per_beat"] = out[f"{k}_cycles"] / out[f"{k}_beats"]
    dut._log.info(json.dumps(out))
    path = os.environ.get("T3_LITEDRAM_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
