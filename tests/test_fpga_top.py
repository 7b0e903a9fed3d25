"""FPGA prototype core: over the UART, program the T3 unit and the traffic generator, run, see done."""

import struct
import sys
from pathlib import Path

import pytest
from amaranth.sim import Simulator

sys.path.insert(0, str(Path(__file__).parent))
from test_uart_bridge import Serial  # noqa: E402

from hw import regmap  # noqa: E402
from hw.fpga_top import TG_BASE, UNIT_BASE, AxilDecoder, FpgaCore, FpgaTop  # noqa: E402
from hw.params import Kind, T3Params  # noqa: E402
from hw.trafficgen import TG_ID, TG_REGS  # noqa: E402

P = T3Params(tracker_entries=16, addr_width=8, mem_latency=2)
DIV = 4


class Host:
    """The host side: the byte protocol of docs/fpga.md on top of the bit-level Serial."""

    def __init__(self, ser):
        self.ser = ser
        self.map = regmap.build(P)

    async def write(self, ctx, addr, value):
        await self.ser.send(ctx, b"W" + struct.pack(">HI", addr, value))
        return await self.ser.answer(ctx, 1)

    async def read(self, ctx, addr):
        await self.ser.send(ctx, b"R" + struct.pack(">H", addr))
        ans = await self.ser.answer(ctx, 5)
        return struct.unpack(">I", ans[:4])[0], ans[4:]

    async def reg(self, ctx, name, **fields):
        r = self.map[name]
        assert await self.write(ctx, UNIT_BASE + r.offset, r.encode(**fields)) == b"K", name

    async def get(self, ctx, name):
        value, status = await self.read(ctx, UNIT_BASE + self.map[name].offset)
        assert status == b"K", name
        return value

    async def tg(self, ctx, name, value):
        assert await self.write(ctx, TG_BASE + TG_REGS[name], value) == b"K", name


def test_program_and_run_over_uart():
    dut = FpgaCore(P, divisor=DIV, heartbeat_bit=4)
    ser = Serial(dut.uart_rx, dut.uart_tx, DIV)
    host = Host(ser)
    tiles, beats, first, dst_first = 2, 4, 5, 9

    async def bench(ctx):
        ctx.set(dut.uart_rx, 1)
        await ctx.tick().repeat(P.tracker_entries + 8)        # tracker sweep after reset
        # Both windows answer, the rest is DECERR ('E').
        assert await host.read(ctx, UNIT_BASE) == (regmap.ID_VALUE, b"K")
        assert await host.read(ctx, TG_BASE + TG_REGS["ID"]) == (TG_ID, b"K")
        assert (await host.read(ctx, 0x2000))[1] == b"E"
        assert await host.write(ctx, 0x2000, 0) == b"E"
        assert ctx.get(dut.leds) & 0b1000, "bridge error LED"
        # T3: enable, a DMA command per produced tile (to this device, counted against tile
        # dst_first + i) and a notification for each destination tile; arm them all.
        await host.reg(ctx, "CTRL", enable=1, irq_enable=1, dev_id=0)
        for i in range(tiles):
            await host.reg(ctx, "CMD_SRC_ADDR", value=16 + i * beats)
            await host.reg(ctx, "CMD_DST_ADDR", value=128 + i * beats)
            await host.reg(ctx, "CMD_LEN_OP_DEV", length=beats, op=Kind.STORE, dst_dev=0)
            await host.reg(ctx, "CMD_TILE", value=dst_first + i)
            await host.reg(ctx, "CMD_COMMIT", index=first + i, valid=1)
            await host.reg(ctx, "CMD_LEN_OP_DEV", length=0, op=Kind.STORE, dst_dev=0)
            await host.reg(ctx, "CMD_COMMIT", index=dst_first + i, valid=1)
            await host.reg(ctx, "ARM", tile=first + i, threshold=beats)
            await host.reg(ctx, "ARM", tile=dst_first + i, threshold=beats)
        # The producer: tiles 5 and 6, 4 tracked stores each at 16..23, interleaved.
        for name, value in (("NUM_TILES", tiles), ("BEATS", beats), ("FIRST_TILE", first),
                            ("BASE_ADDR", 16), ("GAP", 2), ("MODE", 0b1100), ("SEED", 1000)):
            await host.tg(ctx, name, value)
        assert ctx.get(dut.leds) & 0b11 == 0
        await host.tg(ctx, "CTRL", 1)
        status, _ = await host.read(ctx, TG_BASE + TG_REGS["STATUS"])
        assert status == 0b10, "done"
        assert (await host.read(ctx, TG_BASE + TG_REGS["BEATS_SENT"]))[0] == tiles * beats
        # The notifications arrive once the tiles went round the link.
        for _ in range(20):
            if await host.get(ctx, "CNT_NOTIFICATIONS") == tiles:
                break
        else:
            raise AssertionError("no notification")
        assert await host.get(ctx, "DONE") == 1
        assert await host.get(ctx, "ERR") == 0
        assert await host.get(ctx, "CNT_FIRES") == 2 * tiles
        assert await host.get(ctx, "CNT_TRACKED_BEATS") == 2 * tiles * beats
        assert await host.get(ctx, "CNT_LINK_TX_BEATS") == tiles * (beats + 1)
        assert await host.get(ctx, "CNT_LINK_RX_BEATS") == tiles * (beats + 1)
        assert await host.get(ctx, "CNT_WR_BEATS_COMPUTE") == tiles * beats
        leds = ctx.get(dut.leds)
        assert leds & 0b1 and leds & 0b100 and leds & 0b100_0000, f"leds {leds:08b}"
        # W1C DONE drops irq.
        await host.reg(ctx, "DONE", value=1)
        assert not ctx.get(dut.leds) & 0b100

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(bench)
    sim.add_testbench(ser.decoder, background=True)
    sim.run()


def test_decoder_routes_and_decerr():
    """Each window reaches its own slave with the offset inside the window; others get DECERR."""
    dut = AxilDecoder(16, 12, 2)
    seen = []

    def slave_proc(i):
        async def proc(ctx):
            pre = f"m{i}_axil_"
            g = lambda n: getattr(dut, pre + n)   # noqa: E731
            ctx.set(g("awready"), 1)
            ctx.set(g("wready"), 1)
            ctx.set(g("arready"), 1)
            while True:
                *_, awv, awaddr, wdata, arv, araddr = await ctx.tick().sample(
                    g("awvalid"), g("awaddr"), g("wdata"), g("arvalid"), g("araddr"))
                if awv:
                    seen.append(("w", i, awaddr, wdata))
                    ctx.set(g("bvalid"), 1)
                    ctx.set(g("bresp"), i)           # slave i answers resp i (to tell them apart)
                    await ctx.tick().until(g("bready"))
                    ctx.set(g("bvalid"), 0)
                if arv:
                    seen.append(("r", i, araddr))
                    ctx.set(g("rvalid"), 1)
                    ctx.set(g("rdata"), 0x100 + i)
                    await ctx.tick().until(g("rready"))
                    ctx.set(g("rvalid"), 0)
        return proc

    async def master(ctx):
        async def write(addr, data):
            ctx.set(dut.s_axil_awaddr, addr)
            ctx.set(dut.s_axil_wdata, data)
            ctx.set(dut.s_axil_awvalid, 1)
            ctx.set(dut.s_axil_wvalid, 1)
            await ctx.tick().until(dut.s_axil_awready)
            ctx.set(dut.s_axil_awvalid, 0)
            ctx.set(dut.s_axil_wvalid, 0)
            ctx.set(dut.s_axil_bready, 1)
            resp, = await ctx.tick().sample(dut.s_axil_bresp).until(dut.s_axil_bvalid)
            ctx.set(dut.s_axil_bready, 0)
            return resp

        async def read(addr):
            ctx.set(dut.s_axil_araddr, addr)
            ctx.set(dut.s_axil_arvalid, 1)
            await ctx.tick().until(dut.s_axil_arready)
            ctx.set(dut.s_axil_arvalid, 0)
            ctx.set(dut.s_axil_rready, 1)
            out = await ctx.tick().sample(dut.s_axil_rdata, dut.s_axil_rresp).until(dut.s_axil_rvalid)
            ctx.set(dut.s_axil_rready, 0)
            return tuple(out)

        assert await write(0x0ABC, 1) == 0
        assert await write(0x1ABC, 2) == 1
        assert await write(0x2000, 3) == 3
        assert await write(0xFFFC, 4) == 3
        assert await read(0x0010) == (0x100, 0)
        assert await read(0x1FFC) == (0x101, 0)
        assert await read(0x3000) == (0, 3)
        assert seen == [("w", 0, 0xABC, 1), ("w", 1, 0xABC, 2), ("r", 0, 0x010), ("r", 1, 0xFFC)]

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(master)
    for i in range(2):
        sim.add_testbench(slave_proc(i), background=True)
    sim.run()


def test_bad_params():
    with pytest.raises(ValueError, match="n_slaves"):
        AxilDecoder(16, 12, 17)
    with pytest.raises(ValueError, match="slave_addr_width"):
        AxilDecoder(12, 12, 1)
    with pytest.raises(TypeError, match="params"):
        FpgaCore("x")
    with pytest.raises(ValueError, match="divisor"):
        FpgaCore(P, divisor=1)
    with pytest.raises(ValueError, match="baud"):
        FpgaTop(P, baud=0)
