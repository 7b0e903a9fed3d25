"""A ring of N T3 units joined by link models, for simulating a whole fused GEMM + reduce-scatter."""

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .link import LinkModel
from .params import T3Params
from .ports import forward_ports
from .sram import AxiSram
from .unit import T3Core

#: The memories a ring can put behind each unit's AXI4 memory port.
MEMORIES = ("ideal", "dram", "litedram")


def dram_behind(port, dram_params=None, *, uninitialized=False):
    """A :class:`~hw.dram.DramModel` sized for the AXI4 port of ``port`` (a
    :class:`~hw.memport.MemPort`): its address, data and ID widths, and as many rows as the
    port's beat address space needs; every timing from ``dram_params`` (default: the HBM2
    defaults of :class:`~hw.dram_params.DramParams`)."""
    from .dram import DramModel
    from .dram_params import DramParams
    base = DramParams() if dram_params is None else dram_params
    sig = port.axi_signature
    beats = 1 << port.params.addr_width
    rows = max(1, beats // (base.banks * base.cols))
    return DramModel(base.replace(addr_width=sig.addr_width, data_width=sig.data_width,
                                  id_width=sig.id_width, rows=rows), uninitialized=uninitialized)

__all__ = ["T3Ring"]


class T3Ring(wiring.Component):
    """``devices`` T3 units in a unidirectional ring: unit ``i``'s ``link_tx`` feeds, through a
    :class:`~hw.link.LinkModel`, unit ``(i + 1) % devices``'s ``link_rx``. Beside each unit, on
    its AXI4 memory port, sits its memory: :class:`~hw.sram.AxiSram` (``memory="ideal"``: fixed
    latency, one beat per cycle), :class:`~hw.dram.DramModel` (``memory="dram"``: HBM2
    pseudo-channel timing) or :class:`~hw.litedram.LiteDramSim` (``memory="litedram"``: the
    FPGA build's LiteDRAM controller on its SDR SDRAM model; simulation only, with the generated
    ``t3_litedram_sim`` Verilog, see ``tools/litedram_bench.py``).

    Parameters
    ----------
    params : T3Params
    devices : int
        Number of units (2 .. 2**params.dev_width). Default 4.
    link_latency : int
        Link latency in cycles. Default 8.
    link_bw : (int, int)
        Link bandwidth as (beats, per cycles). Default (1, 1).
    memory : str
        ``"ideal"`` (default), ``"dram"`` or ``"litedram"``.
    mem_outstanding : int
        Each unit's memory-port slots (see :class:`~hw.memport.MemPort`). Default 16.
    dram_params : DramParams or None
        Timing of the DRAM model (``memory="dram"`` only); default its HBM2 defaults.
    uninitialized_memory : bool
        Each memory keeps its contents in :func:`hw.simram.sim_ram` (no initial contents in the
        exported Verilog: rings at real tile sizes, ``tb/scale/top.py``) instead of an Amaranth
        ``Memory``. Default False.

    Attributes
    ----------
    d<i>_compute, d<i>_compute_resp, d<i>_remote, d<i>_s_axil_*, d<i>_irq, d<i>_soft_reset :
        Unit ``i``'s compute request port, compute read responses, GEMM-originated packets,
        AXI4-Lite CSR port, interrupt and soft reset, with the same timing as on
        :class:`~hw.unit.T3Core`.
    mem_ready : Out(1)
        Only with ``memory="litedram"``: every SDRAM has finished its init sequence (until then
        the memories take no request; the ring bench waits for it).
    """

    def __init__(self, params=T3Params(), *, devices=4, link_latency=8, link_bw=(1, 1),
                 memory="ideal", mem_outstanding=16, dram_params=None,
                 uninitialized_memory=False):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(uninitialized_memory, bool):
            raise TypeError(f"uninitialized_memory must be a bool, not {uninitialized_memory!r}")
        if memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, not {memory!r}")
        if not isinstance(devices, int) or not 2 <= devices <= (1 << params.dev_width):
            raise ValueError(f"devices must be an integer in [2, {1 << params.dev_width}], "
                             f"not {devices!r}")
        self._params = params
        self._devices = devices
        self._memory = memory
        self._units = [T3Core(params, mem_outstanding=mem_outstanding) for _ in range(devices)]
        if memory == "ideal":
            self._mems = [AxiSram(params, uninitialized=uninitialized_memory)
                          for _ in range(devices)]
        elif memory == "litedram":
            from .litedram import LiteDramSim
            self._mems = [LiteDramSim(params) for _ in range(devices)]
        else:
            self._mems = [dram_behind(self._units[0].mem_port, dram_params,
                                      uninitialized=uninitialized_memory)
                          for _ in range(devices)]
        self._links = [LinkModel(params, latency=link_latency, bw_num=link_bw[0],
                                 bw_den=link_bw[1]) for _ in range(devices)]
        members = {}
        for i, unit in enumerate(self._units):
            for name, member in unit.signature.members.items():
                if name in ("link_tx", "link_rx", "m_axi", "compute_err"):
                    continue                  # compute_err: the native compute port has no bursts
                members[f"d{i}_{name}"] = member
        if memory == "litedram":
            members["mem_ready"] = Out(1)
        super().__init__(members)

    @property
    def devices(self):
        return self._devices

    @property
    def memory(self):
        return self._memory

    def elaborate(self, platform):
        m = Module()
        n = self._devices
        for i, (unit, link) in enumerate(zip(self._units, self._links)):
            m.submodules[f"unit{i}"] = unit
            m.submodules[f"link{i}"] = link
            m.submodules[f"mem{i}"] = mem = self._mems[i]
            wiring.connect(m, unit.m_axi, mem.s_axi)
            wiring.connect(m, wiring.flipped(getattr(self, f"d{i}_compute")), unit.compute)
            wiring.connect(m, unit.compute_resp, wiring.flipped(getattr(self, f"d{i}_compute_resp")))
            wiring.connect(m, wiring.flipped(getattr(self, f"d{i}_remote")), unit.remote)
            m.d.comb += unit.compute_err.eq(0)
            forward_ports(m, unit, self, [n for n in unit.signature.members
                                          if n not in ("compute", "compute_resp", "remote",
                                                       "compute_err", "link_tx", "link_rx",
                                                       "m_axi")],
                          prefix=f"d{i}_")
            wiring.connect(m, unit.link_tx, link.i)
            wiring.connect(m, link.o, self._units[(i + 1) % n].link_rx)
        if self._memory == "litedram":
            m.d.comb += self.mem_ready.eq(Cat(mem.init_done for mem in self._mems).all())
        return m


EXPORTS = {"t3_ring": lambda: T3Ring(T3Params())}
