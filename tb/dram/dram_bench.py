"""cocotb bench of the DRAM timing model (``hw/dram.py``) against its cycle-level reference.

Traffic comes from cocotbext-axi's ``AxiMaster`` with random pause generators on all five channels
(AW, W, B, AR, R). A monitor samples every AXI input and output of the DUT in every cycle (in the
read-only phase, after the master has driven its inputs), feeds the inputs to
:class:`sim.ref.dram.DramRef` and requires every output to be equal: ``arready``, ``awready``,
``wready``, ``rvalid``, ``bvalid``, ``occupancy`` in every cycle and the R/B payloads (ID, data,
response, ``rlast``) whenever valid. So the completion cycle of each request (its last R beat or
its B handshake) and all read data equal the reference's; the lists of completions (cycle, kind,
ID, response) of both sides are also compared at the end of each test.

The reference is written from the specification, not from the RTL; it also checks the functional
data: a read that follows the completion of a write to its address returns the written bytes
(tested separately by ``test_write_then_read`` against a plain Python shadow memory).

Random traffic: random IDs, bursts of 1..``max_burst`` beats, a few hot rows (row hits) among
random addresses (misses and conflicts), read/write mix, random byte strobes, and a few illegal
requests (FIXED bursts, bursts crossing an interleave boundary, addresses past the capacity) that
must get SLVERR without hanging.
"""

import logging
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiBus, AxiBurstType, AxiMaster

from hw.dram_params import DramParams, Scheduler
from sim.ref.dram import DramRef
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.coverage import Coverage

TAG = os.environ.get("DRAM_TAG", "default")
DEBUG = os.environ.get("DRAM_DEBUG", "0") != "0"


def load_params():
    cfg = dict(bench_env("DRAM_PARAMS", {}))
    if "scheduler" in cfg:
        cfg["scheduler"] = Scheduler(cfg["scheduler"])
    return DramParams(**cfg)


P = load_params()


def init_of(params):
    return [(0x5A5A0000 + i) * 0x100000001 & ((1 << params.data_width) - 1)
            for i in range(params.capacity)]


INPUTS = ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "wdata", "wstrb", "wlast",
          "wvalid", "bready", "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "rready")
CTRL_OUT = ("arready", "awready", "wready", "rvalid", "bvalid")
R_OUT = ("rid", "rdata", "rresp", "rlast")
B_OUT = ("bid", "bresp")

COV = Coverage(f"dram_{TAG}", {
    "cmd.act": 20, "cmd.pre": 5, "cmd.rd": 50, "cmd.wr": 50, "cmd.ref": 1,
    "resp.slverr": 3, "strict_cycles": 1, "r.stall": 20, "b.stall": 5,
    "queue.full": 10,
})

REF = DramRef(P, init_of(P))   # storage persists across the tests of a run, like the RTL's


def _int(v):
    """An input's value; undriven payload bits (X/Z, before the master's first transfer) as 0."""
    return int(v) if v.is_resolvable else 0


class DramTB:
    def __init__(self, dut, seed, pause):
        self.dut = dut
        self.rng = random.Random(seed)
        self.axi = AxiMaster(AxiBus.from_prefix(dut, "s_axi_"), dut.clk, dut.rst)
        for log in (self.axi.write_if.log, self.axi.read_if.log):
            log.setLevel(logging.WARNING)
        chans = (self.axi.write_if.aw_channel, self.axi.write_if.w_channel,
                 self.axi.write_if.b_channel, self.axi.read_if.ar_channel,
                 self.axi.read_if.r_channel)
        for k, ch in enumerate(chans):
            ch.set_pause_generator(random_pause(seed * 10 + k, pause[k] if isinstance(pause, tuple)
                                                else pause))
        self.handles = {n: getattr(dut, f"s_axi__{n}") for n in
                        INPUTS + CTRL_OUT + R_OUT + B_OUT}
        self.cycle = 0
        self.errors = []
        self.done_dut, self.done_ref = [], []
        self.strict_cycles = 0
        self.hist = []

    async def start(self):
        REF.reset()
        cocotb.start_soon(self._monitor())       # from before reset: cycle 0 is the first
        await start_clock_reset(self.dut)        # cycle in which rst is low

    async def _monitor(self):
        dut, h = self.dut, self.handles
        await ReadOnly()
        while True:
            if not dut.rst.value.is_resolvable or int(dut.rst.value):
                REF.reset()
            else:
                inp = {n: _int(h[n].value) for n in INPUTS}
                got = {n: int(h[n].value) for n in CTRL_OUT + R_OUT + B_OUT}
                got["occupancy"] = int(dut.occupancy.value)
                if REF.strict():
                    self.strict_cycles += 1
                qstate = [(e.kind, e.id, e.beat, e.n, e.err, e.wdone, REF.c - e.arrive)
                           for e in REF.queue]
                bstate = [(b.open, b.row) for b in REF.banks]
                want = REF.step(inp)
                if DEBUG:
                    self.hist.append((self.cycle, REF.last, REF.refdue, [b.act_ok for b in REF.banks], _int(self.dut.refdue.value), qstate, bstate, self._dut_state()))
                    self.hist = self.hist[-45:]
                keys = list(CTRL_OUT) + ["occupancy"]
                if want["rvalid"]:
                    keys += R_OUT
                if want["bvalid"]:
                    keys += B_OUT
                bad = {k: (got[k], want[k]) for k in keys if got[k] != want[k]}
                if bad and DEBUG and not self.errors:
                    for hh in self.hist:
                        dut._log.info("%s", hh)
                if bad and len(self.errors) < 10:
                    self.errors.append(f"cycle {self.cycle}: (dut, ref) {bad}")
                for side, o, lst in (("dut", got, self.done_dut), ("ref", want, self.done_ref)):
                    if o["rvalid"] and inp["rready"] and o.get("rlast"):
                        lst.append((self.cycle, "R", o["rid"], o["rresp"]))
                    if o["bvalid"] and inp["bready"]:
                        lst.append((self.cycle, "B", o["bid"], o["bresp"]))
                if want["rvalid"] and not inp["rready"]:
                    COV.hit("r.stall")
                if want["bvalid"] and not inp["bready"]:
                    COV.hit("b.stall")
                if got["occupancy"] == P.queue_depth:
                    COV.hit("queue.full")
                self.cycle += 1
            await RisingEdge(dut.clk)
            await ReadOnly()

    def _dut_state(self):
        d = self.dut
        g = lambda n: _int(getattr(d, n).value)
        q = [(g(f"q{i}_write"), g(f"q{i}_id"), g(f"q{i}_beat"), g(f"q{i}_len") + 1,
              g(f"q{i}_err"), g(f"q{i}_wdone"), g(f"q{i}_age"))
             for i in range(P.queue_depth) if g(f"q{i}_valid")]
        b = [(g(f"b{k}_open"), g(f"b{k}_row")) for k in range(P.banks)]
        return q, b, g("col_idx"), g("row_idx")

    def check(self):
        assert not self.errors, "RTL differs from the reference:\n" + "\n".join(self.errors)
        assert self.done_dut == self.done_ref
        assert self.done_dut, "no transaction completed"
        for k, v in REF.stats.items():
            COV.hit(f"cmd.{k}", v)
        COV.hit("strict_cycles", self.strict_cycles)
        COV.hit("resp.slverr", sum(1 for d in self.done_ref if d[3] == 2))
        COV.write()

    # -- traffic ------------------------------------------------------------------------------
    def random_request(self, hot):
        rng, bb = self.rng, P.beat_bytes
        n = rng.choice([1, 2, P.max_burst, rng.randint(1, P.max_burst)])
        if rng.random() < 0.6:
            beat = rng.choice(hot) + rng.randrange(P.interleave)
        else:
            beat = rng.randrange(P.capacity)
        beat -= beat % n if n & (n - 1) == 0 else 0
        # keep inside one interleave chunk (legal) unless this request is meant to be illegal
        chunk = beat - beat % P.interleave
        beat = min(beat, chunk + P.interleave - n)
        burst, size = AxiBurstType.INCR, None
        r = rng.random()
        if r < 0.01:
            burst = AxiBurstType.FIXED
        elif r < 0.02:
            beat = chunk + P.interleave - 1          # crosses the chunk boundary (if n > 1)
            n = max(n, 2)
        elif r < 0.03 and P.addr_width > (P.capacity * bb - 1).bit_length():
            beat = P.capacity + rng.randrange(P.capacity)   # past the capacity
        return beat * bb, n, burst, size

    async def random_traffic(self, count, write_frac, max_outstanding=16):
        rng = self.rng
        hot = [rng.randrange(P.capacity // P.interleave) * P.interleave for _ in range(3)]
        events = []
        for _ in range(count):
            addr, n, burst, size = self.random_request(hot)
            ident = rng.randrange(1 << P.id_width)
            if rng.random() < write_frac:
                data = bytes(rng.randrange(256) for _ in range(n * P.beat_bytes))
                if rng.random() < 0.2:           # unaligned start: partial strobes
                    addr += rng.randrange(1, P.beat_bytes)
                    data = data[:len(data) - (addr % P.beat_bytes)]
                ev = self.axi.init_write(addr, data, awid=ident, burst=burst, size=size)
            else:
                ev = self.axi.init_read(addr, n * P.beat_bytes, arid=ident, burst=burst,
                                        size=size)
            events.append(ev)
            while sum(1 for e in events if not e.is_set()) >= max_outstanding:
                await RisingEdge(self.dut.clk)
        for ev in events:
            await ev.wait()
        for _ in range(P.tCL + P.tCWL + 40):
            await RisingEdge(self.dut.clk)


@cocotb.test(timeout_time=400, timeout_unit="ms")
async def test_random_traffic(dut):
    """Random mixed traffic, random stalls on every channel: RTL == reference every cycle."""
    tb = DramTB(dut, seed=1, pause=(0.2, 0.2, 0.3, 0.2, 0.3))
    await tb.start()
    before = dict(REF.stats)
    await tb.random_traffic(300, write_frac=0.5)
    tb.check()
    # the traffic reached what it is meant to test (counts from the reference == the RTL)
    grew = {k: REF.stats[k] - before[k] for k in REF.stats}
    assert min(grew["act"], grew["pre"], grew["rd"], grew["wr"]) > 0, grew
    assert grew["ref"] > 0, f"no refresh during the test: {grew}"
    assert any(d[3] == 2 for d in tb.done_ref), "no SLVERR response"
    assert tb.strict_cycles > 0 or P.age_cap > 100, "age cap never reached"


@cocotb.test(timeout_time=400, timeout_unit="ms")
async def test_streaming_no_stalls(dut):
    """Back-to-back sequential bursts without stalls (peak-rate paths, queue full)."""
    tb = DramTB(dut, seed=2, pause=0.0)
    await tb.start()
    events = []
    for k in range(48):
        addr = (k * P.max_burst % P.capacity) * P.beat_bytes
        if k % 3 == 2:
            events.append(tb.axi.init_write(addr, bytes(range(P.max_burst * P.beat_bytes)),
                                            awid=k % (1 << P.id_width)))
        else:
            events.append(tb.axi.init_read(addr, P.max_burst * P.beat_bytes,
                                           arid=k % (1 << P.id_width)))
    for ev in events:
        await ev.wait()
    tb.check()


@cocotb.test(timeout_time=400, timeout_unit="ms")
async def test_write_then_read(dut):
    """Functional check independent of the reference: each write completed, then read back."""
    tb = DramTB(dut, seed=3, pause=0.3)
    await tb.start()
    rng = random.Random(3)
    shadow = {}
    for _ in range(20):
        n = rng.randint(1, P.max_burst)
        beat = rng.randrange(P.capacity // P.interleave) * P.interleave + \
            rng.randrange(P.interleave - n + 1)
        data = bytes(rng.randrange(256) for _ in range(n * P.beat_bytes))
        await tb.axi.write(beat * P.beat_bytes, data, awid=rng.randrange(1 << P.id_width))
        for i, b in enumerate(data):
            shadow[beat * P.beat_bytes + i] = b
        got = await tb.axi.read(beat * P.beat_bytes, len(data),
                                arid=rng.randrange(1 << P.id_width))
        assert got.data == data, f"read back of beat {beat} differs"
        assert int(got.resp) == 0
    # an illegal request answers SLVERR
    bad = await tb.axi.read(0, P.beat_bytes, burst=AxiBurstType.FIXED)
    assert int(bad.resp) == 2
    tb.check()
