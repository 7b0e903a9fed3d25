"""The ideal memory behind an AXI4 slave port: fixed latency, one beat per cycle, no DRAM timing."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, RESP_SLVERR
from .memory import MemoryModel
from .params import MemOp, T3Params

__all__ = ["AxiSram"]


class AxiSram(wiring.Component):
    """Banked on-chip RAM with a fixed read latency behind an AXI4 slave port.

    The stand-in for HBM of the project's first version, now behind a standard port: storage and
    timing are those of :class:`~hw.memory.MemoryModel` (``2**addr_width`` beats, ``banks``
    interleaved banks, read latency ``params.mem_latency``, **one beat per cycle in all**: a read
    beat and a write beat compete for it, round-robin). No row buffers, no refresh, no scheduler:
    what a request costs does not depend on the ones before it.

    AXI4 behaviour: INCR bursts of up to 256 beats of full width; one read burst and one write
    burst in service at a time; ``WSTRB`` must be all ones (the RAM has no byte enables); R beats
    return in AR order (IDs are echoed, never reordered), B responses in AW order. A FIXED or WRAP
    burst, or a beat with a partial ``WSTRB``, is executed as INCR with all bytes written and
    answered with ``SLVERR`` (never a hang). A beat address wraps at the memory size.

    Timing (every channel ready): an AR handshaken in cycle *k* has its first R beat valid in
    cycle *k + 1 + mem_latency*, then one beat per cycle. An AW handshaken in cycle *k* takes W beats
    from cycle *k + 1*; the B response is valid the cycle after the last W beat. ``arready`` and
    ``awready`` are high when no burst of their kind is in service or the one in service takes its
    last beat in this cycle, so back-to-back single-beat transactions run at one per cycle.

    Parameters
    ----------
    params : T3Params
        Uses ``data_width``, ``addr_width`` and ``mem_latency``.
    id_width : int
        AXI ID width. Default 2 (that of :class:`~hw.memport.MemPort`).
    banks, init :
        As for :class:`~hw.memory.MemoryModel`.

    Attributes
    ----------
    s_axi : In(AXI4Signature)
        The slave port; byte address width ``addr_width + log2(data_width / 8)``.
    occupancy : Out
        The inner :class:`~hw.memory.MemoryModel`'s count of beats in flight.
    """

    def __init__(self, params, *, id_width=2, banks=4, init=None):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(id_width, int) or isinstance(id_width, bool) or not 1 <= id_width <= 16:
            raise ValueError(f"id_width must be an integer in [1, 16], not {id_width!r}")
        if params.data_width & (params.data_width - 1):
            raise ValueError(f"AxiSram needs a power-of-two data_width, not {params.data_width}")
        self._params = params
        self._mem = MemoryModel(params, banks=banks, init=init)
        self.byte_shift = (params.data_width // 8 - 1).bit_length()
        self.axi_signature = AXI4Signature(addr_width=params.addr_width + self.byte_shift,
                                           data_width=params.data_width, id_width=id_width)
        super().__init__({
            "s_axi":     In(self.axi_signature),
            "occupancy": Out(self._mem.occupancy.shape()),
        })

    @property
    def params(self):
        return self._params

    def elaborate(self, platform):
        m = Module()
        p = self._params
        axi = self.s_axi
        aw = p.addr_width
        idw = self.axi_signature.id_width
        m.submodules.mem = mem = self._mem
        m.d.comb += self.occupancy.eq(mem.occupancy)
        sh = self.byte_shift

        # -- burst state ---------------------------------------------------------------------------
        r_busy, r_addr, r_left, r_id, r_err = (Signal(), Signal(aw), Signal(8), Signal(idw),
                                               Signal())
        w_busy, w_addr, w_id, w_err = Signal(), Signal(aw), Signal(idw), Signal()

        # one read beat or one write beat enters the memory per cycle
        m.submodules.b_q = b_q = SyncFIFO(width=idw + 1, depth=2)
        want_r = r_busy
        want_w = w_busy & axi.wvalid & (b_q.w_rdy | ~axi.wlast)   # room for the B response
        last_w = Signal()                            # the last grant was a write
        grant_r = Signal()
        grant_w = Signal()
        m.d.comb += [
            grant_w.eq(want_w & (~want_r | ~last_w)),
            grant_r.eq(want_r & ~grant_w),
        ]
        mem_ok = mem.req.ready                       # READ credits (STORE is always taken)
        take_r = grant_r & mem_ok
        take_w = grant_w
        with m.If(take_r | take_w):
            m.d.sync += last_w.eq(take_w)

        m.d.comb += mem.req.valid.eq(take_r | take_w)
        with m.If(take_w):
            m.d.comb += [
                mem.req.payload.op.eq(MemOp.STORE),
                mem.req.payload.addr.eq(w_addr),
                mem.req.payload.data.eq(axi.wdata),
            ]
        with m.Else():
            m.d.comb += [
                mem.req.payload.op.eq(MemOp.READ),
                mem.req.payload.addr.eq(r_addr),
            ]

        # -- read address channel ----------------------------------------------------------------
        r_done = take_r & (r_left == 0)
        m.d.comb += axi.arready.eq(~r_busy | r_done)
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += [
                r_busy.eq(1),
                r_addr.eq(axi.araddr[sh:sh + aw]),
                r_left.eq(axi.arlen),
                r_id.eq(axi.arid),
                r_err.eq(axi.arburst != BURST_INCR),
            ]
        with m.Elif(take_r):
            m.d.sync += [r_addr.eq(r_addr + 1), r_left.eq(r_left - 1)]
            with m.If(r_done):
                m.d.sync += r_busy.eq(0)

        # the ID, LAST and RESP of every read beat in the memory, popped with its data
        side_layout = data.StructLayout({"id": unsigned(idw), "last": 1, "err": 1})
        m.submodules.side = side = SyncFIFO(width=side_layout.size,
                                            depth=mem.resp_buffer_depth + p.mem_latency + 1)
        side_in = Signal(side_layout)
        side_out = Signal(side_layout)
        m.d.comb += [
            side_in.id.eq(r_id),
            side_in.last.eq(r_left == 0),
            side_in.err.eq(r_err),
            side.w_data.eq(side_in),
            side.w_en.eq(take_r),
            side_out.eq(side.r_data),
            axi.rvalid.eq(mem.resp.valid),
            axi.rdata.eq(mem.resp.payload.data),
            axi.rid.eq(side_out.id),
            axi.rlast.eq(side_out.last),
            axi.rresp.eq(side_out.err * RESP_SLVERR),
            mem.resp.ready.eq(axi.rready),
            side.r_en.eq(mem.resp.valid & axi.rready),
        ]

        # -- write channels ------------------------------------------------------------------------
        strb_all = (1 << (p.data_width // 8)) - 1
        w_done = take_w & axi.wlast
        m.d.comb += [
            axi.awready.eq(~w_busy | w_done),
            axi.wready.eq(take_w),
        ]
        with m.If(axi.awvalid & axi.awready):
            m.d.sync += [
                w_busy.eq(1),
                w_addr.eq(axi.awaddr[sh:sh + aw]),
                w_id.eq(axi.awid),
                w_err.eq(axi.awburst != BURST_INCR),
            ]
        with m.Elif(take_w):
            m.d.sync += w_addr.eq(w_addr + 1)
            with m.If(w_done):
                m.d.sync += w_busy.eq(0)
            with m.If(axi.wstrb != strb_all):
                m.d.sync += w_err.eq(1)
        m.d.comb += [
            b_q.w_data.eq(Cat(w_id, w_err | (axi.wstrb != strb_all))),
            b_q.w_en.eq(w_done),
            axi.bvalid.eq(b_q.r_rdy),
            axi.bid.eq(b_q.r_data[:idw]),
            axi.bresp.eq(Mux(b_q.r_data[idw], RESP_SLVERR, RESP_OKAY)),
            b_q.r_en.eq(axi.bready),
        ]
        return m


EXPORTS = {"axi_sram": lambda: AxiSram(T3Params())}
