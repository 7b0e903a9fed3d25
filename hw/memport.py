"""The T3 unit's memory side: memory requests in, a standard AXI4 master out, NMC updates done here."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY
from .lib.queue import Queue
from .nmc import NmcAlu
from .params import MemOp, ReqClass, T3Params, _check_int

__all__ = ["MemPort", "axi_signature", "ID_COMPUTE", "ID_COMM", "ID_UPDATE_COMPUTE",
           "ID_UPDATE_COMM", "ID_WRITE_COMPUTE", "ID_WRITE_COMM"]

#: ``ARID`` of a compute-class READ and of a communication-class READ.
ID_COMPUTE, ID_COMM = 0, 1
#: ``ARID`` of the read half of a compute-class and of a communication-class UPDATE
#: (``ARID`` = 2 + class: bit 1 marks an UPDATE, bit 0 is the class).
ID_UPDATE_COMPUTE, ID_UPDATE_COMM = 2, 3
#: ``AWID`` of a compute-class and of a communication-class write (a STORE, or the write half of
#: an UPDATE): the class.
ID_WRITE_COMPUTE, ID_WRITE_COMM = 0, 1


def axi_signature(params):
    """The AXI4 bus of a :class:`MemPort` (and so of ``T3Core.m_axi``) for ``params``: byte
    addresses over ``2**addr_width`` beats, the beat width, 2-bit IDs (by request class and
    kind)."""
    return AXI4Signature(addr_width=params.addr_width + (params.data_width // 8 - 1).bit_length(),
                         data_width=params.data_width, id_width=2)


class MemPort(wiring.Component):
    """Memory requests (READ, STORE, UPDATE) to an AXI4 master, with near-memory *update* as a
    read-add-write issued on the AXI port.

    Each accepted request becomes single-beat AXI transactions (``AxLEN = 0``, ``AxSIZE`` = full
    beat, INCR, all ``WSTRB`` set) at byte address ``addr * data_width / 8``:

    * READ: one AR with ``ARID`` = :data:`ID_COMPUTE` or :data:`ID_COMM` by the request's class;
      the R beat is returned on ``compute_resp`` or ``comm_resp``.
    * STORE: one AW + W (``AWID`` = :data:`ID_WRITE_COMPUTE` or :data:`ID_WRITE_COMM` by class).
    * UPDATE: one AR (``ARID`` = :data:`ID_UPDATE_COMPUTE` or :data:`ID_UPDATE_COMM` by class);
      when its R beat arrives the lanes are added by :class:`~hw.nmc.NmcAlu` (``alu_stages``
      cycles) and the sum is written with one AW + W (``AWID`` by class, as a STORE's). The
      undefined ``op`` encoding 3 is executed as an UPDATE.

    **IDs.** Each class has its own IDs, so the AXI slave may reorder one class's traffic
    against the other's: a DRAM controller's FR-FCFS scheduler can then serve the GEMM's
    UPDATEs and the DMA's received UPDATEs in whatever order keeps its rows open, where one
    shared ID would make it alternate between their rows. Within an ID the slave keeps AXI's
    order, which the port relies on to match R beats and B responses to their requests.

    **Ordering (memory semantics).** The port behaves like a memory that executes the accepted
    requests one at a time in acceptance order, whatever order the AXI slave completes them in
    (AXI orders nothing between reads and writes, nor between IDs). A table of ``outstanding``
    slots holds the address of every accepted request until it completes (a READ: its R beat; a
    STORE or UPDATE: its B response). A request is held (``req.ready`` low) while its address is
    in a slot, unless both are READs. So an UPDATE never reads a value another write is about to
    change, and back-to-back UPDATEs to one address lose nothing: the second waits for the first's
    B response (a same-address round trip); UPDATEs to different addresses overlap freely.

    **Flow control.** ``rready`` and ``bready`` are always 1: a READ is accepted only while its
    class's response buffer (``resp_depth`` entries) has a free credit, so an R beat always has
    room, and the write queues hold ``outstanding`` entries, so an UPDATE's sum always has room.
    Nothing on the AXI side waits for ``compute_resp``/``comm_resp``.

    **Input register.** ``req`` is taken into a one-entry register, and the request is
    *accepted* (a slot taken, its transactions queued) from there, in the cycle after its
    handshake at the earliest. Whether it may go (a free slot, no same-address hazard) is
    computed a cycle ahead, from the slot table after that cycle's take and completions, so the
    slot search and the address compares end in registers: the timing-critical path of the
    unit ran from the arbiter's output through the compares to ``req.ready`` before. A hazard
    clears in the cycle after the R or B response that completes the conflicting slot, as it
    would with a combinational compare; a completed slot is taken again from the second cycle
    after its completion.

    Timing, when the AXI slave is always ready: a request handshaken on ``req`` in cycle *k*
    has its AR or AW/W valid from cycle *k+2* (:attr:`ISSUE_LATENCY`); an R beat taken in cycle
    *r* is registered, and its data is on ``*_resp`` from cycle *r+2* (UPDATE: the sum's AW/W
    from cycle *r+2+alu_stages*).

    Parameters
    ----------
    params : T3Params
        Uses ``data_width``, ``addr_width`` and ``lane``.
    outstanding : int
        Slots: requests accepted and not yet completed, in [2, 64]. Default 16.
    resp_depth : int or None
        Entries of each read-response buffer (READ credits per class), in [1, 64]; default
        ``outstanding``.
    alu_stages : int
        Pipeline depth of the NMC adder (0..3, see :class:`~hw.nmc.NmcAlu`). Default 0.

    Attributes
    ----------
    req : In(stream.Signature(params.mem_request_layout))
        Requests; ``op``, ``cls``, ``addr`` and ``data`` are used. ``req.ready`` depends on
        registers only (the input register is empty, or its request is accepted in this cycle):
        no path from ``req.payload``, from any AXI input or from the response streams' ``ready``.
    compute_resp, comm_resp : Out(stream.Signature(params.mem_response_layout))
        READ data of each class, in that class's acceptance order.
    m_axi : Out(AXI4Signature)
        The AXI4 master. Byte address width ``addr_width + log2(data_width / 8)``, ID width 2.
        ``BID`` bit 0 (the write's class) names the write a B response completes.
    occupancy : Out(range(outstanding + 1))
        Requests accepted and not yet completed (slots in use), from a register: a request
        counts from the cycle after it is accepted (leaves the input register) until the cycle
        after its R beat or B response.
        This is the memory queue occupancy T3-MCA's threshold compares: it includes the requests
        queued and in service in the AXI slave.
    err_resp : Out(1)
        High for one cycle after an R beat or B response with a RESP other than OKAY (the data
        is still delivered).
    """

    #: Cycles from a request's ``req`` handshake to its AR (or AW/W) being valid.
    ISSUE_LATENCY = 2
    #: Cycles from an R beat's handshake to its data being valid on ``compute_resp``/``comm_resp``.
    RESP_LATENCY = 2

    def __init__(self, params, *, outstanding=16, resp_depth=None, alu_stages=0):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if resp_depth is None:
            resp_depth = outstanding
        _check_int("outstanding", outstanding, 2, 64)
        _check_int("resp_depth", resp_depth, 1, 64)
        _check_int("alu_stages", alu_stages, 0, 3)
        if params.data_width & (params.data_width - 1):
            raise ValueError(f"MemPort needs a power-of-two data_width (an AXI4 bus), "
                             f"not {params.data_width}")
        self._params = params
        self.outstanding = outstanding
        self.resp_depth = resp_depth
        self.alu_stages = alu_stages
        self.byte_shift = (params.data_width // 8 - 1).bit_length()
        self.axi_signature = axi_signature(params)
        super().__init__({
            "req":          In(stream.Signature(params.mem_request_layout)),
            "compute_resp": Out(stream.Signature(params.mem_response_layout)),
            "comm_resp":    Out(stream.Signature(params.mem_response_layout)),
            "m_axi":        Out(self.axi_signature),
            "occupancy":    Out(range(outstanding + 1)),
            "err_resp":     Out(1),
        })

    @property
    def params(self):
        return self._params

    def elaborate(self, platform):
        m = Module()
        p = self._params
        n = self.outstanding
        aw = p.addr_width
        dw = p.data_width
        sbits = max(1, (n - 1).bit_length())
        axi = self.m_axi
        incoming = self.req.payload

        # -- input register ------------------------------------------------------------------------
        # ``req`` is taken into a one-entry register; the request is *accepted* (a slot taken, its
        # transactions queued) from there. Whether it may be accepted (a free slot, no address
        # hazard) is computed one cycle ahead into registers, so neither the slot search nor the
        # address compare is on a path to ``req.ready`` or to the queues.
        in_layout = data.StructLayout({"op": MemOp, "cls": ReqClass, "addr": unsigned(aw),
                                       "data": unsigned(dw)})
        in_valid = Signal()
        in_r = Signal(in_layout)
        in_hazard = Signal()                  # in_r's address is in a slot (see hazard_of)
        free_any = Signal(init=1)             # alloc_idx names a free slot
        alloc_idx = Signal(sbits)
        req = in_r                            # the request being accepted

        # -- slot table --------------------------------------------------------------------------
        slot_valid = [Signal(name=f"slot{i}_valid") for i in range(n)]
        slot_addr = [Signal(aw, name=f"slot{i}_addr") for i in range(n)]
        slot_write = [Signal(name=f"slot{i}_write") for i in range(n)]   # STORE/UPDATE
        is_read = req.op == MemOp.READ

        # -- queues --------------------------------------------------------------------------------
        ar_layout = data.StructLayout({"id": 2, "addr": unsigned(aw)})
        aw_layout = data.StructLayout({"slot": unsigned(sbits), "addr": unsigned(aw), "id": 1})
        upd_layout = data.StructLayout({"slot": unsigned(sbits), "addr": unsigned(aw),
                                        "data": unsigned(dw)})
        resp_layout = p.mem_response_layout
        m.submodules.ar_q = ar_q = Queue(ar_layout, n)
        m.submodules.aw_q = aw_q = Queue(aw_layout, n)
        m.submodules.w_q = w_q = Queue(dw, n)
        m.submodules.b0_q = b0_q = Queue(sbits, n)        # ID_WRITE_COMPUTE slots, AW order
        m.submodules.b1_q = b1_q = Queue(sbits, n)        # ID_WRITE_COMM slots, AW order
        m.submodules.rc_q = rc_q = Queue(sbits, n)        # ID_COMPUTE slots
        m.submodules.rm_q = rm_q = Queue(sbits, n)        # ID_COMM slots
        m.submodules.ruc_q = ruc_q = Queue(upd_layout, n)  # ID_UPDATE_COMPUTE
        m.submodules.rum_q = rum_q = Queue(upd_layout, n)  # ID_UPDATE_COMM
        m.submodules.resp_c = resp_c = Queue(resp_layout, self.resp_depth)
        m.submodules.resp_m = resp_m = Queue(resp_layout, self.resp_depth)

        # -- R input register and the NMC pipeline -------------------------------------------------
        rq_valid = Signal()
        rq_id = Signal(2)
        rq_data = Signal(dw)
        rq_err = Signal()
        rq_upd = Signal()             # rq_valid & rq_id is an UPDATE's, decoded into a register
        m.d.comb += axi.rready.eq(1)
        m.d.sync += [
            rq_valid.eq(axi.rvalid),
            rq_id.eq(axi.rid),
            rq_upd.eq(axi.rvalid & axi.rid[1]),
            rq_data.eq(axi.rdata),
            rq_err.eq(axi.rvalid & (axi.rresp != RESP_OKAY)),
        ]
        m.submodules.alu = alu = NmcAlu(p, stages=self.alu_stages)
        upd_head = Signal(upd_layout)
        upd_cls = rq_id[0]            # the UPDATE's class (ID_UPDATE_COMM = 3)
        m.d.comb += upd_head.eq(Mux(upd_cls, rum_q.r.payload, ruc_q.r.payload))
        upd_in = rq_upd
        m.d.comb += [alu.a.eq(rq_data), alu.b.eq(upd_head.data),
                     ruc_q.r.ready.eq(upd_in & ~upd_cls), rum_q.r.ready.eq(upd_in & upd_cls)]
        u_valid, u_slot, u_addr, u_cls = upd_in, upd_head.slot, upd_head.addr, upd_cls
        for j in range(self.alu_stages):
            v = Signal(name=f"alu{j + 1}_valid")
            s = Signal(sbits, name=f"alu{j + 1}_slot")
            a = Signal(aw, name=f"alu{j + 1}_addr")
            c = Signal(name=f"alu{j + 1}_cls")
            m.d.sync += [v.eq(u_valid), s.eq(u_slot), a.eq(u_addr), c.eq(u_cls)]
            u_valid, u_slot, u_addr, u_cls = v, s, a, c
        # An update's sum is written into the write queues in the cycle it leaves the adder; a
        # STORE is accepted only in the other cycles (both are known from registers).
        upd_push = u_valid

        # -- acceptance ----------------------------------------------------------------------------
        reads_c = Signal(range(self.resp_depth + 1))
        reads_m = Signal(range(self.resp_depth + 1))
        # reads_x == resp_depth, kept in registers (the counters' compare is off the accept path)
        full_c = Signal(name="reads_c_full")
        full_m = Signal(name="reads_m_full")
        credit_ok = Mux(req.cls == ReqClass.COMM, ~full_m, ~full_c)
        # the undefined encoding 3 is executed as an UPDATE (bit 1 set)
        is_store = req.op == MemOp.STORE
        is_update = req.op.as_value()[1]
        op_ok = Signal()
        with m.Switch(req.op):
            with m.Case(MemOp.READ):
                m.d.comb += op_ok.eq(credit_ok)
            with m.Case(MemOp.STORE):
                m.d.comb += op_ok.eq(~upd_push)
            with m.Default():
                m.d.comb += op_ok.eq(1)
        accept = Signal()
        m.d.comb += accept.eq(in_valid & free_any & ~in_hazard & op_ok)
        load = self.req.valid & self.req.ready
        m.d.comb += self.req.ready.eq(~in_valid | accept)
        with m.If(load):
            m.d.sync += [in_valid.eq(1), in_r.op.eq(incoming.op), in_r.cls.eq(incoming.cls),
                         in_r.addr.eq(incoming.addr), in_r.data.eq(incoming.data)]
        with m.Elif(accept):
            m.d.sync += in_valid.eq(0)
        acc_read = accept & is_read
        acc_store = accept & is_store
        acc_update = accept & is_update

        ar_in = Signal(ar_layout)
        m.d.comb += [
            ar_in.addr.eq(req.addr),
            ar_in.id.eq(Cat(req.cls.as_value(), acc_update)),     # see the ID_* constants
            ar_q.w.payload.eq(ar_in),
            ar_q.w.valid.eq(acc_read | acc_update),
            rc_q.w.payload.eq(alloc_idx),
            rc_q.w.valid.eq(acc_read & (req.cls == ReqClass.COMPUTE)),
            rm_q.w.payload.eq(alloc_idx),
            rm_q.w.valid.eq(acc_read & (req.cls == ReqClass.COMM)),
        ]
        upd_in_entry = Signal(upd_layout)
        m.d.comb += [
            upd_in_entry.slot.eq(alloc_idx),
            upd_in_entry.addr.eq(req.addr),
            upd_in_entry.data.eq(req.data),
            ruc_q.w.payload.eq(upd_in_entry),
            ruc_q.w.valid.eq(acc_update & (req.cls == ReqClass.COMPUTE)),
            rum_q.w.payload.eq(upd_in_entry),
            rum_q.w.valid.eq(acc_update & (req.cls == ReqClass.COMM)),
        ]

        # writes: a STORE at acceptance, an UPDATE's sum when it leaves the adder
        aw_in = Signal(aw_layout)
        m.d.comb += [
            aw_in.slot.eq(Mux(upd_push, u_slot, alloc_idx)),
            aw_in.addr.eq(Mux(upd_push, u_addr, req.addr)),
            aw_in.id.eq(Mux(upd_push, u_cls, req.cls.as_value())),
            aw_q.w.payload.eq(aw_in),
            aw_q.w.valid.eq(upd_push | acc_store),
            w_q.w.payload.eq(Mux(upd_push, alu.sum, req.data)),
            w_q.w.valid.eq(upd_push | acc_store),
            b0_q.w.payload.eq(aw_in.slot),
            b0_q.w.valid.eq((upd_push | acc_store) & ~aw_in.id),
            b1_q.w.payload.eq(aw_in.slot),
            b1_q.w.valid.eq((upd_push | acc_store) & aw_in.id),
        ]

        # -- AXI request channels -------------------------------------------------------------------
        ar_head = Signal(ar_layout)
        aw_head = Signal(aw_layout)
        m.d.comb += [
            ar_head.eq(ar_q.r.payload),
            axi.arvalid.eq(ar_q.r.valid),
            axi.arid.eq(ar_head.id),
            axi.araddr.eq(ar_head.addr << self.byte_shift),
            axi.arlen.eq(0),
            axi.arsize.eq(self.axi_signature.size),
            axi.arburst.eq(BURST_INCR),
            ar_q.r.ready.eq(axi.arready),
            aw_head.eq(aw_q.r.payload),
            axi.awvalid.eq(aw_q.r.valid),
            axi.awid.eq(aw_head.id),
            axi.awaddr.eq(aw_head.addr << self.byte_shift),
            axi.awlen.eq(0),
            axi.awsize.eq(self.axi_signature.size),
            axi.awburst.eq(BURST_INCR),
            aw_q.r.ready.eq(axi.awready),
            axi.wvalid.eq(w_q.r.valid),
            axi.wdata.eq(w_q.r.payload),
            axi.wstrb.eq(Const((1 << (dw // 8)) - 1, dw // 8)),
            axi.wlast.eq(1),
            w_q.r.ready.eq(axi.wready),
            axi.bready.eq(1),
            b0_q.r.ready.eq(axi.bvalid & ~axi.bid[0]),
            b1_q.r.ready.eq(axi.bvalid & axi.bid[0]),
        ]

        # -- read responses ---------------------------------------------------------------------------
        for q, slots, cls, rid, out, cnt, acc, full in (
                (resp_c, rc_q, ReqClass.COMPUTE, ID_COMPUTE, self.compute_resp, reads_c,
                 acc_read & (req.cls == ReqClass.COMPUTE), full_c),
                (resp_m, rm_q, ReqClass.COMM, ID_COMM, self.comm_resp, reads_m,
                 acc_read & (req.cls == ReqClass.COMM), full_m)):
            entry = Signal(resp_layout)
            hit = rq_valid & (rq_id == rid)
            m.d.comb += [
                entry.cls.eq(cls),
                entry.data.eq(rq_data),
                q.w.payload.eq(entry),
                q.w.valid.eq(hit),
                slots.r.ready.eq(hit),
                out.valid.eq(q.r.valid),
                out.payload.eq(q.r.payload),
                q.r.ready.eq(out.ready),
            ]
            pop = out.valid & out.ready
            with m.If(acc & ~pop):
                m.d.sync += [cnt.eq(cnt + 1), full.eq(cnt == self.resp_depth - 1)]
            with m.Elif(pop & ~acc):
                m.d.sync += [cnt.eq(cnt - 1), full.eq(0)]

        # -- slot bookkeeping ----------------------------------------------------------------------
        free_r = Signal()
        free_r_idx = Signal(sbits)
        with m.If(rq_valid & (rq_id == ID_COMPUTE)):
            m.d.comb += [free_r.eq(1), free_r_idx.eq(rc_q.r.payload)]
        with m.Elif(rq_valid & (rq_id == ID_COMM)):
            m.d.comb += [free_r.eq(1), free_r_idx.eq(rm_q.r.payload)]
        free_b = axi.bvalid
        free_b_idx = Mux(axi.bid[0], b1_q.r.payload, b0_q.r.payload)
        freeing = [Signal(name=f"slot{i}_freeing") for i in range(n)]
        taking = [Signal(name=f"slot{i}_taking") for i in range(n)]
        for i in range(n):
            m.d.comb += [taking[i].eq(accept & (alloc_idx == i)),
                         freeing[i].eq((free_r & (free_r_idx == i)) | (free_b & (free_b_idx == i)))]
            with m.If(taking[i]):
                m.d.sync += [slot_valid[i].eq(1), slot_addr[i].eq(req.addr),
                             slot_write[i].eq(~is_read)]
            with m.Elif(freeing[i]):
                m.d.sync += slot_valid[i].eq(0)
        # next cycle's free slot: the lowest one free now and not taken in this cycle (a slot
        # completed in this cycle is offered from the cycle after next: keeps the AXI response
        # inputs off this search)
        # Searched twice, with and without alloc_idx (taken if ``accept``), and then selected by
        # ``accept``: the accept decision is off the priority search.
        picks = []
        for tag, skip in (("kept", None), ("taken", alloc_idx)):
            any_ = Signal(name=f"next_any_{tag}")
            idx = Signal(sbits, name=f"next_idx_{tag}")
            for i in reversed(range(n)):      # the lowest free slot wins (the last assignment)
                free = ~slot_valid[i] if skip is None else ~slot_valid[i] & (skip != i)
                with m.If(free):
                    m.d.comb += [any_.eq(1), idx.eq(i)]
            picks.append((any_, idx))
        m.d.sync += [free_any.eq(Mux(accept, picks[1][0], picks[0][0])),
                     alloc_idx.eq(Mux(accept, picks[1][1], picks[0][1]))]

        def hazard_of(addr, read):
            """``addr`` is in a slot after this cycle (a read only conflicts with a write)."""
            hits = [slot_valid[i] & ~freeing[i] & (slot_addr[i] == addr) & (slot_write[i] | ~read)
                    for i in range(n)]
            hits.append(accept & (in_r.addr == addr) & (~is_read | ~read))
            return Cat(*hits).any()

        m.d.sync += in_hazard.eq(Mux(load, hazard_of(incoming.addr, incoming.op == MemOp.READ),
                                     hazard_of(in_r.addr, is_read)))
        occ = Signal(range(n + 1))
        m.d.sync += occ.eq(occ + accept - free_r - free_b)
        m.d.comb += self.occupancy.eq(occ)
        m.d.sync += self.err_resp.eq(rq_err | (axi.bvalid & (axi.bresp != RESP_OKAY)))
        return m


EXPORTS = {"mem_port": lambda: MemPort(T3Params())}
