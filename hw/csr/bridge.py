"""AXI4-Lite-to-register bridge: the decoder, the storage and the ports of a :class:`RegisterMap`.

The bus side is :class:`hw.lib.axil.AXI4LiteSlave` (one write and one read at a time); the register
side is one port per field (:meth:`RegisterMap.bridge_ports`, naming rule in :mod:`hw.csr.reg`),
one stream per stream register, and a few optional hooks (``write_lock``, ``<reg>_reject`` with
``write_data``, ``<stream>_capture``, ``<stream>_done``/``<stream>_error`` of a deferred stream
register, ``<field>_we``/``<field>_next`` of a ``hw_write`` field, ``any_flag``). Adding a register or a field to a map adds it
here, to the docs and to the tests with no change to this file.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..lib.axil import RESP_OKAY, RESP_SLVERR, AXI4LiteSlave, axil_members, connect_axil
from ..lib.checked import CheckedArguments
from .reg import BRIDGE_ERRORS, DATA_WIDTH, Access, RegisterMap

__all__ = ["AXI4LiteRegisterBridge", "stream_layout"]


def stream_layout(reg):
    """Payload of a stream register's stream: its fields by name (and ``capture``)."""
    members = {f.name: unsigned(f.width) for f in sorted(reg.fields.values(), key=lambda f: f.offset)}
    if reg.capture is not None:
        members["capture"] = reg.capture
    return data.StructLayout(members)


class AXI4LiteRegisterBridge(CheckedArguments, wiring.Component):
    """The registers of ``rmap`` behind an AXI4-Lite slave.

    Parameters
    ----------
    rmap : RegisterMap
    buffered : bool
        Passed to :class:`hw.lib.axil.AXI4LiteSlave`: ``True`` gives AW and W a one-entry buffer
        each (the write executes the cycle after the later handshake at the earliest); ``False``
        accepts AW and W together and executes the write in that cycle.
    prefix : str
        Name prefix of the bus ports (default ``"s_axil"``).

    Attributes
    ----------
    <prefix>_* : the AXI4-Lite slave ports (``ADDR_WIDTH``-bit byte address, 32-bit data).
        A write executes when both AW and W have arrived and no response is outstanding; ``bvalid``
        rises the next cycle (for every register, stream registers included, except a successful
        write to a ``deferred`` register: the cycle after ``<stream>_done``) and is held until
        ``bready``. ``rvalid`` rises the cycle after the AR handshake (data sampled in the
        handshake cycle), also while a deferred write is outstanding. ``awprot``/``arprot`` are
        ignored.
    <field ports> : per :meth:`RegisterMap.bridge_ports`
        ``RW``: ``Out(shape)``, the stored value (updated the cycle after the write executes;
        for a ``hw_write`` field also the cycle after ``<port>_we``, software winning a tie).
        ``RO``: ``In(shape)``, sampled in the AR handshake cycle. ``W1C``: ``In(1)`` one-cycle
        event pulse; the flag is set the next cycle. ``WS``: ``Out`` pulse, high for exactly one
        cycle, the cycle after the write executes.
    <stream> : Out(stream.Signature(stream_layout(reg))) per stream register
        ``valid`` and the payload are a one-entry buffer (flip-flops), filled the cycle after a
        successful write and emptied by the handshake; a legal write while ``valid`` is high is
        refused (SLVERR, ``stream_full``).
    <stream>_capture : In(reg.capture), if the register has ``capture``
        Sampled into ``payload.capture`` when the write executes.
    <port>_we : In(1), <port>_next : In(shape), per ``hw_write`` field
        A high ``we`` stores ``next`` into the field (visible the next cycle), unless a software
        write to the field executes in the same cycle (software wins).
    <stream>_done, <stream>_error : In(1), if the register is ``deferred``
        ``done``: one-cycle pulse completing the outstanding write (ignored when none is
        outstanding, i.e. before the cycle after the write executed); ``error`` with it answers
        SLVERR and sets the register's ``done_err_flag``. The owner should take the stream's
        transfer before it pulses ``done`` (the next write to the register finds the buffer full
        otherwise).
    write_lock : In(1), if a register is ``lockable``
    <reg>_reject : In(1) per register with ``reject``; write_data : Out(32)
        ``write_data`` is the word of the write being executed (combinational); a high
        ``<reg>_reject`` in that cycle refuses a write to ``<reg>`` (``err_flag``).
    any_flag : Out(1), if the map has ``W1C`` fields
        OR of every ``W1C`` flag (from flip-flops).
    write_error : Out(1)
        High (combinational) in the cycle a write executes and is refused (answered SLVERR), and
        in the cycle a deferred write is completed with ``<stream>_error``, for an owner that keeps
        its own record of refused writes.
    """

    @staticmethod
    def check_arguments(rmap, *, buffered=True, prefix="s_axil"):
        if not isinstance(rmap, RegisterMap):
            raise TypeError(f"rmap must be a RegisterMap, not {rmap!r}")
        if not isinstance(buffered, bool):
            raise TypeError(f"buffered must be a bool, not {buffered!r}")
        if not isinstance(prefix, str) or not prefix.isidentifier():
            raise TypeError(f"prefix must be an identifier string, not {prefix!r}")
        AXI4LiteRegisterBridge._check_errors(rmap)

    def __init__(self, rmap, *, buffered=True, prefix="s_axil"):
        self.rmap, self.buffered, self.prefix = rmap, buffered, prefix
        members = axil_members(prefix, rmap.addr_width, DATA_WIDTH)
        for port in rmap.bridge_ports():
            if port.direction == "out":
                members[port.name] = Out(port.shape, init=port.reset)
            else:
                members[port.name] = In(port.shape)
        regs = list(rmap)
        for reg in regs:
            for role, name in reg.hooks().items():
                members[name] = (Out(stream.Signature(stream_layout(reg))) if role == "stream"
                                 else In(reg.capture) if role == "capture" else In(1))
        if any(reg.reject for reg in regs):
            members["write_data"] = Out(DATA_WIDTH)
        if any(reg.lockable for reg in regs):
            members["write_lock"] = In(1)
        if any(f.access is Access.W1C for reg in regs for f in reg.fields.values()):
            members["any_flag"] = Out(1)
        members["write_error"] = Out(1)
        super().__init__(members)

    @staticmethod
    def _check_errors(rmap):
        streams = {reg.stream for reg in rmap if reg.stream is not None}
        for reg in rmap:
            for f in reg.fields.values():
                if f.driver == "bridge" and f.access is Access.RO and f.ready_of not in streams:
                    raise ValueError(f"{reg.name}.{f.name}: ready_of names no stream register "
                                     f"({f.ready_of!r})")
        if rmap.errors is None:
            return
        needed = {"bad_address", "bad_write"}
        if streams:
            needed.add("stream_full")
        for reg in rmap:
            if reg.reject or reg.strict or any(f.checked for f in reg.fields.values()):
                needed.add(reg.err_flag)
            if reg.deferred:
                needed.add(reg.done_err_flag)
        have = set(rmap.error_sources())
        if needed - have:
            raise ValueError(f"error register {rmap.errors} has no bridge-driven flag for "
                             f"{sorted(needed - have)}")
        if have - needed:
            raise ValueError(f"error register {rmap.errors}: flags {sorted(have - needed)} are "
                             f"driven by the bridge but no error sets them (known: "
                             f"{', '.join(BRIDGE_ERRORS)} and the registers' err_flag)")

    def elaborate(self, platform):
        m = Module()
        rmap = self.rmap
        port_names = {p.name for p in rmap.bridge_ports()}

        value, store, flags, clear, event, pulses = {}, {}, {}, {}, {}, {}
        bridge_event = {}   # error name -> comb Signal (sets the flag that collects it)
        loads = []          # (stored value, we, next) of hw_write fields
        for reg in rmap:
            for f in reg.fields.values():
                key = (reg.name, f.name)
                pname = reg.port_name(f)
                port = getattr(self, pname) if pname in port_names else None
                val = (port.as_value() if hasattr(port, "as_value") else port) if port is not None else None
                base = f"{reg.name.lower()}_{f.name}"
                if f.access is Access.RW:
                    if val is None:     # a stream register has no RW field; kept for safety
                        val = Signal(f.width, init=f.reset, name=f"{base}_q")
                    value[key] = store[key] = val
                    if f.hw_write:
                        loads.append((val, getattr(self, f"{pname}_we"),
                                      getattr(self, f"{pname}_next")))
                elif f.access is Access.RO:
                    if f.const is not None:
                        value[key] = Const(f.const, f.width)
                    elif f.driver == "bridge":
                        value[key] = ~getattr(self, f.ready_of).valid
                    else:
                        value[key] = val
                elif f.access is Access.W1C:
                    flag = Signal(1, init=f.reset, name=f"{base}_flag")
                    value[key] = flags[key] = flag
                    clear[key] = Signal(1, name=f"{base}_clear")
                    if f.driver == "bridge":
                        event[key] = Signal(1, name=f"ev_{f.name}")
                        for e in f.sets_on:
                            bridge_event[e] = event[key]
                    else:
                        event[key] = port
                elif f.access is Access.WS:
                    value[key] = Const(0, f.width)
                    if port is not None:
                        pulses[key] = port

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
            """Comb Value: some checked field of ``word`` is illegal (or, in a ``strict``
            register, a reserved bit is set)."""
            bad = Const(0, 1)
            reserved = reg.reserved_mask
            if reg.strict and reserved:
                bad = (word & reserved) != 0
            for f in reg.fields.values():
                if not f.checked:
                    continue
                v = field_of(word, f)
                if f.enum is not None:
                    ok = Const(0, 1)
                    for member in f.enum:
                        ok = ok | (v == member.value)
                    bad = bad | ~ok
                if f.min is not None:
                    bad = bad | (v < f.min)
                if f.max is not None:
                    bad = bad | (v > f.max)
            return bad

        # -- AXI4-Lite slave: a write executes (and is answered) in one cycle, a read is answered
        # from the AR handshake cycle -----------------------------------------------------------
        m.submodules.axil = axil = AXI4LiteSlave(rmap.addr_width, DATA_WIDTH, buffered=self.buffered)
        connect_axil(m, self, self.prefix, axil, "s_axil")
        wr, rd = axil.write, axil.read
        m.d.comb += wr.ready.eq(1)
        execute = Signal()
        m.d.comb += [execute.eq(wr.valid & wr.ready), axil.write_resp.valid.eq(execute)]
        aw_addr, w_data, w_strb = wr.payload.addr, wr.payload.data, wr.payload.strb
        if hasattr(self, "write_data"):
            m.d.comb += self.write_data.eq(w_data)

        def respond(resp):
            m.d.comb += axil.write_resp.payload.eq(resp)

        def error(flag):
            respond(RESP_SLVERR)
            m.d.comb += self.write_error.eq(1)
            if flag in bridge_event:
                m.d.comb += bridge_event[flag].eq(1)

        streams = {reg.stream: getattr(self, reg.stream) for reg in rmap if reg.stream is not None}
        for s in streams.values():      # each stream's valid/payload is its one-entry buffer
            with m.If(s.valid & s.ready):
                m.d.sync += s.valid.eq(0)
        for pulse in pulses.values():   # WS pulses are high for one cycle
            m.d.sync += pulse.eq(0)
        for stored, we, nxt in loads:   # owner loads (before the writes below: software wins)
            with m.If(we):
                m.d.sync += stored.eq(nxt)

        # deferred registers: the write taken, its response waits for <stream>_done
        pending = {reg.name: Signal(name=f"{reg.name.lower()}_pending")
                   for reg in rmap if reg.deferred}
        for reg in rmap:
            if not reg.deferred:
                continue
            with m.If(pending[reg.name] & getattr(self, reg.hooks()["done"])):
                m.d.sync += pending[reg.name].eq(0)
                m.d.comb += axil.write_resp.valid.eq(1)
                with m.If(getattr(self, reg.hooks()["error"])):
                    error(reg.done_err_flag)
                with m.Else():
                    respond(RESP_OKAY)

        # one-hot address decode (independent Ifs, no priority chain / incomplete case)
        wr_hit, wr_mapped = {}, Const(0, 1)
        for reg in rmap:
            wr_hit[reg.name] = Signal(name=f"wr_hit_{reg.name.lower()}")
            m.d.comb += wr_hit[reg.name].eq(aw_addr == reg.offset)
            wr_mapped = wr_mapped | wr_hit[reg.name]

        full_strobe = (1 << (DATA_WIDTH // 8)) - 1
        with m.If(execute):
            with m.If(~wr_mapped):
                error("bad_address")
            for reg in rmap:
                with m.If(wr_hit[reg.name]):
                    if not reg.writable:
                        error("bad_write")
                        continue
                    with m.If(w_strb != full_strobe):
                        error("bad_write")
                    if reg.lockable:
                        with m.Elif(self.write_lock):
                            error("bad_write")
                    with m.Elif(illegal(reg, w_data)):
                        error(reg.err_flag)
                    if reg.reject:
                        with m.Elif(getattr(self, reg.hooks()["reject"])):
                            error(reg.err_flag)
                    if reg.stream is not None:
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
                        if reg.stream is not None:
                            s = streams[reg.stream]
                            m.d.sync += s.valid.eq(1)
                            for f in reg.fields.values():
                                m.d.sync += s.payload[f.name].eq(field_of(w_data, f))
                            if reg.capture is not None:
                                m.d.sync += s.payload.capture.eq(
                                    getattr(self, reg.hooks()["capture"]))
                        if reg.deferred:        # answered when the owner says done
                            m.d.comb += axil.write_resp.valid.eq(0)
                            m.d.sync += pending[reg.name].eq(1)

        # -- reads: RO fields sampled in the AR handshake cycle --------------------------------
        rd_word, rd_mapped = Const(0, DATA_WIDTH), Const(0, 1)
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
        rd_bad_address = Signal()
        with m.If(rd.valid):        # (an If: an undriven ARVALID in simulation sets no flag)
            m.d.comb += rd_bad_address.eq(~rd_mapped)

        # -- W1C flags ---------------------------------------------------------------------------
        any_flag = Const(0, 1)
        bad_address_flag = rmap.error_sources().get("bad_address")
        for key, flag in flags.items():
            ev = event[key]
            if rmap.errors is not None and key == (rmap.errors, bad_address_flag):
                ev = ev | rd_bad_address
            m.d.sync += flag.eq((flag & ~clear[key]) | ev)
            any_flag = any_flag | flag
        if flags:
            m.d.comb += self.any_flag.eq(any_flag)
        return m
