"""Banked on-chip memory model standing in for HBM, with near-memory *update* (read-add-write).

:class:`MemoryModel` executes one request per cycle (READ, STORE or UPDATE, any mix) with in-order
memory semantics and returns READ data after a fixed latency, through a response buffer that absorbs
back-pressure.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .lib.queue import Queue
from .nmc import NmcAlu
from .params import LaneType, MemOp, ReqClass, T3Params

__all__ = ["MemoryModel", "check_init"]


def check_init(init, depth):
    """Initial memory contents as a list of ints (``[]`` for None), at most ``depth`` of them."""
    if init is None:
        return []
    try:
        init = [int(v) for v in init]
    except TypeError:
        raise TypeError(f"init must be an iterable of integers, not {init!r}") from None
    if len(init) > depth:
        raise ValueError(f"init has {len(init)} values, more than the depth {depth}")
    return init


class MemoryModel(wiring.Component):
    """Banked RAM with fixed read latency and NMC updates, one request per cycle.

    Storage is ``2**addr_width`` beats of ``data_width`` bits split over ``banks``
    :class:`~amaranth.lib.memory.Memory` instances, interleaved by the low address bits (beat ``a``
    lives in bank ``a % banks``, row ``a // banks``). Memory contents have **no reset**: they start
    from ``init`` (zeros if not given) and keep their values across a reset of the logic.

    Semantics are those of a memory that executes the accepted requests one at a time in acceptance
    order: a READ returns the value left by every earlier STORE/UPDATE (even the one accepted in the
    previous cycle), STORE writes ``data``, UPDATE atomically writes ``mem[addr] + data`` computed
    lane-wise by :class:`~hw.nmc.NmcAlu` (int32 or bf16 lanes, per ``params.lane``). Back-to-back
    UPDATEs to one address lose no contribution.

    Pipeline: cycle ``k`` is a request's *accepting cycle* (``req.valid & req.ready`` high during
    it, so it is taken at the clock edge ending cycle ``k``); cycle ``k+j`` is ``j`` cycles later.
    ``D`` is :attr:`rmw_depth`: 3 when ``mem_latency >= 3``, 2 when ``mem_latency == 2``.

    * end of cycle ``k``: the request is registered (stage S1); every bank's synchronous,
      non-transparent read port samples the address.
    * ``D == 3`` only, end of cycle ``k+1``: the raw RAM outputs of all banks are registered (RAM
      output register: no logic between the block RAM and a flip-flop).
    * cycle ``k+D-1``: the addressed bank's data is completed by forwarding from the writes done at
      the ends of cycles ``k .. k+D-2`` (kept in ``D-1`` small write-history registers) and from the
      write of the request now in the last stage (same address; the newest wins), then registered
      as the *old value*.
    * cycle ``k+D``: the old value enters ``NmcAlu``. With ``alu_stages == 0`` (default) this is the
      last stage: STORE writes ``data``, UPDATE writes ``NmcAlu(old, data)``, the RAM is written at
      the end of cycle ``k+D``. With ``alu_stages = P > 0`` the adder is pipelined and the write
      happens at the end of cycle ``k+D+P`` (:attr:`write_stage` ``= D+P``). A READ's data (the old
      value) goes down a delay line.
    * a READ's response enters the response buffer at the end of cycle ``k+L-1`` and ``resp.valid``
      is high from cycle ``k+L`` (``L = params.mem_latency``): with a never-stalled ``resp`` the
      response is presented exactly ``L`` cycles after the accepting cycle ``k`` and taken at the
      end of cycle ``k+L``.

    Critical paths: (1) old-value register -> ``NmcAlu`` -> 2:1 STORE/UPDATE mux -> RAM write data,
    and through the forwarding mux (address compares are register-to-register in parallel) back
    into the old-value register. This loop is what makes one update per cycle possible and cannot
    be pipelined without stalling same-address updates (see ``alu_stages``). For int32 lanes it is
    one 32-bit carry chain; for bf16 lanes it is a full combinational bf16 add (align, add,
    normalise, round) and limits the clock. (2) With ``D == 3`` the block-RAM clock-to-out feeds a
    flip-flop directly; with ``D == 2`` (``mem_latency == 2``) it goes through the bank mux and the
    forwarding mux, which is slower. Measured with ``tools/synth.py`` (Yosys + nextpnr, LFE5U-85F,
    default parameters, seed 1): int32 113.7 MHz, critical path (2), BRAM clock-to-out 5.8 ns of
    8.8 ns; bf16 about 31 MHz, critical path (1), 32 ns through the bf16 adder; bf16 with
    ``alu_stages=3`` 100.7 MHz (``alu_stages=2``: 66 MHz, 1: 50 MHz).

    Pipelined adder (``alu_stages = P > 0``, for Fmax with bf16 lanes): the result of a write
    accepted in cycle ``k`` can be forwarded only to requests accepted from cycle ``k+P+1`` on, so a
    request (any op) whose address equals that of a STORE or UPDATE accepted in one of the previous
    ``P`` cycles is held (``req.ready`` low) until that write is ``P+1`` cycles old. Back-to-back
    UPDATEs to one address then run at one per ``P+1`` cycles; requests to other addresses still
    run at one per cycle; READ latency is unchanged. With ``P == 0`` there is no such stall.

    Back-pressure: the response buffer (a :class:`~hw.lib.queue.Queue` of depth ``L + 1``,
    fall-through: a response written at the end of cycle ``k+L-1`` is visible in cycle ``k+L``)
    never overflows because READs are credit-counted: a READ is accepted only while fewer than
    ``L + 1`` READs are outstanding (accepted and not yet taken from ``resp``). ``L + 1`` credits
    sustain one READ per cycle with ``resp.ready`` always high. STORE and UPDATE need no response
    space and are always accepted (unless held by a hazard when ``alu_stages > 0``).

    Parameters
    ----------
    params : T3Params
        Uses ``data_width``, ``addr_width``, ``mem_latency`` and ``lane``.
    banks : int
        Number of RAM banks, a power of two ``>= 1`` and ``<= 2**addr_width``. Default 4.
    init : iterable of int, optional
        Initial contents, beat ``i`` at address ``i`` (at most ``2**addr_width`` values; missing
        ones are 0).
    alu_stages : int
        Pipeline depth of the NMC adder, 0 (default: combinational, one same-address update per
        cycle), 1, 2 or 3 (shorter clock period, same-address hazard stall, see above).

    Attributes
    ----------
    req : In(stream.Signature(params.mem_request_layout))
        Requests; ``op`` (READ/STORE/UPDATE), ``cls`` (returned with a READ's response), ``addr``,
        ``data`` (STORE/UPDATE) are used; ``tracked`` and ``tile`` are ignored here (tracker
        metadata). ``req.ready`` is combinational from ``req.payload`` (``op``; and ``addr`` when
        ``alu_stages > 0``) and registers, never from ``resp.ready``: with ``alu_stages == 0``
        always 1 for STORE/UPDATE, and 1 for a READ iff a response credit is free; with
        ``alu_stages > 0`` additionally 0 during a same-address hazard.
    resp : Out(stream.Signature(params.mem_response_layout))
        One response per READ, in request order, with the request's ``cls`` and the read ``data``.
        ``resp.valid`` and ``resp.payload`` come from the response buffer (registers / LUT RAM),
        never combinationally from ``resp.ready`` or ``req``. Valid from cycle ``k+L`` for a READ
        accepted in cycle ``k`` (later if earlier responses are stalled).
    occupancy : Out(range(0, resp_buffer_depth + max(mem_latency, write_stage) + 1))
        Requests accepted and not yet completed: READs until their response is taken from ``resp``
        (in the pipeline, the delay line or the response buffer), STORE/UPDATE until their RAM
        write (counted in cycles ``k+1 .. k+write_stage``). Derived from registers only: a request
        is counted from the cycle after its accepting cycle ``k``; a READ taken from ``resp`` in
        cycle ``t`` is no longer counted from cycle ``t+1``. At most ``L + 1 + write_stage``; the
        declared range is that of the header line (``max(L, write_stage) = L`` unless ``alu_stages
        > L - D``).
    resp_buffer_depth : int
        Depth of the response buffer and number of READ credits, ``mem_latency + 1`` (not a port).
    rmw_depth : int
        ``D``, the stage whose old value enters the adder: 3 (RAM output registered) when
        ``mem_latency >= 3``, else 2 (not a port).
    alu_stages : int
        ``P``, the adder's pipeline depth (not a port).
    write_stage : int
        ``D + P``, the stage at whose end STORE/UPDATE write the RAM (not a port).
    """

    def __init__(self, params, *, banks=4, init=None, alu_stages=0):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(alu_stages, int) or isinstance(alu_stages, bool):
            raise TypeError(f"alu_stages must be an integer, not {alu_stages!r}")
        if alu_stages not in (0, 1, 2, 3):
            raise ValueError(f"alu_stages must be 0, 1, 2 or 3, not {alu_stages}")
        if not isinstance(banks, int) or isinstance(banks, bool):
            raise TypeError(f"banks must be an integer, not {banks!r}")
        if banks < 1 or banks & (banks - 1):
            raise ValueError(f"banks must be a power of two >= 1, not {banks}")
        depth = 1 << params.addr_width
        if banks > depth:
            raise ValueError(f"banks ({banks}) must divide the depth 2**addr_width ({depth})")
        init = check_init(init, depth)
        self._params = params
        self._banks = banks
        self._depth = depth
        self._init = init
        self.resp_buffer_depth = params.mem_latency + 1
        self.alu_stages = alu_stages
        self.rmw_depth = 3 if params.mem_latency >= 3 else 2
        self.write_stage = self.rmw_depth + alu_stages
        max_occ = self.resp_buffer_depth + max(params.mem_latency, self.write_stage)
        super().__init__({
            "req":       In(stream.Signature(params.mem_request_layout)),
            "resp":      Out(stream.Signature(params.mem_response_layout)),
            "occupancy": Out(range(0, max_occ + 1)),
        })

    @property
    def params(self):
        return self._params

    @property
    def banks(self):
        return self._banks

    @property
    def depth(self):
        return self._depth

    def elaborate(self, platform):
        m = Module()
        p = self._params
        dw, lat = p.data_width, p.mem_latency
        nb = self._banks
        bbits = (nb - 1).bit_length()
        cap = self.resp_buffer_depth

        m.submodules.alu = alu = NmcAlu(p, stages=self.alu_stages)
        m.submodules.resp_buf = fifo = Queue(p.mem_response_layout, cap)

        # -- acceptance and credits --------------------------------------------------------------
        reads_out = Signal(range(cap + 1))     # READs accepted and not yet taken from resp
        credit_ok = Signal()
        m.d.comb += credit_ok.eq(reads_out != cap)
        is_read_in = self.req.payload.op == MemOp.READ
        hazard = Signal()                      # see the pipeline stages below
        m.d.comb += self.req.ready.eq(~hazard & (~is_read_in | credit_ok))
        accept = Signal()
        m.d.comb += accept.eq(self.req.valid & self.req.ready)
        pop = Signal()
        m.d.comb += pop.eq(self.resp.valid & self.resp.ready)
        read_in = accept & is_read_in
        with m.If(read_in & ~pop):
            m.d.sync += reads_out.eq(reads_out + 1)
        with m.Elif(pop & ~read_in):
            m.d.sync += reads_out.eq(reads_out - 1)

        # -- pipeline stages S1..SD: registered requests ------------------------------------------
        rmw = self.rmw_depth
        nst = self.write_stage
        st = []
        for j in range(1, nst + 1):
            st.append({
                "valid": Signal(name=f"s{j}_valid"),
                "op":    Signal(MemOp, name=f"s{j}_op"),
                "cls":   Signal(ReqClass, name=f"s{j}_cls"),
                "addr":  Signal(p.addr_width, name=f"s{j}_addr"),
                "data":  Signal(dw, name=f"s{j}_data"),
            })
        src = {"valid": accept, "op": self.req.payload.op, "cls": self.req.payload.cls,
               "addr": self.req.payload.addr, "data": self.req.payload.data}
        for stage in st:
            m.d.sync += [stage[k].eq(src[k]) for k in stage]
            src = stage
        s_fwd = st[rmw - 2]          # stage where the old value is completed by forwarding
        s_opd = st[rmw - 1]          # stage whose old value (register) enters the NmcAlu
        s_alu = st[nst - 1]          # last stage: STORE/UPDATE write the RAM at its end
        old = Signal(dw)             # registered old value of the request in stage s_opd

        # same-address hazard (alu_stages > 0 only): a write accepted in the last alu_stages
        # cycles has not produced its value in time for the forwarding of a new request
        m.d.comb += hazard.eq(0)
        for stage in st[:self.alu_stages]:
            with m.If(stage["valid"] & (stage["op"] != MemOp.READ)
                      & (stage["addr"] == self.req.payload.addr)):
                m.d.comb += hazard.eq(1)

        # RAM write done at the end of the last stage
        wen = Signal()
        wdata = Signal(dw)
        m.d.comb += [
            alu.a.eq(old),
            alu.b.eq(s_opd["data"]),
            wen.eq(s_alu["valid"] & (s_alu["op"] != MemOp.READ)),
            wdata.eq(Mux(s_alu["op"] == MemOp.UPDATE, alu.sum, s_alu["data"])),
        ]
        # writes done at the previous rmw-1 edges (index 0: the most recent)
        past = []
        prev = (wen, s_alu["addr"], wdata)
        for i in range(rmw - 1):
            w = (Signal(name=f"wl{i}_valid"), Signal(p.addr_width, name=f"wl{i}_addr"),
                 Signal(dw, name=f"wl{i}_data"))
            m.d.sync += [w[0].eq(prev[0]), w[1].eq(prev[1]), w[2].eq(prev[2])]
            past.append(w)
            prev = w

        # -- banks -------------------------------------------------------------------------------
        rdata = Signal(dw)
        bank_rdata = []
        for b in range(nb):
            mem = Memory(shape=unsigned(dw), depth=self._depth // nb, init=self._init[b::nb])
            m.submodules[f"bank{b}"] = mem
            rp = mem.read_port()                      # sync, non-transparent, always enabled
            wp = mem.write_port()
            m.d.comb += [
                rp.addr.eq(self.req.payload.addr[bbits:]),
                wp.addr.eq(s_alu["addr"][bbits:]),
                wp.data.eq(wdata),
                wp.en.eq(wen & (s_alu["addr"][:bbits] == b) if bbits else wen),
            ]
            if rmw == 3:                              # RAM output register (no logic before it)
                q = Signal(dw, name=f"bank{b}_q")
                m.d.sync += q.eq(rp.data)
                bank_rdata.append(q)
            else:
                bank_rdata.append(rp.data)
        if nb == 1:
            m.d.comb += rdata.eq(bank_rdata[0])
        else:
            with m.Switch(s_fwd["addr"][:bbits]):
                for b in range(nb):
                    with m.Case(b):
                        m.d.comb += rdata.eq(bank_rdata[b])

        # forwarding: the RAM read at the accepting edge k missed the writes at edges k..k+rmw-1:
        # the past ones (wl*) and the one of the request now in the last stage; the newest wins.
        old_next = Signal(dw)
        with m.If(wen & (s_alu["addr"] == s_fwd["addr"])):
            m.d.comb += old_next.eq(wdata)
        for w_valid, w_addr, w_data in past:
            with m.Elif(w_valid & (w_addr == s_fwd["addr"])):
                m.d.comb += old_next.eq(w_data)
        with m.Else():
            m.d.comb += old_next.eq(rdata)
        m.d.sync += old.eq(old_next)

        # -- READ response delay line: stage j is in cycle k+j; stage L-1 feeds the buffer -------
        stage_valid = s_fwd["valid"] & (s_fwd["op"] == MemOp.READ)
        stage_cls = s_fwd["cls"]
        stage_data = old_next
        if lat > rmw:
            stage_valid = s_opd["valid"] & (s_opd["op"] == MemOp.READ)
            stage_cls = s_opd["cls"]
            stage_data = old
            for j in range(rmw + 1, lat):
                v = Signal(name=f"d{j}_valid")
                c = Signal(ReqClass, name=f"d{j}_cls")
                d = Signal(dw, name=f"d{j}_data")
                m.d.sync += [v.eq(stage_valid), c.eq(stage_cls), d.eq(stage_data)]
                stage_valid, stage_cls, stage_data = v, c, d

        w_entry = Signal(p.mem_response_layout)
        m.d.comb += [
            w_entry.cls.eq(stage_cls),
            w_entry.data.eq(stage_data),
            fifo.w.payload.eq(w_entry),
            fifo.w.valid.eq(stage_valid),
        ]
        wiring.connect(m, fifo.r, wiring.flipped(self.resp))

        # -- occupancy ---------------------------------------------------------------------------
        writes = [stage["valid"] & (stage["op"] != MemOp.READ) for stage in st]
        m.d.comb += self.occupancy.eq(reads_out + sum(writes[1:], writes[0]))

        return m


EXPORTS = {
    "memory_model":      lambda: MemoryModel(T3Params()),
    # bf16 with the 3-stage adder: the configuration that meets 100 MHz on ECP5
    "memory_model_bf16": lambda: MemoryModel(T3Params(lane=LaneType.BF16), alu_stages=3),
}
