"""Trigger: the DMA command table and the queue of ready commands.

Software (through the CSR block) pre-programs one DMA command per table entry. A tracker *fire*
for tile ``t`` (or a software *doorbell* for an index) makes the command of entry
``t % tracker_entries`` ready; ready commands wait in a FIFO for the DMA engine, in the order in
which they were made ready.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .lib.checked import CheckedArguments
from .lib.queue import Queue
from .params import T3Params

__all__ = ["Trigger"]


class Trigger(CheckedArguments, wiring.Component):
    """DMA command table plus ready-command queue.

    The table has ``params.tracker_entries`` entries (a ``lib.memory.Memory`` with one write port
    and one synchronous read port, so it maps to block RAM). A fire for tile ``t`` looks up entry
    ``t % tracker_entries`` (the low ``index_width`` bits of the tile id); a doorbell names the
    entry directly. The lookup is a two-stage pipeline:

    * stage 0 (cycle *c*): a request is accepted on ``fire`` or ``doorbell`` (round-robin when
      both are valid in the same cycle) and the table read is started;
    * stage 1 (cycle *c+1*): the entry is read; if it is valid its command is pushed into the
      queue, otherwise ``err_no_command`` is raised in cycle *c+2* and nothing is issued.

    Stage 1 waits while the queue is full; stage 0 accepts a new request whenever stage 1 is empty
    or completes in the same cycle, so one fire or doorbell per cycle is sustained while the queue
    has room. A full queue back-pressures ``fire`` and ``doorbell`` (``ready`` low); nothing is
    dropped. A command enters the queue at the end of cycle *c+1* and is visible on ``cmd`` two
    cycles later (a buffered :class:`~hw.lib.queue.Queue`), i.e. ``cmd.valid`` rises in cycle *c+3* at the earliest.

    A ``cmd_write`` in the same cycle as a lookup of the same entry is seen by that lookup (the read
    port is transparent for the write port); a lookup already in stage 1 keeps the command it read.

    Parameters
    ----------
    params : T3Params
        Shared parameters (``tracker_entries``, ``index_width``, ``dma_command_layout``, ...).
    queue_depth : int
        Depth of the ready-command queue, at least 2. Default 8.

    Attributes
    ----------
    cmd_write : In(stream.Signature(StructLayout({"index": index_width, "valid": 1, "command": dma_command_layout})))
        Program (``valid=1``) or invalidate (``valid=0``) one table entry. Always ready; the write
        takes effect at the end of the cycle in which it is accepted.
    fire : In(stream.Signature(params.fire_layout))
        A tile whose count reached its threshold (from the tracker).
    doorbell : In(stream.Signature(StructLayout({"index": index_width})))
        Software start of the command in entry ``index``.
    cmd : Out(stream.Signature(params.dma_command_layout))
        Ready commands, in order of arrival; ``valid`` and ``payload`` come from the queue's output
        register.
    queue_level : Out(range(queue_depth + 1))
        Number of commands waiting in the queue (including the one presented on ``cmd``).
    err_no_command : Out(1)
        One-cycle pulse, one per fire/doorbell that found an unprogrammed entry, asserted two
        cycles after that request was accepted (or later if stage 1 waited on a full queue).
    issued : Out(32)
        Number of commands handed to the DMA engine (``cmd.valid & cmd.ready``), wrapping;
        updated one cycle after each handshake.
    """

    #: A fire or doorbell accepted in cycle *c* (stage 0) is on ``cmd`` from cycle
    #: *c* + ``CMD_LATENCY`` when stage 1 and the queue are empty. The cycle-level models read
    #: it from here.
    CMD_LATENCY = 3

    @staticmethod
    def check_arguments(params, *, queue_depth=8):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(queue_depth, int) or isinstance(queue_depth, bool):
            raise TypeError(f"queue_depth must be an integer, not {queue_depth!r}")
        if queue_depth < 2:
            raise ValueError(f"queue_depth must be >= 2, not {queue_depth}")

    def __init__(self, params, *, queue_depth=8):
        self._params = params
        self._queue_depth = queue_depth
        self.write_layout = data.StructLayout({
            "index":   unsigned(params.index_width),
            "valid":   1,
            "command": params.dma_command_layout,
        })
        self.doorbell_layout = data.StructLayout({"index": unsigned(params.index_width)})
        super().__init__({
            "cmd_write":      In(stream.Signature(self.write_layout)),
            "fire":           In(stream.Signature(params.fire_layout)),
            "doorbell":       In(stream.Signature(self.doorbell_layout)),
            "cmd":            Out(stream.Signature(params.dma_command_layout)),
            "queue_level":    Out(range(queue_depth + 1)),
            "err_no_command": Out(1),
            "issued":         Out(32),
        })

    @property
    def params(self):
        return self._params

    @property
    def queue_depth(self):
        return self._queue_depth

    def elaborate(self, platform):
        p = self._params
        m = Module()

        entry_layout = data.StructLayout({"valid": 1, "command": p.dma_command_layout})
        m.submodules.table = table = Memory(shape=entry_layout, depth=p.tracker_entries, init=[])
        wr = table.write_port()
        rd = table.read_port(domain="sync", transparent_for=(wr,))

        m.submodules.queue = queue = Queue(p.dma_command_layout, self._queue_depth, buffered=True)

        # -- programming ----------------------------------------------------------------------
        m.d.comb += [
            self.cmd_write.ready.eq(1),
            wr.addr.eq(self.cmd_write.payload.index),
            wr.data.valid.eq(self.cmd_write.payload.valid),
            wr.data.command.eq(self.cmd_write.payload.command),
            wr.en.eq(self.cmd_write.valid),
        ]

        # -- stage 1: entry read, push into the queue -------------------------------------------
        s1_valid = Signal()
        s1_done = Signal()
        m.d.comb += s1_done.eq(s1_valid & queue.w.ready)
        m.d.comb += [
            queue.w.payload.eq(rd.data.command),
            queue.w.valid.eq(s1_done & rd.data.valid),
        ]
        m.d.sync += self.err_no_command.eq(s1_done & ~rd.data.valid)

        # -- stage 0: arbitration and table read -----------------------------------------------
        can_accept = Signal()
        m.d.comb += can_accept.eq(~s1_valid | queue.w.ready)
        prio_doorbell = Signal()        # who wins when both are valid
        pick_fire = Signal()
        m.d.comb += pick_fire.eq(self.fire.valid & ~(self.doorbell.valid & prio_doorbell))
        m.d.comb += [
            self.fire.ready.eq(can_accept & ~(self.doorbell.valid & prio_doorbell)),
            self.doorbell.ready.eq(can_accept & ~pick_fire),
        ]
        take = Signal()
        m.d.comb += take.eq(can_accept & (self.fire.valid | self.doorbell.valid))
        with m.If(pick_fire):
            m.d.comb += rd.addr.eq(self.fire.payload.tile[:p.index_width])
        with m.Else():
            m.d.comb += rd.addr.eq(self.doorbell.payload.index)
        m.d.comb += rd.en.eq(can_accept)          # hold the read data while stage 1 waits
        with m.If(can_accept):
            m.d.sync += s1_valid.eq(take)
        with m.If(take & self.fire.valid & self.doorbell.valid):
            m.d.sync += prio_doorbell.eq(pick_fire)

        # -- output and status -----------------------------------------------------------------
        wiring.connect(m, queue.r, wiring.flipped(self.cmd))
        m.d.comb += self.queue_level.eq(queue.level)
        with m.If(self.cmd.valid & self.cmd.ready):
            m.d.sync += self.issued.eq(self.issued + 1)
        return m


EXPORTS = {"trigger": lambda: Trigger(T3Params())}
