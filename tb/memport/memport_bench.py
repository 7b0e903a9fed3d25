"""cocotb bench of the memory port (``hw/memport.py``) with cocotbext-axi's ``AxiRam`` on its AXI4
master port.

Random pauses on every AXI channel of the RAM (AW, W, B, AR, R) and on the request and both
response streams. Requests are random READs (both classes), STOREs and UPDATEs to a few addresses,
sent back to back (so same-address hazards are frequent).

Scoreboard: a sequential reference memory (a dict, seeded with the RAM's random initial contents)
executes every request in the order the port accepted it: STORE writes, UPDATE writes
``mem + data`` lane-wise (:func:`sim.ref.nmc.add_beats`, int32 wrap-around), READ appends the
current value to its class's expected responses. Checked: every READ's data on
``compute_resp``/``comm_resp`` in order with its class; at the end the RAM contents (read through
the RAM's back door) equal the reference memory, so no UPDATE was lost or applied twice; every
cycle ``occupancy <= outstanding`` and ``err_resp`` low; ``occupancy`` returns to 0.
"""

import random

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiRam

from hw.params import MemOp, ReqClass, T3Params
from sim.ref.nmc import add_beats
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.stream import StreamSink, StreamSource

TIMEOUT_US = 2000


class MemPortTB:
    def __init__(self, dut):
        self.dut = dut
        self.p = T3Params(**bench_env("T3_PARAMS", {}))
        self.outstanding = bench_env("T3_OUTSTANDING")
        p = self.p
        self.beat_bytes = p.data_width // 8
        self.req = StreamSource(dut, "req", dut.clk, p.mem_request_layout)
        self.resp = {ReqClass.COMPUTE: StreamSink(dut, "compute_resp", dut.clk,
                                                  p.mem_response_layout),
                     ReqClass.COMM: StreamSink(dut, "comm_resp", dut.clk, p.mem_response_layout)}
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi_"), dut.clk, dut.rst,
                          size=(1 << p.addr_width) * self.beat_bytes)
        self.mem = {}
        self.expected = {c: [] for c in self.resp}
        self.got = {c: 0 for c in self.resp}
        self.errors = []
        self.req.on_transfer.append(self._accepted)
        for cls, sink in self.resp.items():
            sink.on_transfer.append(lambda item, cls=cls: self._response(cls, item))

    # -- scoreboard ---------------------------------------------------------------------------
    def _accepted(self, r):
        a = r["addr"]
        if r["op"] is MemOp.READ:
            self.expected[r["cls"]].append(self.mem[a])
        elif r["op"] is MemOp.STORE:
            self.mem[a] = r["data"]
        else:
            self.mem[a] = add_beats(self.mem[a], r["data"], self.p, self.p.data_width)

    def _response(self, cls, item):
        self.resp[cls].queue.pop()
        i = self.got[cls]
        self.got[cls] += 1
        if i >= len(self.expected[cls]):
            self.errors.append(f"{cls.name}: response {i} without a READ: {item}")
        elif item["cls"] != cls.value or item["data"] != self.expected[cls][i]:
            self.errors.append(f"{cls.name} response {i}: got {item}, want data "
                               f"{self.expected[cls][i]:#x}")

    async def _watch(self):
        while True:
            await RisingEdge(self.dut.clk)
            occ = int(self.dut.occupancy.value)
            if occ > self.outstanding:
                self.errors.append(f"occupancy {occ} > outstanding {self.outstanding}")
            if int(self.dut.err_resp.value):
                self.errors.append("err_resp raised")

    # -- set-up ---------------------------------------------------------------------------------
    async def start(self, rng):
        for a in range(1 << self.p.addr_width):
            w = rng.getrandbits(self.p.data_width)
            self.mem[a] = w
            self.ram.write(a * self.beat_bytes, w.to_bytes(self.beat_bytes, "little"))
        await start_clock_reset(self.dut)
        cocotb.start_soon(self._watch())

    def set_pauses(self, seed, prob):
        chans = (self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                 self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                 self.ram.read_if.r_channel)
        for i, ch in enumerate(chans):
            ch.set_pause_generator(random_pause(seed + i, prob))
        self.req.set_pause_generator(random_pause(seed + 10, prob))
        for i, sink in enumerate(self.resp.values()):
            sink.set_pause_generator(random_pause(seed + 11 + i, prob))

    def send(self, op, addr, data=0, cls=ReqClass.COMPUTE):
        self.req.send_nowait({"op": op, "cls": cls, "tracked": 0, "addr": addr, "tile": 0,
                              "data": data})

    async def drain(self, limit=20000):
        await self.req.wait()
        for _ in range(limit):
            done = all(self.got[c] == len(self.expected[c]) for c in self.resp)
            if done and int(self.dut.occupancy.value) == 0:
                break
            await RisingEdge(self.dut.clk)
        else:
            raise AssertionError(f"not drained: got {self.got}, expected "
                                 f"{ {c.name: len(v) for c, v in self.expected.items()} }, "
                                 f"occupancy {int(self.dut.occupancy.value)}")
        await ClockCycles(self.dut.clk, 4)

    def check(self):
        assert not self.errors, "\n".join(self.errors[:10])
        assert all(self.got[c] == len(self.expected[c]) for c in self.resp)
        for a, want in sorted(self.mem.items()):
            got = int.from_bytes(self.ram.read(a * self.beat_bytes, self.beat_bytes), "little")
            assert got == want, f"RAM beat {a}: {got:#x}, reference {want:#x}"


def small_beat(rng, lanes):
    """A beat of small signed int32 lanes (plus an occasional wrap-around operand)."""
    out = 0
    for i in range(lanes):
        v = rng.choice([rng.randrange(-100, 100), 0x7FFFFFFF, -0x80000000]) \
            if rng.random() < 0.1 else rng.randrange(-100, 100)
        out |= (v & 0xFFFFFFFF) << (32 * i)
    return out


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stall=[0.0, 0.3, 0.7])
async def random_mix_matches_sequential_memory(dut, stall):
    """Random READ/STORE/UPDATE traffic to four addresses against the sequential reference."""
    tb = MemPortTB(dut)
    rng = random.Random(int(stall * 100) + 5)
    await tb.start(rng)
    tb.set_pauses(int(stall * 100), stall)
    lanes = tb.p.data_width // 32
    addrs = [0, 1, 2, 7]
    n = 300
    ops = rng.choices([MemOp.READ, MemOp.STORE, MemOp.UPDATE], weights=[4, 2, 4], k=n)
    for op in ops:
        cls = rng.choice([ReqClass.COMPUTE, ReqClass.COMM])
        tb.send(op, rng.choice(addrs), small_beat(rng, lanes) if op is not MemOp.READ else 0, cls)
    await tb.drain()
    tb.check()
    dut._log.info("stall %.1f: %d requests, %d/%d reads", stall, n,
                  len(tb.expected[ReqClass.COMPUTE]), len(tb.expected[ReqClass.COMM]))


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stall=[0.0, 0.5])
async def back_to_back_updates_lose_nothing(dut, stall):
    """Bursts of UPDATEs of +1 to one address interleaved with UPDATEs to a second one, READs
    between bursts: every READ, and the final contents, count every update exactly once."""
    tb = MemPortTB(dut)
    rng = random.Random(17 + int(stall * 10))
    await tb.start(rng)
    tb.set_pauses(40 + int(stall * 10), stall)
    lanes = tb.p.data_width // 32
    one = sum(1 << (32 * i) for i in range(lanes))
    for a in (3, 4):
        tb.send(MemOp.STORE, a, 0)
    for burst in range(6):
        for _ in range(12):
            tb.send(MemOp.UPDATE, 3, one)
            if rng.random() < 0.3:
                tb.send(MemOp.UPDATE, 4, one)
        tb.send(MemOp.READ, 3, cls=ReqClass.COMM if burst % 2 else ReqClass.COMPUTE)
    await tb.drain()
    tb.check()
    assert tb.mem[3] == 72 * one           # the reference itself: 6 bursts of 12 updates of +1
