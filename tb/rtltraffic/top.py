"""Bench-only top: the synthesizable traffic generator drives a T3Core's compute port (the
unit's link looped back), so a run needs no Python per cycle."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from hw.params import T3Params
from hw.ports import forward_ports
from hw.sram import AxiSram
from hw.trafficgen import TrafficGen
from hw.unit import T3Core

__all__ = ["TrafficUnitTop", "generator_members", "connect_generator"]


def generator_members(tg, unit):
    """The ports of a top holding the traffic generator ``tg`` and the unit ``unit``:
    ``tg_s_axil_*``, ``u_s_axil_*``, ``tg_done``, ``irq``."""
    members = {}
    for prefix, block in (("tg", tg), ("u", unit)):
        for name, member in block.signature.members.items():
            if name.startswith("s_axil_"):
                members[f"{prefix}_{name}"] = member
    members["tg_done"] = Out(1)
    members["irq"] = Out(1)
    return members


def connect_generator(m, top, tg, unit):
    """Wire :func:`generator_members`' ports of ``top``, the generator onto the unit's compute
    port, and the unit's link looped back."""
    for prefix, block in (("tg", tg), ("u", unit)):
        forward_ports(m, block, top, [n for n in block.signature.members
                                      if n.startswith("s_axil_")], prefix=f"{prefix}_")
    wiring.connect(m, tg.mem_req, unit.compute)
    wiring.connect(m, unit.link_tx, unit.link_rx)
    m.d.comb += [
        unit.compute_resp.ready.eq(1),
        top.tg_done.eq(tg.done),
        top.irq.eq(unit.irq),
    ]


class TrafficUnitTop(wiring.Component):
    """``tg_s_axil_*``: the traffic generator's registers; ``u_s_axil_*``: the unit's CSR;
    ``tg_done``, ``irq``. The unit's memory is the ideal :class:`~hw.sram.AxiSram`."""

    def __init__(self, params=T3Params()):
        self._tg = TrafficGen(params)
        self._unit = T3Core(params)
        super().__init__(generator_members(self._tg, self._unit))

    def elaborate(self, platform):
        m = Module()
        m.submodules.tg = tg = self._tg
        m.submodules.unit = unit = self._unit
        m.submodules.memory = memory = AxiSram(self._unit.params)
        wiring.connect(m, unit.m_axi, memory.s_axi)
        connect_generator(m, self, tg, unit)
        return m
