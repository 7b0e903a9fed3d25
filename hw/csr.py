"""AXI4-Lite CSR block of the T3 unit, generated from the register map in :mod:`hw.regmap`.

The decoder, the storage and the ports all come from :func:`hw.regmap.build`: adding a register or a
field there adds it here (and to the docs) with no change to this file, except for the three stream
registers (``ARM``, ``DOORBELL``, ``CMD_COMMIT``) whose payloads are assembled below.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .lib import axil as _axil
from .lib.axil import RESP_OKAY, RESP_SLVERR, AXI4LiteSlave, connect_axil
from .params import T3Params
from .regmap import ADDR_WIDTH, DATA_WIDTH, Access, build

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

        # -- storage, one signal per field that has state or a value to read -------------------
        value = {}       # (reg, field) -> Value read (RW/RO/W1C)
        store = {}       # (reg, field) -> Value assigned by a write (RW)
        flags = {}       # (reg, field) -> W1C flag Signal
        clear = {}       # (reg, field) -> comb clear strobe
        event = {}       # (reg, field) -> Value setting the flag
        pulses = {}      # (reg, field) -> WS pulse output
        internal_event = {}  # ERR field name -> comb Signal (flags the CSR block sets itself)
        internal_ro = {}     # RO field name -> Signal the CSR block computes (STATUS.*_ready)
        port_names = {port.name for port in rmap.ports()}
        for reg in rmap:
            for f in reg.fields.values():
                key = (reg.name, f.name)
                pname = reg.port_name(f)
                port = getattr(self, pname) if pname in port_names else None
                if f.access is Access.RW:
                    if port is not None:
                        sig = port.as_value() if hasattr(port, "as_value") else port
                    else:
                        sig = Signal(f.width, init=f.reset, name=f"{reg.name.lower()}_{f.name}_q")
                    value[key] = store[key] = sig
                elif f.access is Access.RO:
                    if f.const is not None:
                        value[key] = Const(f.const, f.width)
                    elif port is None:
                        value[key] = internal_ro[f.name] = Signal(
                            f.width, name=f"{reg.name.lower()}_{f.name}_int")
                    else:
                        value[key] = port.as_value() if hasattr(port, "as_value") else port
                elif f.access is Access.W1C:
                    flag = Signal(1, init=f.reset, name=f"{reg.name.lower()}_{f.name}_flag")
                    value[key] = flags[key] = flag
                    clear[key] = Signal(1, name=f"{reg.name.lower()}_{f.name}_clear")
                    if port is not None:
                        event[key] = port
                    else:
                        event[key] = internal_event[f.name] = Signal(1, name=f"ev_{f.name}")
                elif f.access is Access.WS:
                    value[key] = Const(0, f.width)
                    if port is not None:
                        pulses[key] = port
        for name in ("bad_write", "bad_command", "bad_address", "bad_arm", "stream_full"):
            if name not in internal_event:
                raise ValueError(f"register map has no internal ERR flag {name!r}")
        for name in ("arm_ready", "doorbell_ready", "cmd_ready"):
            if name not in internal_ro:
                raise ValueError(f"register map has no internal STATUS field {name!r}")

        def field_of(word, f):
            return word[f.offset:f.offset + f.width]

        def read_word(reg):
            parts, pos = [], 0
            for f in sorted(reg.fields.values(), key=lambda f: f.offset):
                if f.offset > pos:
                    parts.append(Const(0, f.offset - pos))
                parts.append(value[(reg.name, f.name)])
                pos = f.offset + f.width
            if pos < DATA_WIDTH:
                parts.append(Const(0, DATA_WIDTH - pos))
            return Cat(*parts)

        def illegal(reg, word):
            """Comb Value: some checked field of ``word`` is illegal."""
            conds = []
            for f in reg.fields.values():
                if not f.checked:
                    continue
                v = field_of(word, f)
                if f.enum is not None:
                    ok = 0
                    for member in f.enum:
                        ok = ok | (v == member.value)
                    conds.append(~ok)
                if f.min is not None:
                    conds.append(v < f.min)
                if f.max is not None:
                    conds.append(v > f.max)
            bad = Const(0, 1)
            for c in conds:
                bad = bad | c
            return bad

        # -- AXI4-Lite slave: AW and W buffered; a write executes (and is answered) in one cycle,
        # a read is answered from the AR handshake cycle ---------------------------------------
        m.submodules.axil = axil = AXI4LiteSlave(ADDR_WIDTH, DATA_WIDTH)
        connect_axil(m, self, "s_axil", axil, "s_axil")
        wr, rd = axil.write, axil.read
        m.d.comb += wr.ready.eq(1)
        execute = Signal()
        m.d.comb += [execute.eq(wr.valid & wr.ready), axil.write_resp.valid.eq(execute)]
        aw_addr, w_data, w_strb = wr.payload.addr, wr.payload.data, wr.payload.strb

        streams = {"arm": self.arm, "cmd_write": self.cmd_write, "doorbell": self.doorbell}
        m.d.comb += [
            internal_ro["arm_ready"].eq(~self.arm.valid),
            internal_ro["doorbell_ready"].eq(~self.doorbell.valid),
            internal_ro["cmd_ready"].eq(~self.cmd_write.valid),
        ]

        def respond(resp):
            m.d.comb += axil.write_resp.payload.eq(resp)

        def error(flag):
            respond(RESP_SLVERR)
            m.d.comb += internal_event[flag].eq(1)

        # staged DMA command (for CMD_COMMIT)
        cmd_src = store[("CMD_SRC_ADDR", "value")]
        cmd_dst = store[("CMD_DST_ADDR", "value")]
        cmd_len = store[("CMD_LEN_OP_DEV", "length")]
        cmd_op = store[("CMD_LEN_OP_DEV", "op")]
        cmd_dev = store[("CMD_LEN_OP_DEV", "dst_dev")]
        cmd_tile = store[("CMD_TILE", "value")]
        depth = 1 << p.addr_width
        cmd_malformed = Signal()
        m.d.comb += cmd_malformed.eq((cmd_src + cmd_len > depth)
                                     | (cmd_dst + cmd_len > depth))

        # each stream's valid/payload is its one-entry buffer, emptied by the stream handshake
        for s in streams.values():
            with m.If(s.valid & s.ready):
                m.d.sync += s.valid.eq(0)

        # WS pulses are high for one cycle (the write below overrides this default)
        for pulse in pulses.values():
            m.d.sync += pulse.eq(0)

        # one-hot address decode (independent Ifs, no priority chain / incomplete case)
        wr_hit = {}
        wr_mapped = Const(0, 1)
        for reg in rmap:
            wr_hit[reg.name] = Signal(name=f"wr_hit_{reg.name.lower()}")
            m.d.comb += wr_hit[reg.name].eq(aw_addr == reg.offset)
            wr_mapped = wr_mapped | wr_hit[reg.name]

        with m.If(execute):
            with m.If(~wr_mapped):
                error("bad_address")
            for reg in rmap:
                with m.If(wr_hit[reg.name]):
                    if not reg.writable:
                        error("bad_write")
                        continue
                    with m.If(w_strb != (1 << (DATA_WIDTH // 8)) - 1):
                        error("bad_write")
                    with m.Elif(illegal(reg, w_data)):
                        error(reg.err_flag)
                    if reg.stream == "cmd_write":
                        with m.Elif(field_of(w_data, reg["valid"]) & cmd_malformed):
                            error("bad_command")
                    if reg.stream is not None:
                        if reg.stream not in streams:
                            raise ValueError(f"register {reg.name}: unknown stream {reg.stream!r}")
                        with m.Elif(streams[reg.stream].valid):
                            error("stream_full")
                    with m.Else():
                        respond(RESP_OKAY)
                        for f in reg.fields.values():
                            key = (reg.name, f.name)
                            if key in store:
                                m.d.sync += store[key].eq(field_of(w_data, f))
                            elif key in clear:
                                m.d.comb += clear[key].eq(field_of(w_data, f))
                            elif key in pulses:
                                m.d.sync += pulses[key].eq(field_of(w_data, f))
                        if reg.stream == "arm":
                            m.d.sync += [
                                self.arm.valid.eq(1),
                                self.arm.payload.tile.eq(field_of(w_data, reg["tile"])),
                                self.arm.payload.threshold.eq(field_of(w_data, reg["threshold"])),
                            ]
                        elif reg.stream == "doorbell":
                            m.d.sync += [
                                self.doorbell.valid.eq(1),
                                self.doorbell.payload.index.eq(field_of(w_data, reg["index"])),
                            ]
                        elif reg.stream == "cmd_write":
                            cmd = self.cmd_write.payload.command
                            m.d.sync += [
                                self.cmd_write.valid.eq(1),
                                self.cmd_write.payload.index.eq(field_of(w_data, reg["index"])),
                                self.cmd_write.payload.valid.eq(field_of(w_data, reg["valid"])),
                                cmd.src_addr.eq(cmd_src),
                                cmd.dst_addr.eq(cmd_dst),
                                cmd.length.eq(cmd_len),
                                cmd.op.as_value().eq(cmd_op),
                                cmd.dst_dev.eq(cmd_dev),
                                cmd.tile.eq(cmd_tile),
                            ]

        # -- AXI read channel: RO fields sampled in the AR handshake cycle ----------------------
        rd_bad_address = Signal()
        rd_word = Const(0, DATA_WIDTH)
        rd_mapped = Const(0, 1)
        for reg in rmap:
            hit = Signal(name=f"rd_hit_{reg.name.lower()}")
            m.d.comb += hit.eq(rd.payload.addr == reg.offset)
            rd_mapped = rd_mapped | hit
            rd_word = rd_word | Mux(hit, read_word(reg), 0)
        m.d.comb += [
            rd.ready.eq(1),
            axil.read_resp.valid.eq(rd.valid),
            axil.read_resp.payload.data.eq(rd_word),
            axil.read_resp.payload.resp.eq(Mux(rd_mapped, RESP_OKAY, RESP_SLVERR)),
        ]
        with m.If(rd.valid):        # (an If: an undriven ARVALID in simulation sets no flag)
            m.d.comb += rd_bad_address.eq(~rd_mapped)

        # -- W1C flags and irq ----------------------------------------------------------------
        any_flag = Const(0, 1)
        for key, flag in flags.items():
            ev = event[key]
            if key == ("ERR", "bad_address"):
                ev = ev | rd_bad_address
            m.d.sync += flag.eq((flag & ~clear[key]) | ev)
            any_flag = any_flag | flag
        m.d.sync += self.irq.eq(self.ctrl_irq_enable & any_flag)

        return m


EXPORTS = {"csr": lambda: Csr(T3Params())}
