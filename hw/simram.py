"""A memory array with no initial contents, for simulation at scale.

Amaranth's :class:`~amaranth.lib.memory.Memory` always writes its initial contents into the
exported Verilog, one constant bit per stored bit (zeros by default): a 2**16 x 64-bit memory
takes tens of seconds and megabytes of Verilog, and the memories of a ring at real tile sizes
(tens of MiB per device) cannot be exported at all. :func:`sim_ram` instead instantiates
:data:`MODULE`, a plain Verilog array (:data:`VERILOG`) declared without an ``initial`` block:
its contents start undefined (Icarus: ``x``; Verilator: per ``--x-initial``), so a user must write
every word before it reads it.

:func:`hw.export.verilog_text` appends :data:`VERILOG` to any design that instantiates
:data:`MODULE`, so every flow that exports through it (the cocotb runner, ``tools/scale.py``)
compiles the design unchanged. Amaranth's own simulator cannot run an ``Instance``: designs
for ``amaranth.sim`` keep the Amaranth memory (the default of every block that offers this).

The ports behave as ``Memory.read_port()`` (synchronous, data the cycle after the address, not
transparent: a read and a write of one word in one cycle return the old word) and
``Memory.write_port(granularity=...)`` (one enable bit per ``granularity`` bits).
"""

from amaranth.hdl import ClockSignal, Instance, Signal

from .params import _check_int

__all__ = ["MODULE", "VERILOG", "sim_ram"]

MODULE = "t3_sim_ram"

VERILOG = """\
// t3_sim_ram: simulation memory without initial contents (hw/simram.py)
module t3_sim_ram #(parameter WIDTH = 64, parameter ABITS = 10, parameter DEPTH = 1024,
                    parameter LANES = 1) (
    input  wire             clk,
    input  wire [ABITS-1:0] raddr,
    output reg  [WIDTH-1:0] rdata,
    input  wire [ABITS-1:0] waddr,
    input  wire [WIDTH-1:0] wdata,
    input  wire [LANES-1:0] wen
);
    localparam G = WIDTH / LANES;
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    integer i;
    always @(posedge clk) begin
        if (wen == {LANES{1'b1}})
            mem[waddr] <= wdata;
        else if (|wen)
            for (i = 0; i < LANES; i = i + 1)
                if (wen[i]) mem[waddr][i*G +: G] <= wdata[i*G +: G];
        rdata <= mem[raddr];
    end
endmodule
"""


class _Port:
    def __init__(self, **signals):
        self.__dict__.update(signals)


def sim_ram(m, name, *, width, depth, granularity=None, domain="sync"):
    """Add a :data:`MODULE` instance called ``name`` to module ``m``; return ``(read, write)``
    port objects with the signals of Amaranth's memory ports: ``read.addr``, ``read.data``;
    ``write.addr``, ``write.data``, ``write.en`` (``width // granularity`` bits, one without
    ``granularity``)."""
    _check_int("width", width, 1, 1 << 16)
    _check_int("depth", depth, 1, 1 << 32)
    if granularity is None:
        granularity = width
    _check_int("granularity", granularity, 1, width)
    if width % granularity:
        raise ValueError(f"granularity {granularity} must divide width {width}")
    lanes = width // granularity
    abits = max(1, (depth - 1).bit_length())
    rd = _Port(addr=Signal(abits, name=f"{name}_raddr"), data=Signal(width, name=f"{name}_rdata"))
    wr = _Port(addr=Signal(abits, name=f"{name}_waddr"), data=Signal(width, name=f"{name}_wdata"),
               en=Signal(lanes, name=f"{name}_wen"))
    m.submodules[name] = Instance(
        MODULE, p_WIDTH=width, p_ABITS=abits, p_DEPTH=depth, p_LANES=lanes,
        i_clk=ClockSignal(domain),
        i_raddr=rd.addr, o_rdata=rd.data, i_waddr=wr.addr, i_wdata=wr.data, i_wen=wr.en)
    return rd, wr

