"""UART <-> AXI4-Lite bridge: bytes driven into rx, answers decoded from tx, a random-delay AXI slave."""

import random
import struct

import pytest
from amaranth.sim import Simulator

from hw.uart_bridge import UartBridge, UartRx, UartTx

SLVERR = 2
ERR_BASE = 0xF000          # the test slave answers SLVERR at and above this address


class Serial:
    """Bit-level host side of the UART: a sender and a decoder, at ``bit`` cycles per bit."""

    def __init__(self, rx, tx, bit):
        self.rx, self.tx, self.bit = rx, tx, bit
        self.received = []
        self.frame_errors = 0

    async def send(self, ctx, data, *, bad_stop=False):
        for byte in data:
            bits = [0] + [(byte >> i) & 1 for i in range(8)] + [0 if bad_stop else 1]
            for b in bits:
                ctx.set(self.rx, b)
                await ctx.tick().repeat(self.bit)
            ctx.set(self.rx, 1)

    async def decoder(self, ctx):
        """Background: decode every frame on tx (sampling in the middle of each bit)."""
        t = None                     # cycles since the start edge of the current frame
        byte = 0
        while True:
            *_, line = await ctx.tick().sample(self.tx)
            if t is None:
                if line == 0:
                    t, byte = 0, 0
                continue
            t += 1
            mid, pos = divmod(t - self.bit // 2, self.bit)
            if pos != 0 or mid < 0:
                continue
            if mid == 0:
                assert line == 0, "start bit too short"
            elif mid <= 8:
                byte |= line << (mid - 1)
            else:
                self.frame_errors += line != 1
                self.received.append(byte)
                t = None

    async def answer(self, ctx, n, limit=100_000):
        for _ in range(limit):
            if len(self.received) >= n:
                out = bytes(self.received[:n])
                del self.received[:n]
                return out
            await ctx.tick()
        raise AssertionError(f"no answer ({len(self.received)} of {n} bytes)")


class AxiSlave:
    """Background AXI4-Lite slave with random ready/valid delays and a word memory."""

    def __init__(self, dut, seed, stall):
        self.dut, self.rng, self.stall = dut, random.Random(seed), stall
        self.mem = {}
        self.writes = []         # (addr, data, strb) in order

    def _go(self):
        return self.rng.random() >= self.stall

    async def run(self, ctx):
        d = self.dut
        aw = w = b = ar = r = None
        while True:
            awr, wr = aw is None and self._go(), w is None and self._go()
            arr = ar is None and r is None and self._go()
            ctx.set(d.m_axil_awready, awr)
            ctx.set(d.m_axil_wready, wr)
            ctx.set(d.m_axil_arready, arr)
            ctx.set(d.m_axil_bvalid, b is not None)
            ctx.set(d.m_axil_bresp, b or 0)
            ctx.set(d.m_axil_rvalid, r is not None)
            ctx.set(d.m_axil_rdata, r[0] if r else 0)
            ctx.set(d.m_axil_rresp, r[1] if r else 0)
            *_, awv, awaddr, wv, wdata, wstrb, bready, arv, araddr, rready = await ctx.tick().sample(
                d.m_axil_awvalid, d.m_axil_awaddr, d.m_axil_wvalid, d.m_axil_wdata,
                d.m_axil_wstrb, d.m_axil_bready, d.m_axil_arvalid, d.m_axil_araddr,
                d.m_axil_rready)
            if awr and awv:
                aw = awaddr
            if wr and wv:
                w = (wdata, wstrb)
            if b is not None and bready:
                b = None
            if aw is not None and w is not None and b is None and self._go():
                self.writes.append((aw, *w))
                if aw >= ERR_BASE:
                    b = SLVERR
                else:
                    self.mem[aw] = w[0]
                    b = 0
                aw = w = None
            if arr and arv:
                ar = araddr
            if r is not None and rready:
                r = None
            if ar is not None and r is None and self._go():
                r = (self.mem.get(ar, 0), SLVERR) if ar >= ERR_BASE else (self.mem.get(ar, 0), 0)
                ar = None


def simulate(dut, host, *background):
    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(host)
    for bg in background:
        sim.add_testbench(bg, background=True)
    sim.run()


async def cmd_write(ctx, ser, addr, value):
    await ser.send(ctx, b"W" + struct.pack(">HI", addr, value))
    return await ser.answer(ctx, 1)


async def cmd_read(ctx, ser, addr):
    await ser.send(ctx, b"R" + struct.pack(">H", addr))
    ans = await ser.answer(ctx, 5)
    return struct.unpack(">I", ans[:4])[0], ans[4:]


@pytest.mark.parametrize("divisor,stall", [(5, 0.0), (8, 0.6)])
def test_round_trip(divisor, stall):
    dut = UartBridge(divisor, timeout=40 * divisor)
    ser = Serial(dut.rx, dut.tx, divisor)
    slave = AxiSlave(dut, seed=divisor, stall=stall)
    rng = random.Random(divisor)

    async def host(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        model = {}
        for _ in range(8):
            addr = rng.randrange(0, 0x100) * 4 + rng.choice([0, 0x1000, 0xF000])
            if rng.random() < 0.6:
                value = rng.getrandbits(32)
                ans = await cmd_write(ctx, ser, addr, value)
                if addr >= ERR_BASE:
                    assert ans == b"E"
                else:
                    assert ans == b"K"
                    model[addr] = value
                assert slave.writes[-1] == (addr, value, 0xF)
            else:
                value, status = await cmd_read(ctx, ser, addr)
                assert status == (b"E" if addr >= ERR_BASE else b"K")
                if addr < ERR_BASE:
                    assert value == model.get(addr, 0)
        # read back everything written
        for addr, value in model.items():
            assert await cmd_read(ctx, ser, addr) == (value, b"K")
        assert ser.frame_errors == 0

    simulate(dut, host, ser.decoder, slave.run)


def test_unknown_byte_timeout_and_frame_error():
    divisor = 4
    dut = UartBridge(divisor, timeout=30 * divisor)
    ser = Serial(dut.rx, dut.tx, divisor)
    slave = AxiSlave(dut, seed=1, stall=0.3)
    events = {"err_rx": 0, "err_resp": 0}

    async def count(ctx):
        async for _, _, er, ep in ctx.tick().sample(dut.err_rx, dut.err_resp):
            events["err_rx"] += er
            events["err_resp"] += ep

    async def host(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        await ser.send(ctx, b"x")
        assert await ser.answer(ctx, 1) == b"?"
        # A partial command is dropped after the timeout, silently ...
        await ser.send(ctx, b"W\x00\x10")
        await ctx.tick().repeat(40 * divisor)
        assert ser.received == []
        # ... and the next command is parsed from its first byte.
        assert await cmd_write(ctx, ser, 0x10, 0x12345678) == b"K"
        assert slave.writes == [(0x10, 0x12345678, 0xF)]
        # A byte with a low stop bit is dropped and flagged; the line recovers.
        await ser.send(ctx, b"R", bad_stop=True)
        await ctx.tick().repeat(20 * divisor)
        assert events["err_rx"] == 1 and ser.received == []
        assert await cmd_read(ctx, ser, 0x10) == (0x12345678, b"K")
        assert await cmd_write(ctx, ser, ERR_BASE, 1) == b"E"
        assert events["err_resp"] == 1

    simulate(dut, host, ser.decoder, slave.run, count)


def test_uart_rx_tx_loop():
    """UartTx's frames decoded by UartRx (both at the same divisor), random bytes and pauses."""
    from amaranth.hdl import Module

    divisor = 6
    m = Module()
    m.submodules.tx = tx = UartTx(divisor)
    m.submodules.rx = rx = UartRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    rng = random.Random(3)
    data = [rng.getrandbits(8) for _ in range(12)]
    got = []

    async def producer(ctx):
        for byte in data:
            ctx.set(tx.data.payload, byte)
            ctx.set(tx.data.valid, 1)
            await ctx.tick().until(tx.data.ready)
            ctx.set(tx.data.valid, 0)
            for _ in range(rng.randrange(3)):
                await ctx.tick()

    async def consumer(ctx):
        while len(got) < len(data):
            ctx.set(rx.data.ready, rng.random() < 0.5)
            *_, v, r, p = await ctx.tick().sample(rx.data.valid, rx.data.ready, rx.data.payload)
            if v and r:
                got.append(p)
        assert got == data

    sim = Simulator(m)
    sim.add_clock(1e-9)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(consumer)
    sim.run()
    assert tx.signature.members["tx"].init == 1


def test_bad_params():
    with pytest.raises(ValueError, match="divisor"):
        UartBridge(2)
    with pytest.raises(TypeError, match="divisor"):
        UartRx(4.5)
    with pytest.raises(ValueError, match="addr_width"):
        UartBridge(8, addr_width=17)
    with pytest.raises(ValueError, match="timeout"):
        UartBridge(8, timeout=10)
