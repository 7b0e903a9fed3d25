"""Formal-verification primitives that Amaranth 0.5 has no public API for.

Amaranth 0.5 keeps ``AnyConst``, ``AnySeq`` and ``Initial`` out of its public namespace (they live
in the private ``amaranth.hdl._ast`` until a redesign), while ``Assert``, ``Assume`` and ``Cover``
are public. The formal harnesses (``formal/``) need all six, so this module provides the missing
three on public API only: each is an :class:`amaranth.hdl.Instance` of a tiny Verilog module
(:data:`VERILOG`) that Yosys reads with ``read_verilog -formal`` and turns into its ``$anyconst``,
``$anyseq`` and ``$initstate`` cells, the same cells Amaranth's private values lower to.

A harness that uses them must have :data:`VERILOG` read before its RTLIL (``formal.common.run_job``
does this for every job).
"""

from amaranth.hdl import Instance, Shape, Signal

__all__ = ["VERILOG", "any_const", "any_seq", "initial"]

#: Verilog of the three helper modules (read with ``read_verilog -formal``).
VERILOG = """\
module t3_anyconst #(parameter WIDTH = 1) (output [WIDTH-1:0] y);
  (* anyconst *) reg [WIDTH-1:0] r;
  assign y = r;
endmodule

module t3_anyseq #(parameter WIDTH = 1) (output [WIDTH-1:0] y);
  (* anyseq *) reg [WIDTH-1:0] r;
  assign y = r;
endmodule

module t3_initstate (output y);
  assign y = $initstate;
endmodule
"""


def _free(m, cell, shape, name):
    if not hasattr(m, "submodules"):
        raise TypeError(f"m must be an amaranth Module, not {m!r}")
    shape = Shape.cast(shape)
    if shape.width < 1:
        raise ValueError(f"shape must be at least 1 bit wide, not {shape!r}")
    sig = Signal(shape, name=name)
    m.submodules += Instance(cell, p_WIDTH=shape.width, o_y=sig)
    return sig


def any_const(m, shape, *, name="any_const"):
    """A signal of ``shape`` that the solver chooses once and then holds (Yosys ``$anyconst``)."""
    return _free(m, "t3_anyconst", shape, name)


def any_seq(m, shape, *, name="any_seq"):
    """A signal of ``shape`` that the solver chooses freely in every step (Yosys ``$anyseq``)."""
    return _free(m, "t3_anyseq", shape, name)


def initial(m, *, name="initial"):
    """A 1-bit signal that is high in the initial step only (Yosys ``$initstate``)."""
    if not hasattr(m, "submodules"):
        raise TypeError(f"m must be an amaranth Module, not {m!r}")
    sig = Signal(name=name)
    m.submodules += Instance("t3_initstate", o_y=sig)
    return sig
