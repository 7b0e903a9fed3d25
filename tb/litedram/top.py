"""Bench-only top: the traffic generator drives a T3Core (link looped back) whose AXI4 memory port
goes to LiteDRAM with its SDRAM model (``memory="litedram"``) or to the block-RAM
:class:`~hw.sram.AxiSram` (``memory="bram"``, the reference for cycles per beat), through a 2:1
AXI4 selector that lets the bench itself reach the memory (``bd_sel``: the back door, used
before and after a run to fill and check the memory through the same controller)."""

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.fpga_top import FpgaCore
from hw.lib.axi import axi4_switch
from hw.litedram import LiteDramSim
from hw.params import T3Params
from hw.sram import AxiSram
from hw.trafficgen import TrafficGen
from hw.unit import T3Core
from tb.rtltraffic.top import connect_generator, generator_members

__all__ = ["MEMORIES", "LiteDramTrafficTop", "LiteDramFpgaTop"]

MEMORIES = ("litedram", "bram")



class LiteDramTrafficTop(wiring.Component):
    """``tg_s_axil_*``: the traffic generator's registers; ``u_s_axil_*``: the unit's CSR;
    ``tg_done``, ``irq``, ``init_done`` (memory ready); ``bd_sel`` = 1 hands the memory to the
    ``bd_axi`` port (switch only while both sides are idle); ``unit_pending``: the unit's AXI4
    transactions in flight (ARs without their last R beat, AWs without their B).
    ``mutant=True`` flips bit 37 of every beat the unit writes: a bench that still passes checks
    nothing."""

    def __init__(self, params=T3Params(), memory="litedram", *, mutant=False):
        if memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, not {memory!r}")
        if not isinstance(mutant, bool):
            raise TypeError(f"mutant must be a bool, not {mutant!r}")
        self.memory = memory
        self.mutant = mutant
        self._tg = TrafficGen(params)
        self._unit = T3Core(params)
        members = generator_members(self._tg, self._unit)
        members.update({
            "init_done": Out(1), "bd_sel": In(1),
            "unit_pending": Out(8),
            "bd_axi": In(self._unit.m_axi.signature),
        })
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.tg = tg = self._tg
        m.submodules.unit = unit = self._unit
        p = unit.params
        if self.memory == "litedram":
            m.submodules.memory = memory = LiteDramSim(p)
            m.d.comb += self.init_done.eq(memory.init_done)
        else:
            m.submodules.memory = memory = AxiSram(p)
            m.d.comb += self.init_done.eq(1)
        mem, cpu, bd, sel = memory.s_axi, unit.m_axi, self.bd_axi, self.bd_sel
        theirs = cpu
        if self.mutant:                                # the bench must catch a flipped data bit
            theirs = cpu.signature.create(path=("mutant",))
            for name, member in cpu.signature.members.items():
                if member.flow == Out:
                    flip = (1 << 37) if name == "wdata" else 0
                    m.d.comb += getattr(theirs, name).eq(getattr(cpu, name) ^ flip)
                else:
                    m.d.comb += getattr(cpu, name).eq(getattr(theirs, name))
        axi4_switch(m, sel, theirs, bd, mem)
        ar_go = cpu.arvalid & cpu.arready
        r_end = cpu.rvalid & cpu.rready & cpu.rlast
        aw_go = cpu.awvalid & cpu.awready
        b_end = cpu.bvalid & cpu.bready
        m.d.sync += self.unit_pending.eq(self.unit_pending + ar_go + aw_go - r_end - b_end)
        connect_generator(m, self, tg, unit)
        return m


class LiteDramFpgaTop(wiring.Component):
    """Bench-only top: the board's :class:`~hw.fpga_top.FpgaCore` (UART bridge, decoder, unit,
    traffic generator, memory window, looped-back link) with its memory in LiteDRAM + the SDRAM
    model (``memory="litedram"``) or in block RAM (``memory="bram"``, the core's own). The bench
    reaches everything through ``uart_rx``/``uart_tx`` only, at ``divisor`` cycles per bit,
    as the host does on the board; ``init_done`` is the memory's."""

    def __init__(self, params=T3Params(), memory="litedram", *, divisor=8):
        if memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, not {memory!r}")
        self.memory = memory
        self._core = FpgaCore(params, divisor=divisor, heartbeat_bit=8,
                              memory="external" if memory == "litedram" else "bram")
        self.params, self.divisor = params, divisor
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "leds": Out(8),
                          "init_done": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core
        m.d.comb += [core.uart_rx.eq(self.uart_rx), self.uart_tx.eq(core.uart_tx),
                     self.leds.eq(core.leds)]
        if self.memory == "litedram":
            m.submodules.memory = memory = LiteDramSim(self.params)
            wiring.connect(m, core.m_axi, memory.s_axi)
            m.d.comb += self.init_done.eq(memory.init_done)
        else:
            m.d.comb += self.init_done.eq(1)
        return m
