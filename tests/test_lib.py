"""The interface library hw/lib: Queue and SkidBuffer against independent references, and the
signatures' parameter checks."""

import random

import pytest
from amaranth.hdl import Elaboratable, Fragment, Module
from amaranth.lib import data
from amaranth.lib.fifo import SyncFIFO, SyncFIFOBuffered

from hw.lib.queue import Queue
from tests.simutil import run_sim


class _Pair(Elaboratable):
    """A Queue and the Amaranth FIFO it must match, fed the same inputs."""

    def __init__(self, depth, buffered):
        self.q = Queue(8, depth, buffered=buffered)
        self.f = (SyncFIFOBuffered if buffered else SyncFIFO)(width=8, depth=depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.q, m.submodules.f = self.q, self.f
        m.d.comb += [self.f.w_en.eq(self.q.w.valid), self.f.w_data.eq(self.q.w.payload),
                     self.f.r_en.eq(self.q.r.ready)]
        return m


@pytest.mark.parametrize("buffered,depth", [(False, 1), (False, 2), (False, 3), (False, 4),
                                            (True, 2), (True, 3), (True, 4), (True, 5)])
def test_queue_matches_amaranth_fifo_cycle_by_cycle(buffered, depth):
    rng = random.Random(depth * 2 + buffered)
    pair = _Pair(depth, buffered)
    q, f = pair.q, pair.f
    seen = []

    async def bench(ctx):
        for cycle in range(300):
            burst = (cycle // 40) % 3        # phases: fill, drain, mixed
            ctx.set(q.w.valid, rng.random() < (0.9, 0.1, 0.5)[burst])
            ctx.set(q.w.payload, rng.randrange(256))
            ctx.set(q.r.ready, rng.random() < (0.1, 0.9, 0.5)[burst])
            got = (ctx.get(q.w.ready), ctx.get(q.r.valid), ctx.get(q.level))
            want = (ctx.get(f.w_rdy), ctx.get(f.r_rdy), ctx.get(f.level))
            assert got == want, f"cycle {cycle}: queue {got}, fifo {want}"
            if want[1]:
                assert ctx.get(q.r.payload) == ctx.get(f.r_data), f"cycle {cycle}"
                if ctx.get(q.r.ready):
                    seen.append(ctx.get(q.r.payload))
            await ctx.tick()

    run_sim(pair, bench, name=f"queue_{buffered}_{depth}")
    assert len(seen) > 30          # the stimulus did move data through


@pytest.mark.parametrize("buffered", [False, True])
def test_queue_write_to_read_latency(buffered):
    """An entry written into the empty queue in cycle 0 is on ``r`` (valid) in cycle
    ``Queue.write_to_read(buffered)``: 1 (``SyncFIFO``), 2 (``SyncFIFOBuffered``)."""
    q = Queue(8, 3, buffered=buffered)
    seen = {}

    async def bench(ctx):
        await ctx.tick().repeat(2)
        ctx.set(q.w.payload, 0x5A)
        ctx.set(q.w.valid, 1)
        await ctx.tick()                 # written in cycle 0
        ctx.set(q.w.valid, 0)
        for cycle in range(1, 5):
            if ctx.get(q.r.valid) and "r" not in seen:
                seen["r"] = cycle
                assert ctx.get(q.r.payload) == 0x5A
            await ctx.tick()

    run_sim(q, bench, name=f"queue_latency_{buffered}")
    assert seen["r"] == Queue.write_to_read(buffered) == (2 if buffered else 1)


def test_queue_checks_its_parameters():
    with pytest.raises(TypeError, match="depth must be an integer"):
        Queue(8, "4")
    with pytest.raises(ValueError, match="depth must be >= 2 for a buffered queue"):
        Queue(8, 1, buffered=True)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        Queue(8, 0)
    with pytest.raises(TypeError, match="shape must be shape-castable"):
        Queue("x", 2)


def test_queue_payload_has_the_layout():
    lay = data.StructLayout({"a": 3, "b": 5})
    q = Queue(lay, 2)
    Fragment.get(q, None)
    assert q.r.payload.shape() == lay and q.w.payload.shape() == lay


def test_skid_buffer_against_a_two_entry_queue_model():
    """Reference from the spec: a queue of at most two transfers; ``i.ready`` = fewer than two held,
    ``o`` shows the oldest; a transfer accepted in cycle c is visible from c+1."""
    from hw.lib.skid import SkidBuffer
    rng = random.Random(7)
    dut = SkidBuffer(8)
    held, moved = [], []

    async def bench(ctx):
        nonlocal held
        for cycle in range(400):
            phase = (cycle // 50) % 3
            v = rng.random() < 0.7
            r = rng.random() < (0.9, 0.2, 0.5)[phase]
            data = rng.randrange(256)
            ctx.set(dut.i.valid, v)
            ctx.set(dut.i.payload, data)
            ctx.set(dut.o.ready, r)
            assert ctx.get(dut.i.ready) == (len(held) < 2), f"cycle {cycle}"
            assert ctx.get(dut.o.valid) == (len(held) > 0), f"cycle {cycle}"
            if held:
                assert ctx.get(dut.o.payload) == held[0], f"cycle {cycle}"
            nxt = list(held)
            if held and r:
                moved.append(nxt.pop(0))
            if v and len(held) < 2:
                nxt.append(data)
            held = nxt
            await ctx.tick()

    run_sim(dut, bench, name="skid")
    assert len(moved) > 150


def test_skid_buffer_checks_its_shape():
    from hw.lib.skid import SkidBuffer
    with pytest.raises(TypeError, match="shape must be shape-castable"):
        SkidBuffer("x")


def test_axi4lite_signature_and_flat_members():
    from amaranth.lib.wiring import In, Out
    from hw.lib.axil import AXI4LiteSignature, axil_members
    sig = AXI4LiteSignature(12)
    # AMBA AXI4-Lite: the master drives addresses, write data/strobes, valids of A/W, and the
    # readys of B/R; the slave the rest
    assert sig.members["awaddr"] == Out(12) and sig.members["wstrb"] == Out(4)
    assert sig.members["bresp"] == In(2) and sig.members["rready"] == Out(1)
    slave = axil_members("s_axil", 12)
    assert slave["s_axil_awaddr"] == In(12) and slave["s_axil_rdata"] == Out(32)
    assert axil_members("m", 8, master=True)["m_awready"] == In(1)
    assert len(slave) == 19
    with pytest.raises(ValueError, match="data_width must be 32 or 64"):
        AXI4LiteSignature(12, 16)
    with pytest.raises(TypeError, match="addr_width must be an integer"):
        AXI4LiteSignature("12")


def test_axi_stream_signature_members():
    from hw.lib.axis import AXIStreamSignature
    s = AXIStreamSignature(64, dest_width=2, user_width=5)
    assert set(s.members) == {"tdata", "tvalid", "tready", "tlast", "tdest", "tuser"}
    assert AXIStreamSignature(64, dest_width=2, user_width=5) == s != AXIStreamSignature(64)
    assert "tkeep" in AXIStreamSignature(32, keep=True).members
    with pytest.raises(ValueError, match="data_width must be a multiple of 8"):
        AXIStreamSignature(12)
    with pytest.raises(ValueError, match="dest_width must be in"):
        AXIStreamSignature(8, dest_width=40)


def test_axi4_switch_routes_one_master_and_stalls_the_other():
    """hw.lib.axi.axi4_switch: the selected master's request reaches the slave, responses go to
    both with valid only to the selected one, the other master sees ready low; wrong interfaces
    are refused."""
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from hw.lib.axi import AXI4Signature, axi4_switch

    sig = AXI4Signature(addr_width=8, data_width=32, id_width=2)

    class Top(wiring.Component):
        sel: In(1)
        a: In(sig)
        b: In(sig)
        mem: Out(sig)

        def elaborate(self, platform):
            m = Module()
            axi4_switch(m, self.sel, self.a, self.b, self.mem)
            return m

    dut = Top()

    async def bench(ctx):
        for sel in (0, 1):
            ctx.set(dut.sel, sel)
            on, off = (dut.b, dut.a) if sel else (dut.a, dut.b)
            ctx.set(on.awaddr, 0x40 + sel)
            ctx.set(off.awaddr, 0x80)
            ctx.set(on.arvalid, 1)
            ctx.set(off.arvalid, 0)
            ctx.set(on.rready, 1)
            ctx.set(off.rready, 0)
            ctx.set(dut.mem.arready, 1)
            ctx.set(dut.mem.rvalid, 1)
            ctx.set(dut.mem.rdata, 0x1234)
            await ctx.delay(1e-9)
            assert ctx.get(dut.mem.awaddr) == 0x40 + sel
            assert ctx.get(dut.mem.arvalid) == 1 and ctx.get(dut.mem.rready) == 1
            assert ctx.get(on.arready) == 1 and ctx.get(off.arready) == 0
            assert ctx.get(on.rvalid) == 1 and ctx.get(off.rvalid) == 0
            assert ctx.get(on.rdata) == ctx.get(off.rdata) == 0x1234
            ctx.set(off.arvalid, 1)                  # the other master's request is not seen
            ctx.set(on.arvalid, 0)
            await ctx.delay(1e-9)
            assert ctx.get(dut.mem.arvalid) == 0 and ctx.get(off.arready) == 0

    from amaranth.sim import Simulator
    sim = Simulator(dut)                            # combinational: no clock
    sim.add_testbench(bench)
    sim.run()

    narrow = AXI4Signature(addr_width=8, data_width=64, id_width=2)
    m = Module()
    with pytest.raises(TypeError, match="master1 must have the slave's AXI4 signature"):
        axi4_switch(m, 0, sig.create(), narrow.create(), sig.create())
    with pytest.raises(TypeError, match="slave must be an AXI4 interface"):
        axi4_switch(m, 0, sig.create(), sig.create(),
                    wiring.Signature({"x": Out(1)}).create())
    Fragment.get(m, None)                           # used (no unused-object warning)
