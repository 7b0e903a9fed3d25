"""Amaranth-simulator unit tests of the DMA engine, scored against sim.ref.dma."""

import random
from collections import deque

import pytest

from hw.dma import DmaEngine
from hw.params import Kind, MemOp, ReqClass, T3Params
from sim.ref.dma import command_packet, command_reads
from tests.simutil import run_sim

P = T3Params(addr_width=8, tile_width=8, len_width=5, tracker_entries=16, mem_latency=4)
SRC_DEV = 5


def mem_data(addr):
    return (addr * 0x9E3779B97F4A7C15 + 0x1234) % (1 << P.data_width)


def rand_command(rng):
    length = rng.choice([0, 1, 2, rng.randrange(1 << P.len_width), (1 << P.len_width) - 1])
    return {"src_addr": rng.choice([rng.randrange(1 << P.addr_width), (1 << P.addr_width) - 3]),
            "length": length, "dst_dev": rng.randrange(1 << P.dev_width),
            "dst_addr": rng.randrange(1 << P.addr_width), "tile": rng.randrange(1 << P.tile_width),
            "op": rng.choice([Kind.STORE, Kind.UPDATE])}


class Bench:
    """Command driver, fake memory (fixed latency, random request stalls) and tx monitor."""

    def __init__(self, dut, rng, cmds, *, latency=P.mem_latency, p_req=1.0, p_tx=1.0,
                 p_gap=0.0, tx_burst_stall=False):
        self.dut, self.rng, self.cmds = dut, rng, cmds
        self.latency, self.p_req, self.p_tx, self.p_gap = latency, p_req, p_tx, p_gap
        self.tx_burst_stall = tx_burst_stall
        self.reads = []
        self.tx = []             # (cycle, data, last)
        self.resp_stalls = 0
        self.done = False

    def expected_beats(self):
        beats = []
        for c in self.cmds:
            beats += command_packet(P, {**c, "op": c["op"].value}, SRC_DEV, mem_data)
        return beats

    def expected_reads(self):
        return [(MemOp.READ, ReqClass.COMM, 0, a, c["tile"])
                for c in self.cmds for a in command_reads(P, c)]

    async def driver(self, ctx):
        ctx.set(self.dut.src_dev, SRC_DEV)
        for c in self.cmds:
            ctx.set(self.dut.cmd.payload, c)
            ctx.set(self.dut.cmd.valid, 1)
            await ctx.tick().until(self.dut.cmd.ready)
            ctx.set(self.dut.cmd.valid, 0)
            while self.rng.random() < self.p_gap:
                await ctx.tick()
        n = len(self.expected_beats())
        for _ in range(50 * n + 500):                    # bounded: a lost beat fails, not hangs
            if len(self.tx) >= n:
                break
            await ctx.tick()
        await ctx.tick().repeat(20)
        self.done = True

    async def memory(self, ctx):
        dut, pending, cycle = self.dut, deque(), 0
        while True:
            ctx.set(dut.mem_req.ready, int(self.rng.random() < self.p_req))
            if pending and pending[0][0] <= cycle:
                ctx.set(dut.mem_resp.valid, 1)
                ctx.set(dut.mem_resp.payload, {"cls": ReqClass.COMM, "data": pending[0][1]})
            else:
                ctx.set(dut.mem_resp.valid, 0)
            _, _, rv, rr, qv, qr, q = await ctx.tick().sample(
                dut.mem_resp.valid, dut.mem_resp.ready, dut.mem_req.valid, dut.mem_req.ready,
                dut.mem_req.payload)
            if rv and rr:
                pending.popleft()
            if rv and not rr:
                self.resp_stalls += 1
            if qv and qr:
                self.reads.append((q.op, q.cls, int(q.tracked), int(q.addr), int(q.tile)))
                pending.append((cycle + self.latency, mem_data(int(q.addr))))
            cycle += 1

    async def sink(self, ctx):
        dut, cycle = self.dut, 0
        stall = 0
        while True:
            if self.tx_burst_stall and stall == 0 and self.rng.random() < 0.05:
                stall = self.rng.randrange(5, 25)
            if stall:
                stall -= 1
                ctx.set(dut.tx.ready, 0)
            else:
                ctx.set(dut.tx.ready, int(self.rng.random() < self.p_tx))
            _, _, v, r, d, l = await ctx.tick().sample(dut.tx.valid, dut.tx.ready,
                                                       dut.tx.payload.data, dut.tx.payload.last)
            if v and r:
                self.tx.append((cycle, d, l))
            cycle += 1

    def run(self, name):
        run_sim(self.dut, self.driver, processes=[self.memory, self.sink], name=name)

    def check(self):
        assert self.reads == self.expected_reads()
        assert [(d, l) for _, d, l in self.tx] == self.expected_beats()
        assert self.resp_stalls == 0


def test_bad_arguments():
    with pytest.raises(TypeError):
        DmaEngine(None)
    with pytest.raises(ValueError):
        DmaEngine(P, buffer_depth=2)
    with pytest.raises(TypeError):
        DmaEngine(P, buffer_depth="8")


@pytest.mark.parametrize("seed,p_req,p_tx,burst", [(1, 0.7, 0.6, False), (2, 1.0, 0.8, True),
                                                   (3, 0.5, 1.0, False)])
def test_random_commands_with_stalls(seed, p_req, p_tx, burst):
    """Random commands (length 0, 1, max, address wrap), random request and tx stalls: exact reads
    and packets; the memory's response path is never stalled; counters and busy."""
    rng = random.Random(seed)
    cmds = [rand_command(rng) for _ in range(25)]
    dut = DmaEngine(P)
    b = Bench(dut, rng, cmds, p_req=p_req, p_tx=p_tx, p_gap=0.3, tx_burst_stall=burst)
    final = {}

    async def status(ctx):
        while not b.done:
            await ctx.tick()
        final.update(busy=ctx.get(dut.busy), done=ctx.get(dut.commands_done),
                     beats=ctx.get(dut.beats_sent))

    run_sim(dut, b.driver, status, processes=[b.memory, b.sink], name=f"dma_random_{seed}")
    b.check()
    assert final == {"busy": 0, "done": len(cmds), "beats": len(b.expected_beats())}


@pytest.mark.parametrize("latency", [2, 4])
def test_full_throughput(latency):
    """Unstalled memory and tx, commands queued back to back: after each header the data beats
    leave one per cycle, and packets follow each other with no idle cycle in between."""
    rng = random.Random(7)
    cmds = [dict(rand_command(rng), length=n) for n in (16, 1, 9, 31, 0, 5, 12)]
    p = T3Params(addr_width=8, tile_width=8, len_width=5, tracker_entries=16,
                 mem_latency=latency)
    dut = DmaEngine(p)
    b = Bench(dut, rng, cmds, latency=latency)
    b.run(f"dma_tput_{latency}")
    b.check()
    cycles = [c for c, _, _ in b.tx]
    # all beats (headers included) on consecutive cycles once the first packet's data flows
    first_data = cycles[1]
    assert cycles[1:] == list(range(first_data, first_data + len(cycles) - 1))
    assert first_data - cycles[0] <= latency + 4


def test_busy_and_zero_length():
    """A zero-length command makes a single header beat with last=1 and no read."""
    cmd = {"src_addr": 3, "length": 0, "dst_dev": 9, "dst_addr": 77, "tile": 0xAB,
           "op": Kind.UPDATE}
    dut = DmaEngine(P)
    b = Bench(dut, random.Random(0), [cmd])
    seen_busy = []

    async def watch(ctx):
        async for _, _, busy in ctx.tick().sample(dut.busy):
            seen_busy.append(busy)

    run_sim(dut, b.driver, processes=[b.memory, b.sink, watch], name="dma_zero")
    b.check()
    assert b.reads == [] and len(b.tx) == 1 and b.tx[0][2] == 1
    assert 1 in seen_busy and seen_busy[-1] == 0
