"""Fluid discrete-event engine: flow-level, tile-group.

Level of detail
---------------
*Flow-level, tile-group* (the *fluid* level of the model's three: FL block references in
``sim/ref``, the cycle-level ring model in ``sim/xval``, this engine). Work is a graph of **jobs** (a group of GEMM output tiles, a DMA
transfer of a group of tiles, a ring step of a reduction kernel). Jobs belong to in-order
**streams** (``gemm``, ``link``, ``local``); the head of each stream runs once its dependencies
have arrived. Running jobs share the device's resources *analytically* (fluid rates, recomputed at
every event): compute units (:class:`ComputeUnits`), the memory controller with its arbitration
policy (:class:`MemoryController`) and the ring link (:class:`Link`). Memory requests are not
simulated one by one; their queueing delay enters through an M/D/1 latency factor.

Ring symmetry: every device of the ring runs the same schedule, shifted by one chunk, so the
engine simulates one representative device. What the upstream neighbour sends us at time *t* is
what we send downstream at *t*; an arrival is our own matching send's completion plus the link
latency, and the receive-side memory traffic of a send is charged to our own memory.

Determinism: events are ordered by ``(time, priority, sequence)``; no randomness, no dict/set
iteration over unordered keys.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from .config import SystemConfig

__all__ = ["Job", "Kernel", "Engine", "ComputeUnits", "MemoryController", "ArbitratedMemory",
           "Link", "Tracker", "queue_factor"]

_EPS = 1e-12


def queue_factor(rho: float) -> float:
    """Mean memory latency relative to an idle memory: M/D/1, ``1 + rho / (2 (1 - rho))``.

    ``rho`` is capped at 0.95 (a bounded queue cannot grow without limit).
    """
    rho = min(max(rho, 0.0), 0.95)
    return 1.0 + rho / (2.0 * (1.0 - rho))


@dataclass(eq=False)
class Kernel:
    """A GPU kernel that occupies ``cus`` compute units from its first job's start to its last
    job's end (a persistent communication kernel)."""
    name: str
    cus: int
    jobs_left: int = 0
    started: bool = False
    done: bool = False
    t_start: float = math.nan
    t_end: float = math.nan


@dataclass(eq=False)
class Job:
    """A unit of work.

    Attributes
    ----------
    cls : "compute" | "comm"
        request class at the memory controller.
    cu_s : float
        work in CU-seconds (time on one CU); 0 for DMA/NMC work.
    stall_s : float
        memory-stall seconds at an idle memory (scaled by :func:`queue_factor`).
    dram_c, dram_m : float
        memory bank bytes of the compute / communication class (NMC updates weighted by
        ``nmc_cost``).
    link_bytes : float
        bytes occupied on the outgoing link (payload / packet efficiency).
    link : "nvl" | "ib"
        which link: the scale-up link (NVLink / the ring; default) or the inter-node network
        (InfiniBand, two-level topology).
    link_payload : float
        data bytes carried (accounting).
    rd, wr, nmc : float
        accounting: bytes read by the GPU/DMA, bytes written into memory (local or received),
        bytes read-add-written by NMC inside the memory.
    entry : (key, tiles) or (key, tiles, need) or None
        this job is one of the ``need`` (default 2) contributions to the tracked tile group
        ``key``.
    prio : tuple
        order among ready jobs of a ``link`` / ``local`` stream (smaller first; ties by ready
        time, then creation order).
    """
    name: str
    stream: str
    cls: str = "compute"
    cu_s: float = 0.0
    stall_s: float = 0.0
    dram_c: float = 0.0
    dram_m: float = 0.0
    link_bytes: float = 0.0
    link_payload: float = 0.0
    link: str = "nvl"
    rd: float = 0.0
    wr: float = 0.0
    nmc: float = 0.0
    kernel: Kernel | None = None
    tag: tuple = ()
    prio: tuple = ()
    entry: tuple | None = None      # (key, tiles): a contribution to a tracked tile group
    # runtime
    seq: int = 0
    released: bool = False
    blocked: bool = False
    deps: int = 0
    ready: float = 0.0
    dependents: list = field(default_factory=list)
    remaining: float = 1.0
    started: bool = False
    done: bool = False
    t_start: float = math.nan
    t_end: float = math.nan
    on_done: list = field(default_factory=list)
    start_dependents: list = field(default_factory=list)

    def after(self, other: "Job", delay: float = 0.0) -> "Job":
        """Make this job depend on ``other``'s completion plus ``delay`` seconds."""
        other.dependents.append((self, delay))
        self.deps += 1
        return self

    def after_start(self, other: "Job", delay: float = 0.0) -> "Job":
        """Make this job depend on ``other``'s *start* plus ``delay`` seconds (a pipeline behind
        ``other``: e.g. the far end of a link receiving what ``other`` sends)."""
        other.start_dependents.append((self, delay))
        self.deps += 1
        return self


class ComputeUnits:
    """Compute units of one device: persistent comm kernels reserve CUs; the GEMM gets the rest.

    Counters: ``busy_cu_s`` (CU-seconds allocated to GEMM), ``comm_cu_s`` (to comm kernels).
    """

    def __init__(self, n: int):
        self.n = n
        self.fixed_reserved = 0          # CUs taken away from this device (calibration runs)
        self.busy_cu_s = 0.0
        self.comm_cu_s = 0.0

    def split(self, kernels) -> tuple[int, int]:
        reserved = sum(k.cus for k in kernels)
        return max(self.n - reserved - self.fixed_reserved, 1), reserved


class Link:
    """Outgoing ring link: bandwidth ``bps`` one way, ``latency_s`` per hop.

    Counter: ``bytes`` sent; ``busy_s`` time the link carried data.
    """

    def __init__(self, bps: float, latency_s: float):
        self.bps = bps
        self.latency_s = latency_s
        self.bytes = 0.0
        self.busy_s = 0.0

    def arrival(self, t_sent: float) -> float:
        return t_sent + self.latency_s


class MemoryController:
    """HBM behind one memory controller, with an arbitration ``policy``.

    ``allocate`` gets the demanded bandwidth of each class at the jobs' tentative rates and
    returns per-class scale factors and the utilisation that *compute* requests see.

    Policies
    --------
    fr-fcfs
        both classes served in arrival order; when mixed, a communication byte costs
        ``interference`` bytes of bandwidth (row-buffer conflicts, read/write turnarounds);
        over-subscription slows both classes alike; compute sees the full utilisation.
    compute-first
        compute served first; communication gets the leftover (still with interference);
        compute sees its own traffic plus half of the communication's.
    t3-mca
        compute served first; communication is issued only while the queue is shallow, so it
        costs ``mca_interference`` and compute sees only ``mca_leak`` of its queueing; a
        starvation limit guarantees it ``mca_starvation_share`` of the bandwidth.

    Counters: ``rd``, ``wr``, ``nmc`` bytes; ``busy_byte_s`` (integral of used bandwidth).
    """

    def __init__(self, sysc: SystemConfig, policy: str):
        if policy not in ("fr-fcfs", "compute-first", "t3-mca"):
            raise ValueError(f"policy: unknown arbitration policy {policy!r}")
        self.B = sysc.hbm_bps
        self.Beff = sysc.hbm_bps * sysc.hbm_max_utilization
        self.policy = policy
        self.k = sysc.interference
        self.k_mca = sysc.mca_interference
        self.leak = sysc.mca_leak
        self.floor = sysc.mca_starvation_share
        self.rd = self.wr = self.nmc = 0.0
        self.busy_byte_s = 0.0

    def stall_factor(self, rho: float, cls: str) -> float:
        """Memory-stall time relative to an idle memory at utilisation ``rho``: M/D/1
        (:func:`queue_factor`), for both classes (a GPU's many warps issue independently)."""
        return queue_factor(rho)

    def allocate(self, dc: float, dm: float) -> tuple[float, float, float, float]:
        """Return ``(scale_compute, scale_comm, rho_seen_by_compute, used_bandwidth)``."""
        mixed = dc > 0 and dm > 0
        if self.policy == "fr-fcfs":
            k = self.k if mixed else 1.0
            cost = dc + k * dm
            f = min(1.0, self.Beff / cost) if cost > 0 else 1.0
            used = min(cost, self.Beff)
            return f, f, used / self.B, used
        if self.policy == "compute-first":
            k = self.k if mixed else 1.0
            dc2 = min(dc, self.Beff)
            dm2 = min(dm, (self.Beff - dc2) / k)
            used = dc2 + k * dm2
            return ((dc2 / dc) if dc > 0 else 1.0, (dm2 / dm) if dm > 0 else 1.0,
                    (dc2 + 0.5 * k * dm2) / self.B, used)
        # t3-mca
        k = self.k_mca if mixed else 1.0
        dm_floor = min(dm, self.floor * self.Beff / k)
        dc2 = min(dc, self.Beff - k * dm_floor)
        dm2 = min(dm, max(dm_floor, (self.Beff - dc2) / k))
        used = dc2 + k * dm2
        return ((dc2 / dc) if dc > 0 else 1.0, (dm2 / dm) if dm > 0 else 1.0,
                (dc2 + self.leak * k * dm2) / self.B, used)


class ArbitratedMemory:
    """A memory behind a one-grant-per-cycle arbiter between the two request classes: the RTL
    unit's :class:`hw.arbiter.Arbiter` in front of its memory port (``sim.model.rtl``).

    Unlike :class:`MemoryController` this has no fitted cost constants: the shares follow from
    the arbitration rule and the capacity from the memory.

    ``capacity``
        requests per time unit the memory side can serve: the arbiter's one grant per cycle, or
        less where the memory itself is slower (the DRAM model's measured service rate for the
        mix of accesses, ``sim.model.rtl``).
    ``policy``
        ``round-robin``: when both classes are pending they alternate, so a class that issues
        back to back gets at least half of the capacity and the rest of what the other leaves
        (max-min fairness). ``t3-mca``: compute first; communication gets what compute leaves,
        and at least ``1 / (starvation + 1)`` of the capacity while compute saturates it (the
        starvation limit), ``starvation`` = 0 meaning no floor. While a job tagged ``("shadow",
        ...)`` runs (the time after a compute burst during which its requests still hold the
        occupancy register at or above the threshold, ``sim.model.rtl``), communication gets
        only the floor.

    ``stall_factor`` is the slowdown of a job's issue time (its ``stall_s``: one request per
    time unit at an idle memory): the inverse of the share its class gets *while it issues*. A
    serial engine issues in bursts (the GEMM engine's reads, then its writes), during which it
    competes at its full rate; its average demand does not describe that.
    """

    POLICIES = ("round-robin", "t3-mca")

    def __init__(self, capacity: float, policy: str, starvation: int = 0,
                 comm_free_rate: float | None = None, mix_factor=None):
        if policy not in self.POLICIES:
            raise ValueError(f"policy: unknown arbitration policy {policy!r} "
                             f"(known: {', '.join(self.POLICIES)})")
        if not capacity > 0:
            raise ValueError(f"capacity: must be > 0, got {capacity!r}")
        self.B = self.Beff = float(capacity)
        self.policy = policy
        self.floor = 1.0 / (starvation + 1) if starvation > 0 else 0.0
        self.free = self.Beff if comm_free_rate is None else min(float(comm_free_rate), self.Beff)
        #: ``{(compute tag, comm tag): k}``: the memory time of the two classes' accesses mixed,
        #: relative to the same accesses served one class after the other (measured; 1: none)
        self.mix_factor = dict(mix_factor or {})
        self.cap0 = self.Beff
        self.rd = self.wr = self.nmc = 0.0
        self.busy_byte_s = 0.0
        self._alloc = (0.0, 0.0)
        self._closed = False

    def observe(self, active) -> None:
        """Set the capacity for the running jobs: divided by the measured mix factor of the
        compute and communication job kinds running together."""
        k = 1.0
        self._closed = any(j.tag and j.tag[0] == "shadow" for j in active)
        if self.mix_factor:
            kc = {j.tag[0] for j in active if j.cls == "compute" and j.tag}
            km = {j.tag[0] for j in active if j.cls == "comm" and j.tag}
            for a in kc:
                for b in km:
                    k = max(k, self.mix_factor.get((a, b), 1.0))
        self.Beff = self.cap0 / k

    def _shares(self, dc: float, dm: float) -> tuple[float, float]:
        cap = self.Beff
        if self.policy == "round-robin":
            if dc + dm <= cap:
                return dc, dm
            c = min(dc, max(cap / 2, cap - dm))
            return c, min(dm, cap - c)
        # t3-mca: compute first; while compute is pending (a fraction ``pend`` of the time)
        # comm gets only the starvation floor, otherwise up to its free rate
        if dm <= 0:
            return min(dc, cap), 0.0
        pend = min(1.0, dc / (cap * (1 - self.floor)))
        c = pend * (1 - self.floor) * cap
        free = self.floor * cap if self._closed else self.free
        m = min(dm, pend * self.floor * cap + (1 - pend) * free)
        return c, m

    def stall_factor(self, rho: float, cls: str) -> float:
        ac, am = self._alloc
        cap = self.Beff
        own, other = (ac, am) if cls == "compute" else (am, ac)
        if self.policy == "t3-mca" and cls == "compute":
            # first, but for the starvation floor while comm waits
            return 1.0 / (1.0 - self.floor) if am > 0 else 1.0
        # The other class takes the idle time first; what it cannot fit there it takes while
        # this class issues, at most half of the grants under round-robin (compute first under
        # T3-MCA: comm gets only the floor then).
        u = min(1.0, own / cap)
        if u <= 0:
            return 1.0
        x = max(0.0, other - (1.0 - u) * cap) / u
        x = min(x, cap / 2 if self.policy == "round-robin" else cap - self.free)
        return cap / max(cap - x, 1e-9)

    def allocate(self, dc: float, dm: float) -> tuple[float, float, float, float]:
        c, m = self._shares(dc, dm)
        self._alloc = (c, m)
        return ((c / dc) if dc > 0 else 1.0, (m / dm) if dm > 0 else 1.0, (c + m) / self.B,
                c + m)


class Tracker:
    """T3 tracker with ``entries`` tile entries, one beside each memory controller.

    A tracked tile group (key) gets its entries when its *first* contribution (local GEMM store or
    the neighbour's update) starts, and frees them when both contributions have completed (the
    trigger). A contribution that would need entries while the table is full waits
    (back-pressure): the GEMM stalls, or the upstream DMA does. A group larger than the whole
    table is admitted when the table is empty, so progress is guaranteed.

    The model tracks tile *groups*, so the counters are in tiles. Counters: ``fires`` (tiles
    triggered), ``peak`` (most entries in use), ``stalls`` (times a contribution had to wait),
    ``spills`` (groups that took the table-full fallback, below).

    **Table-full fallback (the hardware's, ``hw/tracker.py``).** In the hardware an arm whose
    entry is busy waits, and a contribution is written only after its tile's arm is installed;
    the RTL ring's first step is a local tracked store whose fire starts a DMA, so a full table
    only delays that DMA and the ring drains. The model's fused step 1 writes the neighbour's
    memory straight from the GEMM epilogue instead, which on a full table would stall every GEMM
    of the ring at once (a deadlock). When that happens the engine takes the hardware's path for
    one group (:meth:`Engine._fall_back`): the GEMM stores the group locally, untracked, and a
    DMA job that needs the group's entries (so it waits for them, like the arm) reads it and
    sends it as updates. Charged: the local write and the DMA read of the group's bytes, bulk
    instead of store link efficiency, and the DMA's wait for entries.
    """

    def __init__(self, entries: int):
        self.entries = entries
        self.used = 0.0
        self.peak = 0.0
        self.fires = 0.0
        self.stalls = 0
        self.spills = 0
        self.spilled: list = []         # keys of the groups sent through the fallback, in order
        self._open: dict = {}          # key -> [tiles, contributions completed]

    def can_start(self, key, tiles: float, need: int = 2) -> bool:
        if key in self._open:
            return True
        return self.used == 0 or self.used + tiles <= self.entries + 1e-9

    def start(self, key, tiles: float, need: int = 2) -> None:
        if key not in self._open:
            self._open[key] = [tiles, 0, need]
            self.used += tiles
            self.peak = max(self.peak, self.used)

    def done(self, key) -> bool:
        """A contribution completed; returns True when the group fires (its ``need``-th)."""
        ent = self._open[key]
        ent[1] += 1
        if ent[1] == ent[2]:
            del self._open[key]
            self.used -= ent[0]
            self.fires += ent[0]
            return True
        return False

    @property
    def overflow(self) -> bool:
        return self.peak > self.entries + 1e-9

    def line_trace(self) -> str:
        return f"trk {self.used:6.0f}/{self.entries}"


class Engine:
    """Runs a job graph on one device. See the module docstring.

    Streams: ``gemm`` is in order (the GEMM's tile groups in program order); ``link`` and
    ``local`` run, one job at a time and without preemption, the ready job with the smallest
    ``(prio, ready time, sequence)``, like a DMA engine's or a persistent kernel's work queue;
    ``net`` (the inter-node network) and ``rx`` (a link receiver's writes into this device's
    memory, ``sim.model.rtl``) and ``gate`` (intervals an arbiter's admission rule is closed,
    ``sim.model.rtl``) likewise. Synchronisation markers (stream ``sync``) complete as soon as their dependencies arrive.
    """

    STREAMS = ("gemm", "link", "local", "net", "rx", "gate")
    IN_ORDER = ("gemm",)

    def __init__(self, sysc: SystemConfig, policy: str = "fr-fcfs", record: bool = False,
                 memory=None):
        self.sys = sysc
        self.cu = ComputeUnits(sysc.n_cu)
        self.mem = memory if memory is not None else MemoryController(sysc, policy)
        self.link = Link(sysc.link_bps, sysc.link_latency_s)
        self.ib = Link(sysc.inter_bps, sysc.inter_latency_s)     # two-level topology only
        self.links = {"nvl": self.link, "ib": self.ib}
        self.tracker = Tracker(sysc.tracker_entries)
        self.streams: dict[str, list[Job]] = {s: [] for s in self.STREAMS}
        self.heads: dict[str, int] = {s: 0 for s in self.STREAMS}
        self.running: dict[str, Job | None] = {s: None for s in self.STREAMS}
        self._readyq: dict[str, list] = {s: [] for s in self.STREAMS}
        self.kernels: list[Kernel] = []
        self.syncs: list[Job] = []     # markers outside the streams
        self.n_done = 0
        self.n_total = 0
        self.now = 0.0
        self.events = 0
        self.record = record
        # (t0, t1, gemm_cus, comm_cus, dram_used_frac, link_frac, dma_engine_busy)
        self.trace: list[tuple] = []
        self._seq = 0
        self._pending: list = []       # heap (ready time, seq, job): dependencies met, not yet due
        self._force_one = False

    # graph construction ---------------------------------------------------------------------
    def add(self, job: Job) -> Job:
        if job.stream != "sync" and job.stream not in self.streams:
            raise ValueError(f"stream: unknown stream {job.stream!r}")
        self._seq += 1
        job.seq = self._seq
        if job.stream == "sync":
            self.syncs.append(job)
        else:
            self.streams[job.stream].append(job)
        self.n_total += 1
        if job.kernel is not None:
            job.kernel.jobs_left += 1
            if job.kernel not in self.kernels:
                self.kernels.append(job.kernel)
        return job

    # helpers ---------------------------------------------------------------------------------
    def _released(self, job: Job) -> None:
        """All dependencies of ``job`` have completed: queue it for its ready time."""
        heapq.heappush(self._pending, (job.ready, job.seq, job))

    def _complete(self, job: Job) -> None:
        job.done = True
        job.remaining = 0.0
        job.t_end = self.now
        self.n_done += 1
        self.mem.rd += job.rd
        self.mem.wr += job.wr
        self.mem.nmc += job.nmc
        self.links[job.link].bytes += job.link_payload
        if job.entry is not None:
            self.tracker.done(job.entry[0])
        for cb in job.on_done:
            cb(job, self)
        for dep, delay in job.dependents:
            dep.deps -= 1
            dep.ready = max(dep.ready, self.now + delay)
            if dep.deps == 0:
                self._released(dep)
        if job.kernel is not None:
            job.kernel.jobs_left -= 1
            if job.kernel.jobs_left == 0:
                job.kernel.done = True
                job.kernel.t_end = self.now
        if job.stream in self.IN_ORDER:
            self.heads[job.stream] += 1
        if job.stream in self.running and self.running[job.stream] is job:
            self.running[job.stream] = None

    @staticmethod
    def _is_marker(j: Job) -> bool:
        return j.cu_s == 0 and j.dram_c == 0 and j.dram_m == 0 and j.link_bytes == 0

    def _admissible(self, j: Job) -> bool:
        if j.entry is None or self.tracker.can_start(*j.entry):
            return True
        key = j.entry[0]
        if self._force_one and self._fall_back(j):
            self._force_one = False
            self.tracker.spills += 1
            self.tracker.spilled.append(key)
            return True
        return False

    def _fall_back(self, j: Job) -> bool:
        """The table-full fallback for ``j`` (see :class:`Tracker`): a GEMM job that writes a
        tracked group straight into the neighbour's memory stores it locally instead, and a new
        DMA job on the ``link`` stream, after it, carries the group's entries, reads the group
        and sends it as updates; the jobs that waited for the remote contribution wait for that
        DMA. Returns False (nothing changed) for any other job."""
        if j.stream != "gemm" or j.link_bytes <= 0 or j.entry is None or j.started:
            return False
        gb = j.link_payload
        sysc = self.sys
        d = Job(f"{j.name}-fallback-dma", "link", "comm", dram_m=(1 + sysc.nmc_cost) * gb,
                link_bytes=gb / sysc.link_bulk_efficiency, link_payload=gb, rd=gb, wr=gb,
                nmc=j.nmc, tag=("fallback",) + tuple(j.tag), entry=j.entry)
        remote = [(dep, delay) for dep, delay in j.dependents if delay > 0]
        j.dependents = [(dep, delay) for dep, delay in j.dependents if delay <= 0]
        d.dependents = remote
        j.dram_m -= sysc.nmc_cost * gb          # the NMC update now happens at the DMA's landing
        j.dram_c += gb                          # the local store
        j.link_bytes = j.link_payload = 0.0
        j.wr, j.nmc = gb, 0.0
        j.entry = None
        self.add(d)
        d.after(j)
        return True

    def _any_blocked(self) -> bool:
        for s in self.STREAMS:
            if s in self.IN_ORDER:
                i = self.heads[s]
                lst = self.streams[s]
                if i < len(lst) and lst[i].released and not lst[i].started:
                    return True
            elif self._readyq[s]:
                return True
        return False

    def _begin(self, j: Job) -> None:
        if j.entry is not None:
            self.tracker.start(*j.entry)
        j.started = True
        j.t_start = self.now
        if j.kernel is not None and not j.kernel.started:
            j.kernel.started = True
            j.kernel.t_start = self.now
        for dep, delay in j.start_dependents:
            dep.deps -= 1
            dep.ready = max(dep.ready, self.now + delay)
            if dep.deps == 0:
                self._released(dep)

    def _start_heads(self) -> list[Job]:
        progressed = True
        while progressed:
            progressed = False
            while self._pending and self._pending[0][0] <= self.now + _EPS:
                _, _, j = heapq.heappop(self._pending)
                if j.stream == "sync":
                    self._begin(j)
                    self._complete(j)
                    progressed = True
                elif j.stream not in self.IN_ORDER:
                    heapq.heappush(self._readyq[j.stream], (j.prio, j.ready, j.seq, j))
                else:
                    j.released = True
            for s in self.STREAMS:
                if s in self.IN_ORDER:
                    i = self.heads[s]
                    lst = self.streams[s]
                    if i < len(lst) and not lst[i].started and lst[i].released:
                        j = lst[i]
                        if not self._admissible(j):
                            if not j.blocked:
                                j.blocked = True
                                self.tracker.stalls += 1
                            continue
                        self._begin(j)
                        self.running[s] = j
                        if self._is_marker(j):
                            self._complete(j)
                        progressed = True
                elif self.running[s] is None and self._readyq[s]:
                    q = self._readyq[s]
                    held = []
                    j = None
                    while q:
                        cand = heapq.heappop(q)
                        if self._admissible(cand[3]):
                            j = cand[3]
                            break
                        if not cand[3].blocked:
                            cand[3].blocked = True
                            self.tracker.stalls += 1
                        held.append(cand)
                    for h in held:
                        heapq.heappush(q, h)
                    if j is None:
                        continue
                    self._begin(j)
                    self.running[s] = j
                    if self._is_marker(j):
                        self._complete(j)
                    progressed = True
        return [j for j in (self.running[s] for s in self.STREAMS) if j is not None]

    def _rates(self, active: list[Job]) -> tuple[list[float], tuple]:
        live = [k for k in self.kernels if k.started and not k.done]
        n_gemm, n_comm = self.cu.split(live)
        # a kernel's CUs are shared by its jobs running at the same time: a job that feeds the
        # link gets the CUs it can use at link speed first (but leaves a quarter of the kernel to
        # local reductions if any run), the rest go to the others equally
        share: dict[int, float] = {}
        by_kernel: dict[int, list] = {}
        for j in active:
            if j.kernel is not None and j.cls == "comm" and j.cu_s > 0:
                by_kernel.setdefault(id(j.kernel), []).append(j)
        for jobs in by_kernel.values():
            cus = jobs[0].kernel.cus
            need = []
            for j in jobs:
                cap = (j.cu_s * self.links[j.link].bps / j.link_bytes if j.link_bytes > 0
                       else math.inf)
                need.append((cap, j.seq, j))
            need.sort(key=lambda x: (x[0], x[1]))
            n_other = sum(1 for cap, _, _ in need if not math.isfinite(cap))
            reserve = 0.25 * cus if n_other else 0.0     # no starvation of local reductions
            left, n_left = float(cus), len(need)
            for cap, _, j in need:
                # jobs that feed the link first (they are on the ring's critical path)
                if math.isfinite(cap):
                    give = min(cap, (left - reserve) / (n_left - n_other))
                else:
                    give = left / n_left
                share[id(j)] = give
                left -= give
                n_left -= 1
        cu_time = []
        for j in active:
            if j.cu_s > 0:
                n = share[id(j)] if id(j) in share else n_gemm
                cu_time.append(j.cu_s / n)
            else:
                cu_time.append(0.0)
        rho = 0.0
        rates = [0.0] * len(active)
        used = 0.0
        if hasattr(self.mem, "observe"):
            self.mem.observe(active)
        for _ in range(8):                      # fixed point: stall <-> utilisation
            qc = self.mem.stall_factor(rho, "compute")
            qm = self.mem.stall_factor(rho, "comm")
            for idx, j in enumerate(active):
                d = cu_time[idx] + j.stall_s * (qc if j.cls == "compute" else qm)
                rates[idx] = 1.0 / d if d > 0 else math.inf
            # each link: share by demand
            for lname, lk in self.links.items():
                ld = sum(r * j.link_bytes for r, j in zip(rates, active)
                         if j.link_bytes > 0 and j.link == lname and math.isfinite(r))
                if any(j.link_bytes > 0 and j.link == lname and not math.isfinite(r)
                       for r, j in zip(rates, active)):
                    ld = math.inf
                if ld > lk.bps:
                    users = [i for i, j in enumerate(active)
                             if j.link_bytes > 0 and j.link == lname]
                    if math.isinf(ld):
                        # unbounded DMA jobs: split the link equally among link users
                        share = lk.bps / len(users)
                        for i in users:
                            rates[i] = min(rates[i], share / active[i].link_bytes)
                    else:
                        f = lk.bps / ld
                        for i in users:
                            rates[i] *= f
            # jobs still unbounded (DMA with no link): bounded by the whole memory
            for i, j in enumerate(active):
                if not math.isfinite(rates[i]):
                    rates[i] = self.mem.Beff / max(j.dram_c + j.dram_m, _EPS)
            dc = sum(r * j.dram_c for r, j in zip(rates, active))
            dm = sum(r * j.dram_m for r, j in zip(rates, active))
            fc, fm, rho_new, used = self.mem.allocate(dc, dm)
            for i, j in enumerate(active):
                f = 1.0
                if j.dram_c > 0:
                    f = min(f, fc)
                if j.dram_m > 0:
                    f = min(f, fm)
                rates[i] *= f
            if abs(rho_new - rho) < 1e-9:
                break
            rho = 0.5 * (rho + rho_new) if _ > 3 else rho_new
        link_used = sum(r * j.link_bytes for r, j in zip(rates, active) if j.link == "nvl")
        return rates, (n_gemm, n_comm, used, link_used)

    def run(self) -> float:
        """Run to completion; return the end time in seconds."""
        for j in list(self.syncs) + [j for lst in self.streams.values() for j in lst]:
            if j.deps == 0:
                self._released(j)
        while True:
            active = self._start_heads()
            if self.n_done >= self.n_total:
                break
            if not active:
                if not self._pending and self._any_blocked() and not self._force_one:
                    self._force_one = True
                    continue
                if not self._pending:
                    raise RuntimeError("deadlock: no runnable job and no pending arrival "
                                       f"({self.line_trace()})")
                self.now = self._pending[0][0]
                continue
            self.events += 1
            rates, (n_gemm, n_comm, used, link_used) = self._rates(active)
            dt = min((j.remaining / r for j, r in zip(active, rates) if r > 0),
                     default=math.inf)
            if self._pending:
                dt = min(dt, self._pending[0][0] - self.now)
            if math.isinf(dt):
                raise RuntimeError(f"starvation: every running job has rate 0 ({self.line_trace()})")
            dt = max(dt, 0.0)
            # statistics
            gemm_active = any(j.stream == "gemm" for j in active)
            self.cu.busy_cu_s += dt * (n_gemm if gemm_active else 0)
            self.cu.comm_cu_s += dt * n_comm
            self.mem.busy_byte_s += dt * used
            self.link.busy_s += dt * min(1.0, link_used / self.link.bps)
            if self.record and dt > 0:
                dma = any(j.stream == "link" and j.kernel is None for j in active)
                self.trace.append((self.now, self.now + dt, n_gemm if gemm_active else 0,
                                   n_comm, used / self.mem.B, link_used / self.link.bps,
                                   1.0 if dma else 0.0))
            self.now += dt
            for j, r in zip(active, rates):
                j.remaining -= r * dt
            for j in active:
                if j.remaining <= 1e-9:
                    self._complete(j)
        return self.now

    def line_trace(self) -> str:
        """One-line state dump: time, stream heads, memory and tracker state."""
        parts = [f"t={self.now * 1e6:10.3f}us"]
        for s in self.STREAMS:
            j = self.running[s]
            parts.append(f"{s}:{j.name if j is not None else '-'}")
        parts.append(f"done {self.n_done}/{self.n_total}")
        parts.append(f"rd={self.mem.rd / 1e6:.1f}MB wr={self.mem.wr / 1e6:.1f}MB")
        parts.append(self.tracker.line_trace())
        return " | ".join(parts)
