"""The RTL ring as a system for the fluid engine: the same scenarios ``make scale`` runs on the RTL.

Level: **flow-level, tile-group** (here one group = one tile). The engine is
:class:`sim.model.engine.Engine`, the one behind the paper table and the GPU predictions; this
module only *describes* the RTL platform to it and builds the job graph of the RTL producers'
protocol (``hw/producer.py``: sequential, Domino, T3, T3-MCA) for a scale scenario
(:mod:`sim.scale`). Nothing here is fitted to an RTL result; every number is read from the
hardware classes or from a measurement named where it is used:

=========================  =======================================================================
quantity                   source
=========================  =======================================================================
memory requests per cycle  one arbiter grant per cycle (:class:`hw.arbiter.Arbiter`); on DRAM
                           timing, each job's memory time measured on the DRAM reference for its
                           own pattern (:mod:`sim.model.dram_curve`, without refresh), and the
                           capacity less refresh's share ``tRFC / tREFI``
GEMM read round trip       ``MemPort.ISSUE_LATENCY + mem_latency + AxiSram.READ_EXTRA +
                           MemPort.RESP_LATENCY`` + the producer's request register (1) + its
                           registered exit from the wait (1)
GEMM tile, idle memory     ``1`` (set-up) + ``READS`` issue + round trip + ``COMPUTE`` + ``BEATS``
                           issue (the producer's GEMM state machine); T3 on the ideal memory:
                           two jobs, the write burst (WRITES) on its own
reduction kernel           2 reads + 1 write per beat through the compute port, at most
                           ``Producer.reduce_credits`` beats in flight: the burst is the job, the
                           last sum's round trip a delay after it
software engine            between kernels DB (``1 + AXIL["write_done"]`` with a doorbell, else
                           1), STEP (1), POLL (``1 + AXIL["read_done"]``): the producer's master
                           (``sim.xval.scale_model.AXIL``); DB0 one doorbell per tile
doorbell -> DMA            write executes, the CSR's doorbell buffer, the trigger's two stages
                           and ``TRIGGER_TO_CMD``, the DMA reader, the comm merge register
tracked write -> DMA       ``TRACK_TO_FIRE`` (tracker pipeline + fire buffer), ``TRIGGER_TO_CMD``,
                           the DMA reader, the comm merge register (``sim.xval.model``)
DMA                        one header beat per packet (:class:`hw.dma.DmaEngine`), the comm class
                           issues one request per cycle (the registered comm merge); on DRAM
                           its memory time is the steady state of transfers back to back (the
                           engine takes its next command once the previous one's beats are on
                           the link: :func:`sim.model.dram_curve.transfer`); T3 on the
                           ideal memory: the send and the receive as two jobs, the receive
                           starting the first read's round trip + 2 + the link + 3 registers
                           after the send (ring symmetry: the upstream's matching send)
link                       ``link_bw`` beats per cycle, ``link_latency`` cycles (:class:`hw.ring`)
T3-MCA                     communication admitted while the registered occupancy is below the
                           threshold: ``threshold`` requests in flight for the port's hold times
                           (the CL port model :class:`sim.xval.model.MemPortCL`; on DRAM a
                           transfer measured with the port limited to ``threshold``); closed
                           after each GEMM write burst while its requests still count
                           (:meth:`_Build.shadow_cycles`)
tracker                    ``tracker_entries``
the paper's step 1         (scenario ``direct``, T3 modes) a step-1 tile has no DMA job: its GEMM
                           job puts the header and the ``BEATS`` data beats on the link, one per
                           cycle (the producer's REMOTE state), with no local write; the
                           neighbour's receive of it starts 2 (header, first data beat) + the
                           link + 3 registers after the packet's first beat; on DRAM the
                           receive's memory time measured alone
                           (:func:`sim.model.dram_curve.receive`)
=========================  =======================================================================

Time unit: one clock cycle is 1 ns of engine time (a 1 GHz clock); bytes are beats x beat bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import SystemConfig
from .engine import ArbitratedMemory, Engine, Job

__all__ = ["RtlPlatform", "simulate", "MODES"]

MODES = ("sequential", "domino", "t3", "t3-mca")
CYCLE = 1e-9
#: AXI4-Lite access costs in cycles (write, read), measured on the CSR block with the benches'
#: AXI4-Lite master (the CL model's figures); the producer's own master is taken to cost the same
from sim.xval.model import AXIL_READ, AXIL_WRITE  # noqa: E402


@dataclass(frozen=True)
class RtlPlatform:
    """One device of the RTL ring (every device is alike), in cycles and beats."""
    devices: int
    beat_bytes: int
    memory: str                 # "ideal" or "dram"
    capacity: float             # memory requests served per cycle
    gemm_rtt: int               # GEMM read: last read issued -> its data used
    red_rtt: int                # reduction kernel: read issued -> its sum written
    reduce_credits: int
    dma_credits: int
    link_bw: float              # beats per cycle
    link_latency: int
    header_beats: int
    tracker_entries: int
    mca_threshold: int
    mca_starvation: int
    comm_occupancy: float       # cycles a T3 communication request (DMA read, update) holds a slot
    poll_cycles: int = 4        # software engine: POLL (one AXI4-Lite read) incl. its issue cycle
    doorbell_cycles: int = 5    # software engine: DB with a doorbell write, incl. its issue cycle
    doorbell_to_dma: int = 8    # last reduction write -> the DMA's first read at the arbiter
    fire_to_dma: int = 11       # T3: a tile's last tracked write -> its DMA's first read
    dma_to_rx: int = 22         # a DMA's first read -> the receiver's first write downstream
    remote_to_rx: int = 13      # a remote packet's first beat -> the receiver's first write
    hold_read: int = 7          # cycles a READ counts in the occupancy register
    hold_write: int = 3         # ... a STORE
    hold_update: int = 10       # ... an UPDATE
    occupancy_lag: int = 3      # a grant -> the cycle the arbiter first sees it in the count

    @classmethod
    def from_scenario(cls, s) -> "RtlPlatform":
        from hw.memport import MemPort
        from hw.sram import AxiSram
        from hw.unit import T3Core
        issue = MemPort.ISSUE_LATENCY
        sram_read = s.mem_latency + AxiSram.READ_EXTRA
        read = issue + sram_read + MemPort.RESP_LATENCY
        # the occupancy register counts a request from the cycle after its acceptance to the
        # cycle after its R beat (READ) or B response (UPDATE: its read, the sum through the
        # adder, AW/W): hw/memport.py's timing as the CL port model writes it
        from sim.xval.model import MemPortCL, platform_of
        port = MemPortCL(platform_of(s.params, s.link_latency, tuple(s.link_bw)))
        occ_read, occ_update = port.read_r + 1, port.update_free
        credits = _producer_default("reduce_credits")
        from sim.xval.model import TRACK_TO_FIRE, TRIGGER_TO_CMD
        from sim.xval.scale_model import AXIL as PAXIL
        return cls(devices=s.devices, beat_bytes=s.data_width // 8, memory=s.memory,
                   # the producer's request register, and (GEMM) its registered exit from
                   # waiting on the last read: hw/producer.py's state machine
                   capacity=1.0 if s.memory == "ideal" else 1.0 - _refresh_share(),
                   gemm_rtt=read + 2, red_rtt=read + 1,
                   reduce_credits=credits,
                   dma_credits=T3Core.MEM_OUTSTANDING + T3Core.DMA_CREDIT_MARGIN,
                   link_bw=s.link_bw[0] / s.link_bw[1], link_latency=s.link_latency,
                   header_beats=1, tracker_entries=s.tracker_entries,
                   mca_threshold=s.mca_threshold, mca_starvation=s.mca_starvation,
                   comm_occupancy=(occ_read + occ_update) / 2,
                   hold_read=occ_read, hold_write=port.store_free, hold_update=occ_update,
                   # granted in cycle k: in the port's input register k + 1, accepted then,
                   # counted from k + 2, through the unit's register seen from k + 3
                   occupancy_lag=3,
                   # a state that makes one AXI4-Lite access lasts its issue cycle plus the
                   # master's done latency (hw/producer.py, sim.xval.scale_model.AXIL)
                   poll_cycles=1 + PAXIL["read_done"], doorbell_cycles=1 + PAXIL["write_done"],
                   # DB's first cycle issues the doorbell (the cycle after the kernel's last
                   # write), it executes write_execute cycles later into the CSR's doorbell
                   # buffer, the trigger takes it the next cycle (stage 0), looks it up (stage
                   # 1), its command is out TRIGGER_TO_CMD after stage 0, the DMA reader's
                   # request and the comm merge's output register one cycle each
                   doorbell_to_dma=(PAXIL["write_execute"] - 1) + 1 + 1 + TRIGGER_TO_CMD + 1 + 1,
                   # the last tracked write counted at its arbiter grant, the fire looked up
                   # TRACK_TO_FIRE later (tracker pipeline + fire buffer), its command out
                   # TRIGGER_TO_CMD after, the DMA reader's request and the merge register
                   fire_to_dma=TRACK_TO_FIRE + TRIGGER_TO_CMD + 1 + 1,
                   # the first read's round trip to the DMA buffer, the DMA's two cycles from
                   # data to a sendable beat, the link, then the receiver's write register, the
                   # comm merge and its output register
                   dma_to_rx=read + 2 + s.link_latency + 3,
                   # the paper's step 1: the header loaded into the producer's remote register
                   # (then on the link through the unit's combinational merge), the first data
                   # beat the next cycle, the link, the receiver's write register, the comm
                   # merge and its output register
                   remote_to_rx=2 + s.link_latency + 3)

    def system(self) -> SystemConfig:
        bb = self.beat_bytes
        return SystemConfig(
            name="rtl", n_cu=2, comm_cus=1, clock_ghz=1.0,
            hbm_bandwidth_gbps=self.capacity * bb, hbm_max_utilization=1.0,
            link_bandwidth_gbps=2 * self.link_bw * bb, link_latency_ns=self.link_latency,
            tracker_entries=self.tracker_entries).validate()


def _refresh_share():
    from .dram_curve import refresh_share
    return refresh_share()


def _producer_default(name):
    import inspect

    from hw.producer import Producer
    return inspect.signature(Producer.__init__).parameters[name].default


class _Build:
    def __init__(self, s, plat: RtlPlatform, policy: str):
        self.s, self.p = s, plat
        mca = policy == "t3-mca"
        from sim.scale import protocol
        self.proto = protocol(s)           # addresses and chunk order: the ring protocol
        free = self._comm_free_rate() if mca else None
        mix = self._mix_factors() if plat.memory == "dram" else None
        mem = ArbitratedMemory(plat.capacity * plat.beat_bytes / CYCLE, policy,
                               starvation=plat.mca_starvation if mca else 0,
                               comm_free_rate=free if mca else None, mix_factor=mix)
        self.e = Engine(plat.system(), record=False, memory=mem)
        self.mca = mca
        self.e.cu.fixed_reserved = 1
        self.bb = plat.beat_bytes

    def _comm_free_rate(self):
        """T3-MCA: the communication class's rate while compute is idle, bytes per second. It
        is admitted while the registered occupancy is below ``mca_threshold``, so about that
        many of its requests are in flight: on the ideal memory, ``threshold / comm_occupancy``
        requests per cycle (Little's law over the port's hold times); on DRAM, measured: a DMA
        transfer with the port limited to ``threshold`` requests in flight, against the same
        transfer unlimited (the job's memory time is the unlimited one)."""
        p, s, pr = self.p, self.s, self.proto
        if p.memory == "ideal":
            return p.mca_threshold / p.comm_occupancy * p.beat_bytes / CYCLE
        from . import dram_curve
        src, dst = pr.out_addr(pr.t3_chunk(0, 2), 0), pr.out_addr(pr.t3_chunk(0, 3), 0)
        args = (s.beats, src, dst, True, p.dma_credits, p.link_bw, p.header_beats)
        alone = dram_curve.transfer(*args)
        gated = dram_curve.transfer(*args, outstanding=max(p.mca_threshold, 1))
        return p.capacity * alone / gated * p.beat_bytes / CYCLE

    def _mix_factors(self):
        """Measured on the DRAM reference: GEMM tiles of step 2 (updates) beside the DMA
        transfers of the tiles before them, against the same work one after the other; with
        the paper's step 1 (``direct``) also its GEMM tiles (reads only, the output on the link)
        beside the receives of the upstream's packets into the next chunk."""
        from . import dram_curve
        s, p, pr = self.s, self.p, self.proto
        c1, c2, c3 = pr.t3_chunk(0, 1), pr.t3_chunk(0, 2), pr.t3_chunk(0, 3)
        tiles = range(1, min(s.tiles, 9))

        def factor(c, xfers, remote):
            # chunk c's GEMM tiles beside xfers, against the same work one after the other
            together, g_alone, x_alone = dram_curve.mixed(
                s.reads, s.compute, s.beats, [self.inp(c, t) for t in tiles],
                [pr.out_addr(c, t) for t in tiles], True, xfers,
                p.dma_credits, p.link_bw, p.header_beats, remote=remote)
            busy = g_alone - len(tiles) * (1 + max(s.compute, 1)) + x_alone
            return together / busy

        out = {("gemm", "dma"): factor(
            c2, [(pr.out_addr(c2, t - 1), pr.out_addr(c3, t - 1), True) for t in tiles], False)}
        if s.direct:
            out[("remote", "dma")] = factor(
                c1, [(0, pr.out_addr(c2, t - 1), True) for t in tiles], True)
        return out

    def shadow_cycles(self):
        """T3-MCA: cycles after a GEMM tile's write burst during which the occupancy register
        stays at or above the threshold, ``{update: cycles}``. The arbiter sees a grant from
        ``occupancy_lag`` cycles after it, for its hold time, so a burst's count falls below
        ``threshold`` ``hold + lag + 1 - threshold`` cycles after its last grant; the tile's
        SETUP and input reads follow the burst at once and keep it up for theirs."""
        s, p = self.s, self.p
        thr, lag = p.mca_threshold, p.occupancy_lag
        out = {}
        for upd in (False, True):
            hold = p.hold_update if upd else p.hold_write
            burst = hold + lag + 1 - thr if s.beats >= thr else 0
            reads = (1 + s.reads + p.hold_read + lag - thr) if s.reads >= thr else 0
            out[upd] = max(burst, reads, 0)
        return out

    def inp(self, c, t):
        """The first input read of output tile ``(c, t)`` (any beat when there are none)."""
        return (self.proto.input_addrs(c, t) or [self.proto.input_base])[0]

    def gemm(self, name, c, t, update=False, split=False, remote=False):
        """GEMM tile ``(c, t)``: set-up, reads, wait, compute, stores/updates. ``split`` (ideal
        memory): two jobs, set-up to compute, then the write burst (the WRITES state, one
        store or update per cycle), so that traffic landing in the burst meets it; returns the
        write job. ``remote`` (the paper's step 1): instead of the writes, the tile's packet
        (header and data beats, one per cycle, no memory) on the link (the REMOTE state)."""
        s, p, bb = self.s, self.p, self.bb
        R, B, C = s.reads, s.beats, max(s.compute, 1)
        pkt = (B + p.header_beats) * bb                  # a remote packet's link bytes
        if p.memory == "ideal":
            lat = p.gemm_rtt if R else 0
            if split:
                self.e.add(Job(name + ".rd", "gemm", "compute", cu_s=(1 + lat + C) * CYCLE,
                               stall_s=R * CYCLE, dram_c=R * bb, tag=("gemm", c, t),
                               rd=R * bb))
                if remote:
                    return self.e.add(Job(name, "gemm", "compute",
                                          cu_s=(B + p.header_beats) * CYCLE, tag=("gemm", c, t),
                                          link_bytes=pkt, link_payload=pkt))
                return self.e.add(Job(name, "gemm", "compute", stall_s=B * CYCLE,
                                      dram_c=B * bb, tag=("gemm", c, t),
                                      wr=0 if update else B * bb, nmc=B * bb if update else 0))
            cu, mem = 1 + lat + C, R + B
        else:
            from . import dram_curve
            # this tile among its neighbours in program order (the first is not counted); a
            # remote tile's memory part is its reads only
            first = max(c * s.tiles + t - 1, 0)
            idx = [divmod(first + k, s.tiles) for k in range(5)]
            cyc = dram_curve.gemm_tile(R, s.compute, 0 if remote else B,
                                       [self.inp(*x) for x in idx],
                                       [self.proto.out_addr(*x) for x in idx], update)
            cu, mem = 1 + C, cyc - 1 - C
        if remote:
            return self.e.add(Job(name, "gemm", "compute",
                                  cu_s=(cu + B + p.header_beats) * CYCLE, stall_s=mem * CYCLE,
                                  dram_c=mem * bb, rd=R * bb, tag=("remote", c, t),
                                  link_bytes=pkt, link_payload=pkt))
        j = Job(name, "gemm", "compute", cu_s=cu * CYCLE, stall_s=mem * CYCLE,
                dram_c=mem * bb, rd=R * bb, tag=("gemm", c, t), wr=0 if update else B * bb,
                nmc=B * bb if update else 0)
        return self.e.add(j)

    def dma(self, name, src, dst, update=False):
        """A DMA send of tile ``src`` and (ring symmetry) the receive into ``dst``."""
        s, p, bb = self.s, self.p, self.bb
        B = s.beats
        if p.memory == "ideal":
            mem = 2 * B
        else:
            from . import dram_curve
            mem = dram_curve.transfer(B, src, dst, update, p.dma_credits, p.link_bw,
                                      p.header_beats)
        j = Job(name, "link", "comm", stall_s=mem * CYCLE, dram_m=mem * bb, tag=("dma", src),
                link_bytes=(B + p.header_beats) * bb, link_payload=(B + p.header_beats) * bb,
                rd=B * bb, wr=0 if update else B * bb, nmc=B * bb if update else 0)
        return self.e.add(j)

    def red_tail(self):
        """Cycles from the end of a kernel's burst (:meth:`reduce`) to its last write: the
        last sum's round trip on the ideal memory (on DRAM the measured kernel includes it)."""
        return self.p.red_rtt if self.p.memory == "ideal" else 0

    def send(self, name, src, tile):
        """T3, ideal memory: the DMA send of tile ``src`` (its reads, the packet on the link)."""
        s, p, bb = self.s, self.p, self.bb
        B = s.beats
        return self.e.add(Job(name, "link", "comm", stall_s=B * CYCLE, dram_m=B * bb,
                              tag=("dma", src), link_bytes=(B + p.header_beats) * bb,
                              link_payload=(B + p.header_beats) * bb, rd=B * bb))

    def receive(self, name, dst, update=True):
        """T3, ideal memory: the link receiver's writes (updates) of the upstream's matching
        send into tile ``dst`` (ring symmetry), at most one per cycle and at the link's rate."""
        s, p, bb = self.s, self.p, self.bb
        B = s.beats
        return self.e.add(Job(name, "rx", "comm", stall_s=B / min(1.0, p.link_bw) * CYCLE,
                              dram_m=B * bb, tag=("dma", dst),
                              wr=0 if update else B * bb, nmc=B * bb if update else 0))

    def receive_alone(self, name, dst):
        """T3 with the paper's step 1, DRAM timing: the receive (updates) of the upstream's
        remote packet into tile ``dst`` with no DMA beside it, its memory time measured alone
        (:func:`sim.model.dram_curve.receive`)."""
        from . import dram_curve
        s, p, bb = self.s, self.p, self.bb
        B = s.beats
        mem = dram_curve.receive(B, dst, True, p.link_bw, p.header_beats)
        return self.e.add(Job(name, "rx", "comm", stall_s=mem * CYCLE, dram_m=mem * bb,
                              tag=("dma", dst), nmc=B * bb))

    def reduce(self, name, c, t):
        """The reduction kernel on tile ``(c, t)``, from its first read to its last write: the
        software engine's states around it (STEP, POLL, DB) are the delays :func:`_software`
        puts between kernels, so that the kernel's memory burst is a job of its own and meets
        the DMA traffic that the doorbells start at the time it really does."""
        s, p, bb = self.s, self.p, self.bb
        B = s.beats
        if p.memory == "ideal":
            # the burst only: 2 reads + 1 write per beat, at most reduce_credits beats in
            # flight; the last sum's round trip (red_rtt) is the tail delay of red_tail()
            per_beat = max(3.0, p.red_rtt / p.reduce_credits)
            cu, mem = 0, per_beat * B
        else:
            from . import dram_curve
            cu, mem = 0, dram_curve.reduction(B, self.proto.out_addr(c, t),
                                              self.proto.stage_addr(c, t), p.reduce_credits)
        j = Job(name, "local", "compute", cu_s=cu * CYCLE, stall_s=mem * CYCLE,
                dram_c=mem * bb, tag=("red", c, t), rd=2 * B * bb, wr=B * bb)
        return self.e.add(j)


def _software(b, slices):
    """Sequential (one slice) and Domino: the GEMM by slices, the software reduce-scatter.

    The software engine (``hw/producer.py``) between two reduction kernels: DB (the doorbell
    write of the tile just reduced, or one cycle on the last step), STEP (one cycle), POLL (the
    notification count read); the first kernel of a slice follows DB0 (one doorbell per tile
    of the first chunk), STEP and POLL. A doorbell's DMA reaches the arbiter
    ``doorbell_to_dma`` cycles after the kernel's last write, so the DMA of a tile (its reads,
    and by ring symmetry the receive of the upstream's matching send) overlaps the *next*
    kernel's memory burst rather than the engine's idle states."""
    s, pr, p = b.s, b.proto, b.p
    n = s.devices
    g = 0                        # the representative device (every device is alike)
    lat = s.link_latency * CYCLE
    step, poll, dbc = 1, p.poll_cycles, p.doorbell_cycles
    tail = b.red_tail()
    rs_end = []
    prev_g = None
    prev_sw = None
    c1 = pr.first_chunk(g)
    for sl, tiles in enumerate(pr.slices(slices)):
        first = None
        for c in range(n):
            for t in tiles:
                j = b.gemm(f"gemm[{sl},{c},{t}]", c, t)
                if first is None:
                    first = j
                prev_g = j
        if sl >= 2:
            first.after(rs_end[sl - 2])
        # DB0: the doorbells of the first chunk (step 1), one per tile, RUN seeing the slice's
        # GEMM done one cycle after its last write; then steps 1..n-1 per tile
        sends = {}
        for i, t in enumerate(tiles):
            issue = 1 + i * dbc
            d = b.dma(f"dma[{sl},1,{t}]", pr.out_addr(c1, t), pr.stage_addr(c1, t))
            d.after(prev_g, (issue + p.doorbell_to_dma) * CYCLE)
            if prev_sw is not None:
                d.after(prev_sw, (tail + dbc + issue + p.doorbell_to_dma) * CYCLE)
            sends[(1, t)] = d
        sw = prev_sw
        db0 = (1 + len(tiles) * dbc + step + poll) * CYCLE
        last_db = dbc                          # DB of the previous slice's last kernel (none)
        for k in range(1, n):
            for t in tiles:
                c = pr.staging_chunk(g, k)
                r = b.reduce(f"red[{sl},{k},{t}]", c, t)
                # the upstream's matching send arrives; a POLL after it sees the count
                r.after(sends[(k, t)], lat + poll * CYCLE)
                r.after(prev_g, db0)
                if sw is not None:
                    r.after(sw, (tail + last_db + step + poll) * CYCLE)
                sw = r
                last_db = dbc if k < n - 1 else 1
                if k < n - 1:
                    d = b.dma(f"dma[{sl},{k + 1},{t}]", pr.out_addr(c, t), pr.stage_addr(c, t))
                    d.after(r, (tail + p.doorbell_to_dma) * CYCLE)
                    sends[(k + 1, t)] = d
        prev_sw = sw
        rs_end.append(sw)


def _t3(b):
    """T3 and T3-MCA; with the scenario's ``direct`` (the paper's step 1) the step-1 tiles are
    remote packets of the GEMM (no DMA job, no local write): the upstream's land as before."""
    if b.p.memory != "ideal":
        return _t3_lumped(b)
    s, pr, p = b.s, b.proto, b.p
    n, T = s.devices, s.tiles
    g = 0                        # the representative device (every device is alike)
    fire = p.fire_to_dma * CYCLE
    gem, rx = {}, {}
    shadow = b.shadow_cycles() if b.mca else {}
    direct = s.direct
    for k in range(1, n + 1):
        for t in range(T):
            gem[(k, t)] = w = b.gemm(f"gemm[{k},{t}]", pr.t3_chunk(g, k), t, update=k > 1,
                                     split=True, remote=direct and k == 1)
            if shadow and not (direct and k == 1):
                b.e.add(Job(f"shadow[{k},{t}]", "gate", cu_s=shadow[k > 1] * CYCLE,
                            tag=("shadow", k, t))).after(w)
    for k in range(1, n + 1):
        for t in range(T):
            # the tile fires when its local writes and (k > 1) the upstream's updates are in
            if direct and k == 1:
                # no fire, no DMA: by symmetry the upstream's packet lands in the next chunk
                r = b.receive(f"rx[{k},{t}]", pr.out_addr(pr.t3_chunk(g, k + 1), t))
                r.after_start(gem[(k, t)], p.remote_to_rx * CYCLE)
                rx[(k, t)] = r
                continue
            if k < n:
                d = b.send(f"dma[{k},{t}]", pr.out_addr(pr.t3_chunk(g, k), t), t)
                # by symmetry the upstream's send lands in the chunk we compute next
                r = b.receive(f"rx[{k},{t}]", pr.out_addr(pr.t3_chunk(g, k + 1), t))
                r.after_start(d, p.dma_to_rx * CYCLE)
                rx[(k, t)] = r
            else:
                d = b.e.add(Job(f"done[{t}]", "sync"))
            d.after(gem[(k, t)], fire)
            if k > 1:
                d.after(rx[(k - 1, t)], fire)


def _t3_lumped(b):
    s, pr = b.s, b.proto
    n, T = s.devices, s.tiles
    lat = s.link_latency * CYCLE
    g = 0                        # the representative device (every device is alike)
    gem = {}
    direct = s.direct            # the paper's step 1 (see _t3)
    p = b.p
    for k in range(1, n + 1):
        for t in range(T):
            gem[(k, t)] = b.gemm(f"gemm[{k},{t}]", pr.t3_chunk(g, k), t, update=k > 1,
                                 remote=direct and k == 1)
    sends = {}
    for k in range(1, n + 1):
        for t in range(T):
            if direct and k == 1:
                # the GEMM job put the packet on the link; by symmetry the upstream's lands in
                # the chunk we compute next, its last beat about remote_to_rx after the
                # packet's last one less the packet's length
                r = b.receive_alone(f"rx[{k},{t}]", pr.out_addr(pr.t3_chunk(g, k + 1), t))
                r.after(gem[(k, t)], max(0, p.remote_to_rx - s.beats - p.header_beats) * CYCLE)
                sends[(k, t)] = r
                continue
            if k < n:
                # ours goes out; by symmetry the upstream's lands in the chunk we compute next
                d = b.dma(f"dma[{k},{t}]", pr.out_addr(pr.t3_chunk(g, k), t),
                          pr.out_addr(pr.t3_chunk(g, k + 1), t), update=True)
            else:
                d = b.e.add(Job(f"done[{t}]", "sync"))
            d.after(gem[(k, t)])
            if k > 1:
                # the upstream's send lands a link latency after it (a receive job: landed)
                d.after(sends[(k - 1, t)], 0 if direct and k == 2 else lat)
            sends[(k, t)] = d


def simulate(s, mode: str, plat: RtlPlatform | None = None) -> dict:
    """Cycles and beat counts of ``mode`` on scale scenario ``s`` (:class:`sim.scale.ScaleScenario`),
    per the fluid engine; counts are totals over the ring (every device alike)."""
    if mode not in MODES:
        raise ValueError(f"mode: must be one of {', '.join(MODES)}, got {mode!r}")
    plat = plat or RtlPlatform.from_scenario(s)
    b = _Build(s, plat, "t3-mca" if mode == "t3-mca" else "round-robin")
    if mode in ("sequential", "domino"):
        _software(b, 1 if mode == "sequential" else s.slices)
    else:
        _t3(b)
    end = b.e.run()
    e, bb, n = b.e, plat.beat_bytes, s.devices
    return {"cycles": end / CYCLE,
            "mem_beats": round(n * (e.mem.rd + e.mem.wr + e.mem.nmc) / bb),
            "link_beats": round(n * e.link.bytes / bb),
            "events": e.events}
