"""cocotb bench of the memory model with its NMC adder (``hw/memory.py``, ``hw/nmc.py``).

A Python memory (a dict, zeros at start; the RTL memory has no reset so the model persists across
the cocotb tests of one run) executes every accepted request in acceptance order: STORE writes,
UPDATE writes ``mem + data`` lane-wise by :func:`sim.ref.nmc.add_beats` (int32 wrap-around or bf16
RNE/DAZ/FTZ, per ``T3_PARAMS``), READ appends ``(cls, mem[addr])`` to the expected responses. The
responses on ``resp`` must equal that list, in order. Also checked: the fixed latency (a READ
accepted at edge ``k`` is taken at edge ``k + mem_latency`` when ``resp`` never stalls), READ
credits (at most ``mem_latency + 1`` READs outstanding while ``resp`` is stalled, STORE/UPDATE
still accepted), ``occupancy`` bounded and 0 when idle.

Coverage (``build/coverage/memory_<tag>-<sim>.json``): ops, read-after-write / update-after-write
hazards at distances 1..4, back-to-back updates to one address, credit stalls, response stalls,
bf16 special results (NaN, inf, zero, subnormal inputs) or int32 wrap-around.
"""

import os
import random

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from hw.params import LaneType, MemOp, ReqClass, T3Params
from sim.ref.nmc import add_beats, join_lanes, split_lanes
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.coverage import Coverage
from tb.common.stream import StreamSink, StreamSource

TIMEOUT_US = 2000


def load_params():
    cfg = dict(bench_env("T3_PARAMS", {}))
    if "lane" in cfg:
        cfg["lane"] = LaneType(cfg["lane"])
    return T3Params(**cfg)


PARAMS = load_params()
BF16 = PARAMS.lane is LaneType.BF16
TAG = os.environ.get("T3_TAG", "int32")
MEM = {}            # reference memory contents (persist across tests, like the RTL RAM)

COV = Coverage(f"memory_{TAG}", {
    "op.read": 50, "op.store": 50, "op.update": 50,
    **{f"hazard.raw_d{d}": 10 for d in (1, 2, 3, 4)},     # READ of an address written d reqs ago
    **{f"hazard.uaw_d{d}": 10 for d in (1, 2, 3, 4)},     # UPDATE of an address written d reqs ago
    "update.back_to_back_same_addr_8": 3,                # 8 consecutive UPDATEs to one address
    "read.credit_stall": 5,                              # READ valid, not accepted (no credit)
    "write.accepted_while_credits_exhausted": 1,
    "resp.stalled": 20,
    **({"bf16.result_nan": 5, "bf16.result_inf": 5, "bf16.result_zero": 5,
        "bf16.subnormal_input": 5, "bf16.cancellation": 5} if BF16 else
       {"int32.wraparound": 5, "int32.negative_result": 5}),
})


def lane_width():
    return 16 if BF16 else 32


BF16_SPECIALS = [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x0001, 0x8045, 0x7F7F, 0xFF7F,
                 0x0080, 0x8080]


def random_lane(rng):
    if BF16:
        r = rng.random()
        if r < 0.08:
            return rng.choice(BF16_SPECIALS)
        sign = rng.randrange(2) << 15
        exp = rng.choice([rng.randrange(1, 255), rng.randrange(120, 136)])
        return sign | (exp << 7) | rng.randrange(128)
    r = rng.random()
    if r < 0.1:
        return rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])
    return rng.getrandbits(32)


def random_beat(rng):
    return join_lanes([random_lane(rng) for _ in range(PARAMS.data_width // lane_width())],
                      lane_width())


class MemoryTB:
    def __init__(self, dut):
        self.dut = dut
        p = PARAMS
        self.L = p.mem_latency
        self.req = StreamSource(dut, "req", dut.clk, p.mem_request_layout)
        self.resp = StreamSink(dut, "resp", dut.clk, p.mem_response_layout)
        self.expected = []          # (cls, data) of each accepted READ, in order
        self.accept_cycle = []      # cycle of each accepted READ
        self.resp_cycle = []
        self.history = []           # addresses written, by acceptance index (None for READ)
        self.cycle = 0
        self.max_occupancy = 0
        self.req.on_transfer.append(self._on_req)
        self.resp.on_transfer.append(lambda item: self.resp_cycle.append(self.cycle))

    def _on_req(self, item):
        op, data = MemOp(item["op"]), item["data"]
        addr = item["addr"] % (1 << PARAMS.addr_width)
        old = MEM.get(addr, 0)
        for d in (1, 2, 3, 4):
            if len(self.history) >= d and self.history[-d] == addr:
                if op is MemOp.READ:
                    COV.hit(f"hazard.raw_d{d}")
                elif op is MemOp.UPDATE:
                    COV.hit(f"hazard.uaw_d{d}")
                break
        COV.hit(f"op.{op.name.lower()}")
        if op is MemOp.READ:
            self.expected.append((getattr(item["cls"], "value", item["cls"]), old))
            self.accept_cycle.append(self.cycle)
            self.history.append(None)
            return
        if op is MemOp.STORE:
            MEM[addr] = data
        else:
            new = add_beats(old, data, PARAMS.lane, PARAMS.data_width)
            MEM[addr] = new
            self._cover_update(old, data, new)
        self.history.append(addr)
        if len(self.history) >= 8 and all(a == addr for a in self.history[-8:]):
            COV.hit("update.back_to_back_same_addr_8")

    def _cover_update(self, a, b, s):
        w = lane_width()
        la, lb, ls = (split_lanes(x, w, PARAMS.data_width) for x in (a, b, s))
        for x, y, z in zip(la, lb, ls):
            x, y, z = int(x), int(y), int(z)
            if BF16:
                if z == 0x7FC0:
                    COV.hit("bf16.result_nan")
                elif z & 0x7FFF == 0x7F80:
                    COV.hit("bf16.result_inf")
                elif z & 0x7FFF == 0:
                    COV.hit("bf16.result_zero")
                    if x & 0x7FFF and (x & 0x7F80):
                        COV.hit("bf16.cancellation")
                if any((v >> 7) & 0xFF == 0 and v & 0x7F for v in (x, y)):
                    COV.hit("bf16.subnormal_input")
            else:
                if x + y >= 1 << 32:
                    COV.hit("int32.wraparound")
                if z >> 31:
                    COV.hit("int32.negative_result")

    async def start(self):
        await start_clock_reset(self.dut)
        cocotb.start_soon(self._monitor())

    async def _monitor(self):
        dut = self.dut
        cap = self.L + 1 + (3 if self.L >= 3 else 2)
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            await ReadOnly()
            occ = int(dut.occupancy.value)
            self.max_occupancy = max(self.max_occupancy, occ)
            assert occ <= cap, f"occupancy {occ} > {cap}"
            if dut.req__valid.value and not dut.req__ready.value:
                COV.hit("read.credit_stall")
            if dut.resp__valid.value and not dut.resp__ready.value:
                COV.hit("resp.stalled")

    def send(self, op, addr, data=0, cls=None):
        self.req.send_nowait({"op": op, "cls": ReqClass.COMPUTE if cls is None else cls,
                              "tracked": 0, "addr": addr, "tile": 0, "data": data})

    async def drain(self):
        await self.req.wait()
        for _ in range(20 * (self.L + 4)):
            if len(self.resp.queue) >= len(self.expected):
                break
            await RisingEdge(self.dut.clk)
        await ClockCycles(self.dut.clk, self.L + 4)
        await ReadOnly()
        assert int(self.dut.occupancy.value) == 0, "occupancy not 0 when idle"
        await RisingEdge(self.dut.clk)

    def check(self):
        got = [(int(r["cls"]), int(r["data"])) for r in self.resp.queue]
        assert len(got) == len(self.expected), \
            f"{len(got)} responses for {len(self.expected)} READs"
        for i, (g, e) in enumerate(zip(got, self.expected)):
            assert g == e, (f"response {i}: got cls={g[0]} data={g[1]:#x}, expected cls={e[0]} "
                            f"data={e[1]:#x} (lane {PARAMS.lane.value})")
        COV.write()


def random_requests(tb, rng, n, addr_pool):
    for _ in range(n):
        op = rng.choice([MemOp.READ, MemOp.READ, MemOp.STORE, MemOp.UPDATE, MemOp.UPDATE])
        addr = rng.choice(addr_pool)
        data = random_beat(rng) if op is not MemOp.READ else rng.getrandbits(PARAMS.data_width)
        tb.send(op, addr, data, cls=rng.choice(list(ReqClass)))


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stalls=[(0.0, 0.0), (0.3, 0.5), (0.0, 0.8)])
async def random_mix(dut, stalls):
    """READ/STORE/UPDATE mix on a few hot addresses (every bank, hazards at every distance) and on
    the whole address space, with random request gaps and response stalls."""
    tb = MemoryTB(dut)
    await tb.start()
    seed = 31 + int(stalls[0] * 10) + int(stalls[1] * 100)
    tb.req.set_pause_generator(random_pause(seed, stalls[0]))
    tb.resp.set_pause_generator(random_pause(seed + 1, stalls[1]))
    rng = random.Random(seed)
    depth = 1 << PARAMS.addr_width
    hot = [rng.randrange(depth) for _ in range(6)]
    random_requests(tb, rng, 1200, hot)
    random_requests(tb, rng, 400, list(range(depth)))
    random_requests(tb, rng, 200, hot[:2])
    await tb.drain()
    tb.check()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def back_to_back_updates(dut):
    """Many UPDATEs in a row to one address (and to two alternating addresses), one per cycle,
    then READs: no contribution lost (int32 sums exact; bf16 sequential RNE sums)."""
    tb = MemoryTB(dut)
    await tb.start()
    rng = random.Random(5)
    for addr in (17, 18):
        tb.send(MemOp.STORE, addr, random_beat(rng))
        for _ in range(40):
            tb.send(MemOp.UPDATE, addr, random_beat(rng))
        tb.send(MemOp.READ, addr)
    for i in range(40):                 # alternating, distance 2
        tb.send(MemOp.UPDATE, 40 + (i & 1), random_beat(rng))
    for i in range(30):                 # distance 3 (three addresses in one bank and others)
        tb.send(MemOp.UPDATE, 100 + 4 * (i % 3), random_beat(rng))
        tb.send(MemOp.READ, 100 + 4 * (i % 3))
    tb.send(MemOp.READ, 40)
    tb.send(MemOp.READ, 41)
    neg = join_lanes([1 << (lane_width() - 1)] * (PARAMS.data_width // lane_width()), lane_width())
    for i in range(8):                  # x + (-x): exact cancellation (+0 in bf16, 0 in int32)
        x = random_beat(rng)
        tb.send(MemOp.STORE, 60 + i, x)
        tb.send(MemOp.UPDATE, 60 + i, x ^ neg if BF16 else
                join_lanes([(-int(v)) & 0xFFFFFFFF for v in split_lanes(x, 32, PARAMS.data_width)],
                           32))
        tb.send(MemOp.READ, 60 + i)
    await tb.drain()
    tb.check()
    if not BF16:                        # independent check: int32 sum of all contributions
        assert len(tb.expected) >= 4


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def fixed_latency(dut):
    """With ``resp`` never stalled each READ is taken exactly ``mem_latency`` cycles after it was
    accepted, isolated or back to back (one per cycle sustained)."""
    tb = MemoryTB(dut)
    await tb.start()
    rng = random.Random(9)
    for i in range(8):                  # isolated
        tb.send(MemOp.READ, rng.randrange(64))
        for _ in range(tb.L + 3):
            await RisingEdge(dut.clk)
    start = len(tb.accept_cycle)
    for i in range(64):                 # back to back, with writes in between
        tb.send(MemOp.READ, i)
        if i % 8 == 7:
            tb.send(MemOp.STORE, i, random_beat(rng))
    await tb.drain()
    tb.check()
    lat = [r - a for a, r in zip(tb.accept_cycle, tb.resp_cycle)]
    assert all(x == tb.L for x in lat), f"latencies {sorted(set(lat))} != {tb.L}"
    span = tb.accept_cycle[-1] - tb.accept_cycle[start]
    assert span <= 64 + 8 + 2, f"64 reads + 8 stores took {span} cycles to accept"


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def read_credits(dut):
    """``resp`` stalled: exactly ``mem_latency + 1`` READs are accepted, then READ is held back
    while STOREs and UPDATEs still go through; releasing ``resp`` delivers everything in order."""
    tb = MemoryTB(dut)
    await tb.start()
    tb.resp.set_pause_generator(iter(lambda: True, None))
    rng = random.Random(3)
    for i in range(tb.L + 4):
        tb.send(MemOp.READ, 200 + i)
    await ClockCycles(dut.clk, 3 * tb.L + 10)
    assert len(tb.expected) == tb.L + 1, \
        f"{len(tb.expected)} READs accepted with resp stalled, expected {tb.L + 1}"
    # a STORE behind a blocked READ cannot pass it (in-order stream): use a fresh phase
    tb.resp.clear_pause_generator()
    await tb.drain()
    tb.resp.set_pause_generator(iter(lambda: True, None))
    for i in range(tb.L + 1):
        tb.send(MemOp.READ, 300 + i)
    await tb.req.wait()
    n_before = tb.req.count
    for i in range(6):
        tb.send(MemOp.STORE if i % 2 else MemOp.UPDATE, 300 + i, random_beat(rng))
    await ClockCycles(dut.clk, 12)
    assert tb.req.count == n_before + 6, "STORE/UPDATE blocked while READ credits were exhausted"
    COV.hit("write.accepted_while_credits_exhausted")
    for i in range(6):
        tb.send(MemOp.READ, 300 + i)
    await ClockCycles(dut.clk, 10)
    assert tb.req.count == n_before + 6
    tb.resp.clear_pause_generator()
    await tb.drain()
    tb.check()
