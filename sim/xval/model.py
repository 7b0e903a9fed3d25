"""Cycle-level (CL) model of the RTL ring scenario (``tb/ring/ring_bench.py`` on ``hw.ring.T3Ring``).

A deterministic, cycle-stepped model *composed from the per-block references* of ``sim/ref``
(the ones the cocotb block benches score the RTL against), with every depth, latency and credit
read from the hardware components a ring is built of (:func:`platform`), and the bench's
protocol read from :mod:`sim.xval.protocol` (the list the cocotb driver programs the RTL with).
It does not replay RTL traces. Per device:

* the memory-controller arbiter: :class:`sim.ref.arbiter.ArbiterRef` (round-robin or T3-MCA on
  the registered memory occupancy, starvation counter, the two-entry output skid buffer),
  back-pressured by the memory port;
* the memory port with the ideal memory behind it (:class:`MemPortCL`, written here from the
  documented behaviour of ``hw.memport.MemPort`` and ``hw.sram.AxiSram``): the input register,
  ``outstanding`` slots holding every accepted request's address until it completes (READ: its
  R beat; STORE/UPDATE: its B response), the same-address hazard (a request waits for every
  earlier conflicting slot), a STORE refused in a cycle where an UPDATE's sum enters the write
  queue, the per-class read credits, the occupancy register T3-MCA compares;
* the tracker: :class:`sim.ref.tracker.TrackerRef` (arms, one count per tracked write at its
  memory-port handshake), a fire looked up by the trigger ``TRACK_TO_FIRE`` cycles later (the
  tracker's documented fire latency plus the unit's fire buffer);
* the trigger (command table, one fire/doorbell lookup per cycle, in-order queue of the
  Trigger's ``queue_depth``; notifications consumed at once, DMA commands when the DMA reader is
  free and its packet queue has room);
* the DMA engine: read addresses from :func:`sim.ref.dma.command_reads`, packets from
  :func:`sim.ref.dma.command_packet` (one read per cycle under ``buffer_depth`` credits; a data
  beat sendable 2 cycles after its read data arrives);
* the link (token bucket ``bw_num/bw_den``, ``latency`` cycles, FIFO ``depth``) and the link
  receiver, whose writes are :func:`sim.ref.dma.receive` of the packet (one-entry write register,
  back-pressured by the comm merge);
* the comm merge (``hw.unit.StreamMerge``: round-robin, output + skid register);
* the bench's software, interpreting :class:`sim.xval.protocol.RingProtocol`: the GEMM producer
  (reads, wait, compute, fire-and-forget writes), the reduction kernel (read/read/write, wait for
  the port to drain), doorbells over AXI4-Lite (a fixed cost per access, measured once on the
  CSR block by ``python -m tb.xval.axil_probe``; arms are done before the start) and the
  notification poll (counter read + ``POLL_GAP`` idle cycles).

What it abstracts: the AXI4 channels between the memory port and the ideal memory (one AR and
one AW per cycle, never refused: the port issues at most one of each per cycle), tracker/trigger
back-pressure, the exact AXI4-Lite handshake (a constant per access), the order in which cocotb
resumes coroutines at one clock edge (a fixed convention: a request queued by software is
offered the next cycle).

``model_scenario(scenario, mode)`` returns cycles and the same counters as the bench.
"""

import gc
import inspect
import warnings
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from amaranth.hdl import UnusedElaboratable

from hw.params import ArbPolicy, MemOp, ReqClass, T3Params
from hw.tracker import Tracker
from hw.trigger import Trigger
from hw.unit import T3Core
from sim.ref.arbiter import ArbiterRef
from sim.ref.dma import MEMOP_UPDATE, command_packet, command_reads, receive
from sim.ref.tracker import TrackerRef

from .protocol import RingProtocol
from .scenario import BEAT_BYTES, MODES

__all__ = ["model_scenario", "expected_counts", "platform", "platform_of", "Platform", "MemPortCL",
           "MemReq", "AXIL_WRITE", "AXIL_READ"]

# AXI4-Lite access costs of the bench's driver (cocotbext-axi AxiLiteMaster on the CSR slave),
# measured by ``python -m tb.xval.axil_probe`` (checked by tests/test_validate.py): a write
# returns AXIL_WRITE cycles after the call and takes effect (arm/doorbell stream transfer)
# AXIL_WRITE_EFFECT cycles after it; a read returns after AXIL_READ cycles and samples the
# register (AR handshake) AXIL_READ_SAMPLE cycles after the call.
AXIL_WRITE, AXIL_WRITE_EFFECT = 4, 3
AXIL_READ, AXIL_READ_SAMPLE = 3, 2
POLL_GAP = 4                      # ClockCycles(clk, 4) between polls in the bench
#: A completing tracked write (its memory-port handshake, the tracker's ``track`` transfer) to
#: the trigger's lookup of the fired tile, and a fire or doorbell taken by the trigger to its
#: command on ``cmd``: the hardware's own attributes (``hw.tracker.Tracker.FIRE_LATENCY``,
#: ``hw.unit.T3Core.TRACK_TO_FIRE`` with its ``fire_buf``, ``hw.trigger.Trigger.CMD_LATENCY``),
#: each measured on the RTL by the block's tests.
TRACKER_FIRE_LATENCY = Tracker.FIRE_LATENCY
TRACK_TO_FIRE = T3Core.TRACK_TO_FIRE
FIRE_BUF_LATENCY = TRACK_TO_FIRE - TRACKER_FIRE_LATENCY
TRIGGER_TO_CMD = Trigger.CMD_LATENCY

READ, STORE, UPDATE = MemOp.READ, MemOp.STORE, MemOp.UPDATE


# -- the hardware's own numbers ------------------------------------------------------------------
@dataclass(frozen=True)
class Platform:
    """Depths, latencies and credits of one ring build, read from its components."""
    mem_latency: int
    issue_latency: int            # MemPort.ISSUE_LATENCY: req handshake -> AR/AW valid
    resp_latency: int             # MemPort.RESP_LATENCY: R handshake -> data on *_resp
    read_latency: int             # AxiSram.read_latency: AR -> R (mem_latency + READ_EXTRA)
    write_response: int           # AxiSram.WRITE_RESPONSE_LATENCY: AW -> B
    outstanding: int              # MemPort slots
    resp_depth: int               # MemPort read credits per class
    alu_stages: int               # NMC adder pipeline
    dma_credits: int              # DmaEngine buffer_depth (T3Core: slots + DMA_CREDIT_MARGIN)
    packet_queue: int             # DmaEngine.PACKET_QUEUE_DEPTH
    trigger_queue: int            # Trigger queue_depth (T3Core builds it with its default)
    tracker_entries: int
    link_latency: int
    link_bw: tuple
    link_depth: int               # LinkModel FIFO depth
    params: T3Params


@lru_cache(maxsize=None)
def platform(mem_latency, link_latency, link_bw):
    """The :class:`Platform` of ``T3Ring(T3Params(mem_latency=...), link_latency=...,
    link_bw=...)`` (the build ``tb.xval.rtl`` runs), read from the components' attributes."""
    return platform_of(T3Params(mem_latency=mem_latency), link_latency, tuple(link_bw))


@lru_cache(maxsize=None)
def platform_of(params, link_latency, link_bw):
    """The :class:`Platform` of ``T3Ring(params, link_latency=..., link_bw=...)`` with the ideal
    memory (:class:`hw.sram.AxiSram`), read from the components' attributes."""
    from hw.dma import DmaEngine
    from hw.link import LinkModel
    from hw.ring import T3Ring
    from hw.sram import AxiSram

    with warnings.catch_warnings():
        # the components T3Ring builds per device (ideal memory), read, never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        outstanding = inspect.signature(T3Ring).parameters["mem_outstanding"].default
        unit = T3Core(params, mem_outstanding=outstanding)
        link = LinkModel(params, latency=link_latency, bw_num=link_bw[0], bw_den=link_bw[1])
        mem = AxiSram(params)
        port = unit.mem_port
        p = Platform(
            mem_latency=mem.params.mem_latency, read_latency=mem.read_latency,
            issue_latency=port.ISSUE_LATENCY, resp_latency=port.RESP_LATENCY,
            write_response=mem.WRITE_RESPONSE_LATENCY,
            outstanding=port.outstanding, resp_depth=port.resp_depth, alu_stages=port.alu_stages,
            dma_credits=port.outstanding + T3Core.DMA_CREDIT_MARGIN,
            packet_queue=DmaEngine.PACKET_QUEUE_DEPTH,
            trigger_queue=inspect.signature(Trigger).parameters["queue_depth"].default,
            tracker_entries=params.tracker_entries,
            link_latency=link.latency, link_bw=(link.bw_num, link.bw_den), link_depth=link.depth,
            params=params)
        del unit, link, mem, port
        gc.collect()
    return p


# -- the memory port + ideal memory ----------------------------------------------------------------
class MemPortCL:
    """Cycle-level model of ``hw.memport.MemPort`` with ``hw.sram.AxiSram`` behind it.

    Cycle numbering: a request handshaken on ``req`` in cycle *k* is in the input register from
    *k + 1*; it is *accepted* there in cycle *a >= k + 1* if a slot is free, no earlier slot
    conflicts with its address (both READs do not), a READ has a response credit of its class,
    and a STORE does not meet an UPDATE's sum entering the write queues. From acceptance:
    AR (or a STORE's AW) at ``a + ISSUE_LATENCY - 1`` (the queue), R beat ``mem_latency +
    READ_EXTRA`` later, registered the next cycle (a READ's slot frees then, its data on the
    response stream ``RESP_LATENCY`` after the R beat); an UPDATE's sum enters the write queues
    ``1 + alu_stages`` after its R beat, its AW one cycle later; B ``WRITE_RESPONSE_LATENCY``
    after the AW frees the slot. A freed slot is taken again from the second cycle after; a
    hazard clears the cycle after the completion. ``occupancy(t)`` is the port's registered
    occupancy in cycle *t*: the requests with *a < t <= free*.
    """

    def __init__(self, plat):
        self.p = plat
        q = plat.issue_latency - 1                         # the AR/AW queue
        self.read_r = q + plat.read_latency                # accept -> R beat
        self.store_free = q + plat.write_response
        self.update_push = self.read_r + 1 + plat.alu_stages
        self.update_free = self.update_push + q + plat.write_response
        self.in_r = None
        self.slots = []            # [accept, free, addr, write]
        self.pushes = set()        # cycles an UPDATE's sum enters the write queues
        self.credit = {ReqClass.COMPUTE: [], ReqClass.COMM: []}   # response pop cycles

    def _accept_ok(self, t):
        r = self.in_r
        busy = 0
        for a, f, addr, write in self.slots:
            if a <= t - 1 and f >= t - 1:
                busy += 1
            if f >= t and addr == r["addr"] and (write or r["op"] is not READ):
                return False
        if busy >= self.p.outstanding:
            return False
        if r["op"] is READ:
            pops = self.credit[r["cls"]]
            return sum(1 for x in pops if x >= t) < self.p.resp_depth
        if r["op"] is STORE:
            return t not in self.pushes
        return True

    def ready(self, t):
        """``req.ready`` in cycle ``t``; accepts the input register's request if it can go.
        Returns ``(ready, accepted request or None, its R-beat cycle or None)``."""
        if self.in_r is None:
            return True, None, None
        if not self._accept_ok(t):
            return False, None, None
        r, self.in_r = self.in_r, None
        rbeat = None
        if r["op"] is READ:
            rbeat = t + self.read_r
            free = rbeat + 1
            self.credit[r["cls"]].append(rbeat + self.p.resp_latency)
        elif r["op"] is STORE:
            free = t + self.store_free
        else:
            self.pushes.add(t + self.update_push)
            free = t + self.update_free
        self.slots.append([t, free, r["addr"], r["op"] is not READ])
        return True, r, rbeat

    def load(self, req):
        assert self.in_r is None
        self.in_r = req

    def occupancy(self, t):
        return sum(1 for a, f, _, _ in self.slots if a < t <= f)

    def prune(self, t):
        """Forget what can no longer matter after cycle ``t`` (any time: what it drops is
        ignored by every check from cycle ``t + 1`` on)."""
        if any(s[1] < t - 1 for s in self.slots):
            self.slots = [s for s in self.slots if s[1] >= t - 1]
        for pops in self.credit.values():
            while pops and pops[0] < t:          # appended in order: pop times increase
                pops.pop(0)
        self.pushes = {x for x in self.pushes if x > t}

    def idle(self):
        return self.in_r is None


# -- one device ------------------------------------------------------------------------------------
class MemReq(dict):
    """A memory request: the payload mapping the arbiter reference carries (``op, cls, addr,
    tile, tracked``) plus the model's bookkeeping (``ready_at``, ``done``)."""

    def __init__(self, op, cls, addr, tile=0, tracked=False, ready_at=0):
        super().__init__(op=op, cls=cls, addr=addr, tile=tile, tracked=tracked)
        self["ref"] = self
        self.ready_at, self.done_at = ready_at, None


class _Dev:
    def __init__(self, plat, tile_entries):
        self.port = deque()                # compute-port requests (the bench's StreamSource)
        self.arb = ArbiterRef()
        self.mem = MemPortCL(plat)
        self.tracker = TrackerRef(entries=tile_entries)
        self.table = {}                    # trigger table: index -> command dict
        self.trig_in = deque()             # (time, index) fire/doorbell requests
        self.trig_q = deque()              # (visible_at, index, command)
        self.notify_times = []
        # DMA
        self.reads = deque()               # addresses left to read for the current command
        self.read_ready_at = 0
        self.credits = plat.dma_credits
        self.packets = deque()             # [beats, sent, ready_at, writes]
        self.buffer = deque()              # available-at times of read data beats
        # link receiver
        self.rx_req = None                 # write register (valid from ready_at)
        self.rx_writes = deque()           # writes of the packet being received
        # comm merge (hw.unit.StreamMerge)
        self.merge_last_b = False
        self.merge_out = None
        self.merge_skid = None
        self.cnt = dict(rd_beats_compute=0, rd_beats_comm=0, wr_beats_compute=0,
                        wr_beats_comm=0, updates_applied=0, link_tx_beats=0, link_rx_beats=0,
                        notifications=0, dma_commands=0, starvation_grants=0)


class _Link:
    def __init__(self, plat):
        self.latency = plat.link_latency
        self.num, self.den = plat.link_bw
        self.depth = plat.link_depth
        self.beats = deque()               # (present_at, (data, last))
        self.tokens = self.den

    def can_accept(self):
        return len(self.beats) < self.depth and self.tokens >= self.den


class RingModel:
    def __init__(self, s, mode):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.s, self.mode = s, mode
        self.plat = platform(s.mem_latency, s.link_latency, tuple(s.link_bw))
        self.proto = RingProtocol(s.devices, s.tiles, s.beats, s.reads)
        self.n, self.T, self.B, self.R = s.devices, s.tiles, s.beats, s.reads
        self.policy = ArbPolicy.T3_MCA if mode == "t3-mca" else ArbPolicy.ROUND_ROBIN
        self.mca = self.policy is ArbPolicy.T3_MCA     # only T3-MCA reads the occupancy
        self.fused = mode in ("t3", "t3-mca")
        self.dev = [_Dev(self.plat, self.plat.tracker_entries) for _ in range(self.n)]
        self.link = [_Link(self.plat) for _ in range(self.n)]
        self.t = 0
        self.procs = []                    # [generator, wake_time or predicate, task]

    # -- software primitives (generators; yield int = wait cycles, callable = wait until) ----
    def enqueue(self, g, req):
        req.ready_at = self.t + 1
        self.dev[g].port.append(req)
        return req

    def axil_write(self, g, action):
        yield AXIL_WRITE_EFFECT
        action()
        yield AXIL_WRITE - AXIL_WRITE_EFFECT

    def doorbell(self, g, index):
        yield from self.axil_write(g, lambda: self.dev[g].trig_in.append((self.t, index)))

    def read_notifications(self, g):
        yield AXIL_READ_SAMPLE
        now = self.t
        v = sum(1 for x in self.dev[g].notify_times if x < now)
        yield AXIL_READ - AXIL_READ_SAMPLE
        return v

    def wait_notifications(self, g, count):
        while True:
            v = yield from self.read_notifications(g)
            if v >= count:
                return
            yield POLL_GAP

    def port_idle(self, g):
        return lambda: not self.dev[g].port

    def reads_done(self, reqs):
        return lambda: all(r.done_at is not None and r.done_at <= self.t for r in reqs)

    def gemm_tile(self, g, c, t, op, tracked):
        P = self.proto
        if self.R:
            reqs = [self.enqueue(g, MemReq(READ, ReqClass.COMPUTE, a)) for a in P.input_addrs(c, t)]
            yield self.reads_done(reqs)
        yield self.s.compute
        for b in range(self.B):
            self.enqueue(g, MemReq(op, ReqClass.COMPUTE, P.out_addr(c, t, b), tile=P.out_tile(c, t),
                                 tracked=tracked))

    def reduce_tile(self, g, c, t):
        P = self.proto
        addrs = [a for b in range(self.B) for a in (P.out_addr(c, t, b), P.stage_addr(c, t, b))]
        reqs = [self.enqueue(g, MemReq(READ, ReqClass.COMPUTE, a)) for a in addrs]
        yield self.reads_done(reqs)
        for b in range(self.B):
            self.enqueue(g, MemReq(STORE, ReqClass.COMPUTE, P.out_addr(c, t, b)))
        yield self.port_idle(g)

    def software_rs(self, g, tiles, arrived):
        P = self.proto
        for t in tiles:
            yield from self.doorbell(g, P.out_tile(P.first_chunk(g), t))
        for k in range(1, self.n):
            c = P.staging_chunk(g, k)
            for t in tiles:
                arrived += 1
                yield from self.wait_notifications(g, arrived)
                yield from self.reduce_tile(g, c, t)
                if k < self.n - 1:
                    yield from self.doorbell(g, P.out_tile(c, t))
        return arrived

    def spawn(self, gen):
        task = {"done": False, "value": None}
        self.procs.append([gen, self.t, task])
        return task

    def device_sequential(self, g, slices):
        arrived, rs = 0, None
        for tiles in self.proto.slices(slices):
            for c in range(self.n):
                for t in tiles:
                    yield from self.gemm_tile(g, c, t, STORE, False)
            yield self.port_idle(g)
            if rs is not None:
                yield lambda rs=rs: rs["done"]
                arrived = rs["value"]
            rs = self.spawn(self.software_rs(g, tiles, arrived))
        yield lambda: rs["done"]

    def device_t3(self, g):
        P = self.proto
        for k in range(1, self.n + 1):
            c = P.t3_chunk(g, k)
            for t in range(self.T):
                yield from self.gemm_tile(g, c, t, STORE if k == 1 else UPDATE, True)
        yield from self.wait_notifications(g, self.T)

    # -- set-up (before the measured start, as in the bench) --------------------------------
    def setup(self):
        for g, d in enumerate(self.dev):
            d.arb.last = ReqClass.COMPUTE   # the bench's clearing writes were compute grants
            d.table = dict(self.proto.commands(g, self.fused))
            for tile, threshold in self.proto.arms(g, self.fused):
                d.tracker.arm(tile, threshold)

    # -- hardware, one cycle ------------------------------------------------------------------
    def handshake(self, g, req):
        """The memory port takes ``req`` from the arbiter (the unit's counters and the tracker
        tap see it in this cycle)."""
        d = self.dev[g]
        cls = "compute" if req["cls"] is ReqClass.COMPUTE else "comm"
        if req["op"] is READ:
            d.cnt[f"rd_beats_{cls}"] += 1
        else:
            d.cnt[f"wr_beats_{cls}"] += 1
            if req["op"] is UPDATE:
                d.cnt["updates_applied"] += 1
            if req["tracked"]:
                ev = d.tracker.track(req["tile"], 1)
                if ev.fired is not None:
                    d.trig_in.append((self.t + TRACK_TO_FIRE, ev.fired))
        d.mem.load(req)

    def step_device(self, g):
        d, t, p = self.dev[g], self.t, self.plat
        # 1. memory port: may the input register's request go (req.ready)
        ready, acc, rbeat = d.mem.ready(t)
        if acc is not None and acc["op"] is READ:
            data = rbeat + p.resp_latency              # data valid on the response stream
            if acc["cls"] is ReqClass.COMPUTE:
                acc["ref"].done_at = data + 1          # the bench sees it the next cycle
            else:
                d.buffer.append(data + 2)              # DMA buffer -> sendable
        # 2. trigger: one fire/doorbell lookup per cycle
        if d.trig_in and d.trig_in[0][0] <= t and len(d.trig_q) < p.trigger_queue:
            _, index = d.trig_in.popleft()
            d.trig_q.append((t + TRIGGER_TO_CMD, index, d.table[index]))
        # 3. ready command: notification or to the DMA reader
        self.step_ready_command(d, g, t)
        # 4. arbitration (sim.ref.arbiter), back-pressured by the memory port
        cv = bool(d.port) and d.port[0].ready_at <= t
        mv = d.merge_out is not None
        if not (cv or mv) and d.arb.main is None and d.arb.skid is None:
            d.arb.step_idle()
            return self.step_merge(d, t)
        out = d.arb.step(compute_valid=cv, compute_payload=d.port[0] if cv else None,
                         comm_valid=mv, comm_payload=d.merge_out, out_ready=ready,
                         policy=self.policy, threshold=self.s.mca_threshold,
                         starvation_limit=self.s.mca_starvation,
                         occupancy=d.mem.occupancy(t - 1) if self.mca else 0)
        if out.starved:
            d.cnt["starvation_grants"] += 1
        if out.out_valid and ready:
            self.handshake(g, out.out_payload)
        if out.compute_ready:
            d.port.popleft()
        if out.comm_ready:
            d.merge_out = None
        return self.step_merge(d, t)

    def step_ready_command(self, d, g, t):
        """The trigger's head command, once ready: a notification (consumed at once), or a DMA
        command to the reader when it is free and its packet queue has room (reads from
        :func:`sim.ref.dma.command_reads`, the packet and its receive from ``sim.ref.dma``)."""
        p = self.plat
        if d.trig_q and d.trig_q[0][0] <= t:
            _, index, cmd = d.trig_q[0]
            if cmd["length"] == 0:
                d.trig_q.popleft()
                d.notify_times.append(t)
                d.cnt["notifications"] += 1
            elif not d.reads and len(d.packets) < p.packet_queue:
                d.trig_q.popleft()
                d.reads.extend(command_reads(p.params, cmd))
                d.read_ready_at = t + 1
                beats = command_packet(p.params, cmd, g, lambda a: 0)
                writes, _ = receive(p.params, beats, cmd["dst_dev"])
                d.packets.append([beats, 0, t + 1, writes])

    def step_merge(self, d, t):
        """The comm merge of device ``d`` in cycle ``t`` (after the arbiter took its output or
        not); returns whether the link receiver's write register was taken."""
        # 5. comm merge (two-entry skid buffer, round-robin between rx writes and DMA reads)
        a_valid = d.rx_req is not None and d.rx_req.ready_at <= t
        b_valid = bool(d.reads) and d.credits > 0 and d.read_ready_at <= t
        pick_b = b_valid and (not a_valid or not d.merge_last_b)
        rx_taken = False
        chosen = None
        if (a_valid or b_valid) and d.merge_skid is None:
            d.merge_last_b = pick_b
            if pick_b:
                chosen = MemReq(READ, ReqClass.COMM, d.reads.popleft())
                d.credits -= 1
                d.read_ready_at = t + 1
            else:
                chosen, d.rx_req, rx_taken = d.rx_req, None, True
        if d.merge_out is None:                      # empty or taken this cycle
            if d.merge_skid is not None:
                d.merge_out, d.merge_skid = d.merge_skid, chosen
            else:
                d.merge_out = chosen
        elif chosen is not None:
            d.merge_skid = chosen
        if t % 16 == 0:
            d.mem.prune(t)
        return rx_taken

    def step_rx(self, g, rx_free):
        """Device g's link receiver takes a beat from link g-1."""
        d, link, t = self.dev[g], self.link[(g - 1) % self.n], self.t
        if not link.beats or link.beats[0][0] > t:
            return
        _, beat, writes = link.beats[0]
        if writes is not None:                            # header: the packet's writes
            link.beats.popleft()
            d.rx_writes = deque(writes)
            d.cnt["link_rx_beats"] += 1
        elif rx_free:
            link.beats.popleft()
            op, addr, tile, _ = d.rx_writes.popleft()
            d.rx_req = MemReq(UPDATE if op == MEMOP_UPDATE else STORE, ReqClass.COMM, addr,
                            tile=tile, tracked=True, ready_at=t + 1)
            d.cnt["link_rx_beats"] += 1

    def step_dma_tx(self, g):
        d, link, t = self.dev[g], self.link[g], self.t
        sent = link.can_accept() and self._dma_beat_ready(d, t)
        if sent:
            self._send_dma_beat(d, link, t)
        self._link_tokens(d, link, sent)
        return sent

    @staticmethod
    def _dma_beat_ready(d, t):
        """The DMA engine offers a beat in cycle ``t``: its head packet's header from the
        packet's start cycle, a data beat once its read data is in the buffer."""
        if not d.packets:
            return False
        pk = d.packets[0]
        return pk[2] <= t if pk[1] == 0 else bool(d.buffer) and d.buffer[0] <= t

    @staticmethod
    def _send_dma_beat(d, link, t):
        """The DMA's offered beat goes on the link in cycle ``t``: the header carries the
        packet's writes, a data beat returns its buffer credit (usable from the next cycle);
        after the packet's last beat the next packet starts from ``t + 1`` at the earliest.
        Returns the beat."""
        pk = d.packets[0]
        beats, i = pk[0], pk[1]
        if i == 0:
            link.beats.append((t + link.latency, beats[0], pk[3]))
        else:
            d.buffer.popleft()
            d.credits += 1
            link.beats.append((t + link.latency, beats[i], None))
        pk[1] += 1
        if pk[1] == len(pk[0]):
            d.packets.popleft()
            d.cnt["dma_commands"] += 1
            if d.packets:
                d.packets[0][2] = max(d.packets[0][2], t + 1)
        return beats[i]

    @staticmethod
    def _link_tokens(d, link, sent):
        """The link's rate limiter (``link_bw`` beats per cycle) after a cycle that did or did
        not send a beat."""
        if sent:
            d.cnt["link_tx_beats"] += 1
            link.tokens += link.num - link.den
        elif link.tokens < link.den:
            link.tokens += link.num

    def run_software(self):
        progressed = True
        while progressed:
            progressed = False
            for p in list(self.procs):
                gen, wake, task = p
                if task["done"]:
                    continue
                if callable(wake):
                    if not wake():
                        continue
                elif wake > self.t:
                    continue
                progressed = True
                try:
                    while True:
                        w = gen.send(None)
                        if callable(w):
                            if w():
                                continue
                            p[1] = w
                        else:
                            if w <= 0:
                                continue
                            p[1] = self.t + w
                        break
                except StopIteration as e:
                    task["done"] = True
                    task["value"] = e.value
            self.procs = [p for p in self.procs if not p[2]["done"]]

    def run(self, limit=10_000_000):
        self.setup()
        tops = []
        for g in range(self.n):
            if self.mode == "sequential":
                gen = self.device_sequential(g, 1)
            elif self.mode == "domino":
                gen = self.device_sequential(g, self.s.slices)
            else:
                gen = self.device_t3(g)
            tops.append(self.spawn(gen))
        cycles = None
        while True:
            self.run_software()
            if cycles is None and all(tk["done"] for tk in tops):
                cycles = self.t
            if cycles is not None and self.quiet():
                break
            rx_free = []
            for g in range(self.n):
                d = self.dev[g]
                had = d.rx_req is not None
                taken = self.step_device(g)
                rx_free.append(not had or taken)
            for g in range(self.n):
                self.step_dma_tx(g)
            for g in range(self.n):
                self.step_rx(g, rx_free[g])
            self.t += 1
            if self.t > limit:
                raise RuntimeError("model did not finish")
        return cycles

    def quiet(self):
        """Nothing left in flight (the bench reads the counters after the run)."""
        return (all(not d.port and d.arb.main is None and d.mem.idle() and d.rx_req is None
                    and not d.packets and d.merge_out is None and d.merge_skid is None
                    and not d.trig_q and not d.trig_in for d in self.dev)
                and all(not link.beats for link in self.link))

    def counters(self, d):
        c = dict(d.cnt)
        c.update(fires=d.tracker.counters["fires"], arms=d.tracker.counters["arms"],
                 tracked_beats=d.tracker.counters["tracked"],
                 stall_compute=d.arb.settled()["stalled"][ReqClass.COMPUTE],
                 stall_comm=d.arb.settled()["stalled"][ReqClass.COMM])
        return c


def model_scenario(scenario, mode):
    """Model one (scenario, mode): ``{"cycles", "mem_reads", "mem_writes", "link_beats",
    "counters", "mem_bytes", "link_bytes"}``, counts summed over the devices."""
    m = RingModel(scenario, mode)
    cycles = m.run()
    total = {}
    for d in m.dev:
        for k, v in m.counters(d).items():
            total[k] = total.get(k, 0) + v
    out = {
        "mode": mode, "cycles": cycles,
        "mem_reads": total["rd_beats_compute"] + total["rd_beats_comm"],
        "mem_writes": total["wr_beats_compute"] + total["wr_beats_comm"],
        "link_beats": total["link_tx_beats"], "counters": total,
    }
    out["mem_bytes"] = (out["mem_reads"] + out["mem_writes"]) * BEAT_BYTES
    out["link_bytes"] = out["link_beats"] * BEAT_BYTES
    return out


def expected_counts(s, mode):
    """The beat counts the protocol implies, summed over the devices (closed form)."""
    n, T, B, R = s.devices, s.tiles, s.beats, s.reads
    gemm_rd, gemm_wr = n * n * T * R, n * n * T * B
    sent = n * (n - 1) * T                     # tiles sent over the links
    c = {"rd_beats_comm": sent * B, "wr_beats_comm": sent * B,
         "link_tx_beats": sent * (1 + B)}
    if mode in ("sequential", "domino"):
        c["rd_beats_compute"] = gemm_rd + sent * 2 * B
        c["wr_beats_compute"] = gemm_wr + sent * B
        c["notifications"] = sent
        c["updates_applied"] = 0
    else:
        c["rd_beats_compute"] = gemm_rd
        c["wr_beats_compute"] = gemm_wr
        c["notifications"] = n * T
        c["updates_applied"] = n * (n - 1) * T * B + sent * B
    c["mem_reads"] = c["rd_beats_compute"] + c["rd_beats_comm"]
    c["mem_writes"] = c["wr_beats_compute"] + c["wr_beats_comm"]
    c["link_beats"] = c["link_tx_beats"]
    return c
