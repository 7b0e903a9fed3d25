"""The ideal memory behind an AXI4 slave port: fixed latency, no DRAM timing."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, RESP_SLVERR
from .lib.queue import Queue
from .memory import check_init
from .params import T3Params, _check_int
from .simram import sim_ram

__all__ = ["AxiSram"]


class AxiSram(wiring.Component):
    """On-chip RAM with a fixed read latency behind an AXI4 slave port: the *ideal memory*.

    Storage is ``2**addr_width`` beats of ``data_width`` bits in one
    :class:`~amaranth.lib.memory.Memory` with a read port and a write port (a simple dual-port
    block RAM), so a read beat and a write beat are served in the same cycle: **one read beat and
    one write beat per cycle**, read latency ``params.mem_latency``, no row buffers, no refresh, no
    scheduler. What a request costs never depends on the others: nothing here interferes.
    Contents have no reset (``init``, zeros by default).

    AXI4 behaviour: INCR bursts of up to 256 full-width beats; one read burst and one write burst
    in service at a time; R beats return in AR order (IDs echoed, never reordered), B responses in
    AW order. ``WSTRB`` must be all ones (the RAM has no byte enables). A FIXED or WRAP burst, or a
    beat with a partial ``WSTRB``, is executed as INCR with every byte written and answered with
    SLVERR (never a hang). Beat addresses wrap at the memory size. A read and a write of one
    address in the same cycle return the old data (AXI orders nothing between the two).

    Timing (every channel ready): an AR handshaken in cycle *k* has its first R beat valid in
    cycle *k + mem_latency +* :attr:`READ_EXTRA`, then one beat per cycle. An AW handshaken in
    cycle *k* takes W beats from cycle *k + 1*; the B response is valid the cycle after the last
    W beat (:attr:`WRITE_RESPONSE_LATENCY` after the AW for a single beat). ``arready``/``awready``
    are high when no burst of their kind is in service or the one in service takes its last beat
    in this cycle, so back-to-back single-beat transactions run at one per cycle on each side.
    R back-pressure: at most ``mem_latency + 1`` read beats are in flight (credits), so a stalled
    ``rready`` loses nothing.

    Parameters
    ----------
    params : T3Params
        Uses ``data_width`` (a power of two), ``addr_width`` and ``mem_latency``.
    id_width : int
        AXI ID width, in [1, 16]. Default 2 (that of :class:`~hw.memport.MemPort`).
    init : iterable of int, optional
        Initial contents, beat ``i`` at beat address ``i``.
    uninitialized : bool
        Store the beats in :func:`hw.simram.sim_ram` (a Verilog array with no initial contents,
        for simulation at scale: no per-word initial values in the exported Verilog) instead of
        an Amaranth ``Memory``; every beat must be written before it is read. Not with
        ``init``. Default False.

    Attributes
    ----------
    s_axi : In(AXI4Signature)
        The slave port; byte address width ``addr_width + log2(data_width / 8)``.
    occupancy : Out(range(mem_latency + 2))
        Read beats issued to the RAM and not yet taken from R.
    """

    #: A read's latency beyond ``mem_latency``: an AR handshaken in cycle *k* has its first R beat
    #: valid in cycle *k + mem_latency + READ_EXTRA*.
    READ_EXTRA = 1
    #: Cycles from an AW handshake to its B response being valid, for a single-beat write whose
    #: W beat is valid from the AW handshake on.
    WRITE_RESPONSE_LATENCY = 2

    def __init__(self, params, *, id_width=2, init=None, uninitialized=False):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        _check_int("id_width", id_width, 1, 16)
        if params.data_width & (params.data_width - 1):
            raise ValueError(f"AxiSram needs a power-of-two data_width, not {params.data_width}")
        depth = 1 << params.addr_width
        init = check_init(init, depth)
        if not isinstance(uninitialized, bool):
            raise TypeError(f"uninitialized must be a bool, not {uninitialized!r}")
        if uninitialized and init:
            raise ValueError("init and uninitialized=True exclude each other")
        self._uninitialized = uninitialized
        self._params = params
        self._init = init
        self.byte_shift = (params.data_width // 8 - 1).bit_length()
        self.axi_signature = AXI4Signature(addr_width=params.addr_width + self.byte_shift,
                                           data_width=params.data_width, id_width=id_width)
        super().__init__({
            "s_axi":     In(self.axi_signature),
            "occupancy": Out(range(params.mem_latency + 2)),
        })

    @property
    def params(self):
        return self._params

    @property
    def read_latency(self):
        """Cycles from an AR handshake to its first R beat being valid."""
        return self._params.mem_latency + self.READ_EXTRA

    def elaborate(self, platform):
        m = Module()
        p = self._params
        axi = self.s_axi
        aw, dw, lat = p.addr_width, p.data_width, p.mem_latency
        idw = self.axi_signature.id_width
        sh = self.byte_shift

        if self._uninitialized:
            rp, wp = sim_ram(m, "ram", width=dw, depth=1 << aw)
        else:
            m.submodules.ram = ram = Memory(shape=unsigned(dw), depth=1 << aw, init=self._init)
            rp = ram.read_port()      # synchronous, data the cycle after the address
            wp = ram.write_port()

        # -- reads: a burst engine, the RAM, a delay line and the R buffer ------------------------
        cap = lat + 1
        side_layout = data.StructLayout({"id": unsigned(idw), "last": 1, "err": 1})
        m.submodules.r_buf = r_buf = Queue(dw + side_layout.size, cap)
        in_flight = Signal(range(cap + 1))
        r_busy, r_addr, r_left, r_id, r_err = (Signal(), Signal(aw), Signal(8), Signal(idw),
                                               Signal())
        issue = r_busy & (in_flight != cap)
        r_done = issue & (r_left == 0)
        m.d.comb += [axi.arready.eq(~r_busy | r_done), rp.addr.eq(r_addr)]
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += [
                r_busy.eq(1),
                r_addr.eq(axi.araddr[sh:sh + aw]),
                r_left.eq(axi.arlen),
                r_id.eq(axi.arid),
                r_err.eq(axi.arburst != BURST_INCR),
            ]
        with m.Elif(issue):
            m.d.sync += [r_addr.eq(r_addr + 1), r_left.eq(r_left - 1)]
            with m.If(r_done):
                m.d.sync += r_busy.eq(0)
        pop = axi.rvalid & axi.rready
        m.d.sync += in_flight.eq(in_flight + issue - pop)
        m.d.comb += self.occupancy.eq(in_flight)

        # issue in cycle k -> RAM data in k+1 -> (lat - 2) registers -> buffer written at the end
        # of cycle k+lat-1 -> R valid from cycle k+lat
        side = Signal(side_layout)
        m.d.comb += [side.id.eq(r_id), side.last.eq(r_left == 0), side.err.eq(r_err)]
        v1, s1 = Signal(), Signal(side_layout)
        m.d.sync += [v1.eq(issue), s1.eq(side)]
        valid, meta, rdata = v1, s1, rp.data
        for j in range(lat - 2):
            v = Signal(name=f"rd{j}_valid")
            s = Signal(side_layout, name=f"rd{j}_side")
            d = Signal(dw, name=f"rd{j}_data")
            m.d.sync += [v.eq(valid), s.eq(meta), d.eq(rdata)]
            valid, meta, rdata = v, s, d
        head = Signal(side_layout)
        m.d.comb += [
            r_buf.w.payload.eq(Cat(rdata, meta)),
            r_buf.w.valid.eq(valid),
            head.eq(r_buf.r.payload[dw:]),
            axi.rvalid.eq(r_buf.r.valid),
            axi.rdata.eq(r_buf.r.payload[:dw]),
            axi.rid.eq(head.id),
            axi.rlast.eq(head.last),
            axi.rresp.eq(Mux(head.err, RESP_SLVERR, RESP_OKAY)),
            r_buf.r.ready.eq(axi.rready),
        ]

        # -- writes ----------------------------------------------------------------------------------
        m.submodules.b_q = b_q = Queue(idw + 1, 2)
        w_busy, w_addr, w_id, w_err = Signal(), Signal(aw), Signal(idw), Signal()
        strb_all = (1 << (dw // 8)) - 1
        bad_strb = axi.wstrb != strb_all
        take_w = w_busy & axi.wvalid & (b_q.w.ready | ~axi.wlast)
        w_done = take_w & axi.wlast
        m.d.comb += [
            axi.awready.eq(~w_busy | w_done),
            axi.wready.eq(take_w),
            wp.addr.eq(w_addr),
            wp.data.eq(axi.wdata),
            wp.en.eq(take_w),
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
            with m.If(bad_strb):
                m.d.sync += w_err.eq(1)
        m.d.comb += [
            b_q.w.payload.eq(Cat(w_id, w_err | bad_strb)),
            b_q.w.valid.eq(w_done),
            axi.bvalid.eq(b_q.r.valid),
            axi.bid.eq(b_q.r.payload[:idw]),
            axi.bresp.eq(Mux(b_q.r.payload[idw], RESP_SLVERR, RESP_OKAY)),
            b_q.r.ready.eq(axi.bready),
        ]
        return m


EXPORTS = {"axi_sram": lambda: AxiSram(T3Params())}
