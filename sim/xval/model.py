"""Cycle-level model of the RTL ring scenario (``tb/ring/ring_bench.py`` on ``hw.ring.T3Ring``).

A deterministic, cycle-stepped discrete-event model written from the *documented* behaviour of
the blocks and of the bench's protocol (docstrings of ``hw/*.py`` and ``tb/ring/ring_bench.py``);
it does not replay RTL traces. What it keeps, per device:

* the compute port: one FIFO of requests (a request is offered the cycle after software queues
  it, back to back afterwards), read data back to software ``L + 2`` cycles after the grant;
* the memory-controller arbiter: one grant per cycle between the compute class and the comm
  class (link-receive writes and DMA reads, merged round-robin), round-robin or T3-MCA
  (occupancy threshold on the registered memory occupancy, starvation counter); the memory
  port accepts every granted request the next cycle (1 request per cycle);
* the memory side (``hw.memport.MemPort`` with the ideal ``hw.sram.AxiSram`` on its AXI4 port):
  read data ``ISSUE_LATENCY + read_latency + RESP_LATENCY`` cycles after acceptance; the
  occupancy T3-MCA compares counts a READ until its R beat is registered, a STORE until its B
  response, an UPDATE (read, add, write) until its B response; every latency is taken from the
  components' own attributes;
* the tracker (fire 3 cycles after the completing write), the trigger (fire/doorbell -> command
  visible 3 cycles later, one lookup per cycle, in-order queue; notifications consumed at once,
  DMA commands when the DMA reader is free and its packet queue has room);
* the DMA engine (one read per cycle under ``DmaEngine.buffer_depth`` credits, header then data beats, a data beat
  sendable 2 cycles after its read data arrives);
* the link (token bucket ``bw_num/bw_den``, ``latency`` cycles, FIFO back-pressure) and the link
  receiver (one-entry write register, back-pressured by the arbiter);
* the bench's software: the GEMM producer (reads, wait, compute, fire-and-forget writes), the
  reduction kernel (read/read/write, wait for the port to drain), doorbells over AXI4-Lite (a
  fixed cost per access, measured once on the CSR block; the staging tiles are armed before the
  start) and the notification poll (counter read + 4 idle cycles).

What it abstracts: the arbiter's skid buffer (the memory never refuses a request here: read
credits never run out with always-ready consumers), the memory port's same-address hazard
(a request waits for an earlier write to its address: the model keeps no addresses), the
ideal memory's one beat per cycle shared by reads and writes, tracker/trigger back-pressure, the exact
AXI4-Lite handshake (a constant per access), the order in which cocotb resumes coroutines at
one clock edge (a fixed convention).

``model_scenario(scenario, mode)`` returns cycles and the same counters as the bench.
"""

from collections import deque

from hw.memport import MemPort
from hw.sram import AxiSram
from hw.unit import T3Unit

from .scenario import BEAT_BYTES, MODES

__all__ = ["model_scenario", "expected_counts", "AXIL_WRITE", "AXIL_READ"]

# AXI4-Lite access costs of the bench's driver (cocotbext-axi AxiLiteMaster on the CSR slave),
# measured by ``python -m tb.xval.axil_probe`` (checked by tests/test_validate.py): a write
# returns AXIL_WRITE cycles after the call and takes effect (arm/doorbell stream transfer)
# AXIL_WRITE_EFFECT cycles after it; a read returns after AXIL_READ cycles and samples the
# register (AR handshake) AXIL_READ_SAMPLE cycles after the call.
AXIL_WRITE, AXIL_WRITE_EFFECT = 4, 3
AXIL_READ, AXIL_READ_SAMPLE = 3, 2
POLL_GAP = 4                      # ClockCycles(clk, 4) between polls in the bench
TRACK_TO_FIRE = 3                 # tracker: fire valid 3 cycles after the completing write
TRIGGER_TO_CMD = 3                # trigger: cmd.valid 3 cycles after the fire/doorbell
DMA_PACKET_QUEUE = 4
TRIGGER_QUEUE = 8
STAGE_TILE = 128

READ, STORE, UPDATE = "R", "S", "U"


class _Req:
    __slots__ = ("op", "cls", "tile", "tracked", "ready_at", "done_at", "dst")

    def __init__(self, op, cls, tile=0, tracked=False, ready_at=0, dst=None):
        self.op, self.cls, self.tile, self.tracked = op, cls, tile, tracked
        self.ready_at, self.done_at, self.dst = ready_at, None, dst


class MemTiming:
    """The memory side's timing, read from the components a ring is built of."""

    def __init__(self, mem_latency):
        issue, resp = MemPort.ISSUE_LATENCY, MemPort.RESP_LATENCY
        sram_read = mem_latency + AxiSram.READ_EXTRA
        #: acceptance -> read data valid on the port's response stream
        self.read = issue + sram_read + resp
        #: a request handshaken in cycle k is counted in the occupancy from cycle k + issue (the
        #: cycle after it leaves the port's input register) ...
        self.issue = issue
        #: ... to cycle k + occ_<op>, for a READ / STORE / UPDATE
        self.occ_read = issue + sram_read + 1
        self.occ_store = issue + AxiSram.WRITE_RESPONSE_LATENCY
        self.occ_update = self.occ_read + issue + AxiSram.WRITE_RESPONSE_LATENCY
        #: the DMA engine's read credits (T3Unit with its default memory port)
        self.dma_credits = T3Unit.MEM_OUTSTANDING + T3Unit.DMA_CREDIT_MARGIN


class _Dev:
    def __init__(self, L, timing):
        self.port = deque()                # compute-port requests (StreamSource queue)
        self.out = None                    # arbiter output register: granted last cycle
        self.last_comm = False             # round-robin: most recent grant was comm
        self.wait = 0                      # T3-MCA comm wait counter
        hist = timing.occ_update + 2
        self.acc = deque([None] * hist, maxlen=hist)   # last accepts (occupancy)
        self.tracker = {}                  # tile -> [count, threshold]
        self.table = {}                    # trigger table: index -> command dict
        self.trig_in = deque()             # (time, index) fire/doorbell requests
        self.trig_q = deque()              # (visible_at, command)
        self.notify_times = []
        # DMA
        self.reads_left = 0
        self.read_cmd = None
        self.read_ready_at = 0
        self.credits = timing.dma_credits
        self.write_done = {}               # tile -> first cycle a read of it may be accepted
        self.packets = deque()             # [command, header_sent, beats_sent, ready_at]
        self.buffer = deque()              # available-at times of read data beats
        # link receiver
        self.rx_req = None                 # write register (valid from ready_at)
        self.rx_left = 0                   # data beats left in the current packet
        self.rx_hdr = None
        self.merge_last_b = False
        self.merge_out = None              # comm merge output register (arbiter comm input)
        self.merge_skid = None
        self.cnt = dict(rd_beats_compute=0, rd_beats_comm=0, wr_beats_compute=0,
                        wr_beats_comm=0, updates_applied=0, link_tx_beats=0, link_rx_beats=0,
                        notifications=0, fires=0, arms=0, tracked_beats=0, dma_commands=0,
                        stall_compute=0, stall_comm=0, starvation_grants=0)


class _Link:
    def __init__(self, latency, num, den):
        self.latency, self.num, self.den = latency, num, den
        self.depth = latency + 4
        self.beats = deque()               # (present_at, None for a header / 1 for data)
        self.beats_hdr = deque()           # the commands of the headers in flight
        self.tokens = den

    def can_accept(self):
        return len(self.beats) < self.depth and self.tokens >= self.den


_TIMINGS = {}


def _timing(mem_latency):
    if mem_latency not in _TIMINGS:
        _TIMINGS[mem_latency] = MemTiming(mem_latency)
    return _TIMINGS[mem_latency]


class RingModel:
    def __init__(self, s, mode):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.s, self.mode = s, mode
        self.n, self.T, self.B, self.R = s.devices, s.tiles, s.beats, s.reads
        self.L = s.mem_latency
        self.tm = _timing(s.mem_latency)
        self.mca = mode == "t3-mca"
        self.dev = [_Dev(self.L, self.tm) for _ in range(self.n)]
        self.link = [_Link(s.link_latency, *s.link_bw) for _ in range(self.n)]
        self.t = 0
        self.procs = []                    # [generator, wake_time or predicate, task]

    # -- ids --------------------------------------------------------------------------------
    def out_tile(self, c, t):
        return c * self.T + t

    def stage_tile(self, c, t):
        return STAGE_TILE + c * self.T + t

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
        if self.R:
            reqs = [self.enqueue(g, _Req(READ, "compute")) for _ in range(self.R)]
            yield self.reads_done(reqs)
        yield self.s.compute
        for _ in range(self.B):
            self.enqueue(g, _Req(op, "compute", tile=self.out_tile(c, t), tracked=tracked))

    def reduce_tile(self, g, c, t):
        reqs = [self.enqueue(g, _Req(READ, "compute")) for _ in range(2 * self.B)]
        yield self.reads_done(reqs)
        for _ in range(self.B):
            self.enqueue(g, _Req(STORE, "compute"))
        yield self.port_idle(g)

    def software_rs(self, g, tiles, arrived):
        n = self.n
        for t in tiles:
            yield from self.doorbell(g, self.out_tile((g - 1) % n, t))
        for k in range(1, n):
            c = (g - 1 - k) % n
            for t in tiles:
                arrived += 1
                yield from self.wait_notifications(g, arrived)
                yield from self.reduce_tile(g, c, t)
                if k < n - 1:
                    yield from self.doorbell(g, self.out_tile(c, t))
        return arrived

    def spawn(self, gen):
        task = {"done": False, "value": None}
        self.procs.append([gen, self.t, task])
        return task

    def device_sequential(self, g, slices):
        n, T = self.n, self.T
        per = [list(range(s * T // slices, (s + 1) * T // slices)) for s in range(slices)]
        arrived, rs = 0, None
        for tiles in per:
            for c in range(n):
                for t in tiles:
                    yield from self.gemm_tile(g, c, t, STORE, False)
            yield self.port_idle(g)
            if rs is not None:
                yield lambda rs=rs: rs["done"]
                arrived = rs["value"]
            rs = self.spawn(self.software_rs(g, tiles, arrived))
        yield lambda: rs["done"]

    def device_t3(self, g):
        n, T = self.n, self.T
        for k in range(1, n + 1):
            c = (g - k) % n
            for t in range(T):
                yield from self.gemm_tile(g, c, t, STORE if k == 1 else UPDATE, True)
        yield from self.wait_notifications(g, T)

    # -- set-up (before the measured start, as in the bench) --------------------------------
    def setup(self):
        n, T, B = self.n, self.T, self.B
        for g in range(n):
            d, succ = self.dev[g], (g + 1) % n
            d.last_comm = False            # the bench's clearing writes were compute grants
            if self.mode in ("sequential", "domino"):
                for c in range(n):
                    for t in range(T):
                        d.table[self.out_tile(c, t)] = dict(length=B, dst=succ, op=STORE,
                                                             tile=self.stage_tile(c, t))
                        d.table[self.stage_tile(c, t)] = dict(length=0)
                for k in range(1, n):          # staging tiles armed before the start
                    for t in range(T):
                        d.tracker[self.stage_tile((g - 1 - k) % n, t)] = [0, B]
                        d.cnt["arms"] += 1
            else:
                for k in range(1, n + 1):
                    c = (g - k) % n
                    for t in range(T):
                        if k < n:
                            d.table[self.out_tile(c, t)] = dict(length=B, dst=succ, op=UPDATE,
                                                                tile=self.out_tile(c, t))
                        else:
                            d.table[self.out_tile(c, t)] = dict(length=0)
                        d.tracker[self.out_tile(c, t)] = [0, B if k == 1 else 2 * B]
                        d.cnt["arms"] += 1

    # -- hardware, one cycle ------------------------------------------------------------------
    def track(self, g, tile):
        d = self.dev[g]
        e = d.tracker.get(tile)
        if e is None:
            return
        e[0] += 1
        d.cnt["tracked_beats"] += 1
        if e[0] == e[1]:
            del d.tracker[tile]
            d.cnt["fires"] += 1
            d.trig_in.append((self.t + TRACK_TO_FIRE, tile))

    def memory_accept(self, g, req):
        d, t = self.dev[g], self.t
        cls = req.cls
        if req.op == READ:
            d.cnt[f"rd_beats_{cls}"] += 1
            if cls == "compute":
                req.done_at = t + self.tm.read + 1
            else:
                d.buffer.append(t + self.tm.read + 2)
        else:
            d.cnt[f"wr_beats_{cls}"] += 1
            if req.op == UPDATE:
                d.cnt["updates_applied"] += 1
            occ = self.tm.occ_update if req.op == UPDATE else self.tm.occ_store
            d.write_done[req.tile] = max(d.write_done.get(req.tile, 0), t + occ + 1)
            if req.tracked:
                self.track(g, req.tile)
        d.acc.append(req.op)

    def occupancy(self, d):
        # registered: the occupancy of the previous cycle t-1 counts requests accepted in
        # cycles k with k + issue <= t - 1 <= k + occ_<op>.
        acc = list(d.acc)                  # acc[-1] = accepted in cycle t-1, acc[-j] in t-j
        occ = 0
        for j in range(2, len(acc) + 1):
            op = acc[-j]
            if op is None:
                continue
            lim = {READ: self.tm.occ_read, STORE: self.tm.occ_store,
                   UPDATE: self.tm.occ_update}[op]
            if self.tm.issue <= j - 1 <= lim:
                occ += 1
        return occ

    def step_device(self, g):
        d, t = self.dev[g], self.t
        # 1. memory accepts last cycle's grant
        if d.out is not None:
            self.memory_accept(g, d.out)
            d.out = None
        else:
            d.acc.append(None)
        # 2. trigger: one fire/doorbell lookup per cycle
        if d.trig_in and d.trig_in[0][0] <= t and len(d.trig_q) < TRIGGER_QUEUE:
            _, index = d.trig_in.popleft()
            cmd = dict(d.table[index], src_tile=index)
            d.trig_q.append((t + TRIGGER_TO_CMD, cmd))
        # 3. ready command: notification or to the DMA reader
        if d.trig_q and d.trig_q[0][0] <= t:
            cmd = d.trig_q[0][1]
            if cmd["length"] == 0:
                d.trig_q.popleft()
                d.notify_times.append(t)
                d.cnt["notifications"] += 1
            elif d.reads_left == 0 and len(d.packets) < DMA_PACKET_QUEUE:
                d.trig_q.popleft()
                d.read_cmd = cmd
                d.reads_left = cmd["length"]
                # the memory port holds a read of the tile until its last write completed
                # (accepted two cycles after the merge offers it)
                d.read_ready_at = max(t + 1, d.write_done.get(cmd["src_tile"], 0) - 2)
                d.packets.append([cmd, False, 0, t + 1])
        # 4. requests offered to the arbiter: compute port head; comm = the merge's register
        cv = bool(d.port) and d.port[0].ready_at <= t
        mv = d.merge_out is not None
        # 5. arbitration
        grant = None
        if self.mca:
            starving = mv and d.wait >= self.s.mca_starvation
            if starving:
                grant = "comm"
                if cv or self.occupancy(d) >= self.s.mca_threshold:
                    d.cnt["starvation_grants"] += 1
            elif cv:
                grant = "compute"
            elif mv and self.occupancy(d) < self.s.mca_threshold:
                grant = "comm"
        else:
            if cv and mv:
                grant = "compute" if d.last_comm else "comm"
            elif cv:
                grant = "compute"
            elif mv:
                grant = "comm"
        if cv and grant != "compute":
            d.cnt["stall_compute"] += 1
        if mv and grant != "comm":
            d.cnt["stall_comm"] += 1
        if grant == "compute":
            d.out = d.port.popleft()
            d.last_comm = False
        elif grant == "comm":
            d.out = d.merge_out
            d.merge_out = None
            d.last_comm = True
        # 6. comm merge (two-entry skid buffer, round-robin between rx writes and DMA reads)
        a_valid = d.rx_req is not None and d.rx_req.ready_at <= t
        b_valid = d.reads_left > 0 and d.credits > 0 and d.read_ready_at <= t
        pick_b = b_valid and (not a_valid or not d.merge_last_b)
        rx_taken = False
        chosen = None
        if (a_valid or b_valid) and d.merge_skid is None:
            d.merge_last_b = pick_b
            if pick_b:
                chosen = _Req(READ, "comm")
                d.reads_left -= 1
                d.credits -= 1
                d.read_ready_at = t + 1
            else:
                chosen = d.rx_req
                d.rx_req = None
                rx_taken = True
        if d.merge_out is None:                      # empty or taken this cycle
            if d.merge_skid is not None:
                d.merge_out, d.merge_skid = d.merge_skid, chosen
            else:
                d.merge_out = chosen
        elif chosen is not None:
            d.merge_skid = chosen
        d.wait = 0 if (grant == "comm" or not mv) else d.wait + 1
        return rx_taken

    def step_rx(self, g, rx_free):
        """Device g's link receiver takes a beat from link g-1."""
        d, link, t = self.dev[g], self.link[(g - 1) % self.n], self.t
        if not link.beats or link.beats[0][0] > t:
            return
        beat = link.beats[0][1]
        if beat is None:                                  # header
            link.beats.popleft()
            d.rx_hdr = link.beats_hdr.popleft()
            d.rx_left = d.rx_hdr["length"]
            d.cnt["link_rx_beats"] += 1
        elif rx_free:
            link.beats.popleft()
            h = d.rx_hdr
            d.rx_req = _Req(h["op"], "comm", tile=h["tile"], tracked=True, ready_at=t + 1)
            d.rx_left -= 1
            d.cnt["link_rx_beats"] += 1

    def step_dma_tx(self, g):
        d, link, t = self.dev[g], self.link[g], self.t
        sent = False
        if d.packets and link.can_accept():
            p = d.packets[0]
            if not p[1]:
                if p[3] <= t:
                    p[1] = True
                    link.beats.append((t + link.latency, None))
                    link.beats_hdr.append(p[0])
                    sent = True
            elif d.buffer and d.buffer[0] <= t:
                d.buffer.popleft()
                d.credits += 1                    # usable from the next cycle
                p[2] += 1
                link.beats.append((t + link.latency, 1))
                sent = True
                if p[2] == p[0]["length"]:
                    d.packets.popleft()
                    d.cnt["dma_commands"] += 1
                    if d.packets:
                        d.packets[0][3] = max(d.packets[0][3], t + 1)
        if sent:
            d.cnt["link_tx_beats"] += 1
            link.tokens += link.num - link.den
        elif link.tokens < link.den:
            link.tokens += link.num
        return sent

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
        return (all(not d.port and d.out is None and d.rx_req is None and not d.packets
                    and d.merge_out is None and d.merge_skid is None
                    and not d.trig_q and not d.trig_in for d in self.dev)
                and all(not link.beats for link in self.link))


def model_scenario(scenario, mode):
    """Model one (scenario, mode): ``{"cycles", "mem_reads", "mem_writes", "link_beats",
    "counters", "mem_bytes", "link_bytes"}``, counts summed over the devices."""
    m = RingModel(scenario, mode)
    cycles = m.run()
    total = {}
    for d in m.dev:
        for k, v in d.cnt.items():
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
