"""cocotb bench of the trigger and the DMA engine together (``tb.dma.wrapper.TriggerDma``).

Drives ``cmd_write`` (program / invalidate table entries), ``fire`` and ``doorbell``; a fake memory
answers the DMA engine's READs in order after a random latency (data = a hash of the address);
``tx`` and ``mem_req`` are randomly stalled. A monitor samples every handshake at each clock edge
and keeps the reference: the command table (a ``cmd_write`` in the same cycle as a lookup is seen
by it), the list of commands made ready (a fire for tile ``t`` looks up ``t % tracker_entries``)
and the number of lookups of unprogrammed entries. Checked at the end of each test:

* the trigger -> DMA command stream carries exactly the ready commands, each once, in order;
* ``mem_req``: exactly :func:`sim.ref.dma.command_reads` of each command, in order, as
  ``READ``/``COMM``/untracked requests carrying the command's tile;
* ``tx``: exactly :func:`sim.ref.dma.command_packet` of each command (header =
  ``link_header_layout`` in the low bits, ``last`` on the final beat, ``last`` on the header of a
  length-0 command), in order;
* ``err_no_command`` pulses = lookups of unprogrammed entries; ``issued``, ``commands_done``,
  ``beats_sent`` counters; ``busy`` and ``queue_level`` back to 0; ``mem_resp.ready`` never low
  while ``mem_resp.valid`` (the DMA's credits guarantee room).

Coverage (``build/coverage/trigger_dma_<tag>-<sim>.json``): fire vs doorbell lookups (and both in
one cycle), unprogrammed / invalidated entries, queue full, fire and doorbell back-pressured,
write-during-lookup, length 0 / maximum length, address wrap, stalls, back-to-back packets.
"""

import os
import random
from collections import deque

import cocotb
from amaranth.hdl import unsigned
from amaranth.lib import data
from cocotb.triggers import ClockCycles, RisingEdge

from hw.params import MemOp, ReqClass, T3Params
from sim.ref.dma import command_packet, command_reads
from tb.common.bench import bench_env, random_pause, start_clock_reset
from tb.common.coverage import Coverage
from tb.common.stream import StreamSink, StreamSource, unpack

TIMEOUT_US = 3000

PARAMS = T3Params(**bench_env("T3_PARAMS", {}))
QUEUE_DEPTH = bench_env("T3_QUEUE_DEPTH", 8)
TAG = os.environ.get("T3_TAG", "default")
TABLE = {}           # reference command table (the RTL table RAM has no reset: persists)

COV = Coverage(f"trigger_dma_{TAG}", {
    "trig.lookup_fire": 20, "trig.lookup_doorbell": 20,
    "trig.fire_and_doorbell_same_cycle": 5,
    "trig.unprogrammed_fire": 5, "trig.unprogrammed_doorbell": 5,
    "trig.invalidated_entry_lookup": 3,
    "trig.write_same_cycle_as_lookup": 1,
    "trig.fire_tile_above_entries": 5,
    "trig.queue_full": 5,
    "trig.fire_backpressured": 5, "trig.doorbell_backpressured": 5,
    "dma.cmd_from_fire": 20, "dma.cmd_from_doorbell": 20,
    "dma.length_0": 3, "dma.length_max": 1, "dma.src_addr_wrap": 2,
    "dma.tx_stalled": 20, "dma.mem_req_stalled": 20,
    "dma.back_to_back_packets": 5,
})


def mem_data(addr):
    """Contents of the fake memory at ``addr`` (a hash, different in every lane)."""
    x = (addr + 1) * 0x9E3779B97F4A7C15
    word = 0
    for i in range(0, PARAMS.data_width, 64):
        word |= ((x ^ (x >> 29) ^ (i * 0x1234567)) & ((1 << 64) - 1)) << i
    return word & ((1 << PARAMS.data_width) - 1)


class DmaTB:
    def __init__(self, dut, *, resp_latency=(2, 6)):
        self.dut = dut
        p = PARAMS
        self.E = p.tracker_entries
        write_layout = data.StructLayout({"index": unsigned(p.index_width), "valid": 1,
                                          "command": p.dma_command_layout})
        self.cmd_layout = p.dma_command_layout
        self.cmd_write = StreamSource(dut, "cmd_write", dut.clk, write_layout)
        self.fire = StreamSource(dut, "fire", dut.clk, p.fire_layout)
        self.doorbell = StreamSource(dut, "doorbell", dut.clk,
                                     data.StructLayout({"index": unsigned(p.index_width)}))
        self.tx = StreamSink(dut, "tx", dut.clk, p.link_layout)
        self.mem_req = StreamSink(dut, "mem_req", dut.clk, p.mem_request_layout)
        self.mem_resp = StreamSource(dut, "mem_resp", dut.clk, p.mem_response_layout)
        self.src_dev = random.Random(len(TABLE)).randrange(1 << p.dev_width)
        dut.src_dev.value = self.src_dev
        self.resp_latency = resp_latency
        self.rng = random.Random(99)
        self.pending_resp = deque()      # (due cycle, addr)
        self.cycle = 0
        self.expected_cmds = []          # commands made ready, in order
        self.expected_err = 0
        self.got_cmds = []
        self.got_err = 0
        self.max_level = 0
        self.last_tx_last_cycle = None
        self.mem_req.on_transfer.append(self._on_mem_req)

    def _on_mem_req(self, item):
        lo, hi = self.resp_latency
        due = self.cycle + self.rng.randint(lo, hi)
        if self.pending_resp:
            due = max(due, self.pending_resp[-1][0])
        self.pending_resp.append((due, item["addr"]))

    async def start(self):
        self.dut.rst.value = 1
        await start_clock_reset(self.dut)
        cocotb.start_soon(self._monitor())

    async def _monitor(self):
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            # -- table writes first: a lookup in the same cycle sees them ----------------------
            written = None
            if dut.cmd_write__valid.value and dut.cmd_write__ready.value:
                w = self.cmd_write._decode()
                written = w["index"]
                TABLE[w["index"]] = dict(w["command"]) if w["valid"] else "invalid"
            fv, fr = int(dut.fire__valid.value), int(dut.fire__ready.value)
            dv, dr = int(dut.doorbell__valid.value), int(dut.doorbell__ready.value)
            assert not (fv and fr and dv and dr), "fire and doorbell accepted in the same cycle"
            lookup = None
            if fv and fr:
                tile = self.fire._decode()["tile"]
                lookup, src = tile % self.E, "fire"
                if tile >= self.E:
                    COV.hit("trig.fire_tile_above_entries")
            elif dv and dr:
                lookup, src = self.doorbell._decode()["index"], "doorbell"
            if (fv and fr or dv and dr) and fv and dv:
                COV.hit("trig.fire_and_doorbell_same_cycle")
            if lookup is not None:
                COV.hit(f"trig.lookup_{src}")
                if written == lookup:
                    COV.hit("trig.write_same_cycle_as_lookup")
                entry = TABLE.get(lookup)
                if isinstance(entry, dict):
                    self.expected_cmds.append(dict(entry))
                    COV.hit(f"dma.cmd_from_{src}")
                else:
                    self.expected_err += 1
                    COV.hit(f"trig.unprogrammed_{src}")
                    if entry == "invalid":
                        COV.hit("trig.invalidated_entry_lookup")
            if fv and not fr:
                COV.hit("trig.fire_backpressured")
            if dv and not dr:
                COV.hit("trig.doorbell_backpressured")
            # -- trigger -> DMA command stream, error pulses, status ------------------------------
            if dut.cmd_tap_valid.value and dut.cmd_tap_ready.value:
                self.got_cmds.append(unpack(self.cmd_layout, int(dut.cmd_tap_payload.value)))
            self.got_err += int(dut.err_no_command.value)
            level = int(dut.queue_level.value)
            assert level <= QUEUE_DEPTH
            if level == QUEUE_DEPTH:
                COV.hit("trig.queue_full")
            if dut.mem_resp__valid.value:
                assert dut.mem_resp__ready.value, "mem_resp.ready low: the DMA credits failed"
            if dut.tx__valid.value and not dut.tx__ready.value:
                COV.hit("dma.tx_stalled")
            if dut.mem_req__valid.value and not dut.mem_req__ready.value:
                COV.hit("dma.mem_req_stalled")
            if dut.tx__valid.value and dut.tx__ready.value:
                if self.last_tx_last_cycle == self.cycle - 1:
                    COV.hit("dma.back_to_back_packets")
                if (int(dut.tx__payload.value) >> PARAMS.data_width) & 1:
                    self.last_tx_last_cycle = self.cycle
            # -- fake memory: in-order responses after their latency ---------------------------
            while self.pending_resp and self.pending_resp[0][0] <= self.cycle:
                _, addr = self.pending_resp.popleft()
                self.mem_resp.send_nowait({"cls": ReqClass.COMM, "data": mem_data(addr)})

    def set_stalls(self, seed, p_tx, p_req, p_resp=0.0, p_in=0.0):
        self.tx.set_pause_generator(random_pause(seed, p_tx))
        self.mem_req.set_pause_generator(random_pause(seed + 1, p_req))
        self.mem_resp.set_pause_generator(random_pause(seed + 2, p_resp))
        self.fire.set_pause_generator(random_pause(seed + 3, p_in))
        self.doorbell.set_pause_generator(random_pause(seed + 4, p_in))

    def random_command(self, rng):
        p = PARAMS
        depth, lmax = 1 << p.addr_width, (1 << p.len_width) - 1
        r = rng.random()
        length = 0 if r < 0.05 else lmax if r < 0.08 else rng.randint(1, min(lmax, 12))
        src = rng.randrange(depth) if rng.random() < 0.8 else depth - rng.randint(1, 4)
        return {"src_addr": src, "length": length, "dst_dev": rng.randrange(1 << p.dev_width),
                "dst_addr": rng.randrange(depth), "tile": rng.randrange(1 << p.tile_width),
                "op": rng.randrange(2)}

    def program(self, index, command=None):
        """Write (``command``) or invalidate (``None``) table entry ``index``."""
        self.cmd_write.send_nowait({"index": index, "valid": int(command is not None),
                                    "command": command or {}})

    async def drain(self, idle=40):
        for s in (self.cmd_write, self.fire, self.doorbell):
            await s.wait()
        quiet = 0
        while quiet < idle:
            await RisingEdge(self.dut.clk)
            busy = (self.dut.busy.value or self.dut.cmd_tap_valid.value or self.pending_resp
                    or not self.mem_resp.idle())
            quiet = 0 if busy else quiet + 1

    def check(self):
        dut = self.dut
        got = [dict(c) for c in self.got_cmds]
        assert len(got) == len(self.expected_cmds), \
            f"{len(got)} commands issued, {len(self.expected_cmds)} made ready"
        for i, (g, e) in enumerate(zip(got, self.expected_cmds)):
            assert g == e, f"command {i}: issued {g}, expected {e}"
        assert self.got_err == self.expected_err, \
            f"{self.got_err} err_no_command pulses, expected {self.expected_err}"
        reads, beats = [], []
        for c in got:
            reads += [(a, c["tile"]) for a in command_reads(PARAMS, c)]
            beats += command_packet(PARAMS, c, self.src_dev, mem_data)
            if c["length"] == 0:
                COV.hit("dma.length_0")
            if c["length"] == (1 << PARAMS.len_width) - 1:
                COV.hit("dma.length_max")
            if c["src_addr"] + c["length"] > 1 << PARAMS.addr_width:
                COV.hit("dma.src_addr_wrap")
        req = list(self.mem_req.queue)
        assert [(r["addr"], r["tile"]) for r in req] == reads, "DMA read addresses/tiles differ"
        assert all(r["op"] == MemOp.READ.value and r["cls"] == ReqClass.COMM.value
                   and r["tracked"] == 0 for r in req), "DMA read request fields"
        tx = [(b["data"], b["last"]) for b in self.tx.queue]
        assert len(tx) == len(beats), f"{len(tx)} tx beats, expected {len(beats)}"
        for i, (g, e) in enumerate(zip(tx, beats)):
            assert g == e, f"tx beat {i}: got ({g[0]:#x}, last={g[1]}), expected ({e[0]:#x}, {e[1]})"
        assert int(dut.issued.value) == len(got)
        assert int(dut.commands_done.value) == len(got)
        assert int(dut.beats_sent.value) == len(beats)
        assert int(dut.busy.value) == 0 and int(dut.queue_level.value) == 0
        COV.write()


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
@cocotb.parametrize(stalls=[(0.0, 0.0, 0.0), (0.3, 0.3, 0.3), (0.7, 0.1, 0.0)])
async def random_traffic(dut, stalls):
    """Programmed, invalidated and never-programmed entries; random fires (tiles above the table
    size too) and doorbells interleaved with re-programming; random stalls everywhere."""
    tb = DmaTB(dut)
    await tb.start()
    seed = 7 + int(10 * stalls[0]) + int(100 * stalls[1])
    tb.set_stalls(seed, stalls[0], stalls[1], stalls[2], p_in=0.3)
    rng = random.Random(seed)
    E = tb.E
    used = list(range(0, E, max(1, E // 16)))[:16]        # entries used by this test
    for i in used:
        r = rng.random()
        tb.program(i, tb.random_command(rng) if r < 0.75 else None)
    for _ in range(250):
        r = rng.random()
        if r < 0.1:
            tb.program(rng.choice(used), tb.random_command(rng) if rng.random() < 0.8 else None)
        elif r < 0.55:
            i = rng.choice(used)
            tb.fire.send_nowait({"tile": i + E * rng.randrange(1 << (PARAMS.tile_width
                                                                      - PARAMS.index_width))})
        else:
            tb.doorbell.send_nowait({"index": rng.choice(used)})
        if rng.random() < 0.3:
            await ClockCycles(dut.clk, rng.randint(1, 6))
        while len(tb.fire.queue) + len(tb.doorbell.queue) > 8:
            await RisingEdge(dut.clk)
    await tb.drain()
    tb.check()
    assert len(tb.got_cmds) > 100


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def queue_full_backpressure(dut):
    """``tx`` stalled: the DMA stops taking commands, the ready queue fills to its depth and
    ``fire``/``doorbell`` are back-pressured (nothing dropped); releasing ``tx`` issues every
    ready command exactly once, in order."""
    tb = DmaTB(dut)
    await tb.start()
    rng = random.Random(21)
    for i in range(8):
        cmd = tb.random_command(rng)
        cmd["length"] = rng.randint(1, 3)
        tb.program(i, cmd)
    await tb.cmd_write.wait()
    tb.tx.set_pause_generator(iter(lambda: True, None))
    n = 3 * QUEUE_DEPTH + 8
    for k in range(n):
        if k % 2:
            tb.fire.send_nowait({"tile": k % 8})
        else:
            tb.doorbell.send_nowait({"index": k % 8})
    await ClockCycles(dut.clk, 150)
    assert int(dut.queue_level.value) == QUEUE_DEPTH, "ready queue not full while tx stalled"
    assert not (tb.fire.idle() and tb.doorbell.idle()), "fire/doorbell not back-pressured"
    held = len(tb.expected_cmds)
    await ClockCycles(dut.clk, 50)
    assert len(tb.expected_cmds) == held, "lookups accepted while the queue was full"
    tb.tx.set_pause_generator(random_pause(5, 0.5))
    await tb.drain()
    tb.check()
    assert len(tb.got_cmds) == n


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def unprogrammed_entries(dut):
    """Fires and doorbells on invalidated entries: one ``err_no_command`` pulse each, nothing
    issued; mixed with valid ones that are issued in order."""
    tb = DmaTB(dut)
    await tb.start()
    rng = random.Random(8)
    E = tb.E
    bad = [E - 1, E - 2, E - 3]
    for i in bad:
        tb.program(i)                   # invalidate
    tb.program(E - 4, tb.random_command(rng))
    await tb.cmd_write.wait()
    for k in range(12):
        tb.fire.send_nowait({"tile": rng.choice(bad + [E - 4])})
        tb.doorbell.send_nowait({"index": rng.choice(bad + [E - 4])})
    await tb.drain()
    tb.check()
    assert tb.expected_err > 5


@cocotb.test(timeout_time=TIMEOUT_US, timeout_unit="us")
async def fire_doorbell_round_robin(dut):
    """``fire`` and ``doorbell`` both valid every cycle: they are accepted alternately, one lookup
    per cycle sustained while the queue has room; length-0 commands make single-beat packets."""
    tb = DmaTB(dut)
    await tb.start()
    rng = random.Random(12)
    for i in range(4):
        cmd = tb.random_command(rng)
        cmd["length"] = 0 if i < 2 else 1
        tb.program(i, cmd)
    await tb.cmd_write.wait()
    order = []
    tb.fire.on_transfer.append(lambda it: order.append("f"))
    tb.doorbell.on_transfer.append(lambda it: order.append("d"))
    for k in range(16):
        tb.fire.send_nowait({"tile": k % 2})
        tb.doorbell.send_nowait({"index": 2 + k % 2})
    await tb.drain()
    tb.check()
    both = order[:30]
    assert all(a != b for a, b in zip(both, both[1:])), f"not alternating: {''.join(order)}"
