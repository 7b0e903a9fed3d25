"""``Queue``: a synchronous FIFO with stream ports, the one queue every T3 block uses.

Why not ``amaranth.lib.fifo`` directly: its ``SyncFIFO``/``SyncFIFOBuffered`` (with their
``w_stream``/``r_stream`` views) build their storage inside ``elaborate`` and expose neither the
storage nor the read/write pointers. The k-induction proofs of ``formal/`` must state invariants over
a queue's entries and pointers (what a queue holds is part of the inductive invariant of the
tracker, the trigger and the memory port), which with Amaranth's FIFOs needs patching the library's
module globals. ``Queue`` is therefore a small ring buffer of its own, with the same cycle behaviour
as the Amaranth FIFOs:

* ``buffered=False`` behaves as ``SyncFIFO``: the head entry is read combinationally from the
  storage (first-word fall-through), an entry written in cycle *c* is visible on ``r`` in *c+1*.
* ``buffered=True`` behaves as ``SyncFIFOBuffered``: a ring of ``depth - 1`` entries with a
  synchronous read port, plus the read port's output register holding the head (so block RAM can
  be used); an entry written to an empty queue in cycle *c* is visible in *c+2*.

Its pointers, levels and storage are public attributes (:attr:`produce`, :attr:`consume`,
:attr:`inner_level`, :attr:`storage`) for the formal harnesses; the storage is a
``lib.memory.Memory`` looked up through this module's ``memory`` name, which a harness may replace
(``formal.common.load_design``) by a flip-flop stand-in.
"""

from amaranth.hdl import Module, Mux, Shape, ShapeCastable, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .checked import CheckedArguments

__all__ = ["Queue"]


def _incr(ptr, depth):
    """``ptr + 1`` modulo ``depth`` (``ptr`` has ``range(depth)`` shape)."""
    if depth == 1 << len(ptr):
        return ptr + 1
    return Mux(ptr == depth - 1, 0, ptr + 1)


class Queue(CheckedArguments, wiring.Component):
    """Synchronous FIFO with stream ports.

    Parameters
    ----------
    shape : shape-castable
        Shape of an entry (an ``unsigned(n)``, an int width, or a ``data.Layout``; the stream
        payloads then have that layout).
    depth : int
        Number of entries, >= 1 (>= 2 with ``buffered``).
    buffered : bool
        Registered output (see the module docstring). Default False.

    Attributes
    ----------
    w : In(stream.Signature(shape))
        Write side: ``w.ready`` is high while fewer than ``depth`` entries are held (it does not
        depend on ``r.ready``).
    r : Out(stream.Signature(shape))
        Read side, in write order; ``r.payload`` holds while ``r.valid & ~r.ready``.
    level : Out(range(depth + 1))
        Entries held (written and not yet read), including the output register of a buffered
        queue.
    """

    @staticmethod
    def check_arguments(shape, depth, *, buffered=False):
        try:
            Shape.cast(shape)
        except TypeError:
            raise TypeError(f"shape must be shape-castable, not {shape!r}") from None
        if not isinstance(depth, int) or isinstance(depth, bool):
            raise TypeError(f"depth must be an integer, not {depth!r}")
        if not isinstance(buffered, bool):
            raise TypeError(f"buffered must be a bool, not {buffered!r}")
        if depth < (2 if buffered else 1):
            raise ValueError(f"depth must be >= {2 if buffered else 1}"
                             f"{' for a buffered queue' if buffered else ''}, not {depth}")

    @staticmethod
    def write_to_read(buffered):
        """Cycles from writing an entry into an empty queue to its ``r.valid``: 1, or 2 with
        ``buffered`` (the output register)."""
        return 2 if buffered else 1

    def __init__(self, shape, depth, *, buffered=False):
        shape = shape if isinstance(shape, ShapeCastable) else Shape.cast(shape)
        self.shape, self.depth, self.buffered = shape, depth, buffered
        super().__init__({
            "w":     In(stream.Signature(shape)),
            "r":     Out(stream.Signature(shape)),
            "level": Out(range(depth + 1)),
        })
        #: depth of the ring (``depth - 1`` when buffered: the head is in the output register)
        self.ring_depth = depth - 1 if buffered else depth
        self.produce = Signal(range(self.ring_depth), name="produce")
        self.consume = Signal(range(self.ring_depth), name="consume")
        self.inner_level = Signal(range(self.ring_depth + 1), name="inner_level")
        self.storage = None          # the memory, once elaborated

    def elaborate(self, platform):
        m = Module()
        n = self.ring_depth
        produce, consume, inner_level = self.produce, self.consume, self.inner_level
        m.submodules.storage = storage = memory.Memory(shape=self.shape, depth=n, init=[])
        self.storage = storage
        wr = storage.write_port()
        do_write = self.w.valid & self.w.ready
        m.d.comb += [
            self.w.ready.eq(inner_level != n),
            wr.addr.eq(produce),
            wr.data.eq(self.w.payload),
            wr.en.eq(do_write),
        ]
        with m.If(do_write):
            m.d.sync += produce.eq(_incr(produce, n))

        if self.buffered:
            rd = storage.read_port(domain="sync")
            # move the ring's head into the output register when it is empty or being read
            do_pop = (inner_level != 0) & (~self.r.valid | self.r.ready)
            m.d.comb += [rd.addr.eq(consume), rd.en.eq(do_pop), self.r.payload.eq(rd.data)]
            with m.If(do_pop):
                m.d.sync += self.r.valid.eq(1)
            with m.Elif(self.r.ready):
                m.d.sync += self.r.valid.eq(0)
            m.d.comb += self.level.eq(inner_level + self.r.valid)
        else:
            rd = storage.read_port(domain="comb")
            do_pop = self.r.valid & self.r.ready
            m.d.comb += [rd.addr.eq(consume), self.r.payload.eq(rd.data),
                         self.r.valid.eq(inner_level != 0), self.level.eq(inner_level)]
        with m.If(do_pop):
            m.d.sync += consume.eq(_incr(consume, n))
        with m.If(do_write & ~do_pop):
            m.d.sync += inner_level.eq(inner_level + 1)
        with m.If(do_pop & ~do_write):
            m.d.sync += inner_level.eq(inner_level - 1)
        return m
