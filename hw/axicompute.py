"""AXI4 slave front end of the T3 unit's compute port: a GPU-side master's bursts in, the unit's
single-beat compute requests out.

The unit's native compute port (:class:`hw.unit.T3Unit` ``compute``/``compute_resp``) takes one
beat per request, in order, with the tracker metadata in the request. This block lets an AXI4
master drive it: INCR bursts of full-width beats, IDs, ``WSTRB``, and the metadata in ``AWUSER``.

``AWUSER`` bit layout (:func:`awuser_layout`, ``tile_width + 3 + dev_width`` bits), one value
per burst:

==========================  ===========  =================================================
bits                        field        meaning
==========================  ===========  =================================================
``[tile_width-1:0]``        ``tile``     GEMM output tile id the beats land on
``[tile_width]``            ``tracked``  1: the tracker counts every beat of the burst
``[tile_width+1]``          ``update``   0: STORE (overwrite); 1: UPDATE (near-memory add)
``[tile_width+2]``          ``remote``   1: the burst goes to device ``dst_dev``, not here
``[.. +dev_width]``         ``dst_dev``  the destination device of a remote burst
==========================  ===========  =================================================

Remote writes (the paper's step 1: the chunk a device originates goes straight to the
neighbour as remote updates). A burst with ``remote`` set becomes one link packet on ``remote``:
a header (``dst_dev``, ``op`` = STORE/UPDATE, ``length`` = the burst's beats, ``dst_addr`` = its
beat address, ``tile``; the unit fills in ``src_dev``) and the W beats as data beats. It does not
touch this device's memory; at the destination the beats are tracked writes (``tracked`` is
ignored: a link write is always tracked). A remote burst longer than the header's ``length``
field allows (``2**len_width - 1`` beats) is refused. The B response is sent once the last beat
has entered the link path.

Writes. Each W beat of an accepted burst becomes one STORE or UPDATE request at the next beat
address. The B response is sent once the burst's last beat has entered the unit's compute stream:
the write is *posted*. The unit keeps its compute requests in order and its memory port orders a
read behind an earlier write of the same address, so a read issued after the B sees the write.

Reads. Each AR burst becomes ``ARLEN + 1`` READ requests; the unit returns read data in request
order, and R carries it back with the burst's ``ARID`` and ``RLAST`` on its last beat. At most
``read_bursts`` read bursts are outstanding (AR accepted, last R beat not yet taken).

Bad input answers SLVERR and loses nothing: a burst with ``AxBURST`` other than INCR, ``AxSIZE``
other than the full beat, an address not aligned to a beat, or beats past the end of the memory
issues no request at all (its W beats are taken and dropped; its R beats return zeros); a W beat
whose ``WSTRB`` is not all ones (the unit's memory writes whole beats, and an UPDATE adds whole
lanes) is dropped and its burst's B is SLVERR (in a remote burst, whose packet length is already
sent, the beat goes with its disabled bytes zeroed, and B is SLVERR); a burst whose ``WLAST`` is not on beat ``AWLEN``
answers SLVERR (the beat count is taken from ``AWLEN``; the beats after an early ``WLAST`` are
taken and dropped). ``err`` pulses for one cycle with every
SLVERR response, for an error counter.

Timing: the requests leave through a :class:`~hw.lib.skid.SkidBuffer` (registered ``valid`` and
payload; ``ready`` not combinationally fed back); one request per cycle is sustained within a
burst. When a write beat and a read beat both wait, they alternate. ``AWREADY`` and ``ARREADY``
come from registers (the channel is idle, and for AR the tag queue has room): a burst's AW is
taken in the cycle after the previous burst's last W beat, an AR in the cycle after the previous
read burst's last request, so back-to-back bursts of a channel have one idle cycle between them.
This keeps the W channel and the request mux off the AW/AR handshake paths (the unit's Fmax).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, RESP_SLVERR
from .lib.checked import CheckedArguments
from .lib.queue import Queue
from .lib.skid import SkidBuffer
from .params import Kind, MemOp, ReqClass, T3Params

__all__ = ["AxiComputePort", "awuser_layout", "compute_axi_signature"]


def awuser_layout(params):
    """The ``AWUSER`` layout of the compute port (see the module docstring)."""
    return data.StructLayout({"tile": unsigned(params.tile_width), "tracked": 1, "update": 1,
                              "remote": 1, "dst_dev": unsigned(params.dev_width)})


def compute_axi_signature(params, id_width=4):
    """AXI4 signature of the compute port (seen from the GPU-side master): byte addresses of
    ``addr_width + log2(data_width / 8)`` bits, full-width beats, ``AWUSER`` per
    :func:`awuser_layout`."""
    return AXI4Signature(addr_width=params.addr_width + (params.data_width // 8 - 1).bit_length(),
                         data_width=params.data_width, id_width=id_width,
                         awuser_width=awuser_layout(params).size)


class AxiComputePort(CheckedArguments, wiring.Component):
    """AXI4 slave to the unit's compute request/response streams (see the module docstring).

    Parameters
    ----------
    params : T3Params
        Uses ``data_width`` (a power of two), ``addr_width``, ``tile_width``.
    id_width : int
        AXI ID width, in [1, 16]. Default 4.
    read_bursts : int
        Read bursts outstanding at most, in [1, 64]. Default 4.

    Attributes
    ----------
    s_axi : In(compute_axi_signature(params, id_width))
        The slave port.
    compute : Out(stream.Signature(params.mem_request_layout))
        To the unit's ``compute`` (class COMPUTE, one beat per request).
    compute_resp : In(stream.Signature(params.mem_response_layout))
        From the unit's ``compute_resp``: read data in request order.
    remote : Out(stream.Signature(params.link_layout))
        Remote bursts as link packets (to the unit's ``remote``); registered.
    err : Out(1)
        One cycle per SLVERR response (B or the last R beat of a burst).
    """

    @staticmethod
    def check_arguments(params, *, id_width=4, read_bursts=4):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if params.data_width & (params.data_width - 1):
            raise ValueError(f"AxiComputePort needs a power-of-two data_width, not "
                             f"{params.data_width}")
        for name, value, lo, hi in (("id_width", id_width, 1, 16),
                                    ("read_bursts", read_bursts, 1, 64)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, not {value!r}")
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], not {value}")

    def __init__(self, params, *, id_width=4, read_bursts=4):
        self._params = params
        self._read_bursts = read_bursts
        self.axi_signature = compute_axi_signature(params, id_width)
        super().__init__({
            "s_axi":        In(self.axi_signature),
            "compute":      Out(stream.Signature(params.mem_request_layout)),
            "compute_resp": In(stream.Signature(params.mem_response_layout)),
            "remote":       Out(stream.Signature(params.link_layout)),
            "err":          Out(1),
        })

    @property
    def params(self):
        return self._params

    @property
    def read_bursts(self):
        return self._read_bursts

    def elaborate(self, platform):
        m = Module()
        p = self._params
        axi = self.s_axi
        aw, dw = p.addr_width, p.data_width
        idw = self.axi_signature.id_width
        sh = self.axi_signature.size
        last_addr = (1 << aw) - 1
        max_packet = (1 << p.len_width) - 1                   # beats in one link packet

        def burst_error(addr, size, burst, length):
            """A burst this port refuses (whole burst SLVERR, no request)."""
            start = addr[sh:]                                      # aw bits
            return ((burst != BURST_INCR) | (size != sh) | (addr[:sh] != 0 if sh else 0) |
                    (start + length > last_addr))

        m.submodules.req_skid = skid = SkidBuffer(p.mem_request_layout)
        wiring.connect(m, skid.o, wiring.flipped(self.compute))
        req = skid.i.payload

        # -- writes ----------------------------------------------------------------------------------
        user = Signal(awuser_layout(p))
        m.d.comb += user.eq(axi.awuser)
        m.submodules.b_q = b_q = Queue(idw + 1, 2)
        w_busy, w_addr, w_left, w_id = Signal(), Signal(aw), Signal(8), Signal(idw)
        w_err, w_tile, w_tracked, w_update = Signal(), Signal(p.tile_width), Signal(), Signal()
        w_remote, w_hdr, w_dst = Signal(), Signal(), Signal(p.dev_width)
        w_flag = Signal()             # a remote burst's bad beat: SLVERR, the packet goes on
        w_last = Signal()             # w_left == 0, kept in a register (off the W paths)
        strb_all = (1 << (dw // 8)) - 1
        bad_strb = axi.wstrb != strb_all
        # a beat that becomes a local request
        w_good = w_busy & ~w_remote & axi.wvalid & ~w_err & ~bad_strb
        w_room = b_q.w.ready | ~w_last                        # the last beat needs a B slot

        # -- remote bursts: a header, then the W beats, on ``remote`` -----------------------------
        m.submodules.remote_skid = rskid = SkidBuffer(p.link_layout)
        wiring.connect(m, rskid.o, wiring.flipped(self.remote))
        hdr = Signal(p.link_header_layout)
        m.d.comb += [
            hdr.dst_dev.eq(w_dst),
            hdr.op.eq(Mux(w_update, Kind.UPDATE, Kind.STORE)),
            hdr.length.eq(w_left + 1),
            hdr.dst_addr.eq(w_addr),
            hdr.tile.eq(w_tile),
        ]
        hdr_valid = w_busy & w_remote & w_hdr & ~w_err
        masked = Cat(Mux(axi.wstrb[i], axi.wdata[8 * i:8 * i + 8], 0) for i in range(dw // 8))
        m.d.comb += [
            rskid.i.valid.eq(hdr_valid | (w_busy & w_remote & ~w_hdr & ~w_err & axi.wvalid &
                                          w_room)),
            rskid.i.payload.data.eq(Mux(hdr_valid, hdr.as_value(), masked)),
            rskid.i.payload.last.eq(~hdr_valid & w_last),
        ]
        with m.If(hdr_valid & rskid.i.ready):
            m.d.sync += w_hdr.eq(0)

        # -- reads -----------------------------------------------------------------------------------
        tag_layout = data.StructLayout({"id": unsigned(idw), "len": 8, "err": 1})
        m.submodules.tags = tags = Queue(tag_layout, self._read_bursts)
        r_busy, r_addr, r_left = Signal(), Signal(aw), Signal(8)
        r_end = Signal()                                      # r_left == 0, in a register
        r_want = r_busy                                       # a READ request waits to go

        # -- request mux: alternate when both wait ---------------------------------------------------
        prefer_w = Signal(init=1)
        sel_w = w_good & w_room & (~r_want | prefer_w)
        sel_r = r_want & ~sel_w
        m.d.comb += [
            skid.i.valid.eq(sel_w | sel_r),
            req.op.eq(Mux(sel_w, Mux(w_update, MemOp.UPDATE, MemOp.STORE), MemOp.READ)),
            req.cls.eq(ReqClass.COMPUTE),
            req.tracked.eq(sel_w & w_tracked),
            req.addr.eq(Mux(sel_w, w_addr, r_addr)),
            req.tile.eq(Mux(sel_w, w_tile, 0)),
            req.data.eq(Mux(sel_w, axi.wdata, 0)),
        ]
        issued_w = sel_w & skid.i.ready
        issued_r = sel_r & skid.i.ready
        with m.If(issued_w & r_want):
            m.d.sync += prefer_w.eq(0)
        with m.Elif(issued_r & w_good & w_room):
            m.d.sync += prefer_w.eq(1)

        # a W beat is taken when it became a request, or is dropped (refused burst or strobe)
        take_w = w_busy & axi.wvalid & w_room & Mux(
            w_err, 1, Mux(w_remote, ~w_hdr & rskid.i.ready, Mux(bad_strb, 1, issued_w)))
        w_done = take_w & w_last
        bad_last = Signal()
        m.d.comb += [
            # registered: a burst's AW is taken in the cycle after its previous burst's last W
            # beat (one idle cycle between bursts), which keeps the W channel off the AW path
            axi.awready.eq(~w_busy),
            axi.wready.eq(take_w),
            bad_last.eq(axi.wlast != w_last),
        ]
        with m.If(axi.awvalid & axi.awready):
            m.d.sync += [
                w_busy.eq(1),
                w_addr.eq(axi.awaddr[sh:sh + aw]),
                w_left.eq(axi.awlen),
                w_last.eq(axi.awlen == 0),
                w_id.eq(axi.awid),
                w_err.eq(burst_error(axi.awaddr, axi.awsize, axi.awburst, axi.awlen) |
                         (user.remote & (axi.awlen >= max_packet))),
                w_tile.eq(user.tile),
                w_tracked.eq(user.tracked),
                w_update.eq(user.update),
                w_remote.eq(user.remote),
                w_hdr.eq(user.remote),
                w_dst.eq(user.dst_dev),
                w_flag.eq(0),
            ]
        with m.Elif(take_w):
            m.d.sync += [w_addr.eq(w_addr + 1), w_left.eq(w_left - 1), w_last.eq(w_left == 1)]
            with m.If(w_done):
                m.d.sync += w_busy.eq(0)
            with m.If(bad_strb | bad_last):
                with m.If(w_remote):
                    m.d.sync += w_flag.eq(1)      # the packet keeps its length
                with m.Else():
                    m.d.sync += w_err.eq(1)
        b_err = w_err | w_flag | bad_strb | bad_last
        m.d.comb += [
            b_q.w.payload.eq(Cat(w_id, b_err)),
            b_q.w.valid.eq(w_done),
            axi.bvalid.eq(b_q.r.valid),
            axi.bid.eq(b_q.r.payload[:idw]),
            axi.bresp.eq(Mux(b_q.r.payload[idw], RESP_SLVERR, RESP_OKAY)),
            b_q.r.ready.eq(axi.bready),
        ]

        # -- read issue: an AR's tag is queued at once; its READs follow, one per cycle --------------
        ar_err = burst_error(axi.araddr, axi.arsize, axi.arburst, axi.arlen)
        m.d.comb += [
            # registered: a burst's AR is taken once the previous burst's READs are all issued
            # (one idle cycle between bursts), which keeps the write side off the AR path
            axi.arready.eq(~r_busy & tags.w.ready),
            tags.w.valid.eq(axi.arvalid & axi.arready),
            tags.w.payload.id.eq(axi.arid),
            tags.w.payload.len.eq(axi.arlen),
            tags.w.payload.err.eq(ar_err),
        ]
        with m.If(axi.arvalid & axi.arready):
            m.d.sync += [
                r_busy.eq(~ar_err),                           # a refused burst issues nothing
                r_addr.eq(axi.araddr[sh:sh + aw]),
                r_left.eq(axi.arlen),
                r_end.eq(axi.arlen == 0),
            ]
        with m.Elif(issued_r):
            m.d.sync += [r_addr.eq(r_addr + 1), r_left.eq(r_left - 1), r_end.eq(r_left == 1)]
            with m.If(r_end):
                m.d.sync += r_busy.eq(0)

        # -- R: the head tag's beats, data from compute_resp (or zeros for a refused burst) ----------
        head = tags.r.payload
        r_cnt = Signal(8)
        r_last = r_cnt == head.len
        m.d.comb += [
            axi.rvalid.eq(tags.r.valid & (head.err | self.compute_resp.valid)),
            axi.rdata.eq(Mux(head.err, 0, self.compute_resp.payload.data)),
            axi.rid.eq(head.id),
            axi.rlast.eq(r_last),
            axi.rresp.eq(Mux(head.err, RESP_SLVERR, RESP_OKAY)),
            self.compute_resp.ready.eq(tags.r.valid & ~head.err & axi.rready),
        ]
        r_take = axi.rvalid & axi.rready
        m.d.comb += tags.r.ready.eq(r_take & r_last)
        with m.If(r_take):
            m.d.sync += r_cnt.eq(Mux(r_last, 0, r_cnt + 1))

        m.d.comb += self.err.eq((axi.bvalid & axi.bready & axi.bresp[1]) |
                                (r_take & r_last & head.err))
        return m


EXPORTS = {"axi_compute": lambda: AxiComputePort(T3Params())}
