"""DMA engine: reads a tile through the arbiter's communication port and sends it as a link packet."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .lib.checked import CheckedArguments
from .lib.queue import Queue
from .params import T3Params, MemOp, ReqClass

__all__ = ["DmaEngine"]


class DmaEngine(CheckedArguments, wiring.Component):
    """DMA engine: one link packet per DMA command.

    For each command accepted on ``cmd`` the engine issues ``length`` READ requests
    (``cls=COMM``, ``tracked=0``, ``tile`` = the command's tile as metadata) for addresses
    ``src_addr, src_addr+1, ...`` (modulo ``2**addr_width``), one per cycle when allowed, and sends
    one packet on ``tx``: a header beat (``link_header_layout`` packed in the low bits of ``data``,
    ``last=1`` iff ``length == 0``) followed by ``length`` data beats (the read data in order,
    ``last`` on the final one).

    Structure:

    * *reader*: accepts a command when it has no read left to issue and the packet queue has room,
      pushes the command into the packet queue (depth 4) and issues its reads. A read is issued only
      when a *credit* is available: the engine holds ``buffer_depth`` credits, one is taken per read
      issued and returned per data beat sent on ``tx``, so the response buffer
      (a buffered :class:`~hw.lib.queue.Queue`, depth ``buffer_depth``) can never overflow and ``mem_resp.ready`` stays
      high (it is the buffer's ``w_rdy``).
    * *packer*: takes the oldest command of the packet queue, sends its header, then its data beats
      from the response buffer, then pops the command.

    Reads of the following commands (up to 3 more) start while a packet drains, so with
    ``buffer_depth >= mem_latency + 4`` and no back-pressure the data beats of a packet leave at one
    per cycle once the first one is ready, and consecutive packets are separated only by their
    header beats. A cycle with ``tx`` stalled stalls nothing but the credits: no data is lost.

    Parameters
    ----------
    params : T3Params
        Shared parameters.
    buffer_depth : int or None
        Depth of the response buffer (= number of read credits), at least 3. Default
        ``params.mem_latency + 4``.

    Attributes
    ----------
    cmd : In(stream.Signature(params.dma_command_layout))
        DMA commands. ``ready`` is registered state only (no combinational path from any input).
    src_dev : In(params.dev_width)
        This device's id, written into every header (sampled when the header beat is sent).
    mem_req : Out(stream.Signature(params.mem_request_layout))
        READ requests; ``valid`` and ``payload`` depend on registers only and are held until
        accepted.
    mem_resp : In(stream.Signature(params.mem_response_layout))
        Read data, in request order; written into the response buffer in the cycle it is accepted.
    tx : Out(stream.Signature(params.link_layout))
        Packet beats. A data beat accepted into the response buffer at the end of cycle *c* can
        be sent in cycle *c+2* at the earliest.
    busy : Out(1)
        High while any accepted command has not been completely sent (one cycle after ``cmd``
        is accepted, until the cycle after its last beat is accepted on ``tx``).
    commands_done : Out(32)
        Packets completely sent (wrapping), updated one cycle after the last beat's handshake.
    beats_sent : Out(32)
        Beats accepted on ``tx``, header beats included (wrapping), updated one cycle later.
    """

    PACKET_QUEUE_DEPTH = 4

    @staticmethod
    def check_arguments(params, *, buffer_depth=None):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if buffer_depth is None:
            buffer_depth = params.mem_latency + 4
        if not isinstance(buffer_depth, int) or isinstance(buffer_depth, bool):
            raise TypeError(f"buffer_depth must be an integer or None, not {buffer_depth!r}")
        if buffer_depth < 3:
            raise ValueError(f"buffer_depth must be >= 3, not {buffer_depth}")

    def __init__(self, params, *, buffer_depth=None):
        if buffer_depth is None:
            buffer_depth = params.mem_latency + 4
        self._params = params
        self._buffer_depth = buffer_depth
        super().__init__({
            "cmd":           In(stream.Signature(params.dma_command_layout)),
            "src_dev":       In(params.dev_width),
            "mem_req":       Out(stream.Signature(params.mem_request_layout)),
            "mem_resp":      In(stream.Signature(params.mem_response_layout)),
            "tx":            Out(stream.Signature(params.link_layout)),
            "busy":          Out(1),
            "commands_done": Out(32),
            "beats_sent":    Out(32),
        })

    @property
    def params(self):
        return self._params

    @property
    def buffer_depth(self):
        return self._buffer_depth

    def elaborate(self, platform):
        p = self._params
        m = Module()
        cl = p.dma_command_layout

        m.submodules.pktq = pktq = Queue(cl.size, self.PACKET_QUEUE_DEPTH, buffered=True)
        m.submodules.buf = buf = Queue(p.data_width, self._buffer_depth, buffered=True)

        # -- credits --------------------------------------------------------------------------
        credits = Signal(range(self._buffer_depth + 1), init=self._buffer_depth)
        have_credit = Signal(init=1)             # credits != 0, kept in a register
        take_credit = Signal()
        give_credit = Signal()
        with m.If(take_credit & ~give_credit):
            m.d.sync += [credits.eq(credits - 1), have_credit.eq(credits != 1)]
        with m.Elif(give_credit & ~take_credit):
            m.d.sync += [credits.eq(credits + 1), have_credit.eq(1)]

        # -- reader ---------------------------------------------------------------------------
        in_data = Signal()                       # header sent, data beats of the head packet
        rd_left = Signal(unsigned(p.len_width))
        rd_busy = Signal()                       # rd_left != 0, kept in a register
        rd_addr = Signal(unsigned(p.addr_width))
        rd_tile = Signal(unsigned(p.tile_width))
        m.d.comb += [
            self.cmd.ready.eq(~rd_busy & pktq.w.ready),
            pktq.w.payload.eq(self.cmd.payload),
            pktq.w.valid.eq(self.cmd.valid & self.cmd.ready),
        ]
        m.d.comb += [
            # from registers only: the merge and the receiver behind it see it early in the cycle
            self.mem_req.valid.eq(rd_busy & have_credit),
            self.mem_req.payload.op.eq(MemOp.READ),
            self.mem_req.payload.cls.eq(ReqClass.COMM),
            self.mem_req.payload.tracked.eq(0),
            self.mem_req.payload.addr.eq(rd_addr),
            self.mem_req.payload.tile.eq(rd_tile),
            self.mem_req.payload.data.eq(0),
            take_credit.eq(self.mem_req.valid & self.mem_req.ready),
        ]
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += [
                rd_left.eq(self.cmd.payload.length),
                rd_busy.eq(self.cmd.payload.length != 0),
                rd_addr.eq(self.cmd.payload.src_addr),
                rd_tile.eq(self.cmd.payload.tile),
            ]
        with m.Elif(take_credit):
            m.d.sync += [
                rd_left.eq(rd_left - 1),
                rd_busy.eq(rd_left != 1),
                rd_addr.eq(rd_addr + 1),
            ]

        # -- response buffer ------------------------------------------------------------------
        m.d.comb += [
            self.mem_resp.ready.eq(buf.w.ready),
            buf.w.payload.eq(self.mem_resp.payload.data),
            buf.w.valid.eq(self.mem_resp.valid),
        ]

        # -- packer ---------------------------------------------------------------------------
        head = cl(pktq.r.payload)
        hdr = Signal(p.link_header_layout)
        m.d.comb += [
            hdr.dst_dev.eq(head.dst_dev),
            hdr.src_dev.eq(self.src_dev),
            hdr.op.eq(head.op),
            hdr.length.eq(head.length),
            hdr.dst_addr.eq(head.dst_addr),
            hdr.tile.eq(head.tile),
        ]
        left = Signal(unsigned(p.len_width))     # data beats still to send
        tx_fire = Signal()
        m.d.comb += tx_fire.eq(self.tx.valid & self.tx.ready)
        with m.If(~in_data):
            m.d.comb += [
                self.tx.valid.eq(pktq.r.valid),
                self.tx.payload.data.eq(hdr.as_value()),
                self.tx.payload.last.eq(head.length == 0),
            ]
            with m.If(tx_fire):
                with m.If(head.length == 0):
                    m.d.comb += pktq.r.ready.eq(1)
                with m.Else():
                    m.d.sync += [in_data.eq(1), left.eq(head.length)]
        with m.Else():
            m.d.comb += [
                self.tx.valid.eq(buf.r.valid),
                self.tx.payload.data.eq(buf.r.payload),
                self.tx.payload.last.eq(left == 1),
                buf.r.ready.eq(self.tx.ready),
                give_credit.eq(tx_fire),
            ]
            with m.If(tx_fire):
                m.d.sync += left.eq(left - 1)
                with m.If(left == 1):
                    m.d.comb += pktq.r.ready.eq(1)
                    m.d.sync += in_data.eq(0)

        # -- status ---------------------------------------------------------------------------
        m.d.comb += self.busy.eq(pktq.level != 0)
        with m.If(tx_fire):
            m.d.sync += self.beats_sent.eq(self.beats_sent + 1)
            with m.If(self.tx.payload.last):
                m.d.sync += self.commands_done.eq(self.commands_done + 1)
        return m


EXPORTS = {"dma": lambda: DmaEngine(T3Params())}
