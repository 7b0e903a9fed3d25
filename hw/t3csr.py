"""AXI4-Lite CSR block of the T3 unit: the register bridge of :mod:`hw.csr` on the T3 map.

The decoder, the storage and the ports all come from :func:`hw.regmap.build` through
:class:`hw.csr.AXI4LiteRegisterBridge`: adding a register or a field there adds it here (and to
the docs) with no change to this file. What is T3-specific is here: the payloads of the three
stream registers (``ARM``, ``DOORBELL``, ``CMD_COMMIT``), the DMA command check of ``CMD_COMMIT``
and ``irq``.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .csr import AXI4LiteRegisterBridge
from .lib import axil as _axil
from .lib.axil import RESP_OKAY, RESP_SLVERR, connect_axil
from .params import T3Params
from .regmap import ADDR_WIDTH, DATA_WIDTH, build

__all__ = ["RESP_OKAY", "RESP_SLVERR", "axil_members", "cmd_write_layout", "doorbell_layout", "Csr"]

def axil_members(prefix="s_axil", addr_width=ADDR_WIDTH, data_width=DATA_WIDTH):
    """The CSR block's flat AXI4-Lite slave ports (:func:`hw.lib.axil.axil_members` with this
    block's widths as defaults)."""
    return _axil.axil_members(prefix, addr_width, data_width)


def cmd_write_layout(params):
    """Payload of the ``cmd_write`` stream: write (or invalidate) one DMA command table entry."""
    return data.StructLayout({
        "index":   unsigned(params.index_width),
        "valid":   unsigned(1),
        "command": params.dma_command_layout,
    })


def doorbell_layout(params):
    """Payload of the ``doorbell`` stream: start DMA command ``index``."""
    return data.StructLayout({"index": unsigned(params.index_width)})


class Csr(wiring.Component):
    """AXI4-Lite control/status register block of a T3 unit.

    Parameters
    ----------
    params : T3Params
        Unit parameters (default ``T3Params()``); the register map is ``hw.regmap.build(params)``.

    Attributes
    ----------
    regmap : hw.regmap.RegisterMap
        The register map this block decodes.
    s_axil_* : AXI4-Lite slave (see :func:`axil_members`), 12-bit byte address, 32-bit data.
        ``awready``/``wready`` are high while the one-entry AW/W buffer is empty (they depend only on
        state). A write is executed in the first cycle where both buffers are full and no response
        is outstanding; ``bvalid`` rises the next cycle (for every register, stream registers
        included) and is held until ``bready``. No internal stream can hold the bus: the bound is
        :data:`hw.regmap.RESPONSE_BOUND` cycles (see ``docs/registers.md``).
        ``arready`` is high while no read response is outstanding; ``rvalid`` rises the cycle after
        the AR handshake (data sampled in the handshake cycle) and is held until ``rready``.
        ``awprot``/``arprot`` are ignored. ``bresp``/``rresp`` = SLVERR as documented in
        :mod:`hw.regmap`.
    <field ports> : per :meth:`hw.regmap.RegisterMap.ports`
        ``RW`` fields: ``Out(shape)``, the stored value (register output, updated the cycle after
        the write executes; reset value from the map). ``RO`` fields: ``In(shape)``, sampled in the
        AR handshake cycle. ``W1C`` fields: ``In(1)`` one-cycle event pulse; the flag is set the
        next cycle. ``WS`` fields: ``Out(1..)`` pulse, high for exactly one cycle, the cycle after
        the write executes (e.g. ``ctrl_soft_reset``).
    arm : Out(stream.Signature(params.arm_layout))
        One transfer per successful ``ARM`` write. ``valid`` rises the cycle after the write
        executes (with ``bvalid``) and is held (with the payload) until ``ready``: ``valid`` and
        the payload are the stream's one-entry buffer. A legal ``ARM`` write while ``valid`` is
        high is refused (SLVERR, ``ERR.stream_full``); ``STATUS.arm_ready`` reads ``~valid``.
    cmd_write : Out(stream.Signature(cmd_write_layout(params)))
        One transfer per successful ``CMD_COMMIT`` write, the command taken from the staging
        registers (``CMD_SRC_ADDR``, ``CMD_DST_ADDR``, ``CMD_LEN_OP_DEV``, ``CMD_TILE``). Timing as
        ``arm``.
    doorbell : Out(stream.Signature(doorbell_layout(params)))
        One transfer per successful ``DOORBELL`` write. Timing as ``arm``.
    irq : Out(1)
        Registered: ``ctrl_irq_enable`` and (any ``ERR`` flag or ``DONE``), one cycle after the
        flags.

    Notes
    -----
    The stream outputs are registered (``valid`` and ``payload`` are flip-flops), and ``ready`` only
    steers state, so there is no combinational path from a stream's ``ready`` to any output. A
    write to a stream register never waits for the stream: refusing a write whose buffer is full
    (rather than queueing it deeper) keeps the bound independent of the unit, makes OKAY mean
    "delivered, in order" with no queue that could itself fill, and lets software retry when
    ``STATUS.<stream>_ready`` is 1 (a queue would only move the same decision to its last entry).
    ``ctrl_soft_reset`` does not reset the CSR registers themselves.
    """

    def __init__(self, params=None):
        if params is None:
            params = T3Params()
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        self.params = params
        self.regmap = build(params)
        members = axil_members()
        for port in self.regmap.ports():
            if port.direction == "out":
                members[port.name] = Out(port.shape, init=port.reset)
            else:
                members[port.name] = In(port.shape)
        members["arm"] = Out(stream.Signature(params.arm_layout))
        members["cmd_write"] = Out(stream.Signature(cmd_write_layout(params)))
        members["doorbell"] = Out(stream.Signature(doorbell_layout(params)))
        members["irq"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        rmap = self.regmap
        m.submodules.bridge = bridge = AXI4LiteRegisterBridge(rmap)
        connect_axil(m, self, "s_axil", bridge, "s_axil")

        # field ports of the unit: the bridge's, forwarded
        for port in rmap.ports():
            ours, theirs = getattr(self, port.name), getattr(bridge, port.name)
            if port.direction == "out":
                m.d.comb += ours.eq(theirs)
            else:
                m.d.comb += theirs.eq(ours)

        # CMD_COMMIT: the staged command travels with the transfer; with valid = 1 a command that
        # runs past the end of a memory is refused (bad_command)
        staged = bridge.cmd_write_capture
        cmd_len = bridge.cmd_len_op_dev_length
        depth = 1 << p.addr_width
        m.d.comb += [
            staged.src_addr.eq(bridge.cmd_src_addr),
            staged.dst_addr.eq(bridge.cmd_dst_addr),
            staged.length.eq(cmd_len),
            staged.op.as_value().eq(bridge.cmd_len_op_dev_op.as_value()),
            staged.dst_dev.eq(bridge.cmd_len_op_dev_dst_dev),
            staged.tile.eq(bridge.cmd_tile),
        ]
        malformed = Signal()
        m.d.comb += [
            malformed.eq((bridge.cmd_src_addr + cmd_len > depth)
                         | (bridge.cmd_dst_addr + cmd_len > depth)),
            bridge.cmd_commit_reject.eq(
                bridge.write_data[rmap["CMD_COMMIT"]["valid"].offset] & malformed),
        ]

        # the streams: the bridge's one-entry buffers, renamed to the unit's payloads
        for name, fields in (("arm", ("tile", "threshold")), ("doorbell", ("index",)),
                             ("cmd_write", ("index", "valid"))):
            ours, theirs = getattr(self, name), getattr(bridge, name)
            m.d.comb += [ours.valid.eq(theirs.valid), theirs.ready.eq(ours.ready)]
            m.d.comb += [ours.payload[f].eq(theirs.payload[f]) for f in fields]
        m.d.comb += self.cmd_write.payload.command.eq(bridge.cmd_write.payload.capture)

        m.d.sync += self.irq.eq(self.ctrl_irq_enable & bridge.any_flag)
        return m


EXPORTS = {"csr": lambda: Csr(T3Params())}
