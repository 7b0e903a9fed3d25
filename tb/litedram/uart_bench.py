"""cocotb bench: the FPGA prototype's core on LiteDRAM + SDRAM model (or block RAM), reached only
through its UART, by the host driver the board uses (``host.board``, as ``tools/fpga_host.py``).

cocotbext-uart's ``UartSource``/``UartSink`` are the host's serial port. Over them:

1. both ID registers;
2. ``T3Board.traffic``: the traffic generator's STORE run and its UPDATE run (read + add + write
   in the unit's NMC), every beat read back through the memory window and compared with
   ``hw.trafficgen.reference`` (and the lane-wise sum);
3. ``T3Board.demo``: the single-board ring (tracked STOREs armed with DMA commands, each tile
   sent over the looped-back link, one notification per delivered tile), sources and
   destination read back; then the same as remote UPDATEs of a destination the host pre-filled
   through the window (one reduce-scatter step), destination = pattern + source.

A :class:`~host.board.DataError` (a beat that differs) or a wrong counter fails the bench. The
cycle counts (the generator's ``CYCLES`` register) go to ``T3_BOARD_OUT`` as JSON.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, First, RisingEdge, Timer
from cocotbext.uart import UartSink, UartSource

from host.board import Bridge, T3Board
from hw import regmap
from hw.params import Kind, T3Params
from hw.trafficgen import TG_ID
from tb.common.bench import CLOCK_NS, bench_env, start_clock_reset


class CocotbPort:
    """The serial port of :class:`host.board.Bridge` on cocotbext-uart: ``write`` queues bytes on
    the source; ``read(n)`` waits for ``n`` bytes from the sink (what it has after
    ``timeout_ns`` of silence otherwise, which the bridge reports as a timeout)."""

    def __init__(self, source, sink, timeout_ns):
        self.source, self.sink, self.timeout_ns = source, sink, timeout_ns

    async def write(self, data):
        await self.source.write(data)

    async def read(self, n):
        while self.sink.count() < n:
            before = self.sink.count()
            self.sink.sync.clear()           # set by the sink at each byte
            await First(self.sink.sync.wait(), Timer(self.timeout_ns, "ns"))
            if self.sink.count() == before:
                break
        return bytes(self.sink.read_nowait(min(n, self.sink.count())))


@cocotb.test(timeout_time=1200, timeout_unit="sec")
async def board_over_uart(dut):
    cfg = bench_env("T3_BOARD", {"divisor": 8, "tiles": 2, "beats": 8, "dma_tiles": 2,
                                 "dma_beats": 8, "addr_width": 12})
    p = T3Params(addr_width=cfg["addr_width"])
    baud = 1e9 / (CLOCK_NS * cfg["divisor"])
    source = UartSource(dut.uart_rx, baud=baud)
    sink = UartSink(dut.uart_tx, baud=baud)
    for log in (source.log, sink.log):
        log.setLevel("WARNING")
    await start_clock_reset(dut)
    init = 0
    while not dut.init_done.value:
        await RisingEdge(dut.clk)
        init += 1
    await ClockCycles(dut.clk, p.tracker_entries + 8)          # the tracker's reset sweep
    # a byte takes 10 bits; the longest wait is a CMD write held until the memory answers
    board = T3Board(Bridge(CocotbPort(source, sink, 200_000 * CLOCK_NS)), p)
    assert await board.check_ids() == (regmap.ID_VALUE, TG_ID)

    t0 = cocotb.utils.get_sim_time("ns")
    out = {"init_cycles": init}
    out["traffic"] = await board.traffic(tiles=cfg["tiles"], beats=cfg["beats"])
    n = cfg["tiles"] * cfg["beats"]
    assert out["traffic"]["store_beats"] == out["traffic"]["update_beats"] == n
    assert out["traffic"]["store_checked"] == out["traffic"]["update_checked"] == n
    dt, db = cfg["dma_tiles"], cfg["dma_beats"]
    for k, (label, op) in enumerate((("demo_store", Kind.STORE), ("demo_update", Kind.UPDATE))):
        res = await board.demo(tiles=dt, beats=db, first=2 * dt * k, op=op, seed=0x3C3C_0000 + k)
        assert res["notifications"] == dt and res["ERR"] == 0 and res["DONE"] == 1, res
        # the unit's counters run on from the earlier demo
        assert res["CNT_FIRES"] == 2 * dt * (k + 1), res
        assert res["CNT_DMA_COMMANDS"] == dt * (k + 1), res
        assert res["checked_beats"] == 2 * dt * db, res
        out[label] = res
    out["sim_cycles"] = int((cocotb.utils.get_sim_time("ns") - t0) / CLOCK_NS)
    dut._log.info(json.dumps(out))
    path = os.environ.get("T3_BOARD_OUT")
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
