"""UART <-> AXI4-Lite master bridge: a host reaches the T3 registers over a serial port.

(No UART core for Amaranth 0.5 is published on PyPI: ``amaranth-stdio`` is a placeholder there, so
the 8N1 receiver and transmitter are written here, with a clock divisor parameter.)

Byte protocol (8N1, ``baud = clk / divisor``; multi-byte fields big-endian, most significant byte
first):

============================  ===================================  ==================================
host sends                    bridge answers                       meaning
============================  ===================================  ==================================
``'W'`` addr[2] data[4]       ``'K'`` (OKAY) or ``'E'`` (error)    AXI4-Lite write, ``WSTRB = 0xF``
``'R'`` addr[2]               data[4] then ``'K'`` or ``'E'``      AXI4-Lite read (data as returned)
any other byte                ``'?'``                              unknown command (resynchronise)
============================  ===================================  ==================================

``'W'`` is 0x57, ``'R'`` 0x52, ``'K'`` 0x4B, ``'E'`` 0x45, ``'?'`` 0x3F. ``'E'`` stands for an
``SLVERR`` or ``DECERR`` response. ``addr`` is a byte address. A command whose bytes stop coming for
``timeout`` cycles is dropped without an answer (so a host that lost sync sends a few ``'?'``-
producing bytes, or waits, and starts again). Commands are executed one at a time; bytes that arrive
while a command is executing or answering are buffered in the receiver's one-byte register only: a
host waits for the answer before sending the next command.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from .lib.checked import CheckedArguments
from .lib.axil import axil_members

__all__ = ["UartRx", "UartTx", "UartBridge", "CMD_WRITE", "CMD_READ", "ANS_OK", "ANS_ERR",
           "ANS_UNKNOWN"]

CMD_WRITE, CMD_READ = ord("W"), ord("R")
ANS_OK, ANS_ERR, ANS_UNKNOWN = ord("K"), ord("E"), ord("?")


class _RxState(enum.Enum, shape=3):
    IDLE  = 0
    START = 1
    DATA  = 2
    STOP  = 3
    BREAK = 4


class _BrState(enum.Enum, shape=3):
    CMD        = 0
    ARGS       = 1
    WRITE      = 2
    WRITE_RESP = 3
    READ       = 4
    READ_RESP  = 5
    ANSWER     = 6


def _check_divisor(divisor):
    if not isinstance(divisor, int) or isinstance(divisor, bool):
        raise TypeError(f"divisor must be an integer, not {divisor!r}")
    if divisor < 4:
        raise ValueError(f"divisor must be >= 4, not {divisor}")


class UartRx(CheckedArguments, wiring.Component):
    """8N1 UART receiver.

    The line is synchronised by two flip-flops, a falling edge starts a frame, each bit is sampled
    in its middle (``divisor // 2`` cycles after the start edge, then every ``divisor`` cycles). A
    start bit that is high again at its middle is a glitch and is ignored.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clk / baud``), at least 4.

    Attributes
    ----------
    rx : In(1)
        Serial line (idle high); asynchronous.
    data : Out(stream.Signature(8))
        Received bytes; ``valid`` rises at the middle of the stop bit (about ``9.5 * divisor + 2``
        cycles after the start edge) and holds until ``ready``.
    err_frame : Out(1)
        One-cycle pulse: a stop bit was low (the byte is dropped; the receiver then waits for the
        line to go high).
    err_overrun : Out(1)
        One-cycle pulse: a byte arrived while the previous one was still not taken (the new byte
        is dropped).
    """

    @staticmethod
    def check_arguments(divisor):
        _check_divisor(divisor)

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__({
            "rx": In(1, init=1),
            "data": Out(stream.Signature(8)),
            "err_frame": Out(1),
            "err_overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1)
        cnt = Signal(range(self.divisor))
        bits = Signal(range(9))
        shreg = Signal(8)
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        state = Signal(_RxState)
        with m.If(state == _RxState.IDLE):
            with m.If(~line):
                m.d.sync += cnt.eq(self.divisor // 2 - 1)
                m.d.sync += state.eq(_RxState.START)
        with m.Elif(state == _RxState.START):
            m.d.sync += cnt.eq(cnt - 1)
            with m.If(cnt == 0):
                with m.If(line):
                    m.d.sync += state.eq(_RxState.IDLE)
                with m.Else():
                    m.d.sync += [cnt.eq(self.divisor - 1), bits.eq(0)]
                    m.d.sync += state.eq(_RxState.DATA)
        with m.Elif(state == _RxState.DATA):
            m.d.sync += cnt.eq(cnt - 1)
            with m.If(cnt == 0):
                m.d.sync += [shreg.eq(Cat(shreg[1:], line)), bits.eq(bits + 1),
                             cnt.eq(self.divisor - 1)]
                with m.If(bits == 7):
                    m.d.sync += state.eq(_RxState.STOP)
        with m.Elif(state == _RxState.STOP):
            m.d.sync += cnt.eq(cnt - 1)
            with m.If(cnt == 0):
                with m.If(~line):
                    m.d.comb += self.err_frame.eq(1)
                    m.d.sync += state.eq(_RxState.BREAK)
                with m.Elif(self.data.valid & ~self.data.ready):
                    m.d.comb += self.err_overrun.eq(1)
                    m.d.sync += state.eq(_RxState.IDLE)
                with m.Else():
                    m.d.sync += [self.data.payload.eq(shreg), self.data.valid.eq(1)]
                    m.d.sync += state.eq(_RxState.IDLE)
        with m.Elif(state == _RxState.BREAK):
            with m.If(line):
                m.d.sync += state.eq(_RxState.IDLE)
        return m


class UartTx(CheckedArguments, wiring.Component):
    """8N1 UART transmitter.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clk / baud``), at least 4.

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send; ``ready`` is high while the transmitter is idle (registered). A byte accepted
        in cycle *c* starts its start bit on ``tx`` in cycle *c+1*; the frame lasts
        ``10 * divisor`` cycles, after which the next byte is accepted.
    tx : Out(1)
        Serial line, registered, idle high.
    """

    @staticmethod
    def check_arguments(divisor):
        _check_divisor(divisor)

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__({
            "data": In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        busy = Signal()
        cnt = Signal(range(self.divisor))
        bits = Signal(range(10))
        shreg = Signal(9)
        m.d.comb += self.data.ready.eq(~busy)
        with m.If(~busy):
            with m.If(self.data.valid):
                m.d.sync += [busy.eq(1), self.tx.eq(0), shreg.eq(Cat(self.data.payload, 1)),
                             bits.eq(9), cnt.eq(self.divisor - 1)]
        with m.Else():
            m.d.sync += cnt.eq(cnt - 1)
            with m.If(cnt == 0):
                m.d.sync += cnt.eq(self.divisor - 1)
                with m.If(bits == 0):
                    m.d.sync += busy.eq(0)
                with m.Else():
                    m.d.sync += [self.tx.eq(shreg[0]), shreg.eq(shreg >> 1), bits.eq(bits - 1)]
        return m


class UartBridge(CheckedArguments, wiring.Component):
    """UART to AXI4-Lite master bridge (protocol in the module docstring).

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (``clk / baud``), at least 4; e.g. 217 for 115200 baud at 25 MHz.
    addr_width : int
        Width of the AXI4-Lite byte address, 1..16 (the protocol carries 16 bits; higher bits of
        the host's address are dropped). Default 16.
    timeout : int or None
        Cycles without a byte after which a partly received command is dropped. Default
        ``100 * 10 * divisor`` (100 byte times).

    Attributes
    ----------
    rx : In(1)
        Serial input from the host (asynchronous, idle high).
    tx : Out(1)
        Serial output to the host (registered, idle high).
    m_axil_* :
        AXI4-Lite master, one transaction at a time. A write drives ``awvalid`` and ``wvalid``
        together from the cycle after the command's last byte was received, drops each on its
        ``ready``, then holds ``bready`` until ``bvalid``. A read holds ``arvalid`` until
        ``arready``, then ``rready`` until ``rvalid``. All outputs are registered.
    err_resp : Out(1)
        One-cycle pulse per non-OKAY AXI response.
    err_rx : Out(1)
        One-cycle pulse per UART framing or overrun error.
    """

    @staticmethod
    def check_arguments(divisor=217, *, addr_width=16, timeout=None):
        _check_divisor(divisor)
        if not isinstance(addr_width, int) or isinstance(addr_width, bool):
            raise TypeError(f"addr_width must be an integer, not {addr_width!r}")
        if not 1 <= addr_width <= 16:
            raise ValueError(f"addr_width must be in [1, 16], not {addr_width}")
        if timeout is None:
            timeout = 1000 * divisor
        if not isinstance(timeout, int) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be an integer or None, not {timeout!r}")
        if timeout < 12 * divisor:
            raise ValueError(f"timeout must be >= 12 * divisor = {12 * divisor}, not {timeout}")

    def __init__(self, divisor=217, *, addr_width=16, timeout=None):
        if timeout is None:
            timeout = 1000 * divisor
        self.divisor = divisor
        self.addr_width = addr_width
        self.timeout = timeout
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            **axil_members("m_axil", addr_width, master=True),
            "err_resp": Out(1),
            "err_rx": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.d.comb += [
            urx.rx.eq(self.rx), self.tx.eq(utx.tx),
            self.err_rx.eq(urx.err_frame | urx.err_overrun),
        ]

        is_write = Signal()
        need = Signal(range(7))          # bytes still to receive for the current command
        args = Signal(48)                # received argument bytes, shifted in from the right
        idle_cnt = Signal(range(self.timeout + 1))
        ans = Signal(40)                 # answer bytes, first to send in the top byte
        ans_n = Signal(range(6))         # answer bytes left to send

        a = self
        aw_pend, w_pend = Signal(), Signal()
        m.d.comb += [
            a.m_axil_awprot.eq(0), a.m_axil_arprot.eq(0), a.m_axil_wstrb.eq(0b1111),
            a.m_axil_awvalid.eq(aw_pend), a.m_axil_wvalid.eq(w_pend),
        ]
        resp_ok = Signal()

        m.d.comb += utx.data.payload.eq(ans[32:40])
        state = Signal(_BrState)
        with m.If(state == _BrState.CMD):
            m.d.comb += urx.data.ready.eq(1)
            with m.If(urx.data.valid):
                with m.If(urx.data.payload == CMD_WRITE):
                    m.d.sync += [is_write.eq(1), need.eq(6), idle_cnt.eq(0)]
                    m.d.sync += state.eq(_BrState.ARGS)
                with m.Elif(urx.data.payload == CMD_READ):
                    m.d.sync += [is_write.eq(0), need.eq(2), idle_cnt.eq(0)]
                    m.d.sync += state.eq(_BrState.ARGS)
                with m.Else():
                    m.d.sync += [ans.eq(ANS_UNKNOWN << 32), ans_n.eq(1)]
                    m.d.sync += state.eq(_BrState.ANSWER)
        with m.Elif(state == _BrState.ARGS):
            m.d.comb += urx.data.ready.eq(1)
            m.d.sync += idle_cnt.eq(idle_cnt + 1)
            with m.If(urx.data.valid):
                m.d.sync += [args.eq(Cat(urx.data.payload, args[:40])), need.eq(need - 1),
                             idle_cnt.eq(0)]
                with m.If(need == 1):
                    with m.If(is_write):
                        m.d.sync += [aw_pend.eq(1), w_pend.eq(1)]
                        m.d.sync += state.eq(_BrState.WRITE)
                    with m.Else():
                        m.d.sync += a.m_axil_arvalid.eq(1)
                        m.d.sync += state.eq(_BrState.READ)
            with m.Elif(idle_cnt == self.timeout - 1):
                m.d.sync += state.eq(_BrState.CMD)
        with m.Elif(state == _BrState.WRITE):
            with m.If(a.m_axil_awready):
                m.d.sync += aw_pend.eq(0)
            with m.If(a.m_axil_wready):
                m.d.sync += w_pend.eq(0)
            with m.If((~aw_pend | a.m_axil_awready) & (~w_pend | a.m_axil_wready)):
                m.d.sync += a.m_axil_bready.eq(1)
                m.d.sync += state.eq(_BrState.WRITE_RESP)
        with m.Elif(state == _BrState.WRITE_RESP):
            with m.If(a.m_axil_bvalid):
                m.d.sync += [a.m_axil_bready.eq(0), ans_n.eq(1),
                             ans.eq(Cat(Const(0, 32), Const(ANS_OK, 8)))]
                with m.If(a.m_axil_bresp != 0):
                    m.d.comb += a.err_resp.eq(1)
                    m.d.sync += ans[32:40].eq(ANS_ERR)
                m.d.sync += state.eq(_BrState.ANSWER)
        with m.Elif(state == _BrState.READ):
            with m.If(a.m_axil_arready):
                m.d.sync += [a.m_axil_arvalid.eq(0), a.m_axil_rready.eq(1)]
                m.d.sync += state.eq(_BrState.READ_RESP)
        with m.Elif(state == _BrState.READ_RESP):
            with m.If(a.m_axil_rvalid):
                m.d.sync += [a.m_axil_rready.eq(0), ans_n.eq(5), resp_ok.eq(a.m_axil_rresp == 0),
                             ans.eq(Cat(Const(0, 8), a.m_axil_rdata))]
                with m.If(a.m_axil_rresp != 0):
                    m.d.comb += a.err_resp.eq(1)
                m.d.sync += state.eq(_BrState.ANSWER)
        with m.Elif(state == _BrState.ANSWER):
            m.d.comb += utx.data.valid.eq(1)
            with m.If(utx.data.ready):
                m.d.sync += [ans.eq(ans << 8), ans_n.eq(ans_n - 1)]
                with m.If(ans_n == 2):          # the next byte is a read's status
                    m.d.sync += ans[32:40].eq(Mux(resp_ok, ANS_OK, ANS_ERR))
                with m.If(ans_n == 1):
                    m.d.sync += state.eq(_BrState.CMD)

        # Address and data from the argument bytes (big-endian on the wire).
        m.d.comb += [
            a.m_axil_awaddr.eq(args[32:48]),
            a.m_axil_wdata.eq(args[0:32]),
            a.m_axil_araddr.eq(args[0:16]),
        ]
        return m


EXPORTS = {"uart_bridge": lambda: UartBridge(divisor=217)}
