"""MemoryModel (hw/memory.py): in-order READ/STORE/UPDATE semantics against a Python dict memory,
fixed read latency, response back-pressure and credits, occupancy."""

import gc
import os
import random
import warnings
from pathlib import Path

import pytest
from amaranth.back import verilog
from amaranth.hdl import UnusedElaboratable
from amaranth.sim import Simulator

from hw.memory import MemoryModel
from hw.params import LaneType, MemOp, ReqClass, T3Params
from sim.ref.nmc import add_beats
from tests.simutil import run_sim, stream_put


def _req(op, addr, data=0, cls=ReqClass.COMPUTE):
    return {"op": op, "cls": cls, "tracked": 0, "addr": addr, "tile": 0, "data": data}


class RefMemory:
    """Sequential reference: requests applied one at a time in acceptance order."""

    def __init__(self, params, init):
        self.params = params
        self.mem = {a: v for a, v in enumerate(init)}

    def apply(self, op, addr, data):
        """Apply one request; return the READ data (None for writes)."""
        old = self.mem.get(addr, 0)
        if op is MemOp.READ:
            return old
        if op is MemOp.STORE:
            self.mem[addr] = data
        else:
            self.mem[addr] = add_beats(old, data, self.params, self.params.data_width)
        return None


def _rmw_depth(lat):
    """Documented: STORE/UPDATE write the RAM at the end of cycle k+3 (k+2 if mem_latency == 2)."""
    return 3 if lat >= 3 else 2


def _rand_bf16_beat(rng, params):
    beat = 0
    for i in range(params.data_width // 16):
        if rng.random() < 0.05:
            v = rng.choice([0x0000, 0x8000, 0x0001])
        else:
            v = (rng.getrandbits(1) << 15) | (rng.randrange(118, 136) << 7) | rng.getrandbits(7)
        beat |= v << (16 * i)
    return beat


def _rand_beat(rng, params):
    if params.lane is LaneType.BF16:
        return _rand_bf16_beat(rng, params)
    return rng.getrandbits(params.data_width)


# -- constructor checks ---------------------------------------------------------------------------
def test_memory_bad_args():
    p = T3Params(addr_width=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)   # the half-built objects
        with pytest.raises(TypeError, match="params"):
            MemoryModel(None)
        with pytest.raises(TypeError, match="banks"):
            MemoryModel(p, banks=2.0)
        for bad in (0, 3, 6, -2):
            with pytest.raises(ValueError, match="banks"):
                MemoryModel(p, banks=bad)
        with pytest.raises(ValueError, match="banks"):
            MemoryModel(p, banks=16)                      # more banks than beats
        with pytest.raises(ValueError, match="init"):
            MemoryModel(p, init=range(9))
        with pytest.raises(TypeError, match="init"):
            MemoryModel(p, init=5)
        with pytest.raises(TypeError, match="alu_stages"):
            MemoryModel(p, alu_stages=None)
        with pytest.raises(ValueError, match="alu_stages"):
            MemoryModel(p, alu_stages=4)
        gc.collect()
    dut = MemoryModel(p, banks=8)                      # one beat per bank is fine
    assert "module" in verilog.convert(dut)
    assert dut.banks == 8 and dut.depth == 8 and dut.resp_buffer_depth == p.mem_latency + 1


# -- fixed latency, in-order forwarding, with cycle numbers ---------------------------------------
@pytest.mark.parametrize("lat, banks", [(2, 1), (3, 2), (4, 4), (6, 8)])
def test_memory_latency_and_forwarding(lat, banks):
    """A request is accepted in cycle t (req.valid & req.ready during cycle t, i.e. at the edge
    ending it); its READ response must be valid in cycle t + lat exactly, never earlier. The
    sequence has no idle cycle: STORE; READ same addr; UPDATE x3 same addr; READ; READ other
    bank."""
    p = T3Params(addr_width=4, mem_latency=lat)
    init = [0x1111_0000_0000_0000 + i for i in range(16)]
    dut = MemoryModel(p, banks=banks, init=init)
    c = ReqClass
    seq = [
        _req(MemOp.STORE, 5, 100),
        _req(MemOp.READ, 5, cls=c.COMM),               # sees the STORE of the previous cycle
        _req(MemOp.UPDATE, 5, 1),
        _req(MemOp.UPDATE, 5, 2),
        _req(MemOp.UPDATE, 5, 3 | (7 << 32)),
        _req(MemOp.READ, 5),                           # 100 + 1 + 2 + 3, high lane 7
        _req(MemOp.READ, 6, cls=c.COMM),               # untouched: init
        _req(MemOp.UPDATE, 6, 0xFFFFFFFF),             # -1 in lane 0
        _req(MemOp.READ, 6),
    ]
    expect = {1: (c.COMM, 100), 5: (c.COMPUTE, 106 | (7 << 32)), 6: (c.COMM, init[6]),
              8: (c.COMPUTE, init[6] - 1)}
    seen = {}

    async def bench(ctx):
        ctx.set(dut.resp.ready, 1)
        for t in range(len(seq) + lat + 3):
            if t < len(seq):
                ctx.set(dut.req.payload, seq[t])
                ctx.set(dut.req.valid, 1)
                assert ctx.get(dut.req.ready), f"request refused in cycle {t}"
            else:
                ctx.set(dut.req.valid, 0)
            if ctx.get(dut.resp.valid):
                pl = ctx.get(dut.resp.payload)
                seen[t] = (pl.cls, pl.data)
            await ctx.tick()

    run_sim(dut, bench, name=f"mem_latency_{lat}")
    assert seen == {t + lat: v for t, v in expect.items()}


# -- occupancy timing -----------------------------------------------------------------------------
@pytest.mark.parametrize("lat", [2, 3, 4])
def test_memory_occupancy_timing(lat):
    p = T3Params(addr_width=4, mem_latency=lat)
    dut = MemoryModel(p)
    rmw = _rmw_depth(lat)
    assert dut.rmw_depth == rmw
    trace = []

    async def bench(ctx):
        ctx.set(dut.resp.ready, 1)
        for t in range(20):
            if t == 0:
                ctx.set(dut.req.payload, _req(MemOp.READ, 1))
            elif t == 10:
                ctx.set(dut.req.payload, _req(MemOp.UPDATE, 1, 1))
            ctx.set(dut.req.valid, t in (0, 10))
            trace.append(ctx.get(dut.occupancy))
            await ctx.tick()

    run_sim(dut, bench, name=f"mem_occupancy_{lat}")
    # READ accepted in cycle 0: counted in cycles 1..lat (taken from resp at the end of cycle lat)
    # UPDATE accepted in cycle 10: counted in cycles 11..10+rmw (RAM write at the end of 10+rmw)
    want = [1 if 1 <= t <= lat or 11 <= t <= 10 + rmw else 0 for t in range(20)]
    assert trace == want


# -- back-pressure: credits, writes still flow, nothing lost -------------------------------------
@pytest.mark.parametrize("lat", [2, 4])
def test_memory_backpressure_credits(lat):
    p = T3Params(addr_width=4, mem_latency=lat)
    init = list(range(1000, 1016))
    dut = MemoryModel(p, banks=2, init=init)
    cap = lat + 1
    log = {}

    async def bench(ctx):
        ctx.set(dut.resp.ready, 0)
        accepted = 0
        # stream READs of addr 0..: exactly cap of them are accepted, then READ is refused
        for t in range(3 * cap):
            ctx.set(dut.req.payload, _req(MemOp.READ, accepted, cls=ReqClass(accepted % 2)))
            ctx.set(dut.req.valid, 1)
            if ctx.get(dut.req.ready):
                accepted += 1
            await ctx.tick()
        log["accepted"] = accepted
        # a READ is still refused; a STORE and an UPDATE are accepted at once
        assert not ctx.get(dut.req.ready)
        ctx.set(dut.req.payload, _req(MemOp.STORE, 0, 7))
        assert ctx.get(dut.req.ready)
        await ctx.tick()
        ctx.set(dut.req.payload, _req(MemOp.UPDATE, 0, 5))
        assert ctx.get(dut.req.ready)
        await ctx.tick()
        ctx.set(dut.req.valid, 0)
        log["occ_writes"] = ctx.get(dut.occupancy)      # cap reads + 2 writes in flight
        for _ in range(_rmw_depth(lat) - 1):
            await ctx.tick()
        log["occ_last_write"] = ctx.get(dut.occupancy)  # the UPDATE is in its last stage
        await ctx.tick()
        log["occ_stalled"] = ctx.get(dut.occupancy)
        # drain: responses in order, correct data and class; then READ addr 0 sees 7 + 5
        got = []
        ctx.set(dut.resp.ready, 1)
        for _ in range(4 * cap):
            if ctx.get(dut.resp.valid):
                pl = ctx.get(dut.resp.payload)
                got.append((pl.cls, pl.data))
            await ctx.tick()
        log["got"] = got
        await stream_put(ctx, dut.req, _req(MemOp.READ, 0))
        for _ in range(lat - 1):
            assert not ctx.get(dut.resp.valid)
            await ctx.tick()
        assert ctx.get(dut.resp.valid)
        log["last"] = ctx.get(dut.resp.payload).data
        await ctx.tick()
        log["occ_end"] = ctx.get(dut.occupancy)

    run_sim(dut, bench, name=f"mem_backpressure_{lat}")
    assert log["accepted"] == cap
    assert log["occ_writes"] == cap + 2
    assert log["occ_last_write"] == cap + 1
    assert log["occ_stalled"] == cap
    assert log["got"] == [(ReqClass(i % 2), init[i]) for i in range(cap)]
    assert log["last"] == 12
    assert log["occ_end"] == 0


# -- full throughput: one request per cycle sustained ---------------------------------------------
def test_memory_full_throughput():
    lat = 3
    p = T3Params(addr_width=3, mem_latency=lat)
    rng = random.Random(7)
    dut = MemoryModel(p, banks=4)
    ref = RefMemory(p, [])
    seq, expect = [], []
    for _ in range(200):
        op = rng.choice(list(MemOp))
        r = _req(op, rng.randrange(3), rng.getrandbits(64), ReqClass(rng.getrandbits(1)))
        seq.append(r)
        v = ref.apply(op, r["addr"], r["data"])
        if v is not None:
            expect.append((r["cls"], v))
    got = []

    async def bench(ctx):
        ctx.set(dut.resp.ready, 1)
        for t in range(len(seq) + lat + 1):
            if t < len(seq):
                ctx.set(dut.req.payload, seq[t])
                ctx.set(dut.req.valid, 1)
                assert ctx.get(dut.req.ready), f"stall in cycle {t} with resp always ready"
            else:
                ctx.set(dut.req.valid, 0)
            if ctx.get(dut.resp.valid):
                pl = ctx.get(dut.resp.payload)
                got.append((pl.cls, pl.data))
            await ctx.tick()

    run_sim(dut, bench, name="mem_throughput")
    assert got == expect


# -- random mixes with stalls on both sides -------------------------------------------------------
@pytest.mark.parametrize("lane, banks, lat, alu_stages, p_valid, p_ready, seed", [
    (LaneType.INT32, 4, 4, 0, 0.9, 0.5, 1),
    (LaneType.INT32, 1, 2, 0, 1.0, 0.3, 2),
    (LaneType.INT32, 8, 5, 0, 0.7, 0.8, 3),
    (LaneType.BF16,  2, 3, 0, 0.9, 0.5, 4),
    (LaneType.BF16,  4, 2, 0, 1.0, 0.9, 5),
    (LaneType.BF16,  2, 4, 3, 1.0, 0.7, 6),
    (LaneType.BF16,  1, 2, 2, 0.8, 0.6, 8),
    (LaneType.INT32, 4, 2, 1, 0.9, 0.6, 7),
])
def test_memory_random(lane, banks, lat, alu_stages, p_valid, p_ready, seed):
    p = T3Params(addr_width=4, mem_latency=lat, lane=lane)
    rng = random.Random(seed)
    init = [_rand_beat(rng, p) for _ in range(16)]
    dut = MemoryModel(p, banks=banks, init=init, alu_stages=alu_stages)
    ref = RefMemory(p, init)
    n = 400
    seq, expect = [], []
    for _ in range(n):
        op = rng.choices(list(MemOp), weights=[4, 2, 4])[0]
        # mostly a few hot addresses (same-address hazards), sometimes anywhere
        addr = rng.randrange(3) if rng.random() < 0.7 else rng.randrange(16)
        r = _req(op, addr, _rand_beat(rng, p), ReqClass(rng.getrandbits(1)))
        seq.append(r)
        v = ref.apply(op, addr, r["data"])
        if v is not None:
            expect.append((r["cls"], v))
    got = []
    rmw = _rmw_depth(lat) + alu_stages       # the stage in which writes complete
    max_occ = lat + 1 + rmw

    async def producer(ctx):
        for r in seq:
            while rng.random() > p_valid:
                await ctx.tick()
            ctx.set(dut.req.payload, r)
            ctx.set(dut.req.valid, 1)
            for _ in range(200):        # bounded wait: a lost credit fails instead of hanging
                _, _, ready = await ctx.tick().sample(dut.req.ready)
                if ready:
                    break
            else:
                raise AssertionError("request not accepted within 200 cycles")
            ctx.set(dut.req.valid, 0)

    async def consumer(ctx):
        for _ in range(40 * n):
            if len(got) == len(expect):
                break
            ready = rng.random() < p_ready
            ctx.set(dut.resp.ready, ready)
            _, _, valid, pl = await ctx.tick().sample(dut.resp.valid, dut.resp.payload)
            if valid and ready:
                got.append((pl.cls, pl.data))

    async def monitor(ctx):
        # independent occupancy model from the handshakes seen at each edge
        reads, writes = 0, [0] * rmw    # writes accepted 1..rmw edges ago
        for _ in range(20 * n):
            _, _, qv, qr, op, sv, sr = await ctx.tick().sample(
                dut.req.valid, dut.req.ready, dut.req.payload.op, dut.resp.valid, dut.resp.ready)
            acc = qv and qr
            reads += (acc and op is MemOp.READ) - (sv and sr)
            writes = [int(acc and op is not MemOp.READ)] + writes[:-1]
            occ = ctx.get(dut.occupancy)
            assert occ == reads + sum(writes), f"occupancy {occ}, expected {reads}+{writes}"
            assert occ <= max_occ

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.add_testbench(monitor, background=True)
    waves = os.environ.get("T3_WAVES")
    if waves:
        Path(waves).mkdir(parents=True, exist_ok=True)
        with sim.write_vcd(str(Path(waves) / f"mem_random_{seed}.vcd")):
            sim.run()
    else:
        sim.run()
    assert len(got) == len(expect)
    for i, (g, e) in enumerate(zip(got, expect)):
        assert g == e, f"response {i}: got {g[0]} {g[1]:#x}, want {e[0]} {e[1]:#x}"


# -- pipelined NmcAlu: same-address hazard stall ------------------------------------------------
@pytest.mark.parametrize("alu_stages", [1, 2, 3])
def test_memory_alu_stages_hazard(alu_stages):
    """With a pipelined adder, a request to an address written by one of the previous
    alu_stages accepted requests waits (req.ready low) exactly until that write is old enough;
    other addresses flow one per cycle. READ latency is unchanged."""
    lat = 4
    p = T3Params(addr_width=4, mem_latency=lat, lane=LaneType.BF16)
    dut = MemoryModel(p, alu_stages=alu_stages)
    one, two = 0x3F80, 0x4000                                  # bf16 1.0, 2.0 in lane 0
    seq = [
        _req(MemOp.UPDATE, 1, one),
        _req(MemOp.UPDATE, 2, one),      # other address: no stall
        _req(MemOp.UPDATE, 1, one),      # same as two requests ago: stalls alu_stages - 1
        _req(MemOp.READ, 1),             # right after an UPDATE to 1: stalls alu_stages
        _req(MemOp.STORE, 3, two),
        _req(MemOp.READ, 3),
        _req(MemOp.READ, 2),
    ]
    accept_cycle, resp_cycle, data = [], [], []

    async def bench(ctx):
        ctx.set(dut.resp.ready, 1)
        t, i = 0, 0
        while t < 60:
            if i < len(seq):
                ctx.set(dut.req.payload, seq[i])
                ctx.set(dut.req.valid, 1)
                if ctx.get(dut.req.ready):
                    accept_cycle.append(t)
                    i += 1
            else:
                ctx.set(dut.req.valid, 0)
            if ctx.get(dut.resp.valid):
                resp_cycle.append(t)
                data.append(ctx.get(dut.resp.payload).data)
            await ctx.tick()
            t += 1

    run_sim(dut, bench, name=f"mem_alu_stages_{alu_stages}")
    a = alu_stages
    want = [0, 1, 2 + (a - 1), 3 + (a - 1) + a]
    want += [want[-1] + 1, want[-1] + 2, want[-1] + 3]
    want[5] += a                             # READ 3 right after STORE 3 waits too
    want[6] += a
    assert accept_cycle == want
    reads = [c for c, r in zip(accept_cycle, seq) if r["op"] is MemOp.READ]
    assert resp_cycle == [c + lat for c in reads]
    assert data == [0x4000, two, one]                         # 1 + 1 = 2.0; 2.0; 1.0


def test_memory_export():
    import hw.memory as mod
    for name, factory in mod.EXPORTS.items():
        assert "module" in verilog.convert(factory(), name=name)
