"""Host access to the unit's memory: a register window (AXI4-Lite) that reads and writes single
beats of the memory behind the unit's AXI4 master, sharing that memory with the unit.

::

    T3Core.m_axi ══ s_axi ─┐
                           ├─ 2:1 (ownership) ══ m_axi ══► memory (LiteDRAM / AxiSram)
    s_axil ─► registers ───┘     single-beat AXI4 reads/writes, ID 0

On the FPGA prototype this is how the host checks data over the UART (``tools/fpga_host.py``):
set ``ADDR``, write ``CMD`` = READ, read the ``DATA`` lanes; or fill the ``DATA`` lanes and
write ``CMD`` = WRITE. The ``CMD`` write is answered (``B``) once the memory's own response
arrived, so a host that sees OKAY knows the beat was read or written.

Sharing. The unit's bus passes straight through while the window is idle. A command waits
until the unit is *quiet*: every AR it issued has had its last R beat, every AW and every
write burst has had its B, and none of its ``arvalid``/``awvalid``/``wvalid`` is high (a
request already presented to the memory is never withdrawn). The window then owns the memory
for its one transaction: the unit's ``*ready`` are low (its requests wait, nothing is lost),
the memory's responses go to the window. A unit that never goes quiet starves the window (the
host stops the traffic first, as ``tools/fpga_host.py`` does); the window never stalls the unit
for more than one single-beat transaction.

Registers (byte offsets, 32-bit, full-word writes only):

========  ======  ==================================================================
offset    access  meaning
========  ======  ==================================================================
``0x00``  RW      ``ADDR``: beat address (``params.addr_width`` bits)
``0x04``  W       ``CMD``: 1 = READ beat ``ADDR`` into ``DATA``; 2 = WRITE ``DATA`` to
                  beat ``ADDR``; bit 4 (``INCR``) = ``ADDR`` + 1 afterwards. Reads 0.
``0x08``  RW1C    ``ERR``: bit 0 a refused register write, bit 1 a memory error response
``0x0C``  R       ``COUNT``: commands completed (wraps at 2**32)
``0x10``  RW      ``DATA`` lane 0 (bits 31:0 of the beat), ``0x14`` lane 1, ...
========  ======  ==================================================================

Refused (``SLVERR``, ``ERR`` bit 0 set, nothing changed, nothing issued): an unknown offset, a
partial ``WSTRB``, an ``ADDR`` value wider than ``addr_width``, a ``CMD`` value other than
1, 2, 0x11, 0x12. A memory response other than OKAY answers the ``CMD`` write with ``SLVERR``
and sets ``ERR`` bit 1 (the ``DATA`` of a failed read is not changed). Reads of unknown
offsets answer ``SLVERR``.
"""

import enum

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, RESP_SLVERR, axi4_switch
from .lib.axil import AXI4LiteSlave, axil_members, connect_axil
from .lib.checked import CheckedArguments
from .params import T3Params

__all__ = ["HostMemPort", "MW_REGS", "MW_CMD_READ", "MW_CMD_WRITE", "MW_CMD_INCR", "MW_ERR_REG",
           "MW_ERR_MEM"]

#: Register byte offsets; lane *k* of ``DATA`` is at ``MW_REGS["DATA"] + 4 * k``.
MW_REGS = {"ADDR": 0x00, "CMD": 0x04, "ERR": 0x08, "COUNT": 0x0C, "DATA": 0x10}
MW_CMD_READ, MW_CMD_WRITE, MW_CMD_INCR = 1, 2, 0x10
MW_ERR_REG, MW_ERR_MEM = 1, 2
#: Width of the window's register address (a 4 KiB window).
WINDOW_ADDR_WIDTH = 12
#: Width of the counters of the unit's open transactions.
_PENDING_WIDTH = 8



class _State(enum.Enum):
    IDLE = 0
    WAIT_QUIET = 1
    ISSUE = 2
    RESPOND = 3
    ANSWER = 4


class HostMemPort(CheckedArguments, wiring.Component):
    """The memory window (see the module docstring for the registers and the sharing rule).

    Parameters
    ----------
    params : T3Params
        The unit's parameters: beat width (a multiple of 32), memory depth.
    axi_signature : AXI4Signature
        The unit's memory bus (``T3Core(params).m_axi.signature``); ``m_axi`` has the same.

    Attributes
    ----------
    s_axil_* : AXI4-Lite slave (12-bit byte addresses): the registers.
    s_axi : In(axi_signature)
        From the unit's ``m_axi``.
    m_axi : Out(axi_signature)
        To the memory.
    host_owns : Out(1)
        The window holds the memory (the unit's channels are stalled).
    """

    @staticmethod
    def check_arguments(params, axi_signature):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(axi_signature, AXI4Signature):
            raise TypeError(f"axi_signature must be an AXI4Signature, not {axi_signature!r}")
        if axi_signature.data_width != params.data_width:
            raise ValueError(f"axi_signature has {axi_signature.data_width}-bit data, the params "
                             f"{params.data_width}-bit beats")
        if params.data_width % 32:
            raise ValueError(f"params.data_width must be a multiple of 32, not "
                             f"{params.data_width}")
        shift = (params.data_width // 8 - 1).bit_length()
        if axi_signature.addr_width < params.addr_width + shift:
            raise ValueError(f"axi_signature's {axi_signature.addr_width}-bit byte addresses "
                             f"cannot reach 2**{params.addr_width} beats of "
                             f"{params.data_width // 8} bytes")
        if MW_REGS["DATA"] + 4 * (params.data_width // 32) > 1 << WINDOW_ADDR_WIDTH:
            raise ValueError(f"params.data_width {params.data_width}: the DATA lanes do not fit "
                             f"the {1 << WINDOW_ADDR_WIDTH}-byte window")

    def __init__(self, params, axi_signature):
        self._params = params
        self.lanes = params.data_width // 32
        self.byte_shift = (params.data_width // 8 - 1).bit_length()
        super().__init__({
            **axil_members("s_axil", WINDOW_ADDR_WIDTH),
            "s_axi": In(axi_signature),
            "m_axi": Out(axi_signature),
            "host_owns": Out(1),
        })

    @property
    def params(self):
        return self._params

    def elaborate(self, platform):
        p = self._params
        m = Module()
        unit, mem = self.s_axi, self.m_axi

        # -- the unit's open transactions ------------------------------------------------------
        ar_open = Signal(_PENDING_WIDTH)     # ARs accepted, last R beat not yet given
        aw_open = Signal(_PENDING_WIDTH)     # AWs accepted, B not yet given
        w_open = Signal(_PENDING_WIDTH)      # write bursts whose last W was accepted, B not given
        m.d.sync += [
            ar_open.eq(ar_open + (unit.arvalid & unit.arready)
                       - (unit.rvalid & unit.rready & unit.rlast)),
            aw_open.eq(aw_open + (unit.awvalid & unit.awready) - (unit.bvalid & unit.bready)),
            w_open.eq(w_open + (unit.wvalid & unit.wready & unit.wlast)
                      - (unit.bvalid & unit.bready)),
        ]
        quiet = ((ar_open == 0) & (aw_open == 0) & (w_open == 0)
                 & ~unit.arvalid & ~unit.awvalid & ~unit.wvalid)

        # -- the 2:1 ownership switch ----------------------------------------------------------
        own = Signal()                        # registered: the window holds the memory
        host = mem.signature.create(path=("host",))
        axi4_switch(m, own, unit, host, mem)
        m.d.comb += self.host_owns.eq(own)

        # -- registers ---------------------------------------------------------------------------
        addr = Signal(p.addr_width)
        data = Signal(p.data_width)
        err = Signal(2)
        count = Signal(32)
        is_read, incr = Signal(), Signal()
        state = Signal(_State)

        m.submodules.axil = axil = AXI4LiteSlave(WINDOW_ADDR_WIDTH, buffered=False)
        connect_axil(m, self, "s_axil", axil, "s_axil")
        wr, rd = axil.write, axil.read
        wdata, waddr = wr.payload.data, wr.payload.addr
        full = wr.payload.strb == 0b1111
        lane_at = {MW_REGS["DATA"] + 4 * k: k for k in range(self.lanes)}
        cmd_ok = Cat(*[wdata == v for v in (MW_CMD_READ, MW_CMD_WRITE, MW_CMD_READ | MW_CMD_INCR,
                                            MW_CMD_WRITE | MW_CMD_INCR)]).any()
        addr_ok = (wdata >> p.addr_width) == 0 if p.addr_width < 32 else Const(1)

        # A register write answers in its handshake cycle; a CMD write is taken in IDLE and
        # answered in ANSWER, when the memory has responded.
        resp = Signal(2)
        m.d.comb += [rd.ready.eq(1), axil.read_resp.valid.eq(rd.valid),
                     wr.ready.eq(state == _State.IDLE)]
        with m.If(wr.valid & wr.ready):
            refused = Signal()
            m.d.comb += refused.eq(1)
            with m.If(full):
                with m.If(waddr == MW_REGS["ADDR"]):
                    with m.If(addr_ok):
                        m.d.comb += refused.eq(0)
                        m.d.sync += addr.eq(wdata)
                with m.Elif(waddr == MW_REGS["CMD"]):
                    with m.If(cmd_ok):
                        m.d.comb += refused.eq(0)
                        m.d.sync += [is_read.eq(wdata[0]), incr.eq(wdata[4]),
                                     state.eq(_State.WAIT_QUIET)]
                with m.Elif(waddr == MW_REGS["ERR"]):
                    m.d.comb += refused.eq(0)
                    m.d.sync += err.eq(err & ~wdata[:2])
                for off, k in lane_at.items():
                    with m.Elif(waddr == off):
                        m.d.comb += refused.eq(0)
                        m.d.sync += data[32 * k:32 * (k + 1)].eq(wdata)
            with m.If(refused):
                m.d.sync += err.eq(err | MW_ERR_REG)
            # everything but an accepted CMD answers now
            with m.If(refused | (waddr != MW_REGS["CMD"])):
                m.d.comb += [axil.write_resp.valid.eq(1),
                             axil.write_resp.payload.eq(Mux(refused, RESP_SLVERR, RESP_OKAY))]

        r_resp = axil.read_resp.payload
        m.d.comb += [r_resp.resp.eq(RESP_SLVERR), r_resp.data.eq(0)]
        reads = {MW_REGS["ADDR"]: addr, MW_REGS["CMD"]: Const(0, 32), MW_REGS["ERR"]: err,
                 MW_REGS["COUNT"]: count,
                 **{off: data[32 * k:32 * (k + 1)] for off, k in lane_at.items()}}
        for i, (off, value) in enumerate(reads.items()):
            with (m.If if i == 0 else m.Elif)(rd.payload.addr == off):
                m.d.comb += [r_resp.resp.eq(RESP_OKAY), r_resp.data.eq(value)]

        # -- the host's transaction --------------------------------------------------------------
        byte_addr = Cat(Const(0, self.byte_shift), addr)
        size = (p.data_width // 8 - 1).bit_length()
        m.d.comb += [
            host.awid.eq(0), host.awaddr.eq(byte_addr), host.awlen.eq(0),
            host.awsize.eq(size), host.awburst.eq(BURST_INCR),
            host.wdata.eq(data), host.wstrb.eq((1 << (p.data_width // 8)) - 1),
            host.wlast.eq(1),
            host.arid.eq(0), host.araddr.eq(byte_addr), host.arlen.eq(0),
            host.arsize.eq(size), host.arburst.eq(BURST_INCR),
        ]
        aw_done, w_done = Signal(), Signal()
        # the FSM as an If chain: the state signal has unused encodings
        with m.If(state == _State.WAIT_QUIET):
            with m.If(quiet):
                m.d.sync += [own.eq(1), aw_done.eq(0), w_done.eq(0), state.eq(_State.ISSUE)]
        with m.Elif(state == _State.ISSUE):
            with m.If(is_read):
                m.d.comb += host.arvalid.eq(1)
                with m.If(mem.arready):
                    m.d.sync += state.eq(_State.RESPOND)
            with m.Else():
                m.d.comb += [host.awvalid.eq(~aw_done), host.wvalid.eq(~w_done)]
                with m.If(mem.awready):
                    m.d.sync += aw_done.eq(1)
                with m.If(mem.wready):
                    m.d.sync += w_done.eq(1)
                with m.If((aw_done | mem.awready) & (w_done | mem.wready)):
                    m.d.sync += state.eq(_State.RESPOND)
        with m.Elif(state == _State.RESPOND):
            m.d.comb += [host.rready.eq(is_read), host.bready.eq(~is_read)]
            with m.If(is_read & mem.rvalid):
                # a burst of one beat: this is its last (rlast)
                with m.If(mem.rresp == RESP_OKAY):
                    m.d.sync += data.eq(mem.rdata)
                m.d.sync += [resp.eq(mem.rresp), own.eq(0), state.eq(_State.ANSWER)]
            with m.If(~is_read & mem.bvalid):
                m.d.sync += [resp.eq(mem.bresp), own.eq(0), state.eq(_State.ANSWER)]
        with m.Elif(state == _State.ANSWER):
            m.d.comb += axil.write_resp.valid.eq(1)
            with m.If(resp == RESP_OKAY):
                m.d.comb += axil.write_resp.payload.eq(RESP_OKAY)
            with m.Else():
                m.d.comb += axil.write_resp.payload.eq(RESP_SLVERR)
                m.d.sync += err.eq(err | MW_ERR_MEM)
            with m.If(axil.write_resp.ready):
                m.d.sync += [count.eq(count + 1), state.eq(_State.IDLE)]
                with m.If(incr):
                    m.d.sync += addr.eq(addr + 1)
        return m


def _default():
    from .memport import axi_signature
    return HostMemPort(T3Params(), axi_signature(T3Params()))


EXPORTS = {"memwindow": _default}
