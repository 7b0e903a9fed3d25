"""Job graphs of each configuration, and :func:`simulate` / :func:`run_configs`.

Vocabulary (shared with the RTL): the GEMM output is split into ``N`` *chunks* (one per device);
a chunk is made of output *tiles* (``tile_m x tile_n``); the model moves *groups* of tiles.
An *update* is a read-add-write done by NMC at the memory; a *store* is a plain write.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import CONFIGS, ConfigError, SystemConfig, mca_variants
from .engine import Engine, Job, Kernel

__all__ = ["Result", "simulate", "run_configs", "gemm_costs", "DOMINO_SLICES", "t3_fused_gemm_rs"]

DOMINO_SLICES = (1, 2, 4, 8)


@dataclass
class Result:
    """Outcome of one configuration on one sublayer (per device; all devices are alike)."""
    config: str
    time_s: float
    gemm_end_s: float
    rs_end_s: float
    dram_read_bytes: float
    dram_write_bytes: float
    nmc_bytes: float
    link_bytes: float
    ag_read_bytes: float = 0.0
    ag_write_bytes: float = 0.0
    tracker_peak_tiles: float = 0.0
    slices: int = 0
    events: int = 0
    stats: dict = field(default_factory=dict)
    trace: list = field(default_factory=list)
    tracker_spills: int = 0
    #: T3-MCA: the measured arbiter setting ("threshold/starvation") the run used
    #: (``mca_tuning = "measured"``; ``stats["mca_setting_time_s"]`` has every setting's time);
    #: "" with the system's own constants
    mca_setting: str = ""

    @property
    def time_us(self) -> float:
        return self.time_s * 1e6

    @property
    def dram_bytes_gemm_rs(self) -> float:
        """DRAM bytes read + written by the GEMM and the reduce-scatter (AG excluded)."""
        return (self.dram_read_bytes - self.ag_read_bytes
                + self.dram_write_bytes - self.ag_write_bytes)

    def to_json(self) -> dict:
        d = {"time_us": self.time_us, "dram_read_bytes": self.dram_read_bytes,
             "dram_write_bytes": self.dram_write_bytes, "link_bytes": self.link_bytes,
             "nmc_bytes": self.nmc_bytes, "dram_bytes_gemm_rs": self.dram_bytes_gemm_rs,
             "gemm_us": self.gemm_end_s * 1e6, "rs_end_us": self.rs_end_s * 1e6}
        if "dram_bytes_by_phase" in self.stats:
            # GEMM: operand reads, output stores/updates (T3 step 1: the remote updates landing
            # at the neighbour); RS: kernel or DMA reads, received writes, NMC updates; AG
            d["dram_bytes_by_phase"] = self.stats["dram_bytes_by_phase"]
        if self.config.startswith("t3"):
            d["tracker_peak_tiles"] = self.tracker_peak_tiles
            d["tracker_spills"] = self.tracker_spills
        if self.config == "domino":
            d["slices"] = self.slices
        if self.mca_setting:
            d["mca_setting"] = self.mca_setting
        return d


# --------------------------------------------------------------------------------------------
def gemm_costs(sysc: SystemConfig, m: int, n: int, k: int) -> dict:
    """Totals of one GEMM kernel ``[m x k] @ [k x n]``.

    ``cu_s``: CU-seconds of math (``flops / (per-CU peak x efficiency)``) times the wave
    quantisation factor ``ceil(waves) / waves`` with ``waves = tiles / n_cu``.
    ``stall_s``: memory-stall seconds at an idle memory = ``gemm_stall_fraction x`` math time on
    all CUs. ``reads``: DRAM bytes read, ``max(compulsory, 2 m n k / sqrt(S))`` elements with S
    the L2 elements usable for blocking (the classic I/O bound of a blocked matrix product).
    """
    b = sysc.bytes_per_element
    tiles = math.ceil(m / sysc.tile_m) * math.ceil(n / sysc.tile_n)
    waves = tiles / sysc.n_cu
    quant = math.ceil(waves) / waves
    flops = 2.0 * m * n * k
    cu_s = flops / sysc.cu_flops * quant
    s_elems = sysc.l2_mb * 2**20 * sysc.l2_effective_fraction / b
    reads = max((m * k + k * n) * b, 2.0 * m * n * k / math.sqrt(s_elems) * b)
    return {"tiles": tiles, "cu_s": cu_s, "stall_s": sysc.gemm_stall_fraction * cu_s / sysc.n_cu,
            "reads": reads, "writes": m * n * b, "flops": flops, "quant": quant}


def _groups_per_chunk(sysc: SystemConfig, tiles_per_chunk: float) -> int:
    return max(2, min(12, math.ceil(tiles_per_chunk / (sysc.n_cu / 4))))


class _Builder:
    def __init__(self, sysc: SystemConfig, ndev: int, m: int, n: int, k: int, policy: str,
                 record: bool):
        self.sys = sysc
        self.N = ndev
        self.m, self.n, self.k = m, n, k
        self.e = Engine(sysc, policy, record)
        self.launch = sysc.launch_overhead_us * 1e-6
        self.lat = sysc.link_latency_s
        self.comm_rate = sysc.comm_gbps_per_cu * 1e9

    # GEMM of m rows, split into N chunks x g groups; returns {(chunk_step, group): job}
    def gemm(self, m: int, g: int, kind, after: Job | None = None, tag="gemm",
             n: int | None = None, k: int | None = None, steps: int | None = None,
             group_major: bool = False) -> dict:
        """A GEMM of ``m`` rows as ``steps`` (default N) chunks x ``g`` tile groups, computed
        chunk by chunk (or group by group: all chunks' group 0 first, with ``group_major``)."""
        c = gemm_costs(self.sys, m, self.n if n is None else n, self.k if k is None else k)
        steps = self.N if steps is None else steps
        nj = steps * g
        out = {}
        first = True
        order = ([(s, i) for i in range(g) for s in range(1, steps + 1)] if group_major
                 else [(s, i) for s in range(1, steps + 1) for i in range(g)])
        for s, i in order:
            gb = c["writes"] / nj
            rd = c["reads"] / nj
            j = Job(f"{tag}[{s},{i}]", "gemm", "compute", cu_s=c["cu_s"] / nj,
                    stall_s=c["stall_s"] / nj, dram_c=rd, rd=rd, tag=(tag, s, i))
            kind(j, s, gb)
            if first:
                if after is not None:
                    j.after(after, self.launch)
                else:
                    j.ready = self.launch
                first = False
            out[(s, i)] = self.e.add(j)
        return out

    def ring_rs_kernel(self, chunk_bytes: float, g: int, after: Job, tag="rs",
                       prio0: int = 0) -> list[Job]:
        """NCCL-style ring reduce-scatter kernel on ``comm_cus`` CUs.

        Step 1 sends the local partial of one chunk; steps 2..N-1 read the received partial and
        the local one, add, send the sum (written into the neighbour's buffer); the last step
        adds and writes the result locally. Like NCCL's loop over slices, the kernel prefers the
        earliest group (group-major order), so every step is in flight at once. Returns the
        final jobs.
        """
        ker = Kernel(tag, self.sys.comm_cus)
        gb = chunk_bytes / g
        cu = gb / self.comm_rate
        prev = {}
        finals = []
        for s in range(1, self.N):
            for i in range(g):
                nrd = 1 if s == 1 else 2
                j = Job(f"{tag}[{s},{i}]", "link", "comm", cu_s=cu, dram_m=(nrd + 1) * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=nrd * gb, wr=gb, kernel=ker, tag=(tag, s, i), prio=(prio0, i, s))
                if s == 1:
                    j.after(after, self.launch)
                else:
                    j.after(prev[(s - 1, i)], self.lat)
                prev[(s, i)] = self.e.add(j)
        for i in range(g):
            j = Job(f"{tag}[{self.N},{i}]", "local", "comm", cu_s=cu, dram_m=3 * gb, rd=2 * gb,
                    wr=gb, kernel=ker, tag=(tag, self.N, i), prio=(prio0, i))
            j.after(prev[(self.N - 1, i)], self.lat)
            finals.append(self.e.add(j))
        return finals

    def ring_rs_nmc(self, chunk_bytes: float, g: int, after: Job | None, tag="rs") -> list[Job]:
        """DMA ring reduce-scatter with NMC updates and no GEMM (Ideal-RS+NMC's RS)."""
        gb = chunk_bytes / g
        nmc = self.sys.nmc_cost
        prev = {}
        finals = []
        for s in range(1, self.N):
            for i in range(g):
                j = Job(f"{tag}[{s},{i}]", "link", "comm", dram_m=(1 + nmc) * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=gb, wr=gb, nmc=gb, tag=(tag, s, i))
                if s == 1:
                    if after is not None:
                        j.after(after, self.launch)
                    else:
                        j.ready = self.launch
                else:
                    j.after(prev[(s - 1, i)], self.lat)
                prev[(s, i)] = self.e.add(j)
        for i in range(g):
            j = Job(f"{tag}[{self.N},{i}]", "sync", tag=(tag, self.N, i))
            j.after(prev[(self.N - 1, i)], self.lat)
            finals.append(self.e.add(j))
        return finals

    def ring_ag_kernel(self, chunk_bytes: float, g: int, after: list[Job], tag="ag",
                       prio0: int = 1) -> Job:
        """Ring all-gather kernel: N-1 steps of read + send (+ receive write)."""
        ker = Kernel(tag, self.sys.comm_cus)
        gb = chunk_bytes / g
        cu = gb / self.comm_rate
        barrier = self.e.add(Job("rs-done", "sync", tag=("sync",)))
        for a in after:
            barrier.after(a)
        prev = {}
        for s in range(1, self.N):
            for i in range(g):
                j = Job(f"{tag}[{s},{i}]", "link", "comm", cu_s=cu, dram_m=2 * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=gb, wr=gb, kernel=ker, tag=(tag, s, i), prio=(prio0, i, s))
                if s == 1:
                    j.after(barrier, self.launch)
                else:
                    j.after(prev[(s - 1, i)], self.lat)
                prev[(s, i)] = self.e.add(j)
        end = self.e.add(Job("ag-done", "sync", tag=("sync",)))
        for i in range(g):
            end.after(prev[(self.N - 1, i)], self.lat)
        return end

    # topology dispatch ------------------------------------------------------------------------
    @property
    def topology(self) -> str:
        return self.sys.topology

    def _check_two_level(self) -> int:
        if self.N < 4 or self.N % 2:
            raise ConfigError(f"tp: the two-level topology spreads TP over 2 nodes and needs an "
                              f"even TP degree >= 4, got {self.N}")
        return self.N // 2

    def rs_kernel(self, chunk_bytes: float, g: int, after: Job, tag="rs",
                  prio0: int = 0) -> list[Job]:
        """The baseline reduce-scatter kernel of the system's topology; returns its final jobs."""
        t = self.topology
        if t in ("ring", "biring"):
            return self.ring_rs_kernel(chunk_bytes, g, after, tag, prio0)
        if t == "switch":
            return self.direct_rs_kernel(chunk_bytes, g, after, tag, prio0, self.N)
        if t == "nvls":
            return self.nvls_rs_kernel(chunk_bytes, g, after, tag, prio0)
        L = self._check_two_level()
        # inside the node: direct RS of pieces of 2 chunks (this device's and its peer's in the
        # other node); then the peer and this device swap halves over the network and add
        intra = self.direct_rs_kernel(2 * chunk_bytes, g, after, tag, prio0, L)
        return self.inter_rs(chunk_bytes, g, intra, tag, prio0)

    def ag_kernel(self, chunk_bytes: float, g: int, after: list[Job], tag="ag",
                  prio0: int = 1) -> Job:
        """The baseline all-gather kernel of the system's topology; returns its end marker."""
        t = self.topology
        if t in ("ring", "biring"):
            return self.ring_ag_kernel(chunk_bytes, g, after, tag, prio0)
        if t == "switch":
            return self.direct_ag_kernel(chunk_bytes, g, after, tag, prio0, self.N)
        if t == "nvls":
            return self.nvls_ag_kernel(chunk_bytes, g, after, tag, prio0)
        L = self._check_two_level()
        mid = self.inter_ag(chunk_bytes, g, after, tag, prio0)
        return self.direct_ag_kernel(2 * chunk_bytes, g, [mid], tag + "-intra", prio0, L)

    def direct_rs_kernel(self, piece_bytes: float, g: int, after: Job, tag: str, prio0: int,
                         L: int) -> list[Job]:
        """Direct reduce-scatter through a switch among ``L`` devices, on ``comm_cus`` CUs: each
        device reads and sends its L-1 pieces meant for the others (written into the owners'
        buffers: by symmetry, charged to this device's memory), then adds the L-1 received
        pieces to its own (reads L pieces, writes 1). One hop of latency."""
        ker = Kernel(tag, self.sys.comm_cus)
        gb = piece_bytes / g
        cu = gb / self.comm_rate
        finals = []
        sends = {}
        for i in range(g):
            for s in range(1, L):
                j = Job(f"{tag}[{s},{i}]", "link", "comm", cu_s=cu, dram_m=2 * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=gb, wr=gb, kernel=ker, tag=(tag, s, i), prio=(prio0, i, s))
                j.after(after, self.launch)
                sends[(s, i)] = self.e.add(j)
        for i in range(g):
            # CU time per byte written, like a ring step's add-and-send (comm_gbps_per_cu is
            # what one CU moves); the L reads are memory traffic
            j = Job(f"{tag}[{L},{i}]", "local", "comm", cu_s=cu,
                    dram_m=(L + 1) * gb, rd=L * gb, wr=gb, kernel=ker, tag=(tag, L, i),
                    prio=(prio0, i))
            for s in range(1, L):
                j.after(sends[(s, i)], self.lat)
            finals.append(self.e.add(j))
        return finals

    def direct_ag_kernel(self, piece_bytes: float, g: int, after: list[Job], tag: str,
                         prio0: int, L: int) -> Job:
        """Direct all-gather through a switch: each device sends its piece to the L-1 others."""
        ker = Kernel(tag, self.sys.comm_cus)
        gb = piece_bytes / g
        cu = gb / self.comm_rate
        barrier = _sync(self.e, "rs-done", after)
        end = self.e.add(Job(f"{tag}-done", "sync", tag=("sync",)))
        for i in range(g):
            for s in range(1, L):
                j = Job(f"{tag}[{s},{i}]", "link", "comm", cu_s=cu, dram_m=2 * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=gb, wr=gb, kernel=ker, tag=(tag, s, i), prio=(prio0, i, s))
                j.after(barrier, self.launch)
                end.after(self.e.add(j), self.lat)
        return end

    def nvls_rs_kernel(self, chunk_bytes: float, g: int, after: Job, tag: str,
                       prio0: int) -> list[Job]:
        """Reduce-scatter with in-network reduction (NVLS-like): each device reads and pushes its
        N-1 pieces for the others once; the switch adds the N contributions and each owner
        receives its reduced chunk once (one write, no reduction reads or CU adds)."""
        ker = Kernel(tag, self.sys.comm_cus)
        gb = chunk_bytes / g
        cu = gb / self.comm_rate
        finals = []
        for i in range(g):
            sends = []
            for s in range(1, self.N):
                j = Job(f"{tag}[{s},{i}]", "link", "comm", cu_s=cu, dram_m=gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        rd=gb, kernel=ker, tag=(tag, s, i), prio=(prio0, i, s))
                j.after(after, self.launch)
                sends.append(self.e.add(j))
            j = Job(f"{tag}[{self.N},{i}]", "local", "comm", dram_m=gb, wr=gb, kernel=ker,
                    tag=(tag, self.N, i), prio=(prio0, i))
            for sj in sends:
                j.after(sj, self.lat)
            finals.append(self.e.add(j))
        return finals

    def nvls_ag_kernel(self, chunk_bytes: float, g: int, after: list[Job], tag: str,
                       prio0: int) -> Job:
        """All-gather by multicast (NVLS-like): each device sends its chunk once and the switch
        replicates it; the N-1 chunks received per device occupy its incoming port, which is the
        bottleneck (link bytes (N-1) x chunk), and are written into its memory."""
        ker = Kernel(tag, self.sys.comm_cus)
        gb = chunk_bytes / g
        barrier = _sync(self.e, "rs-done", after)
        end = self.e.add(Job(f"{tag}-done", "sync", tag=("sync",)))
        n1 = self.N - 1
        for i in range(g):
            j = Job(f"{tag}[1,{i}]", "link", "comm", cu_s=gb / self.comm_rate,
                    dram_m=gb + n1 * gb, link_bytes=n1 * gb / self.sys.link_bulk_efficiency,
                    link_payload=n1 * gb, rd=gb, wr=n1 * gb, kernel=ker, tag=(tag, 1, i),
                    prio=(prio0, i, 1))
            j.after(barrier, self.launch)
            end.after(self.e.add(j), self.lat)
        return end

    def inter_rs(self, chunk_bytes: float, g: int, intra: list[Job], tag: str,
                 prio0: int) -> list[Job]:
        """Second level of the two-level RS: swap one chunk with the peer in the other node over
        the network (read, send, the peer writes it), then add it to the own partial."""
        gb = chunk_bytes / g
        ilat = self.sys.inter_latency_s
        ker = Kernel(tag + "-inter", self.sys.comm_cus)
        finals = []
        for i in range(g):
            j = Job(f"{tag}-ib[{i}]", "net", "comm", cu_s=gb / self.comm_rate, dram_m=2 * gb,
                    link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb, link="ib",
                    rd=gb, wr=gb, kernel=ker, tag=(tag, "ib", i), prio=(prio0, i))
            j.after(intra[i])
            self.e.add(j)
            f = Job(f"{tag}-add[{i}]", "local", "comm", cu_s=gb / self.comm_rate,
                    dram_m=3 * gb, rd=2 * gb, wr=gb, kernel=ker, tag=(tag, "add", i),
                    prio=(prio0, i))
            f.after(j, ilat)
            finals.append(self.e.add(f))
        return finals

    def inter_ag(self, chunk_bytes: float, g: int, after: list[Job], tag: str,
                 prio0: int) -> Job:
        """First level of the two-level AG: send the reduced chunk to the peer node's device."""
        gb = chunk_bytes / g
        ker = Kernel(tag + "-inter", self.sys.comm_cus)
        barrier = _sync(self.e, "rs-done", after)
        end = self.e.add(Job(f"{tag}-ib-done", "sync", tag=("sync",)))
        for i in range(g):
            j = Job(f"{tag}-ib[{i}]", "net", "comm", cu_s=gb / self.comm_rate, dram_m=2 * gb,
                    link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb, link="ib",
                    rd=gb, wr=gb, kernel=ker, tag=(tag, "ib", i), prio=(prio0, i))
            j.after(barrier, self.launch)
            end.after(self.e.add(j), self.sys.inter_latency_s)
        return end

    def direct_rs_nmc(self, piece_bytes: float, g: int, after, tag: str, L: int,
                      link: str = "nvl", stream: str = "link") -> list[Job]:
        """DMA reduce-scatter with NMC updates through a switch (Ideal-RS+NMC's RS off a ring):
        each device's DMA reads its L-1 pieces for the others and sends them as updates.
        ``after``: None, a job, or one job per tile group."""
        gb = piece_bytes / g
        nmc = self.sys.nmc_cost
        lat = self.lat if link == "nvl" else self.sys.inter_latency_s
        finals = []
        for i in range(g):
            fin = Job(f"{tag}[{L},{i}]", "sync", tag=(tag, L, i))
            for s in range(1, L):
                j = Job(f"{tag}[{s},{i}]", stream, "comm", dram_m=(1 + nmc) * gb,
                        link_bytes=gb / self.sys.link_bulk_efficiency, link_payload=gb,
                        link=link, rd=gb, wr=gb, nmc=gb, tag=(tag, s, i))
                dep = after[i] if isinstance(after, list) else after
                if dep is not None:
                    j.after(dep, self.launch if not isinstance(after, list) else 0.0)
                else:
                    j.ready = self.launch
                fin.after(self.e.add(j), lat)
            finals.append(self.e.add(fin))
        return finals


def _sync(e: Engine, name: str, deps) -> Job:
    j = e.add(Job(name, "sync", tag=("sync",)))
    for d in deps:
        j.after(d)
    return j


def _finish(cfg: str, b: _Builder, gemm_last: Job, rs_done: Job, end: Job, slices=0,
            tracker_peak=0.0) -> Result:
    e = b.e
    t = e.run()
    ag_rd = ag_wr = rs_rd = 0.0
    phases = {p: {"read": 0.0, "write": 0.0, "nmc": 0.0} for p in ("gemm", "rs", "ag")}
    for lst in e.streams.values():
        for j in lst:
            tag = str(j.tag[0]) if j.tag else ""
            if tag.startswith("ag"):
                ag_rd += j.rd
                ag_wr += j.wr
                ph = "ag"
            elif tag.startswith("rs") or tag == "dma":
                rs_rd += j.rd
                ph = "rs"
            else:
                ph = "gemm"
            phases[ph]["read"] += j.rd
            phases[ph]["write"] += j.wr
            phases[ph]["nmc"] += j.nmc
    stats = {"events": e.events, "cu_gemm_busy_cu_s": e.cu.busy_cu_s,
             "cu_comm_cu_s": e.cu.comm_cu_s, "hbm_busy_byte_s": e.mem.busy_byte_s,
             "link_busy_s": e.link.busy_s, "tracker_fires_tiles": e.tracker.fires,
             "rs_read_bytes": rs_rd, "dram_bytes_by_phase": phases}
    return Result(cfg, t, gemm_last.t_end, rs_done.t_end, e.mem.rd, e.mem.wr, e.mem.nmc,
                  e.link.bytes, ag_rd, ag_wr, tracker_peak, slices, e.events, stats,
                  list(e.trace))


def _run_sequential(sysc, sub, record):
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", record)
    out_b = sub.m * sub.n * sysc.bytes_per_element
    g = _groups_per_chunk(sysc, gemm_costs(sysc, sub.m, sub.n, sub.k)["tiles"] / sub.tp)

    def store(j, s, gb):
        j.dram_c += gb
        j.wr = gb
    gj = b.gemm(sub.m, g, store)
    glast = _sync(b.e, "gemm-done", gj.values())
    finals = b.rs_kernel(out_b / sub.tp, g, glast)
    rs_done = _sync(b.e, "rs-done0", finals)
    end = b.ag_kernel(out_b / sub.tp, g, [rs_done])
    return _finish("sequential", b, glast, rs_done, end)


def _run_domino(sysc, sub, slices, record):
    """Domino-style slicing: the tokens are split into ``slices`` micro-slices; the all-reduce
    (ring RS kernel, then ring AG kernel, both on ``comm_cus`` CUs) of slice i runs while slice
    i+1's GEMM computes, sharing CUs and HBM (FR-FCFS). The last slice's all-reduce is exposed."""
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", record)
    b_el = sysc.bytes_per_element
    rows = [sub.m // slices + (1 if i < sub.m % slices else 0) for i in range(slices)]
    prev_last = None
    g_all = []
    rs_all = []
    ends = []

    def store(j, s, gb):
        j.dram_c += gb
        j.wr = gb
    for si, r in enumerate(rows):
        g = _groups_per_chunk(sysc, gemm_costs(sysc, r, sub.n, sub.k)["tiles"] / sub.tp)
        gj = b.gemm(r, g, store, after=prev_last, tag=f"gemm{si}")
        prev_last = _sync(b.e, f"gemm{si}-done", gj.values())
        g_all.append(prev_last)
        chunk = r * sub.n * b_el / sub.tp
        fin = b.rs_kernel(chunk, g, prev_last, tag=f"rs{si}", prio0=2 * si)
        rs_done = _sync(b.e, f"rs{si}-done", fin)
        rs_all.append(rs_done)
        ends.append(b.ag_kernel(chunk, g, [rs_done], tag=f"ag{si}", prio0=2 * si + 1))
    end = _sync(b.e, "all-done", ends)
    rs_last = _sync(b.e, "rs-done0", rs_all)
    return _finish("domino", b, g_all[-1], rs_last, end, slices=slices)


def _run_t3(sysc, sub, policy, cfg, record):
    """T3's fused GEMM + ring RS (the T3 paper, Pati et al., ASPLOS'24) on one device of the ring."""
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, policy, record)
    glast, rs_done, _ = t3_fused_gemm_rs(b, sub.m, sub.n, sub.k)
    c = gemm_costs(sysc, sub.m, sub.n, sub.k)
    end = b.ag_kernel(c["writes"] / sub.tp, _groups_per_chunk(sysc, c["tiles"] / sub.tp),
                      [rs_done])
    res = _finish(cfg, b, glast, rs_done, end)
    res.tracker_peak_tiles = b.e.tracker.peak
    res.stats["tracker_fires_tiles"] = b.e.tracker.fires
    res.stats["tracker_stalls"] = b.e.tracker.stalls
    res.stats["tracker_spills"] = b.e.tracker.spills
    res.tracker_spills = b.e.tracker.spills
    return res


def t3_fused_gemm_rs(b: _Builder, m: int, n: int, k: int, after: Job | None = None,
                     tag: str = "gemm", key: str = "") -> tuple[Job, Job, dict]:
    """T3's fused GEMM + ring RS of an ``[m x k] @ [k x n]`` GEMM on builder ``b``'s engine.

    The GEMM computes chunks in staggered order; step 1's output goes to the neighbour as remote
    updates; at steps 2..N-1 a tile group's DMA is triggered when the local store and the
    neighbour's contribution have both arrived (both tracked); step N stays local.
    Returns ``(gemm done, RS done, GEMM jobs)``; ``key`` makes tracker keys unique when several
    fused GEMMs share one engine.
    """
    if b.sys.topology not in ("ring", "biring"):
        return _t3_direct(b, m, n, k, after, tag, key)
    sysc = b.sys
    N = b.N
    nmc = sysc.nmc_cost
    c = gemm_costs(sysc, m, n, k)
    g = _groups_per_chunk(sysc, c["tiles"] / N)
    tiles_grp = c["tiles"] / (N * g)

    def t3_store(j, s, gb):
        if s == 1:     # remote updates straight into the neighbour's memory (via the link)
            j.link_bytes = gb / sysc.link_store_efficiency
            j.link_payload = gb
            j.dram_m = nmc * gb
        else:          # local updates
            j.dram_c += nmc * gb
        j.wr = gb
        j.nmc = gb
    gj = b.gemm(m, g, t3_store, after=after, tag=tag, n=n, k=k)
    glast = _sync(b.e, f"{tag}-done" if key else "gemm-done", gj.values())
    sender = {(1, i): gj[(1, i)] for i in range(g)}
    gb = c["writes"] / (N * g)
    finals = []
    for s in range(2, N + 1):
        for i in range(g):
            if s < N:
                j = Job(f"{key}dma[{s},{i}]", "link", "comm", dram_m=(1 + nmc) * gb,
                        link_bytes=gb / sysc.link_bulk_efficiency, link_payload=gb,
                        rd=gb, wr=gb, nmc=gb, tag=("dma", s, i))
            else:
                j = Job(f"{key}final[{s},{i}]", "sync", tag=("final", s, i))
            j.after(gj[(s, i)])                       # local contribution stored
            j.after(sender[(s - 1, i)], b.lat)        # neighbour's contribution arrived
            # both contributions to tile group (s, i) are tracked (by ring symmetry the
            # neighbour's tracker is in the same state as ours)
            ek = (key, s, i) if key else (s, i)
            gj[(s, i)].entry = (ek, tiles_grp)
            sender[(s - 1, i)].entry = (ek, tiles_grp)
            b.e.add(j)
            if s < N:
                sender[(s, i)] = j
            else:
                finals.append(j)
    rs_done = _sync(b.e, f"{key}rs-done" if key else "rs-done0", finals)
    return glast, rs_done, gj


def _t3_direct(b: _Builder, m: int, n: int, k: int, after: Job | None, tag: str,
               key: str) -> tuple[Job, Job, dict]:
    """T3 on a switch (``switch``, ``nvls``) or two levels (``two-level``).

    Switch: the output is cut into L = N pieces (one per owner) of g tile groups; the GEMM
    computes group by group (group 0 of every piece, then group 1, ...), within a group the
    pieces in staggered order (device d starts with piece d+1, so no owner receives from
    everyone at once) and its own piece last. The L-1 pieces of the others leave the epilogue
    as remote NMC updates straight to their owners (no DMA, no forwarding). The owner's tracker
    counts L contributions per tile (threshold L instead of the ring's 2); a group's entries are
    held for about one group's worth of the GEMM (from the first remote update of the group to
    the own store), so the table needs about one group per chunk, not a chunk.
    Two levels: the same inside a node over L = N/2 devices, for pieces of 2 chunks (this
    device's and its peer's in the other node); when a tile group has its L contributions, a DMA
    sends the peer's half over the network as updates; the peer's update of this device's half
    is the (L+1)-th contribution (threshold L + 1)."""
    sysc = b.sys
    nmc = sysc.nmc_cost
    two = sysc.topology == "two-level"
    L = b._check_two_level() if two else b.N
    c = gemm_costs(sysc, m, n, k)
    g = _groups_per_chunk(sysc, c["tiles"] / L)
    tiles_grp = c["tiles"] / (L * g)
    need = L + 1 if two else L

    def store(j, s, gb):
        if s < L:      # a piece of another device: remote updates through the switch
            j.link_bytes = gb / sysc.link_store_efficiency
            j.link_payload = gb
            j.dram_m = nmc * gb
        else:          # the own piece: local updates
            j.dram_c += nmc * gb
        j.wr = gb
        j.nmc = gb
    gj = b.gemm(m, g, store, after=after, tag=tag, n=n, k=k, steps=L, group_major=True)
    glast = _sync(b.e, f"{tag}-done" if key else "gemm-done", gj.values())
    gb = c["writes"] / (L * g)
    finals = []
    for i in range(g):
        ek = (key, "own", i)
        for s in range(1, L + 1):
            gj[(s, i)].entry = (ek, tiles_grp, need)
        fin = Job(f"{key}final[{i}]", "sync", tag=("final", L, i))
        fin.after(gj[(L, i)])
        for s in range(1, L):
            fin.after(gj[(s, i)], b.lat)     # by symmetry: the others' updates of our piece
        b.e.add(fin)
        if two:
            half = gb / 2
            d = Job(f"{key}ib[{i}]", "net", "comm", dram_m=(1 + nmc) * half,
                    link_bytes=half / sysc.link_bulk_efficiency, link_payload=half, link="ib",
                    rd=half, wr=half, nmc=half, tag=("dma", "ib", i), entry=(ek, tiles_grp, need))
            d.after(fin)
            b.e.add(d)
            fin = b.e.add(Job(f"{key}final-ib[{i}]", "sync", tag=("final", "ib", i)))
            fin.after(d, sysc.inter_latency_s)
        finals.append(fin)
    rs_done = _sync(b.e, f"{key}rs-done" if key else "rs-done0", finals)
    return glast, rs_done, gj


def _run_rs_nmc_alone(sysc, sub):
    b = _Builder(sysc, sub.tp, sub.m, sub.n, sub.k, "fr-fcfs", False)
    out_b = sub.m * sub.n * sysc.bytes_per_element
    g = _groups_per_chunk(sysc, gemm_costs(sysc, sub.m, sub.n, sub.k)["tiles"] / sub.tp)
    if sysc.topology in ("ring", "biring"):
        finals = b.ring_rs_nmc(out_b / sub.tp, g, None)
    elif sysc.topology == "two-level":
        L = b._check_two_level()
        intra = b.direct_rs_nmc(2 * out_b / sub.tp, g, None, "rs", L)
        finals = b.direct_rs_nmc(out_b / sub.tp, g, intra, "rs-ib", 2, link="ib",
                                 stream="net")
    else:
        finals = b.direct_rs_nmc(out_b / sub.tp, g, None, "rs", sub.tp)
    rs_done = _sync(b.e, "rs-done0", finals)
    t = b.e.run()
    return rs_done.t_end, b.e.mem.rd, b.e.mem.wr, b.e.mem.nmc


def simulate(sysc: SystemConfig, sub, config: str, slices: int | None = None,
             record: bool = False, _seq: Result | None = None) -> Result:
    """Simulate one configuration of one sublayer (see :data:`CONFIGS`)."""
    if config not in CONFIGS:
        raise ValueError(f"config: unknown configuration {config!r} (known: {', '.join(CONFIGS)})")
    if config == "sequential":
        return _run_sequential(sysc, sub, record)
    if config == "domino":
        if slices is None:
            best = None
            for s in DOMINO_SLICES:
                if s > sub.m:
                    break
                r = _run_domino(sysc, sub, s, record)
                if best is None or r.time_s < best.time_s:
                    best = r
            return best
        if not isinstance(slices, int) or slices < 1 or slices > sub.m:
            raise ValueError(f"slices: must be an integer in 1..{sub.m}, got {slices!r}")
        return _run_domino(sysc, sub, slices, record)
    if config == "t3":
        return _run_t3(sysc, sub, "fr-fcfs", "t3", record)
    if config == "t3-mca":
        best, times = None, {}
        for setting, sc in mca_variants(sysc):
            r = _run_t3(sc, sub, "t3-mca", "t3-mca", record)
            r.mca_setting = setting
            times[setting] = r.time_s
            if best is None or r.time_s < best.time_s:
                best = r
        if best.mca_setting:
            best.stats["mca_setting_time_s"] = times
        return best
    seq = _seq or _run_sequential(sysc, sub, False)
    g_t = seq.gemm_end_s
    rs_t = seq.rs_end_s - seq.gemm_end_s
    ag_t = seq.time_s - seq.rs_end_s
    if config == "ideal":
        return Result("ideal", max(g_t, rs_t) + ag_t, g_t, max(g_t, rs_t), seq.dram_read_bytes,
                      seq.dram_write_bytes, seq.nmc_bytes, seq.link_bytes, seq.ag_read_bytes,
                      seq.ag_write_bytes)
    # ideal-rs-nmc: the GEMM alone and an NMC ring RS alone, perfectly overlapped
    rs_t2, rd, wr, nm = _run_rs_nmc_alone(sysc, sub)
    # GEMM bytes of the sequential run, minus the GEMM's own writes which become updates
    if sysc.topology == "ring":
        g_rd = seq.dram_read_bytes - seq.ag_read_bytes - _rs_kernel_bytes(sub, sysc)[0]
        g_wr = seq.dram_write_bytes - seq.ag_write_bytes - _rs_kernel_bytes(sub, sysc)[1]
    else:
        g_rd = seq.stats["dram_bytes_by_phase"]["gemm"]["read"]
        g_wr = seq.stats["dram_bytes_by_phase"]["gemm"]["write"]
    return Result("ideal-rs-nmc", max(g_t, rs_t2) + ag_t, g_t, max(g_t, rs_t2),
                  g_rd + rd + seq.ag_read_bytes, g_wr + wr + seq.ag_write_bytes, nm,
                  seq.link_bytes, seq.ag_read_bytes, seq.ag_write_bytes)


def _rs_kernel_bytes(sub, sysc) -> tuple[float, float]:
    """DRAM bytes (read, written) of the NCCL-style RS kernel: reads 2N-1 chunks, writes N."""
    ch = sub.m * sub.n * sysc.bytes_per_element / sub.tp
    return (2 * sub.tp - 1) * ch, sub.tp * ch


def run_configs(sysc: SystemConfig, sub, configs=CONFIGS, slices: int | None = None,
                record: bool = False) -> dict[str, Result]:
    """All requested configurations of one sublayer; the sequential run is shared."""
    seq = _run_sequential(sysc, sub, record)
    out = {}
    for cfg in configs:
        if cfg == "sequential":
            out[cfg] = seq
        else:
            out[cfg] = simulate(sysc, sub, cfg, slices=slices, record=record, _seq=seq)
    return out
