"""``SkidBuffer``: a two-entry stream register that cuts the ``ready`` path.

``o.valid``/``o.payload`` are flip-flops (the *main* register) and ``i.ready`` is the inverse of a
flip-flop (the *skid* register is empty), so neither depends combinationally on the other side:
no path from ``o.ready`` back to ``i.ready``. One transfer per cycle is sustained while ``o.ready``
stays high; a transfer accepted in cycle *c* is on ``o`` from cycle *c+1*. When ``o`` stalls, the
transfer accepted meanwhile waits in the skid register and ``i.ready`` drops until it moves on.
"""

from amaranth.hdl import Module, Mux, Shape, ShapeCastable, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .checked import CheckedArguments

__all__ = ["SkidBuffer"]


class SkidBuffer(CheckedArguments, wiring.Component):
    """Two-entry stream buffer (see the module docstring).

    Parameters
    ----------
    shape : shape-castable
        Payload shape (a ``data.Layout`` gives the streams that layout).

    Attributes
    ----------
    i : In(stream.Signature(shape))
        ``i.ready`` = the skid register is empty (state only).
    o : Out(stream.Signature(shape))
        Registered; holds while ``o.valid & ~o.ready``.
    skid_valid, skid : Signal
        The skid register (public for the formal harnesses). Invariant: ``skid_valid`` implies
        ``o.valid``; the order of the held transfers is ``o`` then ``skid``.
    """

    @staticmethod
    def check_arguments(shape):
        try:
            Shape.cast(shape)
        except TypeError:
            raise TypeError(f"shape must be shape-castable, not {shape!r}") from None

    def __init__(self, shape):
        shape = shape if isinstance(shape, ShapeCastable) else Shape.cast(shape)
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})
        self.skid_valid = Signal(name="skid_valid")
        self.skid = Signal(shape, name="skid")

    def elaborate(self, platform):
        m = Module()
        i, o, skid, skid_valid = self.i, self.o, self.skid, self.skid_valid
        accept = Signal()
        m.d.comb += [i.ready.eq(~skid_valid), accept.eq(i.valid & ~skid_valid)]
        # Timing: the payload registers' enables do not depend on ``i.valid``. The skid register
        # follows ``i.payload`` while it is empty (enable: a flip-flop); the main register loads
        # whenever it may (``~o.valid | o.ready``), from the skid register if that is full, else
        # from ``i.payload`` (a don't-care unless ``o.valid`` is set with it).
        with m.If(~skid_valid):
            m.d.sync += skid.eq(i.payload)
        with m.If(~o.valid | o.ready):
            m.d.sync += o.payload.eq(Mux(skid_valid, skid, i.payload))
            with m.If(skid_valid):
                m.d.sync += [o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += o.valid.eq(accept)
        with m.Elif(accept):
            m.d.sync += skid_valid.eq(1)
        return m
