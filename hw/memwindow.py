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

Registers (:func:`build_map`, declared with the register model of :mod:`hw.csr` and served by
its AXI4-Lite bridge; byte offsets, 32-bit, full-word writes only; the generated descriptions
are ``docs/memwindow_regs.rdl``, ``.xml`` and ``.h``):

========  ======  ==================================================================
offset    access  meaning
========  ======  ==================================================================
``0x00``  RW      ``ADDR``: beat address (``params.addr_width`` bits)
``0x04``  W       ``CMD``: 1 = READ beat ``ADDR`` into ``DATA``; 2 = WRITE ``DATA`` to
                  beat ``ADDR``; bit 4 (``INCR``) = ``ADDR`` + 1 afterwards. Reads 0.
``0x08``  RW1C    ``ERR``: bit 0 a refused register access, bit 1 a memory error response
``0x0C``  R       ``COUNT``: commands completed (wraps at 2**32)
``0x10``  RW      ``DATA`` lane 0 (bits 31:0 of the beat), ``0x14`` lane 1, ...
========  ======  ==================================================================

Refused (``SLVERR``, ``ERR`` bit 0 set, nothing changed, nothing issued): an unknown offset, a
partial ``WSTRB``, a write to ``COUNT``, an ``ADDR`` value wider than ``addr_width``, a ``CMD``
value other than 1, 2, 0x11, 0x12 (``ADDR`` and ``CMD`` are ``strict`` registers: a reserved
bit set is refused; ``CMD.op`` is an enum of READ and WRITE). Reads of unknown offsets answer
``SLVERR`` and set ``ERR`` bit 0 too (the bridge's ``bad_address`` rule). ``CMD`` is a
*deferred* stream register: its write hands the command to the window and is answered (``B``)
when the window pulses ``cmd_done``, after the memory's response: OKAY, or, for a response
other than OKAY, ``SLVERR`` and ``ERR`` bit 1 (the ``DATA`` of a failed read is not changed).
No other register write is taken meanwhile; reads are (``DATA`` then reads the old beat).
``ADDR`` (``INCR``) and ``DATA`` (a read) are loaded by the window through the bridge's
``hw_write`` inputs.
"""

import enum

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import enum as hdl_enum, wiring
from amaranth.lib.wiring import In, Out

from .csr import Access, AXI4LiteRegisterBridge, Field as F, Register, RegisterMap
from .lib.axi import AXI4Signature, BURST_INCR, RESP_OKAY, axi4_switch
from .lib.axil import axil_members, connect_axil
from .lib.checked import CheckedArguments
from .params import T3Params

__all__ = ["HostMemPort", "MW_REGS", "MW_CMD_READ", "MW_CMD_WRITE", "MW_CMD_INCR", "MW_ERR_REG",
           "MW_ERR_MEM", "MwOp", "build_map"]

#: Width of the window's register address (a 4 KiB window).
WINDOW_ADDR_WIDTH = 12
#: Width of the counters of the unit's open transactions.
_PENDING_WIDTH = 8


class MwOp(hdl_enum.Enum, shape=2):
    """``CMD.op``: the legal commands."""
    READ = 1
    WRITE = 2


def build_map(params=None):
    """The window's register map for ``params`` (``addr_width`` bits of ``ADDR``, one ``DATA``
    lane per 32 bits of a beat; rules of :mod:`hw.csr.reg`)."""
    p = T3Params() if params is None else params
    if not isinstance(p, T3Params):
        raise TypeError(f"params must be a T3Params, not {p!r}")
    RW, RO, WS, W1C = Access.RW, Access.RO, Access.WS, Access.W1C
    regs = [
        Register("ADDR", 0x00, "Beat address of the next command.", [
            F("value", 0, min(p.addr_width, 32), RW, "Beat address (INCR adds 1 after a command).",
              port=False, hw_write=True)], strict=True),
        Register("CMD", 0x04, "Command: read or write beat ADDR (reads 0).", [
            F("op", 0, 2, WS, "1 = READ beat ADDR into DATA, 2 = WRITE DATA to beat ADDR.",
              enum=MwOp),
            F("incr", 4, 1, WS, "ADDR + 1 after the command.")],
            stream="cmd", strict=True, deferred=True, done_err_flag="mem_error",
            notes="Legal values: 1, 2, 0x11, 0x12 (others: SLVERR, ERR.refused). A memory "
                  "response other than OKAY answers SLVERR and sets ERR.mem_error."),
        Register("ERR", 0x08, "Sticky error flags (W1C).", [
            F("refused", 0, 1, W1C, "A refused register access (unknown offset, partial strobe, "
              "read-only register, illegal value).", port=False, driver="bridge",
              errors=("bad_address", "bad_write", "stream_full")),
            F("mem_error", 1, 1, W1C, "A memory response other than OKAY.", port=False,
              driver="bridge")]),
        Register("COUNT", 0x0C, "Commands completed (wraps at 2**32).", [
            F("value", 0, 32, RO, "Commands.", port=False)]),
    ]
    for k in range(p.data_width // 32):
        regs.append(Register(f"DATA{k}", 0x10 + 4 * k, f"Beat bits {32 * k + 31}:{32 * k}.", [
            F("value", 0, 32, RW, "Written by WRITE, loaded by a successful READ.", port=False,
              hw_write=True)]))
    return RegisterMap(p, regs, name="memwindow", errors="ERR",
                       desc="Memory window: single-beat host reads and writes of the unit's memory.")


_MAP = build_map()
#: Register byte offsets; lane *k* of ``DATA`` is at ``MW_REGS["DATA"] + 4 * k``.
MW_REGS = {"ADDR": _MAP["ADDR"].offset, "CMD": _MAP["CMD"].offset, "ERR": _MAP["ERR"].offset,
           "COUNT": _MAP["COUNT"].offset, "DATA": _MAP["DATA0"].offset}
MW_CMD_READ, MW_CMD_WRITE = MwOp.READ.value, MwOp.WRITE.value
MW_CMD_INCR = _MAP["CMD"]["incr"].mask
MW_ERR_REG, MW_ERR_MEM = _MAP["ERR"]["refused"].mask, _MAP["ERR"]["mem_error"].mask


class _State(enum.Enum):
    IDLE = 0
    WAIT_QUIET = 1
    ISSUE = 2
    RESPOND = 3


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

        # -- registers (the bridge); the command stream ------------------------------------------
        m.submodules.regs = regs = AXI4LiteRegisterBridge(build_map(p), buffered=False)
        connect_axil(m, self, "s_axil", regs, "s_axil")
        addr = regs.addr
        data = Cat(*[getattr(regs, f"data{k}") for k in range(self.lanes)])
        count = Signal(32)
        is_read, incr = Signal(), Signal()
        state = Signal(_State)
        m.d.comb += [regs.count.eq(count), regs.cmd.ready.eq(state == _State.IDLE),
                     regs.addr_next.eq(addr + 1)]
        with m.If(regs.cmd.valid & regs.cmd.ready):
            m.d.sync += [is_read.eq(regs.cmd.payload.op == MwOp.READ.value),
                         incr.eq(regs.cmd.payload.incr), state.eq(_State.WAIT_QUIET)]

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
            resp = Signal(2)
            m.d.comb += resp.eq(Mux(is_read, mem.rresp, mem.bresp))
            # a burst of one beat: its R beat is its last (rlast)
            with m.If(Mux(is_read, mem.rvalid, mem.bvalid)):
                m.d.comb += [regs.cmd_done.eq(1), regs.cmd_error.eq(resp != RESP_OKAY),
                             regs.addr_we.eq(incr)]
                for k in range(self.lanes):
                    m.d.comb += [getattr(regs, f"data{k}_we").eq(is_read & (resp == RESP_OKAY)),
                                 getattr(regs, f"data{k}_next").eq(mem.rdata[32 * k:32 * (k + 1)])]
                m.d.sync += [count.eq(count + 1), own.eq(0), state.eq(_State.IDLE)]
        return m


def _default():
    from .memport import axi_signature
    return HostMemPort(T3Params(), axi_signature(T3Params()))


EXPORTS = {"memwindow": _default}
