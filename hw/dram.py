"""DRAM timing model behind an AXI4 slave port (FASED style: data in block RAM, timing modelled).

:class:`DramModel` stores its data in a block RAM and delays every AXI4 transaction by what a DRAM
channel with banks, open rows, a request queue and a scheduler would take. One model cycle stands
for the data time of one BL4 column access of an HBM2 pseudo-channel (2 ns at 2 Gb/s/pin) and
one AXI beat for that access, so the peak is one beat per cycle. Parameters: :class:`DramParams`
(``hw/dram_params.py``); the default timing table and the efficiency figures: ``docs/dram.md``.

Specification (what :mod:`sim.ref.dram` implements; cycle ``c`` is the ``c``-th cycle after reset,
"at ``t``" means in cycle ``t``, a handshake in ``t`` takes effect from ``t + 1``):

1. **Acceptance.** One request (AR or AW) enters the queue per cycle, while the queue holds fewer
   than ``queue_depth`` entries (counted at the start of the cycle). ``arready``/``awready``
   depend on the other channel's ``valid``: when both are valid, one wins, alternately
   (AR first after reset). An AW is also pushed on the W queue; ``wready`` is high while a write
   accepted in an earlier cycle still awaits data. W beats are written to storage in their
   handshake cycle (``WSTRB`` per byte, ``WLAST`` ignored, the beat count follows ``AWLEN``); when
   a write's last beat is taken its entry becomes issuable from the next cycle.
2. **Decode.** beat address ``a = addr >> log2(data_width / 8)``, ``n = LEN + 1``. The
   transaction is an *error* (``SLVERR``) if ``BURST != INCR``, ``SIZE`` is not the full width,
   ``n > max_burst``, ``a + n > capacity`` or the burst crosses an ``interleave``-beat boundary.
   Otherwise its bank is ``(a / interleave) mod banks`` and its row ``a / (banks * cols)``.
   An error transaction goes through the queue like any other (so IDs stay ordered) but ignores
   bank state and touches no bank; its read data are 0.
3. **Commands per cycle.** Each cycle may issue one *column command* (a whole burst: RD or WR of
   ``n`` beats, beat ``k`` on the data bus at ``t + tCL + k`` / ``t + tCWL + k``) and one *row
   command* (ACT, PRE, or during refresh PREA/REF), decided from the state at the start of the
   cycle. A burst's beats are one cycle apart; bursts obey (``X_ok``: earliest cycle allowed):
   RD at ``t``: ``rd_ok >= t+n-1+tCCD``, ``wr_ok >= t+n-1+tRTW``, bank ``pre_ok >= t+n-1+tRTP``;
   WR at ``t``: ``wr_ok >= t+n-1+tCCD``, ``rd_ok >= t+n+tCWL+tWTR``, ``pre_ok >= t+n+tCWL+tWR``;
   ACT at ``t``: bank open, ``col_ok = t+tRCD``, ``pre_ok >= t+tRAS``, ``rrd_ok >= t+tRRD``, and
   at most 4 ACTs in any ``tFAW`` window; PRE at ``t``: bank closed, ``act_ok >= t+tRP``.
4. **Eligibility.** An entry is *ordered* if no older entry of the same kind has its ID. A column
   candidate is an ordered entry, not during refresh, that is a row hit with ``col_ok`` reached
   (or an error), and: a read with ``rd_ok`` reached and read-buffer credit (beats issued and not
   yet taken on R, plus ``n``, at most ``read_buffer``); a write with its data complete, ``wr_ok``
   reached and fewer than ``queue_depth`` B responses outstanding. A row candidate is a non-error
   entry, not during refresh, whose bank is closed with ``act_ok``, ``rrd_ok`` and tFAW allowing
   an ACT, or is open on another row with ``pre_ok`` reached and no ordered entry hitting the
   open row.
5. **Scheduler.** *Strict* mode: only the oldest entry (queue head) may be a candidate. FCFS is
   always strict. FR-FCFS is strict in a cycle in which the oldest entry's age (cycles since the
   cycle after its handshake) is at least ``age_cap``; otherwise the column command goes to the
   oldest column candidate (row hits first, then age) and the row command to the oldest row
   candidate. Open-page policy: rows stay open until a PRE is needed.
6. **Refresh.** Refresh becomes due in cycles ``k * tREFI`` (``k >= 1``). While due, no column
   command, ACT or PRE is issued; the row bus issues PREA once every open bank has reached
   ``pre_ok`` (closes them, ``act_ok >= t+tRP``), then REF once every bank has reached ``act_ok``
   (``act_ok = t+tRFC`` for all banks; refresh no longer due).
7. **Responses.** Read beat ``k`` of a RD issued at ``t`` reads storage at ``t+k+tCL-1`` (seeing
   the W beats taken before that cycle) and is presentable on R from ``t+k+tCL+1``; the B
   response of a WR issued at ``t`` is presentable from ``t+tCWL+n``. R and B are queues in issue
   order, drained one per cycle while ``rready``/``bready`` are high.

``occupancy`` counts the requests in the scheduler queue: accepted on AR/AW (counted from the
cycle after the handshake) and whose column command has not been issued (counted up to and
including the issue cycle). Data in flight to R/B is not counted.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .dram_params import DramParams, Scheduler
from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, RESP_SLVERR
from .simram import sim_ram

__all__ = ["DramModel", "DramParams", "Scheduler"]


def _bits(n):
    return max(1, int(n).bit_length())


def _dec(x):
    return Mux(x == 0, 0, x - 1)


def _max(a, b):
    return Mux(a > b, a, b)


class DramModel(wiring.Component):
    """DRAM timing model with an AXI4 slave port (see the module docstring for the timing rules).

    Parameters
    ----------
    params : DramParams
        Geometry, AXI widths, queue and timing (model cycles). Default: HBM2 pseudo-channel.
    init : iterable of int, optional
        Initial storage contents, beat ``i`` at beat address ``i``. Storage has no reset.
    uninitialized : bool
        Storage in :func:`hw.simram.sim_ram` (no initial contents in the exported Verilog, for
        simulation at scale) instead of an Amaranth ``Memory``; not with ``init``. Default False.

    Attributes
    ----------
    s_axi : In(AXI4Signature(addr_width, data_width, id_width))
        The AXI4 slave port. ``arready``/``awready`` are combinational from registers and the
        other address channel's ``valid``; ``wready``, ``rvalid``/R payload and ``bvalid``/B
        payload come from registers and FIFO storage only.
    occupancy : Out(range(queue_depth + 1))
        Requests in the scheduler queue (see the module docstring), from a register.
    """

    def __init__(self, params=None, *, init=None, uninitialized=False):
        if params is None:
            params = DramParams()
        if not isinstance(params, DramParams):
            raise TypeError(f"params must be a DramParams, not {params!r}")
        self.params = params
        self._init = [] if init is None else list(init)
        if len(self._init) > params.capacity:
            raise ValueError(f"init has {len(self._init)} beats, more than the capacity "
                             f"{params.capacity}")
        if not isinstance(uninitialized, bool):
            raise TypeError(f"uninitialized must be a bool, not {uninitialized!r}")
        if uninitialized and self._init:
            raise ValueError("init and uninitialized=True exclude each other")
        self._uninitialized = uninitialized
        super().__init__({
            "s_axi": In(AXI4Signature(addr_width=params.addr_width,
                                      data_width=params.data_width, id_width=params.id_width)),
            "occupancy": Out(range(params.queue_depth + 1)),
        })

    def elaborate(self, platform):
        p = self.params
        m = Module()
        ax = self.s_axi
        Q, A, IDW, DW = p.queue_depth, p.beat_addr_width, p.id_width, p.data_width
        LW = _bits(p.max_burst - 1)
        lo = (p.interleave - 1).bit_length()           # col_lo bits
        bb = (p.banks - 1).bit_length()                # bank bits
        rlo = (p.banks * p.cols - 1).bit_length()      # row starts here
        RB = (p.rows - 1).bit_length()
        NB = p.banks
        TW = _bits(max(p.tRFC, p.tRAS, p.tFAW, p.tRCD, p.tRP, p.tRRD, p.tREFI,
                       p.max_burst + max(p.tRTW, p.tCWL + 1 + p.tWR, p.tCWL + 1 + p.tWTR,
                                         p.tRTP, p.tCCD)))
        AGW = _bits(p.age_cap)

        def bank_of(beat):
            return beat[lo:lo + bb] if bb else Const(0, 1)

        def row_of(beat):
            return beat[rlo:rlo + RB] if RB else Const(0, 1)

        # -- storage ---------------------------------------------------------------------------
        if self._uninitialized:
            rp, wp = sim_ram(m, "storage", width=DW, depth=p.capacity, granularity=8)
        else:
            m.submodules.storage = storage = Memory(shape=unsigned(DW), depth=p.capacity,
                                                    init=self._init)
            wp = storage.write_port(granularity=8)
            rp = storage.read_port(domain="sync", transparent_for=())

        # -- queue state (index 0 = oldest) ----------------------------------------------------
        valid = [Signal(name=f"q{i}_valid") for i in range(Q)]
        kind = [Signal(name=f"q{i}_write") for i in range(Q)]
        qid = [Signal(IDW, name=f"q{i}_id") for i in range(Q)]
        beat = [Signal(A, name=f"q{i}_beat") for i in range(Q)]
        ln = [Signal(LW, name=f"q{i}_len") for i in range(Q)]
        err = [Signal(name=f"q{i}_err") for i in range(Q)]
        wdone = [Signal(name=f"q{i}_wdone") for i in range(Q)]
        age = [Signal(AGW, name=f"q{i}_age") for i in range(Q)]
        count = Signal(range(Q + 1))
        m.d.comb += self.occupancy.eq(count)

        # -- bank and channel state ------------------------------------------------------------
        b_open = Array(Signal(name=f"b{b}_open") for b in range(NB))
        b_row = Array(Signal(max(1, RB), name=f"b{b}_row") for b in range(NB))
        act_w = Array(Signal(TW, name=f"b{b}_act_w") for b in range(NB))
        col_w = Array(Signal(TW, name=f"b{b}_col_w") for b in range(NB))
        pre_w = Array(Signal(TW, name=f"b{b}_pre_w") for b in range(NB))
        rd_w, wr_w = Signal(TW, name="rd_w"), Signal(TW, name="wr_w")
        rrd_w = Signal(TW, name="rrd_w")
        faw = [Signal(TW, name=f"faw{k}") for k in range(4)]
        refdue = Signal()
        ref_timer = Signal(range(p.tREFI), init=p.tREFI - 1)
        r_out = Signal(range(p.read_buffer + 1))
        b_out = Signal(range(Q + 1))
        ar_prio = Signal(init=1)

        # -- per-entry scheduling terms --------------------------------------------------------
        ebank = [bank_of(beat[i]) for i in range(Q)]
        erow = [row_of(beat[i]) for i in range(Q)]
        hit, idok = [], []
        for i in range(Q):
            h = Signal(name=f"q{i}_hit")
            m.d.comb += h.eq(b_open[ebank[i]] & (b_row[ebank[i]] == erow[i]))
            hit.append(h)
            o = Signal(name=f"q{i}_ordered")
            clash = Const(0)
            for j in range(i):
                clash = clash | (valid[j] & (kind[j] == kind[i]) & (qid[j] == qid[i]))
            m.d.comb += o.eq(~clash)
            idok.append(o)

        strict = Signal()
        if p.scheduler is Scheduler.FCFS:
            m.d.comb += strict.eq(1)
        else:
            m.d.comb += strict.eq(valid[0] & (age[0] >= p.age_cap))

        hitpend = Array(Signal(name=f"b{b}_hitpend") for b in range(NB))
        for b in range(NB):
            t = Const(0)
            for j in range(Q):
                t = t | (valid[j] & ~err[j] & hit[j] & idok[j] & (ebank[j] == b))
            m.d.comb += hitpend[b].eq(t)

        faw_ok = faw[3] == 0
        col_cand, row_cand, is_act = [], [], []
        for i in range(Q):
            n_i = ln[i] + 1
            rd_ok = (r_out + n_i <= p.read_buffer) & (rd_w == 0)
            wr_ok = wdone[i] & (b_out < Q) & (wr_w == 0)
            bank_ok = err[i] | (hit[i] & (col_w[ebank[i]] == 0))
            cc = Signal(name=f"q{i}_col_cand")
            m.d.comb += cc.eq(valid[i] & idok[i] & ~refdue & Mux(kind[i], wr_ok, rd_ok)
                              & bank_ok & ((i == 0) | ~strict))
            col_cand.append(cc)
            a_ok = ~b_open[ebank[i]] & (act_w[ebank[i]] == 0) & (rrd_w == 0) & faw_ok
            p_ok = (b_open[ebank[i]] & ~hit[i] & (pre_w[ebank[i]] == 0)
                    & (strict | ~hitpend[ebank[i]]))
            rc = Signal(name=f"q{i}_row_cand")
            m.d.comb += rc.eq(valid[i] & ~err[i] & ~refdue & (a_ok | p_ok)
                              & ((i == 0) | ~strict))
            row_cand.append(rc)
            ia = Signal(name=f"q{i}_needs_act")
            m.d.comb += ia.eq(~b_open[ebank[i]])
            is_act.append(ia)

        # oldest candidates (priority encoders)
        col_fire, col_idx = Signal(name="col_fire"), Signal(range(Q), name="col_idx")
        row_fire, row_idx = Signal(name="row_fire"), Signal(range(Q), name="row_idx")
        for i in reversed(range(Q)):
            with m.If(col_cand[i]):
                m.d.comb += [col_fire.eq(1), col_idx.eq(i)]
            with m.If(row_cand[i]):
                m.d.comb += [row_fire.eq(1), row_idx.eq(i)]

        # selected column command
        c_write = Array(kind)[col_idx]
        c_id = Array(qid)[col_idx]
        c_beat = Array(beat)[col_idx]
        c_len = Array(ln)[col_idx]
        c_err = Array(err)[col_idx]
        c_bank = bank_of(c_beat)
        # selected row command
        r_act = Array(is_act)[row_idx]
        r_beat = Array(beat)[row_idx]
        r_bank, r_row = bank_of(r_beat), row_of(r_beat)

        # refresh
        any_open = Const(0)
        prea_ok = Const(1)
        ref_ok = Const(1)
        for b in range(NB):
            any_open = any_open | b_open[b]
            prea_ok = prea_ok & (~b_open[b] | (pre_w[b] == 0))
            ref_ok = ref_ok & (act_w[b] == 0)
        do_prea, do_ref = Signal(name="do_prea"), Signal(name="do_ref")
        m.d.comb += [do_prea.eq(refdue & any_open & prea_ok),
                     do_ref.eq(refdue & ~any_open & ref_ok)]
        tick = ref_timer == 0
        m.d.sync += ref_timer.eq(Mux(tick, p.tREFI - 1, ref_timer - 1))
        m.d.sync += refdue.eq((refdue & ~do_ref) | tick)

        # -- timing state updates --------------------------------------------------------------
        rd_issue = col_fire & ~c_write
        wr_issue = col_fire & c_write
        m.d.sync += [
            rd_w.eq(_max(_dec(rd_w), Mux(rd_issue, c_len + (p.tCCD - 1),
                                         Mux(wr_issue, c_len + (p.tCWL + p.tWTR), 0)))),
            wr_w.eq(_max(_dec(wr_w), Mux(rd_issue, c_len + (p.tRTW - 1),
                                         Mux(wr_issue, c_len + (p.tCCD - 1), 0)))),
        ]
        act_fire = row_fire & r_act
        pre_fire = row_fire & ~r_act
        m.d.sync += rrd_w.eq(_max(_dec(rrd_w), Mux(act_fire, p.tRRD - 1, 0)))
        with m.If(act_fire):
            m.d.sync += [faw[0].eq(p.tFAW - 1)] + [faw[k].eq(_dec(faw[k - 1]))
                                                  for k in range(1, 4)]
        with m.Else():
            m.d.sync += [faw[k].eq(_dec(faw[k])) for k in range(4)]
        col_pre = Mux(c_write, c_len + (p.tCWL + p.tWR), c_len + (p.tRTP - 1))
        for b in range(NB):
            a_b = act_fire & (r_bank == b)
            p_b = pre_fire & (r_bank == b)
            c_b = col_fire & ~c_err & (c_bank == b)
            with m.If(a_b):
                m.d.sync += [b_open[b].eq(1), b_row[b].eq(r_row)]
            with m.Elif(p_b | do_prea):
                m.d.sync += b_open[b].eq(0)
            m.d.sync += act_w[b].eq(Mux(do_ref, p.tRFC - 1, _max(
                _dec(act_w[b]), Mux(p_b | (do_prea & b_open[b]), p.tRP - 1, 0))))
            m.d.sync += col_w[b].eq(Mux(a_b, p.tRCD - 1, _dec(col_w[b])))
            m.d.sync += pre_w[b].eq(_max(_max(_dec(pre_w[b]), Mux(a_b, p.tRAS - 1, 0)),
                                         Mux(c_b, col_pre, 0)))

        # -- AR/AW acceptance and decode ---------------------------------------------------------
        free = count < Q
        m.d.comb += [
            ax.arready.eq(free & (~ax.awvalid | ar_prio)),
            ax.awready.eq(free & (~ax.arvalid | ~ar_prio)),
        ]
        with m.If(free & ax.arvalid & ax.awvalid):
            m.d.sync += ar_prio.eq(~ar_prio)
        ar_hs = ax.arvalid & ax.arready
        aw_hs = ax.awvalid & ax.awready

        def decode(addr, alen, size, burst):
            full = addr[p.size:]
            n = alen + 1
            crosses = (full[:lo] + n > p.interleave) if lo else (n > p.interleave)
            e = ((burst != BURST_INCR) | (size != p.size) | (alen >= p.max_burst)
                 | (full + n > p.capacity) | crosses)
            return full[:A], alen[:LW], e

        ar_beat, ar_len, ar_err = decode(ax.araddr, ax.arlen, ax.arsize, ax.arburst)
        aw_beat, aw_len, aw_err = decode(ax.awaddr, ax.awlen, ax.awsize, ax.awburst)

        # -- W channel -------------------------------------------------------------------------
        m.submodules.awq = awq = SyncFIFO(width=A + LW + 1, depth=Q)
        m.d.comb += [awq.w_en.eq(aw_hs), awq.w_data.eq(Cat(aw_beat, aw_len, aw_err))]
        w_beat, w_len, w_err = awq.r_data[:A], awq.r_data[A:A + LW], awq.r_data[A + LW]
        wcnt = Signal(LW)
        w_hs = ax.wvalid & awq.r_rdy
        w_last = w_hs & (wcnt == w_len)
        m.d.comb += [
            ax.wready.eq(awq.r_rdy),
            awq.r_en.eq(w_last),
            wp.addr.eq(w_beat + wcnt),
            wp.data.eq(ax.wdata),
            wp.en.eq(Mux(w_hs & ~w_err, ax.wstrb, 0)),
        ]
        with m.If(w_hs):
            m.d.sync += wcnt.eq(Mux(w_last, 0, wcnt + 1))
        # the write completed by w_last: the oldest write entry still without data
        set_wdone = []
        seen = Const(0)
        for i in range(Q):
            s = Signal(name=f"q{i}_set_wdone")
            cand = valid[i] & kind[i] & ~wdone[i]
            m.d.comb += s.eq(w_last & cand & ~seen)
            seen = seen | cand
            set_wdone.append(s)

        # -- queue update (collapse on issue, append at the tail) --------------------------------
        tail = Signal(range(Q + 1))
        m.d.comb += tail.eq(count - col_fire)
        ins = ar_hs | aw_hs
        m.d.sync += count.eq(tail + ins)
        for i in range(Q):
            src = i + 1 if i + 1 < Q else None
            shift = col_fire & ((col_idx <= i) if i + 1 < Q else Const(1))
            def take(j):
                if j is None:
                    return [valid[i].eq(0)]
                return [valid[i].eq(valid[j]), kind[i].eq(kind[j]), qid[i].eq(qid[j]),
                        beat[i].eq(beat[j]), ln[i].eq(ln[j]), err[i].eq(err[j]),
                        wdone[i].eq(wdone[j] | set_wdone[j]),
                        age[i].eq(Mux(age[j] >= p.age_cap, age[j], age[j] + 1))]
            with m.If(ins & (tail == i)):
                m.d.sync += [valid[i].eq(1), kind[i].eq(aw_hs),
                             qid[i].eq(Mux(aw_hs, ax.awid, ax.arid)),
                             beat[i].eq(Mux(aw_hs, aw_beat, ar_beat)),
                             ln[i].eq(Mux(aw_hs, aw_len, ar_len)),
                             err[i].eq(Mux(aw_hs, aw_err, ar_err)),
                             wdone[i].eq(0), age[i].eq(0)]
            with m.Elif(shift):
                m.d.sync += take(src)
            with m.Else():
                m.d.sync += take(i)

        # -- read data path: delay line, beat sequencer, storage read, R FIFO --------------------
        L = p.tCL - 1
        dl_v = [Signal(name=f"rdl{k}_valid") for k in range(L)]
        dl = [Signal(A + LW + IDW + 1, name=f"rdl{k}") for k in range(L)]
        for k in range(L - 1):
            m.d.sync += [dl_v[k].eq(dl_v[k + 1]), dl[k].eq(dl[k + 1])]
        m.d.sync += [dl_v[L - 1].eq(rd_issue), dl[L - 1].eq(Cat(c_beat, c_len, c_id, c_err))]
        d_beat, d_len = dl[0][:A], dl[0][A:A + LW]
        d_id, d_err = dl[0][A + LW:A + LW + IDW], dl[0][A + LW + IDW]
        s_act, s_beat, s_left = Signal(), Signal(A), Signal(LW)
        s_id, s_err = Signal(IDW), Signal()
        cur_v, cur_beat, cur_last = Signal(), Signal(A), Signal()
        cur_id, cur_err = Signal(IDW), Signal()
        with m.If(dl_v[0]):
            m.d.comb += [cur_v.eq(1), cur_beat.eq(d_beat), cur_last.eq(d_len == 0),
                         cur_id.eq(d_id), cur_err.eq(d_err)]
            m.d.sync += [s_act.eq(d_len != 0), s_beat.eq(d_beat + 1), s_left.eq(d_len - 1),
                         s_id.eq(d_id), s_err.eq(d_err)]
        with m.Elif(s_act):
            m.d.comb += [cur_v.eq(1), cur_beat.eq(s_beat), cur_last.eq(s_left == 0),
                         cur_id.eq(s_id), cur_err.eq(s_err)]
            m.d.sync += [s_act.eq(s_left != 0), s_beat.eq(s_beat + 1), s_left.eq(s_left - 1)]
        m.d.comb += rp.addr.eq(cur_beat)
        pv, pid, plast, perr = Signal(), Signal(IDW), Signal(), Signal()
        m.d.sync += [pv.eq(cur_v), pid.eq(cur_id), plast.eq(cur_last), perr.eq(cur_err)]
        m.submodules.rfifo = rfifo = SyncFIFO(width=DW + IDW + 3, depth=p.read_buffer)
        m.d.comb += [
            rfifo.w_en.eq(pv),
            rfifo.w_data.eq(Cat(Mux(perr, 0, rp.data), pid,
                                Mux(perr, RESP_SLVERR, RESP_OKAY), plast)),
            ax.rvalid.eq(rfifo.r_rdy),
            ax.rdata.eq(rfifo.r_data[:DW]),
            ax.rid.eq(rfifo.r_data[DW:DW + IDW]),
            ax.rresp.eq(rfifo.r_data[DW + IDW:DW + IDW + 2]),
            ax.rlast.eq(rfifo.r_data[DW + IDW + 2]),
            rfifo.r_en.eq(ax.rready),
        ]
        r_take = rfifo.r_rdy & ax.rready
        m.d.sync += r_out.eq(r_out + Mux(rd_issue, c_len + 1, 0) - r_take)

        # -- write response path: delay line indexed by due cycle, B FIFO ------------------------
        LB = p.tCWL + p.max_burst - 1
        bl_v = [Signal(name=f"bdl{k}_valid") for k in range(LB)]
        bl = [Signal(IDW + 1, name=f"bdl{k}") for k in range(LB)]
        b_idx = c_len + (p.tCWL - 1)
        for k in range(LB):
            nxt_v = bl_v[k + 1] if k + 1 < LB else Const(0)
            nxt = bl[k + 1] if k + 1 < LB else Const(0, IDW + 1)
            with m.If(wr_issue & (b_idx == k)):
                m.d.sync += [bl_v[k].eq(1), bl[k].eq(Cat(c_id, c_err))]
            with m.Else():
                m.d.sync += [bl_v[k].eq(nxt_v), bl[k].eq(nxt)]
        m.submodules.bfifo = bfifo = SyncFIFO(width=IDW + 2, depth=Q)
        m.d.comb += [
            bfifo.w_en.eq(bl_v[0]),
            bfifo.w_data.eq(Cat(bl[0][:IDW], Mux(bl[0][IDW], RESP_SLVERR, RESP_OKAY))),
            ax.bvalid.eq(bfifo.r_rdy),
            ax.bid.eq(bfifo.r_data[:IDW]),
            ax.bresp.eq(bfifo.r_data[IDW:]),
            bfifo.r_en.eq(ax.bready),
        ]
        m.d.sync += b_out.eq(b_out + wr_issue - (bfifo.r_rdy & ax.bready))
        return m


EXPORTS = {"dram_model": lambda: DramModel()}
