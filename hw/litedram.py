"""The board's SDRAM behind the unit's AXI4 memory port: the LiteDRAM core as an Amaranth block.

The core itself is generated Verilog (``tools/litedram_core.py``: LiteDRAM's controller, an AXI4
frontend at the beat width, a PHY and an init sequencer); this module only instantiates it.
:class:`LiteDramSim` is the simulation variant (``t3_litedram_sim``: LiteDRAM's SDRAM model in
place of the pins) in the ``sync`` domain; the board variant (``t3_litedram``, its own PLL) is
instantiated by :class:`hw.fpga_top.FpgaTop`, which takes its clock from it.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature
from .params import T3Params, _check_int

__all__ = ["AXI_MEMBERS", "LiteDramSim", "axi_instance_ports", "CORE_ADDR_WIDTH"]

#: Byte address width of the generated core's AXI4 port (the 32 MB of an MT48LC16M16).
CORE_ADDR_WIDTH = 25
#: AXI4 members the generated core has, as ``s_axi_<name>`` ports.
AXI_MEMBERS = ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "awready",
               "wdata", "wstrb", "wlast", "wvalid", "wready", "bid", "bresp", "bvalid", "bready",
               "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "arready",
               "rid", "rdata", "rresp", "rlast", "rvalid", "rready")


def axi_instance_ports(bus, core_addr_width=CORE_ADDR_WIDTH):
    """``Instance`` keyword arguments joining an AXI4 bus (the slave side of an
    :class:`~hw.lib.axi.AXI4Signature` interface: ``In(AXI4Signature)``, or a master's interface
    seen from its peer) to the core's ``s_axi_*`` ports. Addresses are zero-extended to
    ``core_addr_width`` bits (the unit's memory is the bottom of the SDRAM)."""
    aw = len(bus.awaddr)
    if aw > core_addr_width:
        raise ValueError(f"the AXI4 bus has {aw}-bit addresses, wider than the core's "
                         f"{core_addr_width}")
    kw = {}
    for name in AXI_MEMBERS:
        sig_ = getattr(bus, name)
        driven_by_master = name in ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid",
                                    "wdata", "wstrb", "wlast", "wvalid", "bready", "arid",
                                    "araddr", "arlen", "arsize", "arburst", "arvalid", "rready")
        if name in ("awaddr", "araddr") and aw < core_addr_width:
            sig_ = Cat(sig_, Const(0, core_addr_width - aw))
        kw[("i_" if driven_by_master else "o_") + f"s_axi_{name}"] = sig_
    return kw


class LiteDramSim(wiring.Component):
    """LiteDRAM with its SDRAM model (``t3_litedram_sim`` from ``tools/litedram_core.py
    --target sim``) behind an AXI4 slave port, in the ``sync`` domain. Simulation only: the
    Verilog of the core must be given to the simulator beside the design's.

    Parameters
    ----------
    params : T3Params
        Uses ``data_width`` (64: the generated core's beat width) and ``addr_width``.
    id_width : int
        AXI ID width (2, that of :class:`~hw.memport.MemPort` and of the generated core).

    Attributes
    ----------
    s_axi : In(AXI4Signature)
        The slave port; byte address width ``addr_width + log2(data_width / 8)``.
    init_done : Out(1)
        The SDRAM init sequence is over; until then the core holds ``awready``/``wready``/
        ``arready`` low.
    """

    TOP = "t3_litedram_sim"

    def __init__(self, params, *, id_width=2):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        _check_int("id_width", id_width, 2, 2)
        if params.data_width != 64:
            raise ValueError(f"the generated LiteDRAM core has 64-bit beats, not "
                             f"data_width={params.data_width}")
        self.params = params
        byte_aw = params.addr_width + (params.data_width // 8 - 1).bit_length()
        super().__init__({
            "s_axi": In(AXI4Signature(addr_width=byte_aw, data_width=params.data_width,
                                      id_width=id_width)),
            "init_done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = Instance(
            self.TOP, i_sys_clk=ClockSignal("sync"), i_sys_rst=ResetSignal("sync"),
            o_init_done=self.init_done, **axi_instance_ports(self.s_axi))
        return m
