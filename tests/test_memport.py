"""MemPort (hw/memport.py) behind AxiSram (hw/sram.py): in-order memory semantics against a
sequential Python reference, back-to-back same-address updates, credits, occupancy, AXI rules."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.lib import stream

from hw.memport import MemPort
from hw.params import LaneType, MemOp, ReqClass, T3Params
from hw.sram import AxiSram
from sim.ref.nmc import add_beats
from tests.simutil import run_sim


class _Top(wiring.Component):
    """MemPort with an AxiSram on its AXI port."""

    def __init__(self, p, **kw):
        self.port = MemPort(p, **kw)
        self.ram = AxiSram(p)
        super().__init__({
            "req":          In(stream.Signature(p.mem_request_layout)),
            "compute_resp": Out(stream.Signature(p.mem_response_layout)),
            "comm_resp":    Out(stream.Signature(p.mem_response_layout)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.port = self.port
        m.submodules.ram = self.ram
        wiring.connect(m, self.port.m_axi, self.ram.s_axi)
        wiring.connect(m, wiring.flipped(self.req), self.port.req)
        wiring.connect(m, self.port.compute_resp, wiring.flipped(self.compute_resp))
        wiring.connect(m, self.port.comm_resp, wiring.flipped(self.comm_resp))
        return m


def _req(op, addr, data=0, cls=ReqClass.COMPUTE):
    return {"op": op, "cls": cls, "tracked": 0, "addr": addr, "tile": 0, "data": data}


def _run(p, reqs, *, p_valid=1.0, p_ready=1.0, seed=0, check_axi=True, **kw):
    """Drive ``reqs`` with random gaps and random response stalls; return (reads, trace)."""
    dut = _Top(p, **kw)
    rng = random.Random(seed)
    accepted = []
    got = {ReqClass.COMPUTE: [], ReqClass.COMM: []}
    n_reads = {c: sum(1 for r in reqs if r["op"] is MemOp.READ and r["cls"] is c) for c in got}
    occ_seen = []
    axi = dut.port.m_axi
    violations = []

    async def drive(ctx):
        for r in reqs:
            while rng.random() >= p_valid:
                await ctx.tick()
            ctx.set(dut.req.payload, r)
            ctx.set(dut.req.valid, 1)
            await ctx.tick().until(dut.req.ready)
            accepted.append(r)
            ctx.set(dut.req.valid, 0)

    def consumer(cls, port):
        async def run(ctx):
            while len(got[cls]) < n_reads[cls]:
                ready = rng.random() < p_ready
                ctx.set(port.ready, ready)
                await ctx.tick()
            ctx.set(port.ready, 0)
        return run

    async def monitor(ctx):
        prev = None
        async for vals in ctx.tick().sample(
                dut.compute_resp.valid, dut.compute_resp.ready, dut.compute_resp.payload,
                dut.comm_resp.valid, dut.comm_resp.ready, dut.comm_resp.payload,
                dut.port.occupancy, axi.arvalid, axi.arready, axi.araddr,
                axi.awvalid, axi.awready, axi.awaddr, axi.wvalid, axi.wready, axi.wdata):
            (cv, cr, cp, mv, mr, mp, occ, arv, arr, ara, awv, awr, awa, wv, wr, wd) = vals[2:]
            if cv and cr:
                got[ReqClass.COMPUTE].append(cp.data)
            if mv and mr:
                got[ReqClass.COMM].append(mp.data)
            occ_seen.append(occ)
            # AXI: a valid not taken stays valid with the same payload in the next cycle
            if prev is not None:
                for name, (v, r, pl) in (("AR", prev[0]), ("AW", prev[1]), ("W", prev[2])):
                    now = {"AR": (arv, ara), "AW": (awv, awa), "W": (wv, wd)}[name]
                    if v and not r and (not now[0] or now[1] != pl):
                        violations.append(name)
            prev = ((arv, arr, ara), (awv, awr, awa), (wv, wr, wd))

    async def main(ctx):
        await drive(ctx)
        for _ in range(2000):
            if all(len(got[c]) == n_reads[c] for c in got) and ctx.get(dut.port.occupancy) == 0:
                break
            await ctx.tick()
        await ctx.tick().repeat(3)

    consumers = [consumer(ReqClass.COMPUTE, dut.compute_resp),
                 consumer(ReqClass.COMM, dut.comm_resp)]
    run_sim(dut, main, *consumers, processes=[monitor], name="memport",
            deadline=None)
    if check_axi:
        assert not violations, violations
    return accepted, got, occ_seen, dut


def _reference(p, accepted):
    mem = {}
    out = {ReqClass.COMPUTE: [], ReqClass.COMM: []}
    for r in accepted:
        old = mem.get(r["addr"], 0)
        if r["op"] is MemOp.READ:
            out[r["cls"]].append(old)
        elif r["op"] is MemOp.STORE:
            mem[r["addr"]] = r["data"]
        else:
            mem[r["addr"]] = add_beats(old, r["data"], p, p.data_width)
    return out, mem


P = T3Params(addr_width=6)


def _random_reqs(rng, n, addrs):
    ops = [MemOp.READ, MemOp.STORE, MemOp.UPDATE]
    return [_req(rng.choice(ops), rng.choice(addrs), rng.getrandbits(P.data_width),
                 rng.choice([ReqClass.COMPUTE, ReqClass.COMM])) for _ in range(n)]


@pytest.mark.parametrize("seed, p_valid, p_ready", [(1, 1.0, 1.0), (2, 0.7, 0.5), (3, 1.0, 0.3)])
def test_random_traffic_matches_sequential_reference(seed, p_valid, p_ready):
    rng = random.Random(seed)
    reqs = _random_reqs(rng, 300, list(range(6)))      # few addresses: many hazards
    accepted, got, _, _ = _run(P, reqs, p_valid=p_valid, p_ready=p_ready, seed=seed)
    want, _ = _reference(P, accepted)
    assert got == want


def test_back_to_back_updates_lose_nothing():
    """64 UPDATEs of 1 to one address, then a READ: the READ sees 64 in every int32 lane."""
    reqs = [_req(MemOp.STORE, 5, 0)] + [_req(MemOp.UPDATE, 5, (1 << 32) | 1)] * 64 \
        + [_req(MemOp.READ, 5)]
    _, got, _, _ = _run(P, reqs)
    assert got[ReqClass.COMPUTE] == [(64 << 32) | 64]


def test_bf16_updates_with_pipelined_adder():
    p = T3Params(addr_width=6, lane=LaneType.BF16)
    rng = random.Random(7)
    one = 0x3F80          # 1.0 in every lane
    beat = sum(one << (16 * i) for i in range(p.data_width // 16))
    reqs = [_req(MemOp.STORE, a, 0) for a in range(4)]
    reqs += [_req(MemOp.UPDATE, rng.randrange(4), beat) for _ in range(40)]
    reqs += [_req(MemOp.READ, a) for a in range(4)]
    accepted, got, _, _ = _run(p, reqs, alu_stages=3)
    want, _ = _reference(p, accepted)
    assert got == want


def test_reads_to_different_addresses_run_one_per_cycle():
    """Back-to-back READs to distinct addresses: one accepted per cycle once warm (credits and
    slots cover the round trip with the default 16 slots and a 4-cycle SRAM)."""
    reqs = [_req(MemOp.READ, a % 64) for a in range(64)]
    dut = _Top(P)
    acc = []

    async def main(ctx):
        for r in reqs:
            ctx.set(dut.req.payload, r)
            ctx.set(dut.req.valid, 1)
            await ctx.tick().until(dut.req.ready)
        ctx.set(dut.req.valid, 0)

    async def consume(ctx):
        ctx.set(dut.compute_resp.ready, 1)
        await ctx.tick().repeat(300)

    async def clock(ctx):
        t = 0
        async for _, _, valid, ready in ctx.tick().sample(dut.req.valid, dut.req.ready):
            t += 1
            if valid and ready:
                acc.append(t)

    run_sim(dut, main, consume, processes=[clock], name="memport_rate", deadline=None)
    assert len(acc) == 64
    span = acc[-1] - acc[0] + 1
    assert span <= 64 + 2, span


def test_occupancy_counts_requests_in_flight():
    """After a burst of reads the occupancy rises above zero and returns to zero when done."""
    reqs = [_req(MemOp.READ, a) for a in range(10)] + [_req(MemOp.STORE, a, a) for a in range(10)]
    _, _, occ, dut = _run(P, reqs)
    assert max(occ) >= 2
    assert max(occ) <= dut.port.outstanding
    assert occ[-1] == 0


@pytest.mark.parametrize("kw, match", [
    ({"outstanding": 1}, "outstanding"),
    ({"outstanding": 65}, "outstanding"),
    ({"resp_depth": 0}, "resp_depth"),
    ({"alu_stages": 4}, "alu_stages"),
    ({"outstanding": "8"}, "outstanding"),
])
def test_parameters_checked(kw, match):
    with pytest.raises((TypeError, ValueError), match=match):
        MemPort(P, **kw)


def test_non_power_of_two_width_rejected():
    with pytest.raises(ValueError, match="data_width"):
        MemPort(T3Params(data_width=96))


@pytest.mark.parametrize("lat", [2, 4, 7])
def test_sram_documented_latencies(lat):
    """AxiSram: R valid ``mem_latency + READ_EXTRA`` cycles after the AR handshake, B valid
    ``WRITE_RESPONSE_LATENCY`` cycles after the AW handshake (W valid with AW); MemPort: data on
    ``compute_resp`` ``ISSUE_LATENCY + read_latency + RESP_LATENCY`` cycles after acceptance."""
    p = T3Params(addr_width=6, mem_latency=lat)
    dut = _Top(p)
    axi = dut.port.m_axi
    seen = {}

    async def main(ctx):
        ctx.set(dut.compute_resp.ready, 1)
        await ctx.tick()
        for op in (MemOp.STORE, MemOp.READ):
            ctx.set(dut.req.payload, _req(op, 3, 7))
            ctx.set(dut.req.valid, 1)
            await ctx.tick().until(dut.req.ready)
            ctx.set(dut.req.valid, 0)
            await ctx.tick().repeat(lat + 12)

    async def watch(ctx):
        t = 0
        async for _, _, *v in ctx.tick().sample(
                dut.req.valid, dut.req.ready, dut.req.payload.op, axi.awvalid, axi.awready,
                axi.bvalid, axi.arvalid, axi.arready, axi.rvalid, dut.compute_resp.valid):
            rv, rr, op, awv, awr, bv, arv, arr, rvd, cv = v
            for key, cond in (("acc_" + MemOp(op).name, rv and rr), ("aw", awv and awr),
                              ("b", bv), ("ar", arv and arr), ("r", rvd), ("resp", cv)):
                if cond and key not in seen:
                    seen[key] = t
            t += 1

    run_sim(dut, main, processes=[watch], name="sram_latency")
    assert seen["b"] - seen["aw"] == AxiSram.WRITE_RESPONSE_LATENCY
    assert seen["r"] - seen["ar"] == lat + AxiSram.READ_EXTRA
    assert seen["ar"] - seen["acc_READ"] == MemPort.ISSUE_LATENCY
    assert seen["resp"] - seen["r"] == MemPort.RESP_LATENCY


def test_unit_compute_read_latency_is_documented():
    """T3Core with AxiSram behind ``m_axi``: a compute READ's data is on ``compute_resp``
    ``mem_latency + 6`` cycles after its handshake (the figure in T3Core's docstring: arbiter
    register, memory-port input register and queue, AR handshake, SRAM latency + 1, R register,
    response buffer)."""
    from hw.unit import T3Core

    for p in (T3Params(), T3Params(mem_latency=2)):
        unit, mem = T3Core(p), AxiSram(p)
        m = Module()
        m.submodules.unit, m.submodules.mem = unit, mem
        wiring.connect(m, unit.m_axi, mem.s_axi)
        seen = {}

        async def bench(ctx, unit=unit, p=p, seen=seen):
            await ctx.tick().repeat(p.tracker_entries + 8)      # the tracker's clearing sweep
            ctx.set(unit.compute_resp.ready, 1)
            ctx.set(unit.compute.payload.op, MemOp.READ)
            ctx.set(unit.compute.payload.addr, 5)
            ctx.set(unit.compute.valid, 1)
            while not ctx.get(unit.compute.ready):
                await ctx.tick()
            await ctx.tick()                                     # the handshake (cycle k)
            ctx.set(unit.compute.valid, 0)
            n = 1
            while not ctx.get(unit.compute_resp.valid):
                await ctx.tick()
                n += 1
                assert n < 100, "no read response"
            seen["latency"] = n

        run_sim(m, bench, name="unit_read_latency")
        assert seen["latency"] == p.mem_latency + 6
