"""Cycle-level (CL) model of the scale ring: :class:`hw.ring.T3Ring` with one RTL producer
(:class:`hw.producer.Producer`) per device, the build ``make scale`` runs (``tb/scale/top.py``).

It reuses the pieces of the toy ring model (:mod:`sim.xval.model`: the arbiter reference, the
ideal memory port :class:`~sim.xval.model.MemPortCL`, the tracker reference, the trigger, the DMA
engine, the links, the comm merge) and adds what the scale runs have and the cocotb toy bench
has not:

* :class:`ProducerCL`, the producer's state machines cycle by cycle as ``hw/producer.py`` writes
  them: the GEMM engine (SETUP, READS, RWAIT, COMPUTE, WRITES, Domino's slice wait), the
  software engine (DIV, CLEAR, CLEAR_WAIT, BASE, RUN, DB0, STEP, POLL/POLL_ERR, REDUCE, DB,
  TAIL/TAIL_ERR, the refused-doorbell retry SF_ERR/SF_CLR/SF_WAIT, HOLD, CHECK, FINISH), the
  reduction kernel (read pairs under ``reduce_credits``, sums through a buffered FIFO, its writes
  first in the request mux), the checksum/clear engine, the request mux (reduction writes first,
  round-robin GEMM / reduction reads, clear/checksum last; reads only while the tag queue of
  ``read_credits`` has room) and its output register;
* the AXI4-Lite path from the producer's master to the unit's CSR block (one access at a time;
  a write executes two cycles after it is issued and completes four cycles after, a read samples
  one cycle after and completes three cycles after: :data:`AXIL`), with the doorbell stream's
  one-entry buffer: a doorbell that executes while the previous one is still in it is refused
  (SLVERR, ``ERR.stream_full``), which sends the producer through its retry states;
* the trigger's two-stage lookup (``hw/trigger.py``): a lookup waits in stage 1 while the ready
  queue is full, and stage 0 takes the next fire or doorbell only when stage 1 is empty or
  completes (the toy model approximates both stages by the queue's depth);
* :class:`AxiMemPortCL`, the memory port at the AXI4 level (``hw/memport.py``: input register,
  slots, the hazard and free-slot registers computed a cycle ahead, AR/AW/W queues, the R
  register, the NMC pipeline, the B queue, read credits per class, the occupancy register),
  with the DRAM timing reference :class:`sim.ref.dram.DramRef` behind it (``hw/dram.py``, sized by
  :func:`hw.ring.dram_behind`) for the ``memory = "dram"`` scenarios.

Every device is programmed from :func:`sim.scale.plan` (the list the C++ harness replays): the
DMA command table and the arms from its unit writes, the producer's registers (mode, sizes, base
addresses, tile ids) from its producer writes, decoded with the register maps
(:func:`hw.regmap.build`, :func:`hw.producer.build_map`). Depths, latencies and credits are read
from the hardware objects (:func:`scale_platform`).

Conventions (named where they are used): cycle 0 is the cycle the producers see ``start``; the
DRAM's cycle counter (its refresh schedule) is then at :func:`setup_cycles`, the cycles the
harness spends out of reset before the start (settling, then one AXI4-Lite write at a time:
:data:`HOST_WRITE_CYCLES`), whose writes are not otherwise modelled. What it abstracts, beyond
the toy model's list: tracker/fire-buffer back-pressure, the producer's error paths
(``POLL_LIMIT``, SLVERR other than a full doorbell buffer, the CSR timeout), address wrap-around.

``model_scale(scenario, mode)`` returns cycles and the counters the RTL harness reports.
"""

import gc
import inspect
import warnings
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

from amaranth.hdl import UnusedElaboratable

from hw.memport import ID_COMM, ID_COMPUTE, ID_UPDATE_COMPUTE
from hw.params import ArbPolicy, MemOp, ReqClass
from hw.producer import CLEAR_WAIT_CYCLES
from sim.ref.arbiter import ArbiterRef

from .model import MemPortCL, MemReq, Platform, RingModel, TRIGGER_TO_CMD, _Dev, _Link, \
    platform_of

__all__ = ["model_scale", "scale_platform", "ScalePlatform", "ProducerCL", "AxiMemPortCL",
           "AXIL", "HOST_WRITE_CYCLES", "DRAM_PHASE", "setup_cycles", "fast_dram_ref"]

READ, STORE, UPDATE = MemOp.READ, MemOp.STORE, MemOp.UPDATE

#: The producer's AXI4-Lite master on the unit's CSR block (``hw/producer.py`` master, the
#: buffered :class:`hw.lib.axil.AXI4LiteSlave` of :class:`hw.t3csr.Csr`), in cycles after the
#: state that issues the access: a write's AW/W are valid the next cycle and taken at once
#: (empty one-entry buffers), it executes the cycle after (``write_execute``: a doorbell's stream
#: buffer is checked and filled then), ``bvalid`` the next cycle, the master's ``ax_done`` the
#: cycle after (``write_done``); a read's AR is taken the next cycle (``read_sample``: the
#: register is sampled then), ``rvalid`` the next, ``ax_done`` the one after (``read_done``). The
#: producer's ``s_wait_ax`` holds the next access one more cycle after ``ax_done``.
AXIL = {"write_execute": 2, "write_done": 4, "read_sample": 1, "read_done": 3}
#: ``hw/producer.py`` CLEAR_WAIT: cycles it lets the last zero writes of ``CTRL.clear`` drain
#: (a countdown from ``CLEAR_WAIT_CYCLES`` to 0 inclusive) before the start of the measured work.
CLEAR_WAIT = CLEAR_WAIT_CYCLES
#: Cycles one set-up write of the scale harness takes (``tb/scale/harness.cpp`` ``axil_write``:
#: AW and W handshaken into the host slices, then ``bready`` until ``bvalid``), through the
#: 2-entry FIFO host slices of ``tb/scale/top.py`` (one cycle per channel each way): to the
#: unit's CSR (the buffered :class:`hw.lib.axil.AXI4LiteSlave`: AW/W taken the cycle they leave
#: the slices, executed the next, ``bvalid`` the one after, back through the B slice) 5, to the
#: producer's registers (the unbuffered slave: executed the cycle they leave the slices) 4.
HOST_WRITE_CYCLES = {"u": 5, "p": 4}
#: The DRAM reference's cycle counter (refresh due every ``tREFI``) at the producers' start, on
#: top of the set-up (:func:`setup_cycles`); 0: the harness's own.
DRAM_PHASE = 0


def setup_cycles(s, mode):
    """The DRAM's cycle count when the producers see ``start`` in the scale harness: its cycle 0
    is the first out of reset (the top registers ``reset`` once), then the harness settles
    (:func:`sim.scale.settle_cycles`) and replays :func:`sim.scale.plan` one write at a time
    (:data:`HOST_WRITE_CYCLES`); the start pulse is registered once more by the top, which
    cancels the reset register's cycle. The refresh schedule depends on it (a refresh every
    ``tREFI`` blocks the DRAM for ``tRFC``), and through it which requests meet a refresh."""
    from sim.scale import plan, settle_cycles
    return settle_cycles(s) + sum(HOST_WRITE_CYCLES[target] for writes in plan(s, mode)
                                  for target, _, _ in writes)

TAG_G, TAG_R, TAG_C = 0, 1, 2


def _producer_default(name):
    from hw.producer import Producer
    return inspect.signature(Producer.__init__).parameters[name].default


@dataclass(frozen=True)
class ScalePlatform:
    """The ring part (:class:`sim.xval.model.Platform`) plus the producer and the memory."""
    ring: Platform
    memory: str                   # "ideal" or "dram"
    dram: object                  # DramParams of each device's DramModel (memory = "dram")
    read_credits: int             # Producer read_credits (its tag queue)
    reduce_credits: int           # Producer reduce_credits (reduction beats in flight)
    tile_width: int               # T3Params.tile_width (producer tile ids wrap there)


@lru_cache(maxsize=None)
def _scale_platform(params, link_latency, link_bw, memory, read_credits, reduce_credits):
    ring = platform_of(params, link_latency, link_bw)
    dram = None
    if memory == "dram":
        from hw.ring import dram_behind
        from hw.unit import T3Core
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnusedElaboratable)
            outstanding = ring.outstanding
            unit = T3Core(params, mem_outstanding=outstanding)
            dram = dram_behind(unit.mem_port, uninitialized=True).params
            del unit
            gc.collect()
    return ScalePlatform(ring=ring, memory=memory, dram=dram, read_credits=read_credits,
                         reduce_credits=reduce_credits, tile_width=params.tile_width)


def scale_platform(s, *, read_credits=None, reduce_credits=None, dram=None, outstanding=None):
    """The :class:`ScalePlatform` of scale scenario ``s`` (what ``tb/scale/top.py`` builds: the
    producers with their defaults, ``T3Ring(s.params, memory=s.memory)``). The keyword
    arguments replace one number (a perturbed platform, for tests and what-ifs)."""
    rc = _producer_default("read_credits") if read_credits is None else read_credits
    dc = _producer_default("reduce_credits") if reduce_credits is None else reduce_credits
    p = _scale_platform(s.params, s.link_latency, tuple(s.link_bw), s.memory, rc, dc)
    if dram is not None or outstanding is not None:
        from dataclasses import replace
        ring = p.ring if outstanding is None else replace(p.ring, outstanding=outstanding,
                                                          resp_depth=outstanding)
        p = replace(p, ring=ring, dram=p.dram if dram is None else dram)
    return p


# -- the DRAM timing reference, its per-cycle scans done once ------------------------------------
def fast_dram_ref(params):
    """A :class:`sim.ref.dram.DramRef` whose scheduling scans (an entry's bank and row, whether
    it is *ordered*: no older entry of its kind with its ID) are computed once per entry or once
    per cycle instead of once per look-up; the decisions are the same (checked against the plain
    reference on random traffic by ``tests/test_scale_model.py``)."""
    from sim.ref.dram import DramRef
    from hw.dram_params import Scheduler

    class FastDramRef(DramRef):
        def reset(self):
            super().reset()
            self._fcfs = self.p.scheduler is Scheduler.FCFS
            self._key = None

        def _scan(self):
            """Per entry of the queue in this cycle: ``(entry, ordered, bank)``."""
            q = self.queue
            if self._key == self.c:
                return self._entries
            p, seen, out = self.p, set(), []
            for e in q:
                bk = getattr(e, "bk", None)
                if bk is None:
                    bk = e.bk = p.bank_of(e.beat)
                    e.rw = p.row_of(e.beat)
                k = (e.kind, e.id)
                out.append((e, k not in seen, bk))
                seen.add(k)
            self._key, self._entries = self.c, out
            return out

        def strict(self):
            if self._fcfs:
                return True
            return bool(self.queue) and self.c - self.queue[0].arrive >= self.p.age_cap

        def _col_choice(self):
            p, c = self.p, self.c
            if self.refdue or not self.queue:
                return None
            strict = self.strict()
            banks = self.banks
            for i, (e, ordered, bk) in enumerate(self._scan()):
                if i > 0 and strict:
                    break
                if not ordered:
                    continue
                if e.kind == "W":
                    if not (e.wdone and self.b_out < p.queue_depth and c >= self.wr_ok):
                        continue
                elif not (self.r_out + e.n <= p.read_buffer and c >= self.rd_ok):
                    continue
                if e.err:
                    return i
                b = banks[bk]
                if b.open and b.row == e.rw and c >= b.col_ok:
                    return i
            return None

        def _row_choice(self):
            p, c = self.p, self.c
            if self.refdue or not self.queue:
                return None
            strict = self.strict()
            banks = self.banks
            ents = self._scan()
            hitpend = set()
            for e, ordered, bk in ents:
                if ordered and not e.err:
                    b = banks[bk]
                    if b.open and b.row == e.rw:
                        hitpend.add(bk)
            faw_ok = len(self.acts) < 4 or c >= self.acts[0] + p.tFAW
            for i, (e, _, bk) in enumerate(ents):
                if i > 0 and strict:
                    break
                if e.err:
                    continue
                b = banks[bk]
                if not b.open:
                    if c >= b.act_ok and c >= self.rrd_ok and faw_ok:
                        return ("ACT", i)
                elif b.row != e.rw:
                    if c >= b.pre_ok and (strict or bk not in hitpend):
                        return ("PRE", i)
            return None

    return FastDramRef(params)


# -- the memory port at the AXI4 level, with the DRAM timing reference behind it ----------------
class AxiMemPortCL:
    """Cycle-level model of ``hw.memport.MemPort`` (AXI4 channels included) with
    :class:`sim.ref.dram.DramRef` behind it (``hw.dram.DramModel``).

    Per cycle: :meth:`ready` (``req.ready``, and the acceptance of the input register's request
    from the registers: a free slot, no hazard, a READ's class credit, a STORE not meeting an
    UPDATE's sum), then, once the arbiter's handshake is known, :meth:`end_cycle` (the DRAM's
    cycle with the queue heads on AR/AW/W, the R and B handshakes, slot completions, the next
    cycle's hazard and free-slot registers, the occupancy register). Read data of class ``cls``
    R-handshaken in cycle *r* is on the response stream in *r + RESP_LATENCY*;
    ``on_resp[cls](cycle)`` is called with that cycle.
    """

    def __init__(self, plat, dram_params, on_resp, dram=None, start_cycle=0):
        r = plat.ring
        self.n, self.resp_depth, self.alu_stages = r.outstanding, r.resp_depth, r.alu_stages
        self.resp_latency = r.resp_latency
        self.dram = dram if dram is not None else fast_dram_ref(dram_params)
        self.dram.c = start_cycle
        self.refi = dram_params.tREFI
        self.shift = (dram_params.data_width // 8 - 1).bit_length()
        self.on_resp = on_resp
        self.in_r = None
        self.in_hazard = False
        self.free_any, self.alloc_idx = True, 0
        self.slot_valid = [False] * self.n
        self.slot_addr = [0] * self.n
        self.slot_write = [False] * self.n
        self.ar_q = deque()          # (visible_from, id, addr)
        self.aw_q = deque()          # (visible_from, addr, id)
        self.w_q = deque()           # visible_from
        self.b_qs = (deque(), deque())   # slots per AWID (the class), in AW order
        self.rc_q, self.rm_q = deque(), deque()
        # (slot, addr, class) of UPDATEs whose read is in flight, per class (ARID 2 + class)
        self.ru_qs = (deque(), deque())
        self.rq = None               # id of the R beat in the R register this cycle
        self.pipe = [None] * self.alu_stages   # (slot, addr, class) in the adder stages
        self.out_reads = {ReqClass.COMPUTE: 0, ReqClass.COMM: 0}
        self.pops = {ReqClass.COMPUTE: deque(), ReqClass.COMM: deque()}
        self.occ = 0                 # occupancy register (this cycle)
        self.occ_prev = 0            # its value in the previous cycle (the unit's register)
        self._accept = False
        self._upd = None
        self.inp = {"arvalid": 0, "araddr": 0, "arlen": 0, "arsize": self.shift, "arburst": 1,
                    "arid": 0, "awvalid": 0, "awaddr": 0, "awlen": 0, "awsize": self.shift,
                    "awburst": 1, "awid": 0, "wvalid": 0, "wdata": 0,
                    "wstrb": (1 << (dram_params.data_width // 8)) - 1, "wlast": 1,
                    "rready": 1, "bready": 1}

    def _upd_push(self):
        """``(slot, addr)`` of the UPDATE sum entering the write queues this cycle, or None."""
        if self.alu_stages:
            return self.pipe[-1]
        rq = self.rq
        if rq is not None and rq >= ID_UPDATE_COMPUTE:     # an UPDATE's R beat in the R register
            return self.ru_qs[rq & 1][0]
        return None

    def ready(self, t):
        for cls, pops in self.pops.items():
            while pops and pops[0] < t:        # a response popped before this cycle
                pops.popleft()
                self.out_reads[cls] -= 1
        self._upd = self._upd_push()
        r = self.in_r
        acc = False
        if r is not None and self.free_any and not self.in_hazard:
            op = r["op"]
            if op is READ:
                acc = self.out_reads[r["cls"]] != self.resp_depth
            elif op is STORE:
                acc = self._upd is None
            else:
                acc = True
        self._accept = acc
        return r is None or acc

    def load(self, req):
        self._load = req

    def occupancy(self, t):
        """The occupancy register in cycle ``t`` (``t`` = the current cycle or the one before)."""
        return self.occ_prev

    def prune(self, t):
        pass

    def idle(self):
        return (self.in_r is None and not any(self.slot_valid) and not self.ar_q
                and not self.aw_q and self.rq is None)

    def end_cycle(self, t, load):
        inp, dram = self.inp, self.dram
        n = self.n
        acc, r, upd = self._accept, self.in_r, self._upd
        idx = self.alloc_idx
        # AXI request channels: the queue heads written before this cycle
        arv = bool(self.ar_q) and self.ar_q[0][0] <= t
        awv = bool(self.aw_q) and self.aw_q[0][0] <= t
        wv = bool(self.w_q) and self.w_q[0] <= t
        if arv:
            _, aid, aaddr = self.ar_q[0]
            inp["arvalid"], inp["arid"], inp["araddr"] = 1, aid, aaddr << self.shift
        else:
            inp["arvalid"] = 0
        if awv:
            _, waddr, wid = self.aw_q[0]
            inp["awvalid"], inp["awaddr"], inp["awid"] = 1, waddr << self.shift, wid
        else:
            inp["awvalid"] = 0
        inp["wvalid"] = int(wv)
        if (not (arv or awv or wv) and not dram.queue and not dram.rpend and not dram.rfifo
                and not dram.bfifo and not dram.awq and not dram.refdue
                and (dram.c == 0 or dram.c % self.refi)):
            dram.c += 1                        # an idle DRAM cycle: nothing can change
            out = None
        else:
            out = dram.step(inp)
        if out is not None:
            if arv and out["arready"]:
                self.ar_q.popleft()
            if awv and out["awready"]:
                self.aw_q.popleft()
            if wv and out["wready"]:
                self.w_q.popleft()
        # completions in this cycle: the R register's beat (READ slots), the B response
        free_r = free_b = None
        rq = self.rq
        if rq is not None:
            if rq == ID_COMPUTE or rq == ID_COMM:
                cls = ReqClass.COMPUTE if rq == ID_COMPUTE else ReqClass.COMM
                free_r = (self.rc_q if rq == ID_COMPUTE else self.rm_q).popleft()
                d = t + self.resp_latency - 1          # response stream from the next cycle
                self.pops[cls].append(d)
                self.on_resp[cls](d)
        entry = None
        if rq is not None and rq >= ID_UPDATE_COMPUTE:  # into the adder
            entry = self.ru_qs[rq & 1].popleft()
        if self.alu_stages:
            self.pipe = [entry] + self.pipe[:-1]
        if out is not None and out["bvalid"]:
            free_b = self.b_qs[out["bid"] & 1].popleft()
        self.rq = out["rid"] if out is not None and out["rvalid"] else None
        # queue pushes of this cycle (visible from the next)
        if acc:
            op = r["op"]
            if op is READ:
                rid = ID_COMM if r["cls"] is ReqClass.COMM else ID_COMPUTE
                self.ar_q.append((t + 1, rid, r["addr"]))
                (self.rm_q if rid == ID_COMM else self.rc_q).append(idx)
                self.out_reads[r["cls"]] += 1
            elif op is STORE:
                wid = r["cls"].value                   # ID_WRITE_COMPUTE / ID_WRITE_COMM
                self.aw_q.append((t + 1, r["addr"], wid))
                self.w_q.append(t + 1)
                self.b_qs[wid].append(idx)
            else:
                c = r["cls"].value
                self.ar_q.append((t + 1, ID_UPDATE_COMPUTE + c, r["addr"]))
                self.ru_qs[c].append((idx, r["addr"], c))
        if upd is not None:
            self.aw_q.append((t + 1, upd[1], upd[2]))
            self.w_q.append(t + 1)
            self.b_qs[upd[2]].append(upd[0])
        # next cycle's registers: hazard of the request in the input register then, free slot
        sv, sa, sw = self.slot_valid, self.slot_addr, self.slot_write
        nxt = load if load is not None else (r if not acc else None)
        hz = False
        if nxt is not None:
            a, rd = nxt["addr"], nxt["op"] is READ
            if a in sa:
                for i in range(n):
                    if sv[i] and i != free_r and i != free_b and sa[i] == a and (sw[i] or not rd):
                        hz = True
                        break
            if not hz and acc and r["addr"] == a and (r["op"] is not READ or not rd):
                hz = True
        self.in_hazard = hz
        nf = None                               # the lowest slot free now and not taken now
        if False in sv:
            nf = sv.index(False)
            if acc and nf == idx:
                nf = sv.index(False, idx + 1) if False in sv[idx + 1:] else None
        if acc:
            sv[idx], sa[idx], sw[idx] = True, r["addr"], r["op"] is not READ
        if free_r is not None and not (acc and free_r == idx):
            sv[free_r] = False
        if free_b is not None and not (acc and free_b == idx):
            sv[free_b] = False
        self.free_any, self.alloc_idx = nf is not None, (nf if nf is not None else 0)
        self.occ_prev = self.occ
        self.occ += acc - (free_r is not None) - (free_b is not None)
        if load is not None:
            self.in_r = load
        elif acc:
            self.in_r = None


class _IdealPort(MemPortCL):
    """:class:`sim.xval.model.MemPortCL` (the ideal memory, response times known at acceptance)
    behind the interface of :class:`AxiMemPortCL`."""

    def __init__(self, plat, on_resp):
        super().__init__(plat.ring)
        self.on_resp = on_resp
        self._load = None

    def ready(self, t):
        ok, acc, rbeat = super().ready(t)
        if acc is not None and acc["op"] is READ:
            self.on_resp[acc["cls"]](rbeat + self.p.resp_latency)
        return ok

    def load(self, req):
        super().load(req)

    def end_cycle(self, t, load):
        pass


# -- the producer -----------------------------------------------------------------------------
class ProducerCL:
    """Cycle-level model of one :class:`hw.producer.Producer` (states and registers named as in
    ``hw/producer.py``). :meth:`step` is called once per cycle after the unit's arbiter, with
    the device (its compute-port register ``dev.port``, its doorbell buffer, its notification
    times)."""

    def __init__(self, model, g, regs, plat):
        self.m, self.g = model, g
        self.r = regs                     # producer register values from the plan
        self.plat = plat
        self.read_credits, self.reduce_credits = plat.read_credits, plat.reduce_credits
        self.tile_mask = (1 << plat.tile_width) - 1
        self.n, self.T, self.B = regs["DEVICES"], regs["TILES"], regs["BEATS"]
        self.R, self.C = regs["READS"], regs["COMPUTE"]
        self.mode = regs["MODE"]          # 0 sequential, 1 Domino, 2 T3
        self.t3 = self.mode == 2
        self.direct = self.t3 and bool(regs.get("DIRECT", 0))     # MODE.direct
        self.cnt = {k: 0 for k in ("CYC_TOTAL", "CYC_GEMM", "CYC_CHECK", "GEMM_RD", "GEMM_WR",
                                   "RED_RD", "RED_WR", "CHK_RD", "CLR_WR", "CSR_WR", "CSR_RD",
                                   "GEMM_RMT")}
        # the remote stream's output register (MODE.direct): (valid_from, beat, writes), the
        # head the beat on the port; the link's header beat carries the packet's writes at
        # the receiver (sim.ref.dma.receive), as a DMA packet's does
        self.rem = deque()
        self.rem_pkt = None
        self.tags = deque()
        self.resps = deque()              # cycles compute responses are on the response stream
        self.rr_last_g = False
        # GEMM engine
        self.g_state = "IDLE"
        self.g_slice = self.g_step = self.g_c = self.g_t = self.g_tlo = self.g_b = 0
        self.g_rwait = self.g_cnt = self.g_idx = 0
        self.g_op = STORE
        self.g_slices_done = self.rs_slices_done = 0
        # reduction kernel
        self.red_busy = False
        self.red_idx = self.red_b = self.red_wb = 0
        self.red_phase = self.red_rphase = False
        self.red_rd_left = self.red_wr_left = 0
        self.red_cred = self.reduce_credits
        self.red_fifo = deque()           # write cycles of the sums
        self.red_pop = -1                 # last cycle the FIFO's head was taken
        # checksum / clear engine
        self.c_busy = self.c_clear = False
        self.c_addr = self.c_left = self.c_resp_left = 0
        # software engine
        self.s = "IDLE"
        self.s_ret = None
        self.s_slice = self.s_k = self.s_c = self.s_t = self.s_tlo = 0
        self.s_base = self.s_arrived = self.s_polls = 0
        self.tps = self.div_acc = 0
        self.nslices = 1
        self.started = False
        self.ax = None                    # access in flight: [write, name, value, done, effect]
        self.ax_ready = 0                 # first cycle a new access may be issued
        self.ax_done = None               # (err, rdata) in the cycle of ax_done
        self.go_at = self.work_at = self.gemm_end = self.done_at = None
        self.work_done = False

    # -- addresses (hw/producer.py's definitions, from the programmed registers) -------------
    def out_addr(self, idx, b):
        return self.r["OUT_BASE"] + idx * self.B + b

    def stage_addr(self, idx, b):
        return self.r["STAGE_BASE"] + idx * self.B + b

    def input_addr(self, idx, i):
        return self.r["INPUT_BASE"] + ((idx * self.R + i) & self.r["INPUT_MASK"])

    def out_tile(self, idx):
        return (self.r["OUT_TILE"] + idx) & self.tile_mask

    def remote_packet(self, idx):
        """The step-1 packet of tile ``idx`` (MODE.direct): the beats the DMA command of that
        tile would send (:meth:`sim.xval.protocol.RingProtocol.remote_header`; data not
        modelled) and the writes they make at the receiver."""
        from hw.params import Kind
        from sim.ref.dma import command_packet, receive
        params = self.plat.ring.params
        dst = (self.g + 1) % self.n
        cmd = dict(src_addr=0, length=self.B, dst_dev=dst, dst_addr=self.out_addr(idx, 0),
                   tile=self.out_tile(idx), op=Kind.UPDATE)
        beats = command_packet(params, cmd, self.g, lambda a: 0)
        return beats, receive(params, beats, dst)[0]

    def remote_valid(self, t):
        """``remote.valid`` in cycle ``t``."""
        return bool(self.rem) and self.rem[0][0] <= t

    # -- AXI4-Lite master ---------------------------------------------------------------------
    def axi(self, t, write, name, value=0):
        self.cnt["CSR_WR" if write else "CSR_RD"] += 1
        if write:
            self.ax = [True, name, value, t + AXIL["write_done"], t + AXIL["write_execute"], None]
        else:
            self.ax = [False, name, value, t + AXIL["read_done"], t + AXIL["read_sample"], None]

    def _ax_cycle(self, t):
        """The CSR side of the access in flight in cycle ``t``; sets ``self.ax_done``."""
        self.ax_done = None
        ax = self.ax
        if ax is None:
            return
        dev = self.m.dev[self.g]
        if ax[4] == t:                             # executes (write) / samples (read)
            write, name, value = ax[0], ax[1], ax[2]
            if write:
                err = False
                if name == "DOORBELL":
                    if dev.db is not None or dev.db_taken == t:
                        err = True                 # ERR.stream_full, SLVERR
                        dev.cnt["doorbells_refused"] += 1
                    else:
                        dev.db = (t + 1, value)
                ax[5] = (err, 0)
            else:
                if name == "CNT_NOTIFICATIONS":
                    v = bisect_left(dev.notify_times, t)
                elif name == "STATUS":             # STATUS.doorbell_ready
                    v = int(dev.db is None and dev.db_taken != t)
                else:                              # ERR: stream_full after a refused doorbell
                    v = 1 if self.s == "SF_ERR" else 0
                ax[5] = (False, v)
        if ax[3] == t:
            self.ax_done = ax[5]
            self.ax = None
            self.ax_ready = t + 1

    # -- one cycle ------------------------------------------------------------------------------
    def start(self):
        self.started = True

    def step(self, t, dev):
        """Cycle ``t``, after the arbiter (``dev.port`` empty: the output register is free)."""
        m = self.m
        self._ax_cycle(t)
        ax_done = self.ax_done
        ready = self.ax is None and t >= self.ax_ready and ax_done is None
        # responses (always taken), routed by the oldest read's tag
        tags_free = len(self.tags) < self.read_credits
        resp_g = resp_r = resp_c = False
        if self.resps and self.resps[0] == t:
            self.resps.popleft()
            tag = self.tags.popleft()
            resp_g, resp_r, resp_c = tag == TAG_G, tag == TAG_R, tag == TAG_C
        # request mux into the output register
        gs = self.g_state
        g_v = gs == "READS" or gs == "WRITES"
        g_read = gs == "READS"
        rr_v = self.red_busy and self.red_rd_left != 0 and (self.red_phase or self.red_cred != 0)
        rw_v = bool(self.red_fifo) and max(self.red_fifo[0] + 2, self.red_pop + 1) <= t
        c_v = self.c_busy and self.c_left != 0
        g_ok = g_v and (not g_read or tags_free)
        rr_ok = rr_v and tags_free
        c_ok = c_v and (self.c_clear or tags_free)
        g_grant = rr_grant = rw_grant = c_grant = False
        c_left, c_resp_left = self.c_left, self.c_resp_left          # before this cycle's edge
        g_slices_done = self.g_slices_done
        if not dev.port:
            if rw_v:
                rw_grant = True
            elif g_ok or rr_ok:
                if rr_ok and (not g_ok or self.rr_last_g):
                    rr_grant = True
                else:
                    g_grant = True
            elif c_ok:
                c_grant = True
        cnt = self.cnt
        if g_grant:
            self.rr_last_g = True
            if g_read:
                m.enqueue(self.g, MemReq(READ, ReqClass.COMPUTE,
                                         self.input_addr(self.g_idx, self.g_b)))
                self.tags.append(TAG_G)
                cnt["GEMM_RD"] += 1
            else:
                m.enqueue(self.g, MemReq(self.g_op, ReqClass.COMPUTE,
                                         self.out_addr(self.g_idx, self.g_b),
                                         tile=self.out_tile(self.g_idx), tracked=self.t3))
                cnt["GEMM_WR"] += 1
        elif rr_grant:
            self.rr_last_g = False
            a = (self.stage_addr if self.red_phase else self.out_addr)(self.red_idx, self.red_b)
            m.enqueue(self.g, MemReq(READ, ReqClass.COMPUTE, a))
            self.tags.append(TAG_R)
            cnt["RED_RD"] += 1
        elif rw_grant:
            m.enqueue(self.g, MemReq(STORE, ReqClass.COMPUTE,
                                     self.out_addr(self.red_idx, self.red_wb)))
            cnt["RED_WR"] += 1
        elif c_grant:
            if self.c_clear:
                m.enqueue(self.g, MemReq(STORE, ReqClass.COMPUTE, self.c_addr))
                cnt["CLR_WR"] += 1
            else:
                m.enqueue(self.g, MemReq(READ, ReqClass.COMPUTE, self.c_addr))
                self.tags.append(TAG_C)
                cnt["CHK_RD"] += 1
            self.c_addr += 1
            self.c_left -= 1

        # cycle counters (registered go / work_done / gemm_done of this cycle)
        if self.go_at is not None and not self.work_done:
            cnt["CYC_TOTAL"] += 1
            if self.g_state != "IDLE":
                cnt["CYC_GEMM"] += 1

        gemm_done = self.g_state == "IDLE"
        red_busy = self.red_busy
        red_start = None
        # -- GEMM engine ------------------------------------------------------------------------
        if resp_g:
            self.g_rwait -= 1
        if gs == "WAIT":
            if self.t3 or self.g_slice < 2 or self.rs_slices_done >= self.g_slice - 1:
                self.g_state = "SETUP"
        elif gs == "SETUP":
            self.g_idx = self.g_c * self.T + self.g_t
            self.g_b = 0
            self.g_rwait = self.R
            self.g_op = UPDATE if self.t3 and self.g_step != 0 else STORE
            self.g_state = "COMPUTE" if self.R == 0 else "READS"
            self.g_cnt = self.C
        elif gs == "READS":
            if g_grant:
                self.g_b += 1
                if self.g_b == self.R:
                    self.g_state = "RWAIT"
        elif gs == "RWAIT":
            if self.g_rwait + resp_g == 0 or (self.g_rwait + resp_g == 1 and resp_g):
                self.g_state = "COMPUTE"
        elif gs == "COMPUTE":
            self.g_b = 0
            if self.g_cnt <= 1:
                self.g_state = "REMOTE" if self.direct and self.g_step == 0 else "WRITES"
            else:
                self.g_cnt -= 1
        elif gs == "WRITES":
            if g_grant:
                self.g_b += 1
                if self.g_b == self.B:
                    self._next_tile(t)
        elif gs == "REMOTE":
            # the output register is free when empty or its beat goes on the link now (the
            # unit's packet merge and the link, decided from this cycle's state)
            if not self.remote_valid(t) or m.remote_taken(self.g, t):
                b = self.g_b
                if b == 0:
                    self.rem_pkt = self.remote_packet(self.g_idx)
                beats, writes = self.rem_pkt
                self.rem.append((t + 1, beats[b], writes if b == 0 else None))
                cnt["GEMM_RMT"] += 1
                self.g_b += 1
                if b == self.B:
                    self._next_tile(t)
        # -- reduction kernel --------------------------------------------------------------------
        if rr_grant and not self.red_phase:
            self.red_cred -= 1
        if rw_grant:
            self.red_cred += 1
        if rr_grant:
            if self.red_phase:
                self.red_b += 1
                self.red_rd_left -= 1
            self.red_phase = not self.red_phase
        if rw_grant:
            self.red_fifo.popleft()
            self.red_pop = t
            self.red_wb += 1
            self.red_wr_left -= 1
            if self.red_wr_left == 0:
                self.red_busy = False
        if resp_r:
            if self.red_rphase:
                self.red_fifo.append(t)
            self.red_rphase = not self.red_rphase
        if resp_c:
            self.c_resp_left -= 1
        # -- software engine ---------------------------------------------------------------------
        st = self.s
        T, n = self.T, self.n
        if st == "IDLE":
            if self.started and not self.work_done and self.done_at is None:
                self.started = False
                self.tps = self.div_acc = 0
                self.nslices = self.r["SLICES"] if self.mode == 1 else 1
                self.s = "DIV"
        elif st == "DIV":
            if self.div_acc == T:
                clear = bool(self.r["CLEAR"])
                self.s = "CLEAR" if clear else "BASE"
                self.c_busy, self.c_clear = clear, True
                self.c_addr, self.c_left = self.r["OUT_BASE"], n * T * self.B
            else:
                self.div_acc += self.nslices
                self.tps += 1
        elif st == "CLEAR":
            if c_left == 0:
                self.c_busy = False
                self.s, self.s_polls = "CLEAR_WAIT", CLEAR_WAIT
        elif st == "CLEAR_WAIT":
            if self.s_polls == 0:
                self.s = "BASE"
            self.s_polls -= 1
        elif st == "BASE":
            if ready:
                self.axi(t, False, "CNT_NOTIFICATIONS")
            if ax_done is not None:
                self.s_base = ax_done[1]
                self.s_arrived = 0
                self.go_at = t + 1
                self.s_slice = self.s_tlo = 0
                self.s = "RUN"
                self.g_state = "WAIT"
                self.g_slice = self.g_step = self.g_t = self.g_tlo = 0
                self.g_slices_done = self.rs_slices_done = 0
                self.g_c = (self.g - 1) % n if self.t3 else 0
        elif st == "RUN":
            if self.t3:
                if gemm_done:
                    self.s, self.s_polls = "TAIL", 0
            elif self.s_slice == self.nslices:
                self.s = "HOLD"
            elif g_slices_done > self.s_slice:
                self.s, self.s_t = "DB0", self.s_tlo
        elif st == "DB0":
            if ready:
                self.axi(t, True, "DOORBELL", self.out_tile((self.g - 1) % n * T + self.s_t))
            if ax_done is not None:
                if ax_done[0]:
                    self.s_ret, self.s, self.s_polls = "DB0", "SF_ERR", 0
                elif self.s_t + 1 == self.s_tlo + self.tps:
                    self.s_t, self.s_k, self.s_c = self.s_tlo, 1, (self.g - 2) % n
                    self.s = "STEP"
                else:
                    self.s_t += 1
        elif st == "STEP":
            self.s = "POLL"
            self.s_arrived += 1
            self.s_polls = 0
        elif st in ("POLL", "TAIL"):
            if ready:
                self.axi(t, False, "CNT_NOTIFICATIONS")
            if ax_done is not None:
                want = self.s_arrived if st == "POLL" else T
                if ax_done[1] - self.s_base >= want:
                    if st == "POLL":
                        self.s = "REDUCE"
                        red_start = self.s_c * T + self.s_t
                    else:
                        self.s = "HOLD"
                else:
                    self.s_polls += 1
                    self.s = st + "_ERR"
        elif st in ("POLL_ERR", "TAIL_ERR"):
            if ready:
                self.axi(t, False, "ERR")
            if ax_done is not None:
                self.s = st[:-4]
        elif st == "REDUCE":
            if not red_busy:
                self.s = "DB"
        elif st == "DB":
            last_t = self.s_t + 1 == self.s_tlo + self.tps
            advance = False
            if self.s_k == n - 1:
                advance = True
            else:
                if ready:
                    self.axi(t, True, "DOORBELL", self.out_tile(self.s_c * T + self.s_t))
                if ax_done is not None:
                    if ax_done[0]:
                        self.s_ret, self.s, self.s_polls = "DB", "SF_ERR", 0
                    else:
                        advance = True
            if advance:
                if not last_t:
                    self.s_t += 1
                    self.s = "STEP"
                elif self.s_k != n - 1:
                    self.s_t, self.s_k = self.s_tlo, self.s_k + 1
                    self.s_c = (self.s_c - 1) % n
                    self.s = "STEP"
                else:
                    self.rs_slices_done += 1
                    self.s_slice += 1
                    self.s_tlo += self.tps
                    self.s = "RUN"
        elif st == "SF_ERR":
            if ready:
                self.axi(t, False, "ERR")
            if ax_done is not None:
                self.s = "SF_CLR"
        elif st == "SF_CLR":
            if ready:
                self.axi(t, True, "ERR", 1)
            if ax_done is not None:
                self.s = "SF_WAIT"
        elif st == "SF_WAIT":
            if ready:
                self.axi(t, False, "STATUS")
            if ax_done is not None:
                if ax_done[1]:
                    self.s = self.s_ret
                else:
                    self.s_polls += 1
        elif st == "HOLD":
            if self.work_at is None:
                self.work_at = t + 1
            if self.work_done and m.check_go:
                self.c_busy, self.c_clear = True, False
                chunk = T * self.B
                self.c_addr = self.r["OUT_BASE"] + self.g * chunk
                self.c_left = self.c_resp_left = chunk
                self.s = "CHECK"
            self.work_done = True
        elif st == "CHECK":
            cnt["CYC_CHECK"] += 1
            if c_left == 0 and c_resp_left == 0:
                self.c_busy = False
                self.s = "FINISH"
        elif st == "FINISH":
            if (self.ax is None and not self.red_busy and self.g_state == "IDLE" and not dev.port
                    and not self.remote_valid(t)):
                self.done_at = t + 1
                self.s = "IDLE"
        if red_start is not None:
            self.red_busy = True
            self.red_idx, self.red_b, self.red_wb = red_start, 0, 0
            self.red_rd_left = self.red_wr_left = self.B
            self.red_phase = False

    def _next_tile(self, t):
        """WRITES, last beat granted: the next tile, chunk or slice (``hw/producer.py``)."""
        n = self.n
        self.g_state = "SETUP"
        if self.g_t + 1 != self.g_tlo + self.tps:
            self.g_t += 1
            return
        self.g_t = self.g_tlo
        if self.g_step + 1 != n:
            self.g_step += 1
            self.g_c = (self.g_c - 1) % n if self.t3 else self.g_c + 1
            return
        self.g_step = 0
        self.g_slices_done += 1
        self.g_c = (self.g - 1) % n if self.t3 else 0
        if self.g_slice + 1 == self.nslices:
            self.g_state = "IDLE"
            self.gemm_end = t + 1
        else:
            self.g_slice += 1
            self.g_t = self.g_tlo + self.tps
            self.g_tlo += self.tps
            self.g_state = "WAIT"


# -- the ring ------------------------------------------------------------------------------------
def _decode_plan(s, mode):
    """Per device: (unit writes decoded, producer registers) from :func:`sim.scale.plan`."""
    from hw import regmap
    from hw.producer import build_map
    from sim.scale import plan
    p = s.params
    U, P = regmap.build(p), build_map(p)
    out = []
    for writes in plan(s, mode):
        staged, table, arms, unit, prod = {}, {}, [], {}, {}
        for target, offset, value in writes:
            rmap = U if target == "u" else P
            reg = rmap.by_offset(offset)
            f = reg.decode(value)
            if target == "p":
                if reg.name == "CTRL":
                    prod["CLEAR"] = f["clear"]
                else:
                    prod[reg.name] = f["value"]
                    if reg.name == "MODE":
                        prod["DIRECT"] = f["direct"]
            elif reg.name in ("CMD_SRC_ADDR", "CMD_DST_ADDR", "CMD_TILE"):
                staged[reg.name] = f["value"]
            elif reg.name == "CMD_LEN_OP_DEV":
                staged.update(f)
            elif reg.name == "CMD_COMMIT":
                if f["valid"]:
                    table[f["index"]] = dict(
                        src_addr=staged["CMD_SRC_ADDR"], length=staged["length"],
                        dst_dev=staged["dst_dev"], dst_addr=staged["CMD_DST_ADDR"],
                        tile=staged["CMD_TILE"], op=staged["op"])
                else:
                    table.pop(f["index"], None)
            elif reg.name == "ARM":
                arms.append((f["tile"], f["threshold"]))
            else:
                unit[reg.name] = f
        out.append((unit, table, arms, prod))
    return out


class ScaleRingModel(RingModel):
    """The scale ring, cycle by cycle: :class:`sim.xval.model.RingModel`'s unit blocks, links and
    comm merge, with :class:`ProducerCL` on every compute port and the memory of the scenario."""

    def __init__(self, s, mode, plat=None, skews=None):
        from .scenario import MODES
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        skews = (0,) * s.devices if skews is None else tuple(skews)
        if len(skews) != s.devices or any(not isinstance(k, int) or k < 0 for k in skews):
            raise ValueError(f"skews must be {s.devices} integers >= 0, not {skews!r}")
        self.skews = skews
        self.s, self.mode = s, mode
        self.splat = plat or scale_platform(s)
        self.plat = self.splat.ring
        self.n = s.devices
        prog = _decode_plan(s, mode)
        self.dev, self.prod = [], []
        for g, (unit, table, arms, regs) in enumerate(prog):
            d = _Dev(self.plat, self.plat.tracker_entries)
            d.cnt.update(doorbells_refused=0)
            d.db, d.db_taken = None, None          # the CSR's doorbell stream buffer
            d.prio_db = False
            d.s1 = None                            # the trigger's stage-1 register
            d.table = table
            for tile, thr in arms:
                d.tracker.arm(tile, thr)
            d.policy = ArbPolicy(unit["ARB_POLICY"]["value"])
            d.threshold = unit["ARB_THRESHOLD"]["value"]
            d.starvation = unit["ARB_STARVATION"]["value"]
            d.arb = ArbiterRef()
            # the unit's link merge (hw.link.PacketMerge: a the DMA, b the remote port)
            d.tx_locked, d.tx_sel, d.tx_last_b = False, False, False
            prod = ProducerCL(self, g, regs, self.splat)
            on_resp = {ReqClass.COMPUTE: prod.resps.append,
                       ReqClass.COMM: (lambda c, d=d: d.buffer.append(c + 2))}
            if self.splat.memory == "dram":
                d.mem = AxiMemPortCL(self.splat, self.splat.dram, on_resp,
                                     start_cycle=setup_cycles(s, mode) + DRAM_PHASE)
            else:
                d.mem = _IdealPort(self.splat, on_resp)
            self.dev.append(d)
            self.prod.append(prod)
        self.link = [_Link(self.plat) for _ in range(self.n)]
        self.t = 0
        self.check_go = False

    def enqueue(self, g, req):
        req.ready_at = self.t + 1
        self.dev[g].port.append(req)
        return req

    def step_device(self, g):
        d, t, p = self.dev[g], self.t, self.plat
        ready = d.mem.ready(t)
        # trigger (hw.trigger.Trigger): stage 1 pushes the entry it read into the ready queue
        # while the queue has room (its level at the start of the cycle); stage 0 takes a fire
        # (from the fire buffer) or the doorbell, round-robin, while stage 1 is empty or
        # completes in this cycle. A command pushed in cycle c is on cmd from c + 2
        # (TRIGGER_TO_CMD after its stage-0 cycle).
        s1_done = d.s1 is not None and len(d.trig_q) < p.trigger_queue
        if s1_done:
            d.trig_q.append((t + TRIGGER_TO_CMD - 1, d.s1[0], d.s1[1]))
            d.s1 = None
        fire_v = bool(d.trig_in) and d.trig_in[0][0] <= t
        db_v = d.db is not None and d.db[0] <= t
        if (fire_v or db_v) and d.s1 is None:
            pick_fire = fire_v and not (db_v and d.prio_db)
            if fire_v and db_v:
                d.prio_db = pick_fire
            if pick_fire:
                _, index = d.trig_in.popleft()
            else:
                index = d.db[1]
                d.db, d.db_taken = None, t
            index %= p.tracker_entries
            d.s1 = (index, d.table[index])
        # ready command: a notification, or to the DMA reader (the toy model's step)
        self.step_ready_command(d, g, t)
        # arbitration, back-pressured by the memory port
        cv = bool(d.port) and d.port[0].ready_at <= t
        mv = d.merge_out is not None
        loaded = None
        if not (cv or mv) and d.arb.main is None and d.arb.skid is None:
            d.arb.step_idle()
        else:
            mca = d.policy is ArbPolicy.T3_MCA
            out = d.arb.step(compute_valid=cv, compute_payload=d.port[0] if cv else None,
                             comm_valid=mv, comm_payload=d.merge_out, out_ready=ready,
                             policy=d.policy, threshold=d.threshold,
                             starvation_limit=d.starvation,
                             occupancy=d.mem.occupancy(t - 1) if mca else 0)
            if out.starved:
                d.cnt["starvation_grants"] += 1
            if out.out_valid and ready:
                loaded = out.out_payload
                self.handshake(g, loaded)
            if out.compute_ready:
                d.port.popleft()
            if out.comm_ready:
                d.merge_out = None
        taken = self.step_merge(d, t)
        self.prod[g].step(t, d)
        d.mem.end_cycle(t, loaded)
        return taken

    def _tx_choice(self, g, t):
        """The unit's link merge in cycle ``t`` (:class:`hw.link.PacketMerge`, combinational:
        input ``a`` the DMA engine's packets, ``b`` the producer's remote port): ``(pick_b,
        valid)``, the input selected and whether it offers a beat. From the state at the start
        of the cycle only, so the producer (before the DMA's step) and :meth:`step_dma_tx`
        see the same choice."""
        d, pr = self.dev[g], self.prod[g]
        a_valid = self._dma_beat_ready(d, t)
        b_valid = pr.remote_valid(t)
        pick_b = d.tx_sel if d.tx_locked else (b_valid and (not a_valid or not d.tx_last_b))
        return pick_b, (b_valid if pick_b else a_valid)

    def remote_taken(self, g, t):
        """``remote.ready & remote.valid`` of device ``g`` in cycle ``t``."""
        pick_b, valid = self._tx_choice(g, t)
        return pick_b and valid and self.link[g].can_accept()

    def step_dma_tx(self, g):
        """The DMA engine's packets and the producer's remote packets (MODE.direct) onto the
        link through the unit's merge (whole packets at a time); with no remote packet ever,
        exactly :meth:`sim.xval.model.RingModel.step_dma_tx`."""
        d, pr, link, t = self.dev[g], self.prod[g], self.link[g], self.t
        if not pr.direct:
            return super().step_dma_tx(g)
        pick_b, valid = self._tx_choice(g, t)
        sent = False
        if valid and link.can_accept():
            if pick_b:
                _, beat, writes = pr.rem.popleft()
                link.beats.append((t + link.latency, beat, writes))
            else:
                beat = self._send_dma_beat(d, link, t)
            if not d.tx_locked:
                d.tx_last_b = pick_b
            d.tx_locked, d.tx_sel = not beat[1], pick_b
            sent = True
        self._link_tokens(d, link, sent)
        return sent

    def run(self, limit=50_000_000):
        n = self.n
        while True:
            for g, pr in enumerate(self.prod):    # start: device g's pulse at its skew
                if self.t == self.skews[g]:
                    pr.start()
            rx_free = []
            for g in range(n):
                d = self.dev[g]
                had = d.rx_req is not None
                taken = self.step_device(g)
                rx_free.append(not had or taken)
            for g in range(n):
                self.step_dma_tx(g)
            for g in range(n):
                self.step_rx(g, rx_free[g])
            self.check_go = all(pr.work_done for pr in self.prod)
            self.t += 1
            if all(pr.done_at is not None for pr in self.prod) and self.quiet():
                break
            if self.t > limit:
                raise RuntimeError(f"{self.s.name}: {self.mode}: model did not finish in "
                                   f"{limit} cycles")
        return max(pr.work_at - pr.go_at for pr in self.prod)

    def quiet(self):
        return (all(not d.port and d.arb.main is None and d.mem.idle() and d.rx_req is None
                    and not d.packets and d.merge_out is None and d.merge_skid is None
                    and not d.trig_q and not d.trig_in and d.db is None and d.s1 is None
                    for d in self.dev)
                and all(not pr.rem for pr in self.prod)
                and all(not link.beats for link in self.link))


def model_scale(s, mode, plat=None, skew_seed=0):
    """Model scale scenario ``s`` (:mod:`sim.scale`) in ``mode``: ``{"cycles", "gemm_cycles",
    "mem_reads", "mem_writes", "link_beats", "producer", "unit", "counters"}``, counted as the
    RTL harness counts them (:func:`sim.scale.summarize`: the clearing writes and the checksum
    reads not included). ``skew_seed`` > 0: the devices start at
    :func:`sim.scale.start_skews` (``tools/scale.py --skew-seed``)."""
    from sim.scale import start_skews
    m = ScaleRingModel(s, mode, plat, skews=start_skews(s, skew_seed))
    cycles = m.run()
    total = {}
    units = []
    for d in m.dev:
        c = m.counters(d)
        units.append(c)
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    prods = []
    for pr in m.prod:
        c = dict(pr.cnt)
        c["CYC_TOTAL"] = pr.work_at - pr.go_at
        c["CYC_GEMM"] = pr.gemm_end - pr.go_at
        prods.append(c)
    return {
        "scenario": s.name, "mode": mode, "cycles": cycles,
        "gemm_cycles": max(c["CYC_GEMM"] for c in prods),
        "mem_reads": total["rd_beats_compute"] + total["rd_beats_comm"]
        - sum(c["CHK_RD"] for c in prods),
        "mem_writes": total["wr_beats_compute"] + total["wr_beats_comm"]
        - sum(c["CLR_WR"] for c in prods),
        "link_beats": total["link_tx_beats"], "producer": prods, "unit": units,
        "counters": total, "model_cycles": m.t,
    }


def main(argv=None):
    """``python -m sim.xval.scale_model [--scenario NAME ...] [--modes m,m] [--json FILE]``:
    run the CL model on scale scenarios, print one line per run, and write the rows (cycles,
    counters, wall seconds) to ``--json`` after every run (``tools/validate_scale.py --cl-json``
    reads them)."""
    import argparse
    import json
    import time
    from pathlib import Path

    from sim import scale as sc
    ap = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", action="append", help="scale scenario name (default: all)")
    ap.add_argument("--modes", default=",".join(sc.MODES))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skew-seed", type=int, default=0, metavar="N",
                    help="start skews of sim.scale.start_skews (default 0: no skew)")
    args = ap.parse_args(argv)
    if args.skew_seed < 0:
        ap.error(f"--skew-seed must be >= 0, not {args.skew_seed}")
    rows = []
    for s in sc.load_all(names=args.scenario):
        for mode in args.modes.split(","):
            if sc.overcommit(s, mode):
                continue
            t0 = time.monotonic()
            r = model_scale(s, mode, skew_seed=args.skew_seed)
            r["seconds"] = time.monotonic() - t0
            if args.skew_seed:
                r.update(skew_seed=args.skew_seed, skews=list(sc.start_skews(s, args.skew_seed)))
            rows.append(r)
            print(f"{s.name} {mode}: {r['cycles']} cycles, memory {r['mem_reads']} + "
                  f"{r['mem_writes']} beats, link {r['link_beats']} beats, {r['seconds']:.0f} s",
                  flush=True)
            if args.json:
                args.json.write_text(json.dumps({"results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
