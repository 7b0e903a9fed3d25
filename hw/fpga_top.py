"""FPGA prototype top: one T3 unit on an ECP5 board (ULX3S-85F), reached from a host over the UART.

::

    host ══ UART ══ UartBridge ── AxilDecoder ─┬─ 0x0000-0x0FFF ─► T3Core CSR (docs/registers.md)
                                               ├─ 0x1000-0x1FFF ─► TrafficGen registers
                                               └─ 0x2000-0x2FFF ─► HostMemPort (memory window)
    TrafficGen.mem_req ─► T3Core.compute            T3Core.link_tx ─► LinkModel ─► T3Core.link_rx
    T3Core.m_axi ══ HostMemPort ══ AXI4 ══► LiteDRAM ══► SDR SDRAM   (memory="sdram")
                                        or ══► AxiSram (block RAM)   (memory="bram")

The traffic generator plays the GEMM (tracked writes of output tiles); the unit's link is looped back
to itself (a single board: the device sends tiles to itself, so set ``CTRL.dev_id`` and the DMA
commands' ``dst_dev`` to the same id). The memory window (:class:`~hw.memwindow.HostMemPort`)
lets the host read and write single beats of the unit's memory, to fill sources and check results
with exact data. Other addresses answer ``DECERR`` (the bridge's ``'E'``).

LEDs (ULX3S ``led`` 0..7): 0 traffic generator done, 1 traffic generator busy, 2 T3 ``irq``
(``CTRL.irq_enable`` and any ``ERR`` flag or ``DONE``), 3 sticky bridge error (a non-OKAY AXI
response or a UART framing/overrun error; cleared by reset), 4 UART rx activity, 5 UART tx activity,
6 a link beat was seen (sticky), 7 heartbeat (about 0.75 Hz at 25 MHz, 1.5 Hz at 50 MHz).

This module is board-specific and is not in ``EXPORTS``; ``python tools/fpga.py`` builds it.
See ``docs/fpga.md`` for programming and running it.
"""

from amaranth.hdl import Cat, ClockDomain, Elaboratable, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .link import LinkModel
from .lib.checked import CheckedArguments
from .litedram import axi_instance_ports
from .memport import axi_signature as memport_axi_signature
from .memwindow import HostMemPort
from .params import T3Params
from .lib.axil import RESP_DECERR, AXI4LiteSlave, axil_members, connect_axil
from .trafficgen import TrafficGen
from .uart_bridge import UartBridge
from .sram import AxiSram
from .unit import T3Core

__all__ = ["AxilDecoder", "FpgaCore", "FpgaTop", "FPGA_PARAMS", "UNIT_BASE", "TG_BASE", "MEM_BASE",
           "BAUD",
           "MEMORIES", "SDRAM_SYS_CLK"]

#: Parameters of the unit on the board (the defaults: 256 tracker entries, 64-bit beats, 4096 beats
#: of memory, in block RAM or at the bottom of the SDRAM).
FPGA_PARAMS = T3Params()
#: Byte address of the T3 unit's register window, the traffic generator's and the memory window's
#: (:mod:`hw.memwindow`), as the host sees.
UNIT_BASE, TG_BASE, MEM_BASE = 0x0000, 0x1000, 0x2000
#: Default UART speed.
BAUD = 115200
#: Where the unit's memory is on the board: the SDRAM through LiteDRAM, or block RAM.
MEMORIES = ("sdram", "bram")
#: System clock with the SDRAM (Hz): made by the LiteDRAM core's PLL from the 25 MHz clock; the
#: board core must be generated for it (``tools/litedram_core.py --sys-clk-mhz``).
SDRAM_SYS_CLK = 50_000_000



class AxilDecoder(CheckedArguments, wiring.Component):
    """AXI4-Lite address decoder: one master, ``n_slaves`` windows of ``2**slave_addr_width`` bytes.

    Slave *i* owns byte addresses ``[i << slave_addr_width, (i + 1) << slave_addr_width)`` and sees
    the offset within its window. Addresses above the last window answer ``DECERR`` from the
    decoder itself. One write and one read are handled at a time (each channel is fully
    registered: a write takes at least 4 cycles from ``awvalid`` to ``bvalid``), which is plenty
    for a host bridge.

    Parameters
    ----------
    addr_width : int
        Master byte address width (> ``slave_addr_width``). Default 16.
    slave_addr_width : int
        Byte address width of each slave window. Default 12.
    n_slaves : int
        Number of windows, ``1 <= n_slaves <= 2**(addr_width - slave_addr_width)``. Default 2.

    Attributes
    ----------
    s_axil_* :
        AXI4-Lite slave port for the master. A write is taken when ``awvalid`` and ``wvalid`` are
        both high (``awready = wready`` then); a read when ``arvalid`` is high and no read is open.
    m<i>_axil_* :
        AXI4-Lite master port to slave *i* (registered outputs).
    """

    @staticmethod
    def check_arguments(addr_width=16, slave_addr_width=12, n_slaves=2):
        for name, v in (("addr_width", addr_width), ("slave_addr_width", slave_addr_width),
                        ("n_slaves", n_slaves)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name} must be an integer, not {v!r}")
        if not 1 <= slave_addr_width < addr_width <= 32:
            raise ValueError(f"need 1 <= slave_addr_width < addr_width <= 32, not "
                             f"slave_addr_width={slave_addr_width}, addr_width={addr_width}")
        if not 1 <= n_slaves <= (1 << (addr_width - slave_addr_width)):
            raise ValueError(f"n_slaves must be in [1, {1 << (addr_width - slave_addr_width)}], "
                             f"not {n_slaves}")

    def __init__(self, addr_width=16, slave_addr_width=12, n_slaves=2):
        self.addr_width = addr_width
        self.slave_addr_width = slave_addr_width
        self.n_slaves = n_slaves
        members = axil_members("s_axil", addr_width)
        for i in range(n_slaves):
            members.update(axil_members(f"m{i}_axil", slave_addr_width, master=True))
        super().__init__(members)

    def slave(self, i):
        """``{port: signal}`` of master port *i*, keyed without the prefix (``"awaddr"``)."""
        return {k[len(f"m{i}_axil_"):]: getattr(self, k) for k in self.signature.members
                if k.startswith(f"m{i}_axil_")}

    def elaborate(self, platform):
        m = Module()
        s = self
        saw = self.slave_addr_width
        n = self.n_slaves
        ports = [self.slave(i) for i in range(n)]
        sel_bits = self.addr_width - saw

        # the slave side: AW and W taken together, one write and one read at a time
        m.submodules.front = front = AXI4LiteSlave(self.addr_width, buffered=False)
        connect_axil(m, s, "s_axil", front, "s_axil")
        wr, rd = front.write, front.read

        # -- writes ---------------------------------------------------------------------------
        w_addr, w_data, w_strb, w_prot = Signal(saw), Signal(32), Signal(4), Signal(3)
        w_sel = Signal(sel_bits)
        aw_pend, w_pend = Signal(), Signal()
        for i, p in enumerate(ports):
            mine = w_sel == i
            m.d.comb += [
                p["awaddr"].eq(w_addr), p["awprot"].eq(w_prot), p["wdata"].eq(w_data),
                p["wstrb"].eq(w_strb),
                p["awvalid"].eq(aw_pend & mine), p["wvalid"].eq(w_pend & mine),
            ]
        aw_ready = Signal()
        w_ready = Signal()
        b_in_valid = Signal()
        b_in_resp = Signal(2)
        for i, p in enumerate(ports):
            with m.If(w_sel == i):
                m.d.comb += [aw_ready.eq(p["awready"]), w_ready.eq(p["wready"]),
                             b_in_valid.eq(p["bvalid"]), b_in_resp.eq(p["bresp"])]
        with m.FSM(name="wr"):
            with m.State("IDLE"):
                m.d.comb += wr.ready.eq(1)
                with m.If(wr.valid):
                    sel = wr.payload.addr[saw:]
                    m.d.sync += [w_addr.eq(wr.payload.addr[:saw]), w_sel.eq(sel),
                                 w_data.eq(wr.payload.data), w_strb.eq(wr.payload.strb),
                                 w_prot.eq(wr.payload.prot)]
                    with m.If(sel < n):
                        m.d.sync += [aw_pend.eq(1), w_pend.eq(1)]
                        m.next = "FWD"
                    with m.Else():
                        m.d.comb += [front.write_resp.valid.eq(1),
                                     front.write_resp.payload.eq(RESP_DECERR)]
            with m.State("FWD"):
                with m.If(aw_ready):
                    m.d.sync += aw_pend.eq(0)
                with m.If(w_ready):
                    m.d.sync += w_pend.eq(0)
                with m.If((~aw_pend | aw_ready) & (~w_pend | w_ready)):
                    m.next = "BWAIT"
            with m.State("BWAIT"):
                for i, p in enumerate(ports):
                    m.d.comb += p["bready"].eq(w_sel == i)
                with m.If(b_in_valid):
                    m.d.comb += [front.write_resp.valid.eq(1),
                                 front.write_resp.payload.eq(b_in_resp)]
                    m.next = "IDLE"

        # -- reads ----------------------------------------------------------------------------
        r_addr, r_prot, r_sel = Signal(saw), Signal(3), Signal(sel_bits)
        ar_pend = Signal()
        r_out = front.read_resp
        for i, p in enumerate(ports):
            m.d.comb += [p["araddr"].eq(r_addr), p["arprot"].eq(r_prot),
                         p["arvalid"].eq(ar_pend & (r_sel == i))]
        ar_ready, r_in_valid, r_in_resp, r_in_data = Signal(), Signal(), Signal(2), Signal(32)
        for i, p in enumerate(ports):
            with m.If(r_sel == i):
                m.d.comb += [ar_ready.eq(p["arready"]), r_in_valid.eq(p["rvalid"]),
                             r_in_resp.eq(p["rresp"]), r_in_data.eq(p["rdata"])]
        with m.FSM(name="rd"):
            with m.State("IDLE"):
                m.d.comb += rd.ready.eq(1)
                with m.If(rd.valid):
                    sel = rd.payload.addr[saw:]
                    m.d.sync += [r_addr.eq(rd.payload.addr[:saw]), r_sel.eq(sel),
                                 r_prot.eq(rd.payload.prot)]
                    with m.If(sel < n):
                        m.d.sync += ar_pend.eq(1)
                        m.next = "FWD"
                    with m.Else():
                        m.d.comb += [r_out.valid.eq(1), r_out.payload.resp.eq(RESP_DECERR)]
            with m.State("FWD"):
                with m.If(ar_ready):
                    m.d.sync += ar_pend.eq(0)
                    m.next = "RWAIT"
            with m.State("RWAIT"):
                for i, p in enumerate(ports):
                    m.d.comb += p["rready"].eq(r_sel == i)
                with m.If(r_in_valid):
                    m.d.comb += [r_out.valid.eq(1), r_out.payload.resp.eq(r_in_resp),
                                 r_out.payload.data.eq(r_in_data)]
                    m.next = "IDLE"
        return m


class FpgaCore(CheckedArguments, wiring.Component):
    """Everything on the board but the pins: bridge, decoder, T3 unit, traffic generator, link loop.

    Parameters
    ----------
    params : T3Params
        Parameters of the unit and the traffic generator. Default :data:`FPGA_PARAMS`.
    divisor : int
        UART clock cycles per bit (``clk / baud``). Default 217 (115200 baud at 25 MHz).
    link_latency : int
        Latency of the loop-back link model in cycles. Default 2.
    heartbeat_bit : int
        Bit of the free-running counter shown on LED 7. Default 24.
    memory : str
        ``"bram"`` (default): the unit's memory is :class:`~hw.sram.AxiSram` inside the core;
        ``"external"``: the unit's AXI4 master is the core's port ``m_axi`` (the board's SDRAM
        through LiteDRAM, attached by :class:`FpgaTop`).

    Attributes
    ----------
    m_axi : Out(AXI4Signature)
        Only with ``memory="external"``: the unit's memory port.
    uart_rx : In(1)
        Serial input from the host (asynchronous, idle high).
    uart_tx : Out(1)
        Serial output to the host (registered, idle high).
    leds : Out(8)
        Status LEDs (see the module docstring).
    """

    @staticmethod
    def check_arguments(params=FPGA_PARAMS, *, divisor=217, link_latency=2, heartbeat_bit=24,
                        memory="bram"):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if memory not in ("bram", "external"):
            raise ValueError(f"memory must be 'bram' or 'external', not {memory!r}")
        if not isinstance(heartbeat_bit, int) or not 1 <= heartbeat_bit <= 31:
            raise ValueError(f"heartbeat_bit must be in [1, 31], not {heartbeat_bit!r}")
        UartBridge.check_arguments(divisor)

    def __init__(self, params=FPGA_PARAMS, *, divisor=217, link_latency=2, heartbeat_bit=24,
                 memory="bram"):
        self._params = params
        self.divisor = divisor
        self.link_latency = link_latency
        self.heartbeat_bit = heartbeat_bit
        self.memory = memory
        self._bridge = UartBridge(divisor)
        members = {
            "uart_rx": In(1, init=1),
            "uart_tx": Out(1, init=1),
            "leds": Out(8),
        }
        if memory == "external":       # the signature of T3Core.m_axi
            members["m_axi"] = Out(memport_axi_signature(params))
        super().__init__(members)

    def elaborate(self, platform):
        p = self._params
        m = Module()
        m.submodules.bridge = bridge = self._bridge
        m.submodules.decoder = dec = AxilDecoder(16, 12, 3)
        m.submodules.unit = unit = T3Core(p)
        m.submodules.window = window = HostMemPort(p, unit.m_axi.signature)
        wiring.connect(m, unit.m_axi, window.s_axi)
        if self.memory == "bram":
            m.submodules.memory = memory = AxiSram(p)      # block RAM behind the AXI4 memory port
            wiring.connect(m, window.m_axi, memory.s_axi)
        else:
            wiring.connect(m, window.m_axi, wiring.flipped(self.m_axi))
        m.submodules.trafficgen = tg = TrafficGen(p)
        m.submodules.link = link = LinkModel(p, latency=self.link_latency)

        m.d.comb += [bridge.rx.eq(self.uart_rx), self.uart_tx.eq(bridge.tx)]
        connect_axil(m, bridge, "m_axil", dec, "s_axil")
        connect_axil(m, dec, "m0_axil", unit, "s_axil")
        connect_axil(m, dec, "m1_axil", tg, "s_axil")
        connect_axil(m, dec, "m2_axil", window, "s_axil")

        wiring.connect(m, tg.mem_req, unit.compute)
        m.d.comb += unit.compute_resp.ready.eq(1)     # the generator only writes
        wiring.connect(m, unit.link_tx, link.i)
        wiring.connect(m, link.o, unit.link_rx)

        err = Signal()
        link_seen = Signal()
        with m.If(bridge.err_resp | bridge.err_rx):
            m.d.sync += err.eq(1)
        with m.If(unit.link_rx.valid & unit.link_rx.ready):
            m.d.sync += link_seen.eq(1)
        beat = Signal(self.heartbeat_bit + 1)
        m.d.sync += beat.eq(beat + 1)
        m.d.comb += self.leds.eq(Cat(tg.done, tg.busy, unit.irq, err, ~self.uart_rx, ~bridge.tx,
                                     link_seen, beat[-1]))
        return m


class FpgaTop(CheckedArguments, Elaboratable):
    """The board top: :class:`FpgaCore` on a platform's ``uart`` 0 and ``led`` 0..7 (the ULX3S
    resource names, as in amaranth-boards), with its memory in block RAM or in the board's SDRAM.

    * ``memory="bram"``: everything on the board's ``clk25`` (the platform's default clock).
    * ``memory="sdram"`` (the default): the unit's AXI4 master goes to the generated LiteDRAM
      core ``t3_litedram`` (``tools/litedram_core.py --target board``, whose Verilog the build
      must be given, as ``tools/fpga.py`` does). The core's PLL makes the ``sync`` domain
      (:data:`SDRAM_SYS_CLK` from ``clk25``, reset until the PLL locks) and the SDRAM clock;
      the ``sdram`` resource's pins go to the core unbuffered (its PHY has the I/O registers).

    Parameters
    ----------
    params : T3Params
        Default :data:`FPGA_PARAMS`.
    baud : int
        UART speed. Default 115200.
    memory : str
        ``"sdram"`` or ``"bram"``. Default ``"sdram"``.
    """

    @staticmethod
    def check_arguments(params=FPGA_PARAMS, *, baud=BAUD, memory="sdram"):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0:
            raise ValueError(f"baud must be a positive integer, not {baud!r}")
        if memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, not {memory!r}")

    def __init__(self, params=FPGA_PARAMS, *, baud=BAUD, memory="sdram"):
        self.params = params
        self.baud = baud
        self.memory = memory

    def elaborate(self, platform):
        m = Module()
        sdram = self.memory == "sdram"
        clk_hz = SDRAM_SYS_CLK if sdram else platform.default_clk_frequency
        divisor = round(clk_hz / self.baud)
        m.submodules.core = core = FpgaCore(self.params, divisor=divisor,
                                            memory="external" if sdram else "bram")
        if sdram:
            # nextpnr derives the 50 MHz constraint from the PLL's parameters and clk25's 25 MHz.
            m.domains.sync = sync = ClockDomain("sync")
            clk25 = platform.request("clk25", 0)
            pins = platform.request("sdram", 0, dir="-")
            m.submodules.litedram = Instance(
                "t3_litedram",
                i_clk25=clk25.i, o_sys_clk=sync.clk, o_sys_rst=sync.rst,
                o_init_done=Signal(name="sdram_init_done"),
                o_sdram_clk=pins.clk.io, o_sdram_cke=pins.clk_en.io, o_sdram_cs_n=pins.cs.io,
                o_sdram_ras_n=pins.ras.io, o_sdram_cas_n=pins.cas.io, o_sdram_we_n=pins.we.io,
                o_sdram_a=pins.a.io, o_sdram_ba=pins.ba.io, o_sdram_dm=pins.dqm.io,
                io_sdram_dq=pins.dq.io,
                **axi_instance_ports(core.m_axi))
        uart = platform.request("uart", 0)
        m.d.comb += [core.uart_rx.eq(uart.rx.i), uart.tx.o.eq(core.uart_tx)]
        for i in range(8):
            m.d.comb += platform.request("led", i).o.eq(core.leds[i])
        return m
