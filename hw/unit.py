"""The per-device T3 unit: everything T3 adds beside one GPU's memory controller.

:class:`T3Unit` is the drop-in IP, with standard ports only: an AXI4 slave for the GPU's compute
traffic (``s_axi``), the AXI4 memory master (``m_axi``), the AXI4-Lite registers (``s_axil_*``)
and AXI-Stream links (``m_axis``, ``s_axis``). :class:`T3Core` is the same unit with its native
ports (single-beat compute request/response streams, link streams): what a design that builds
the requests itself attaches to (the ring with RTL producers, the FPGA prototype's traffic
generator).
"""

from amaranth.hdl import Cat, Module, Mux, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .arbiter import Arbiter
from .axicompute import AxiComputePort
from .t3csr import Csr
from .dma import DmaEngine
from .lib.queue import Queue
from .lib.skid import SkidBuffer
from .link import LinkReceiver, PacketMerge
from .linkaxis import LinkRxAxis, LinkTxAxis, link_axis_signature
from .memport import MemPort
from .params import MemOp, ReqClass, T3Params
from .regmap import RESPONSE_BOUND
from .ports import forward_ports
from .tracker import Tracker
from .trigger import Trigger

__all__ = ["StreamMerge", "T3Core", "T3Unit"]


class StreamMerge(wiring.Component):
    """Round-robin merge of two request streams into one registered output.

    A two-entry skid buffer (output register + skid register) makes ``a.ready``/``b.ready`` depend
    only on this block's own state, cutting the ready path from the consumer back to the
    producers. One transfer per cycle is sustained; a transfer accepted in cycle *c* is on ``out``
    from cycle *c+1*. When both inputs are valid they alternate.

    Attributes
    ----------
    a, b : In(stream.Signature(layout))
    out : Out(stream.Signature(layout))
    """

    def __init__(self, layout):
        super().__init__({
            "a":   In(stream.Signature(layout)),
            "b":   In(stream.Signature(layout)),
            "out": Out(stream.Signature(layout)),
        })

    def elaborate(self, platform):
        m = Module()
        layout = self.out.payload.shape()
        last_b = Signal()     # b was taken last: a wins the next conflict
        m.submodules.out_buf = buf = SkidBuffer(layout)
        wiring.connect(m, buf.o, wiring.flipped(self.out))
        pick_b = Signal()
        m.d.comb += pick_b.eq(self.b.valid & (~self.a.valid | ~last_b))
        m.d.comb += [
            buf.i.payload.eq(Mux(pick_b, self.b.payload, self.a.payload)),
            buf.i.valid.eq(self.a.valid | self.b.valid),
            self.a.ready.eq(buf.i.ready & ~pick_b),
            self.b.ready.eq(buf.i.ready & pick_b),
        ]
        with m.If(buf.i.valid & buf.i.ready):
            m.d.sync += last_b.eq(pick_b)
        return m


#: Port timing of :class:`T3Core`, one sentence per top-level member of its signature (from the
#: docstrings of this module and of hw/t3csr.py, hw/dma.py, hw/link.py, hw/arbiter.py): the
#: datasheet's port table (``tools/datasheet.py``), which refuses a port without an entry.
CORE_PORT_TIMING = {
    "compute": "GEMM-side requests into the arbiter's compute port; `ready` is combinational from "
               "both request classes' `valid` and the arbitration settings. A request accepted in "
               "cycle *t* is on the memory port from *t+1*; a write with `tracked=1` is counted "
               "by the tracker in the cycle the memory accepts it. `cls` is ignored (forced to "
               "COMPUTE).",
    "compute_resp": "Read data of compute-port READs, in request order, from the memory port's "
                    "compute response buffer (its own READ credits: a stalled `ready` holds back "
                    "compute READs only, never the DMA engine's read data). With the ideal memory "
                    "(`AxiSram`) and nothing stalled: `mem_latency + 6` cycles after the request "
                    "was accepted.",
    "m_axi": "AXI4 master to the device memory (`m_axi__awaddr` ... in the Verilog): single-beat "
             "INCR transactions at byte addresses, `WSTRB` all ones, ID width 2 by class (ARID 0 "
             "compute READ, 1 DMA READ, 2 and 3 the read half of a compute and of a DMA UPDATE; "
             "AWID 0 compute write, 1 DMA write), so the memory may reorder one class against "
             "the other. An UPDATE is an AR, then an AW + W with the NMC sum. `rready` and "
             "`bready` are always 1. A request to an address "
             "with a write in flight (or a write to one with a READ in flight) waits for its "
             "completion, so the memory need not order anything. At most `mem_outstanding` (16) "
             "requests in flight; that count is the occupancy T3-MCA compares.",
    "compute_err": "One-cycle pulse per compute burst refused by the bus face in front "
                   "(`T3Unit`'s AXI4 compute port); in the cycle it is high `ERR.bad_burst` is "
                   "set and `CNT_BAD_BURSTS` counts from the next. 0 when `compute` is driven "
                   "directly.",
    "link_tx": "Packets to the next device: one header beat (`link_header_layout` in the low bits "
               "of `data`, `last=1` iff `length == 0`) then `length` data beats, `last` on the "
               "final one. `valid`/`payload` are registered (DMA packer); a stalled `ready` loses "
               "nothing.",
    "link_rx": "Packets from the previous device, up to one beat per cycle. `ready` is high for "
               "headers and dropped beats; for data beats it is high while the receiver's write "
               "register is free. Data beat *i* becomes a tracked COMM write to `dst_addr + i` "
               "one cycle after it is accepted.",
    "s_axil_awaddr": "Write address (byte, word-aligned), taken with `awvalid & awready`.",
    "s_axil_awprot": "Ignored.",
    "s_axil_awvalid": "AW channel valid.",
    "s_axil_awready": "High while the one-entry AW buffer is empty (depends on state only).",
    "s_axil_wdata": "Write data, taken with `wvalid & wready`.",
    "s_axil_wstrb": "Byte strobes; anything but `0b1111` answers SLVERR and has no effect.",
    "s_axil_wvalid": "W channel valid; AW and W may come in any order.",
    "s_axil_wready": "High while the one-entry W buffer is empty (depends on state only).",
    "s_axil_bresp": "OKAY (0b00) or SLVERR (0b10), valid with `bvalid`.",
    "s_axil_bvalid": "Rises the cycle after the write executes (stream registers included: a "
                     "write never waits for the unit); held until `bready`.",
    "s_axil_bready": "B channel ready.",
    "s_axil_araddr": "Read address (byte, word-aligned), taken with `arvalid & arready`.",
    "s_axil_arprot": "Ignored.",
    "s_axil_arvalid": "AR channel valid.",
    "s_axil_arready": "High while no read response is outstanding.",
    "s_axil_rdata": "Read data, sampled in the AR handshake cycle; valid with `rvalid`.",
    "s_axil_rresp": "OKAY (0b00) or SLVERR (0b10), valid with `rvalid`.",
    "s_axil_rvalid": "Rises the cycle after the AR handshake; held until `rready`.",
    "s_axil_rready": "R channel ready.",
    "irq": "Registered level: `CTRL.irq_enable` and (any `ERR` flag or `DONE`), one cycle after "
           "the flag is set.",
    "remote": "GEMM-originated link packets (header + data beats, as on `link_tx`), merged "
              "onto `link_tx` whole packets at a time with the DMA engine's (alternating when "
              "both wait; combinational, no added latency); the unit writes its device id into "
              "the header's `src_dev`. `ready` follows `link_tx.ready` while the merge has this "
              "input.",
    "soft_reset": "`CTRL.soft_reset` (a register bit, so a level from the cycle after the "
                  "AXI4-Lite write); every block but the CSR is held in reset while it is high.",
}


#: Port timing of :class:`T3Unit`, one sentence per interface (``s_axil_*`` for the AXI4-Lite
#: signals): the datasheet's IP table.
UNIT_PORT_TIMING = {
    "s_axi": "AXI4 slave (`hw/axicompute.py`): within a burst one beat per cycle, each a request "
             "into the core through a skid register (one cycle more than `T3Core.compute`); a "
             "write beat and a read beat that both wait alternate. AWREADY and ARREADY come "
             "from registers: back-to-back bursts of a channel have one idle cycle between them. "
             "B once the burst's last beat is in the core's in-order stream (posted); R in "
             "request order with the burst's ID, the core's read latency after the request "
             "(`mem_latency + 6` cycles on the ideal memory); at most `read_bursts` (4) read "
             "bursts outstanding. A refused burst answers SLVERR and issues nothing "
             "(`ERR.bad_burst`, `CNT_BAD_BURSTS`).",
    "m_axi": "As `T3Core`'s `m_axi` (below).",
    "s_axil_*": "As `T3Core`'s `s_axil_*` (below): every AXI4-Lite answer within "
                f"{RESPONSE_BOUND} cycles.",
    "m_axis": "`T3Core`'s `link_tx` as AXI-Stream (`hw/linkaxis.py`, no added latency): "
              "`tvalid`/`tdata` registered, `tdest` the packet's destination on every beat, "
              "`tuser` 1 on the header beat; a stalled `tready` loses nothing.",
    "s_axis": "`T3Core`'s `link_rx` as AXI-Stream (no added latency): up to one beat per cycle, "
              "`tready` as `link_rx.ready`; `tdest` and `tuser` are not needed (the header beat "
              "carries the destination, which the receiver checks).",
    "irq": "As `T3Core`'s `irq` (below).",
}


class T3Core(wiring.Component):
    """One device's T3 unit at its memory controller, with its native ports (:class:`T3Unit`
    puts the standard ones in front).

    Data path::

        compute ──────────────────────────┐
                                          ▼
        link_rx ─► LinkReceiver ─┐     Arbiter ─► tap ─► MemPort (+NMC) ══ m_axi (AXI4) ══► memory
        DMA reads ───────────────┴─► merge ─┘      │         │  └ compute_resp
                                                   ▼ (tracked writes)        │
        AXI4-Lite ─► Csr ─ arm ─► Tracker ─ fire ─► Trigger ─ cmd ─► DmaEngine ◄─┘ (comm reads)
                              └ cmd_write, doorbell ─┘                 └─► link_tx

    The memory is outside the unit, behind the AXI4 master ``m_axi`` (:class:`~hw.memport.MemPort`):
    cocotbext-axi's ``AxiRam`` in benches, :class:`~hw.sram.AxiSram` (the ideal memory) or
    :class:`~hw.dram.DramModel` (DRAM timing) in :class:`~hw.ring.T3Ring`, block RAM on the FPGA.
    An UPDATE is a read-add-write the unit issues on that port (AR, then AW + W with the sum).

    **When the tracker observes a write.** A write whose request has ``tracked`` set is reported
    to the tracker in the cycle the memory port takes it (its ``req`` handshake; the tap holds
    the request back only while the tracker cannot take it), that is *before* its AW/W
    handshake. This is safe: the port keeps requests in order through its input register and
    holds every later request to the same address (the DMA read that a fire causes included)
    until that write's B response, so a triggered DMA always reads the completed tile.
    Read responses go back to the compute port or to the DMA engine by request class (AXI ID).

    A DMA command of length 0 is a *notification*: it moves no data, pulses the CSR ``done`` bit
    (and the interrupt when enabled) and is counted in ``cnt_notifications``. Software uses it for
    tiles that end on this device (the last chunk of a reduce-scatter) and for arrival flags.

    ``CTRL.enable`` low holds ready DMA commands in the queue (nothing is dropped).
    ``CTRL.soft_reset`` resets every block but the CSR (configuration and the DMA command table
    survive; the tracker table is cleared by its sweep; memory contents survive).

    Parameters
    ----------
    params : T3Params
    mem_outstanding : int
        Memory requests in flight on ``m_axi`` (the memory port's slots). Default 16.
    alu_stages : int
        Pipeline depth of the NMC adder (bf16 lanes at 100 MHz need 3). Default 0.

    Attributes
    ----------
    compute : In(stream.Signature(params.mem_request_layout))
        GEMM-side memory requests (``cls`` is ignored: forced to compute). Set ``tracked`` and
        ``tile`` on writes to output tiles.
    compute_resp : Out(stream.Signature(params.mem_response_layout))
        Read data for compute-port reads, in order. With :class:`~hw.sram.AxiSram` behind
        ``m_axi`` and nothing stalled: ``params.mem_latency + 6`` cycles after the request was
        accepted (arbiter register, memory-port input register and queue, AR handshake, SRAM
        latency + 1, R register, response buffer).
    m_axi : Out(AXI4Signature)
        The memory: an AXI4 master (``m_axi__awaddr`` ... in the Verilog), byte addresses, one
        beat per transaction, ID width 2 (see :class:`~hw.memport.MemPort`).
    link_tx : Out(stream.Signature(params.link_layout))
        Packets to the next device.
    link_rx : In(stream.Signature(params.link_layout))
        Packets from the previous device.
    remote : In(stream.Signature(params.link_layout))
        GEMM-originated packets (the paper's step 1: the chunk a device originates goes straight
        to the neighbour as remote updates, not stored and read back by the DMA): a header beat
        and its data beats, as on ``link_tx``; the unit writes its own device id into the
        header's ``src_dev``. They share ``link_tx`` with the DMA engine's packets, whole packets
        at a time (:class:`~hw.link.PacketMerge`, alternating when both wait; no added latency).
    compute_err : In(1)
        One-cycle pulse per compute burst the bus face in front refused (:class:`T3Unit`'s
        :class:`~hw.axicompute.AxiComputePort` ``err``): sets ``ERR.bad_burst`` and counts in
        ``CNT_BAD_BURSTS``. Tie it to 0 when the native ``compute`` port is driven directly.
    s_axil_* :
        AXI4-Lite slave (32-bit data, 12-bit address), register map in ``docs/registers.md``.
    irq : Out(1)
        Level interrupt: ``CTRL.irq_enable`` and any ``ERR`` or ``DONE`` bit set.
    soft_reset : Out(1)
        ``CTRL.soft_reset``, the reset of every block but the CSR, for blocks outside the core
        that keep packet state (the link faces of :class:`T3Unit`).
    """

    #: Timing of every top-level port (:data:`CORE_PORT_TIMING`).
    PORT_TIMING = CORE_PORT_TIMING
    #: Default memory-port slots, and the DMA engine's read credits beyond them.
    #: ``fire_buf``: the register stage (a buffered :class:`~hw.lib.queue.Queue` of this depth)
    #: between the tracker's fire queue and the trigger's lookup.
    FIRE_BUF_DEPTH = 3
    #: A completing tracked write's ``track`` transfer in cycle *c* reaches the trigger's
    #: ``fire`` input (valid) in cycle *c* + ``TRACK_TO_FIRE``: the tracker's fire latency and
    #: ``fire_buf``'s write-to-read latency.
    TRACK_TO_FIRE = Tracker.FIRE_LATENCY + Queue.write_to_read(True)
    MEM_OUTSTANDING = 16
    DMA_CREDIT_MARGIN = 4

    def __init__(self, params=T3Params(), *, mem_outstanding=MEM_OUTSTANDING, alu_stages=0):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        self._params = params
        self._csr = Csr(params)
        self._port = MemPort(params, outstanding=mem_outstanding, alu_stages=alu_stages)
        axil = {name: member for name, member in self._csr.signature.members.items()
                if name.startswith("s_axil_")}
        super().__init__({
            "compute":      In(stream.Signature(params.mem_request_layout)),
            "compute_resp": Out(stream.Signature(params.mem_response_layout)),
            "link_tx":      Out(stream.Signature(params.link_layout)),
            "link_rx":      In(stream.Signature(params.link_layout)),
            "remote":       In(stream.Signature(params.link_layout)),
            "compute_err":  In(1),
            "m_axi":        Out(self._port.axi_signature),
            **axil,
            "irq":          Out(1),
            "soft_reset":   Out(1),
        })

    @property
    def params(self):
        return self._params

    @property
    def mem_port(self):
        """The :class:`~hw.memport.MemPort` inside (its ``outstanding``, ``axi_signature``)."""
        return self._port

    def elaborate(self, platform):
        p = self._params
        m = Module()
        m.submodules.csr = csr = self._csr
        forward_ports(m, csr, self, [n for n in csr.signature.members if n.startswith("s_axil_")])
        m.d.comb += self.irq.eq(csr.irq)

        # Every block but the CSR is reset by CTRL.soft_reset too.
        soft = csr.ctrl_soft_reset
        m.d.comb += self.soft_reset.eq(soft)

        def add(name, block):
            m.submodules[name] = ResetInserter({"sync": soft})(block)
            return block

        tracker = add("tracker", Tracker(p))
        trigger = add("trigger", Trigger(p))
        # DMA read credits cover the round trip through the merge, the arbiter and the memory
        # port (up to ``mem_outstanding`` reads in flight there), so a tile streams at one beat
        # per cycle whatever the memory's latency allows.
        dma     = add("dma", DmaEngine(p, buffer_depth=self._port.outstanding
                                                    + self.DMA_CREDIT_MARGIN))
        rx      = add("rx", LinkReceiver(p))
        merge   = add("comm_merge", StreamMerge(p.mem_request_layout))
        arb     = add("arbiter", Arbiter(p, occupancy_max=255))
        mem     = add("memport", self._port)

        wiring.connect(m, mem.m_axi, wiring.flipped(self.m_axi))

        # The arbiter sees the memory occupancy of the previous cycle: T3-MCA's threshold is a
        # rate control, and the register cuts the memory -> arbiter -> merge timing path.
        occupancy = Signal.like(mem.occupancy)
        m.d.sync += occupancy.eq(mem.occupancy)

        # Configuration.
        m.d.comb += [
            arb.policy.eq(csr.arb_policy),
            arb.threshold.eq(csr.arb_threshold),
            arb.starvation_limit.eq(csr.arb_starvation),
            arb.occupancy.eq(occupancy),
            dma.src_dev.eq(csr.ctrl_dev_id),
            rx.dev_id.eq(csr.ctrl_dev_id),
        ]
        wiring.connect(m, csr.arm, tracker.arm)
        wiring.connect(m, csr.cmd_write, trigger.cmd_write)
        wiring.connect(m, csr.doorbell, trigger.doorbell)
        # A register stage between the tracker's fire queue (block RAM read data) and the
        # trigger's command-table lookup (block RAM address): RAM -> RAM in one cycle is too slow.
        m.submodules.fire_buf = fire_buf = ResetInserter({"sync": soft})(
            Queue(p.fire_layout, self.FIRE_BUF_DEPTH, buffered=True))
        wiring.connect(m, tracker.fire, fire_buf.w)
        wiring.connect(m, fire_buf.r, trigger.fire)

        # Ready commands: held while disabled; notifications (length 0) end here.
        notify = Signal()
        is_notify = trigger.cmd.payload.length == 0
        m.d.comb += [
            dma.cmd.payload.eq(trigger.cmd.payload),
            dma.cmd.valid.eq(trigger.cmd.valid & csr.ctrl_enable & ~is_notify),
            trigger.cmd.ready.eq(csr.ctrl_enable & (is_notify | dma.cmd.ready)),
            notify.eq(trigger.cmd.valid & csr.ctrl_enable & is_notify),
        ]

        # Links.
        wiring.connect(m, wiring.flipped(self.link_rx), rx.rx)
        # the DMA engine's packets and the GEMM-originated ones (src_dev filled in) share link_tx
        tx_merge = add("tx_merge", PacketMerge(p))
        wiring.connect(m, dma.tx, tx_merge.a)
        remote_first = Signal(init=1)             # the next remote beat is a header
        with m.If(soft):
            m.d.sync += remote_first.eq(1)
        with m.Elif(self.remote.valid & self.remote.ready):
            m.d.sync += remote_first.eq(self.remote.payload.last)
        dw, rdata = p.dev_width, self.remote.payload.data
        m.d.comb += [
            tx_merge.b.valid.eq(self.remote.valid),
            self.remote.ready.eq(tx_merge.b.ready),
            tx_merge.b.payload.last.eq(self.remote.payload.last),
            tx_merge.b.payload.data.eq(Mux(remote_first,
                                           Cat(rdata[:dw], csr.ctrl_dev_id, rdata[2 * dw:]),
                                           rdata)),
        ]
        wiring.connect(m, tx_merge.out, wiring.flipped(self.link_tx))

        # Requests: compute port and (link receive writes + DMA reads) into the arbiter.
        wiring.connect(m, rx.mem_req, merge.a)
        wiring.connect(m, dma.mem_req, merge.b)
        wiring.connect(m, merge.out, arb.comm)
        wiring.connect(m, wiring.flipped(self.compute), arb.compute)

        # Tap: a tracked write goes to the memory and to the tracker in the same cycle.
        req = arb.out.payload
        needs_track = Signal()
        m.d.comb += [
            needs_track.eq(req.tracked & (req.op != MemOp.READ)),
            mem.req.payload.eq(req),
            mem.req.valid.eq(arb.out.valid & (~needs_track | tracker.track.ready)),
            tracker.track.valid.eq(arb.out.valid & needs_track & mem.req.ready),
            arb.out.ready.eq(mem.req.ready & (~needs_track | tracker.track.ready)),
            tracker.track.payload.tile.eq(req.tile),
            tracker.track.payload.kind.eq(req.op == MemOp.UPDATE),
            tracker.track.payload.source.eq(req.cls),
            tracker.track.payload.beats.eq(1),
        ]

        # Responses back by class (the memory port keeps one buffer per class).
        wiring.connect(m, mem.comm_resp, dma.mem_resp)
        wiring.connect(m, mem.compute_resp, wiring.flipped(self.compute_resp))

        # Counters (reset by soft reset too, like the blocks whose events they count), each read
        # through its CSR register CNT_<NAME> (a counter without one fails at elaboration).
        def counter(name, inc):
            c = Signal(32, name=f"cnt_{name}")
            with m.If(soft):
                m.d.sync += c.eq(0)
            with m.Elif(inc):
                m.d.sync += c.eq(c + 1)
            m.d.comb += getattr(csr, f"cnt_{name}").eq(c)

        accepted = mem.req.valid & mem.req.ready
        for cls, tag in ((ReqClass.COMPUTE, "compute"), (ReqClass.COMM, "comm")):
            counter(f"rd_beats_{tag}", accepted & (req.cls == cls) & (req.op == MemOp.READ))
            counter(f"wr_beats_{tag}", accepted & (req.cls == cls) & (req.op != MemOp.READ))
        counter("updates_applied", accepted & (req.op == MemOp.UPDATE))
        counter("link_tx_beats", self.link_tx.valid & self.link_tx.ready)
        counter("link_rx_beats", self.link_rx.valid & self.link_rx.ready)
        counter("starvation_grants", arb.starved)
        counter("notifications", notify)
        counter("cycles", 1)
        counter("bad_bursts", self.compute_err)
        m.d.comb += [
            csr.cnt_fires.eq(tracker.fires),
            csr.cnt_arms.eq(tracker.arms),
            csr.cnt_arm_stall.eq(tracker.arm_stall),
            csr.cnt_tracked_beats.eq(tracker.tracked),
            csr.cnt_stall_compute.eq(arb.stalled_compute),
            csr.cnt_stall_comm.eq(arb.stalled_comm),
            csr.cnt_dma_commands.eq(dma.commands_done),
        ]

        # Status and errors. tracker.err_bad_arm (threshold 0) cannot happen here: the CSR refuses
        # such an ARM itself (ERR.bad_arm); nor can tracker.err_overshoot: every tracked write is
        # one beat, so a tile fires at exactly its threshold and later beats count as unarmed.
        m.d.comb += [
            csr.status_busy.eq(dma.busy | (trigger.queue_level != 0) | (tracker.pending != 0)),
            csr.status_dma_busy.eq(dma.busy),
            csr.status_queue_level.eq(trigger.queue_level),
            csr.status_tracker_pending.eq(tracker.pending),
            csr.err_unarmed.eq(tracker.err_unarmed),
            csr.err_collision.eq(tracker.err_collision),
            csr.err_no_command.eq(trigger.err_no_command),
            csr.err_misroute.eq(rx.err_misroute),
            csr.err_malformed_packet.eq(rx.err_malformed),
            csr.err_bad_burst.eq(self.compute_err),
            csr.done.eq(notify),
        ]
        return m


class T3Unit(wiring.Component):
    """The T3 unit as drop-in IP: :class:`T3Core` behind standard interfaces only.

    ============  =========================================  =====================================
    port          interface                                  block
    ============  =========================================  =====================================
    ``s_axi``     AXI4 slave: the GPU's compute traffic       :class:`~hw.axicompute.AxiComputePort`
                  (INCR bursts, IDs, ``WSTRB``; tile,
                  tracked, store/update and a remote
                  destination in ``AWUSER``)
    ``m_axi``     AXI4 master: the device memory              :class:`~hw.memport.MemPort`
    ``s_axil_*``  AXI4-Lite slave: registers                  :class:`~hw.t3csr.Csr`
    ``m_axis``    AXI-Stream master: link to the next device  :class:`~hw.linkaxis.LinkTxAxis`
    ``s_axis``    AXI-Stream slave: link from the previous    :class:`~hw.linkaxis.LinkRxAxis`
    ``irq``       level interrupt                             :class:`~hw.t3csr.Csr`
    ============  =========================================  =====================================

    The compute port adds its skid register to the request path (one cycle) and nothing to the
    read data path; the link faces add no latency. A refused compute burst answers SLVERR
    (see :mod:`hw.axicompute`). ``CTRL.soft_reset`` resets the core and the link faces (a
    packet cut by it ends without ``tlast``, as on the native link); the compute port keeps its
    AXI4 state, so software stops compute reads before a soft reset (their data is lost in the
    core, and their R beats would never come).

    Parameters
    ----------
    params : T3Params
        ``data_width`` must be a power of two (AXI4).
    mem_outstanding, alu_stages :
        As :class:`T3Core`.
    id_width : int
        ``s_axi`` ID width. Default 4.
    read_bursts : int
        ``s_axi`` read bursts outstanding at most. Default 4.
    """

    #: Timing of every interface (:data:`UNIT_PORT_TIMING`).
    PORT_TIMING = UNIT_PORT_TIMING

    def __init__(self, params=T3Params(), *, mem_outstanding=T3Core.MEM_OUTSTANDING,
                 alu_stages=0, id_width=4, read_bursts=4):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        AxiComputePort.check_arguments(params, id_width=id_width, read_bursts=read_bursts)
        self._params = params
        self._core = T3Core(params, mem_outstanding=mem_outstanding, alu_stages=alu_stages)
        self._compute = AxiComputePort(params, id_width=id_width, read_bursts=read_bursts)
        self._tx, self._rx = LinkTxAxis(params), LinkRxAxis(params)
        axil = {name: member for name, member in self._core.signature.members.items()
                if name.startswith("s_axil_")}
        super().__init__({
            "s_axi":  In(self._compute.axi_signature),
            "m_axi":  Out(self._core.m_axi.signature),
            **axil,
            "m_axis": Out(link_axis_signature(params)),
            "s_axis": In(link_axis_signature(params)),
            "irq":    Out(1),
        })

    @property
    def params(self):
        return self._params

    @property
    def core(self):
        """The :class:`T3Core` inside."""
        return self._core

    @property
    def mem_port(self):
        return self._core.mem_port

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        m.submodules.compute = compute = self._compute
        m.submodules.link_tx = tx = ResetInserter({"sync": core.soft_reset})(self._tx)
        m.submodules.link_rx = rx = self._rx                  # no state
        wiring.connect(m, wiring.flipped(self.s_axi), compute.s_axi)
        wiring.connect(m, compute.compute, core.compute)
        wiring.connect(m, core.compute_resp, compute.compute_resp)
        wiring.connect(m, compute.remote, core.remote)
        m.d.comb += core.compute_err.eq(compute.err)
        wiring.connect(m, core.m_axi, wiring.flipped(self.m_axi))
        forward_ports(m, core, self, [n for n in core.signature.members if n.startswith("s_axil_")])
        wiring.connect(m, core.link_tx, tx.i)
        wiring.connect(m, tx.m_axis, wiring.flipped(self.m_axis))
        wiring.connect(m, wiring.flipped(self.s_axis), rx.s_axis)
        wiring.connect(m, rx.o, core.link_rx)
        m.d.comb += self.irq.eq(core.irq)
        return m


EXPORTS = {"t3_unit": lambda: T3Unit(T3Params()), "t3_core": lambda: T3Core(T3Params())}
