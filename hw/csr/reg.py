"""A generic register model: registers of typed, documented fields with an access mode each.

In the style of amaranth-soc's ``csr.reg`` (``Field`` with an access action, ``Register``,
``Builder``), written here because amaranth-soc has no release on PyPI (the name holds a
placeholder, version 0) that could be pinned next to Amaranth 0.5. A :class:`RegisterMap` is a
plain description: :class:`hw.csr.bridge.AXI4LiteRegisterBridge` builds the AXI4-Lite decoder,
the storage and the ports from it, and ``tools/regs.py`` renders it (SystemRDL, and through
PeakRDL IP-XACT, HTML, a C header; Markdown and JSON in-house).

Rules (every map built with this model follows them)
----------------------------------------------------
* Registers are ``data_width`` (32) bits wide at word-aligned byte offsets in a
  ``2**addr_width``-byte space (12 address bits: 4 KiB).
* **Reserved bits** (bits not covered by any field) read as 0; writes to them are ignored, except
  in a ``strict`` register, where a write with a reserved bit set is refused like an illegal
  field value.
* Access modes of a field (:class:`Access`):

  - ``RW``: read/write storage; reads return the last value written (or the reset value). A
    ``hw_write`` field can also be loaded by the owner (SystemRDL ``hw=rw; we``): the value is
    the last one written by software or loaded by the owner; software wins a tie.
  - ``RO``: read-only; a constant or the value of an input port, sampled when the read is accepted.
  - ``W1C``: sticky flag, set by a one-cycle event pulse; writing 1 clears it, writing 0 leaves it.
    An event in the same cycle as the clearing write wins (the flag stays set).
  - ``WS``: write strobe; a write produces a one-cycle pulse (or, for a *stream register*, one
    transfer on a stream carrying the written fields); reads return 0.

* A write to a register with no writable field (all ``RO``), a write whose ``WSTRB`` is not all
  ones, a write of an illegal field value (an ``enum`` field written with a value that is not a
  member, a value below the field's ``min`` or above its ``max``), a write to a ``lockable``
  register while the bridge's ``write_lock`` input is high, a write with a reserved bit set to a
  ``strict`` register: the write has no effect at all and the response is ``SLVERR``; if the map
  has an error register, a flag in it is set (``bad_write``, or the register's ``err_flag`` for an
  illegal or strict-reserved value). Unmapped addresses (and addresses that are not word-aligned)
  answer ``SLVERR`` to reads and writes (and set ``bad_address``). Each error sets the error
  register's flag that collects it: the flag of the same name, or one whose ``errors`` lists it
  (several errors may share one flag).

* **Deferred writes**: the write response of a ``deferred`` stream register waits for the owner:
  the write sends its transfer, then ``BVALID`` rises the cycle after the owner pulses
  ``<stream>_done`` (OKAY; with ``<stream>_error`` high: SLVERR and the register's
  ``done_err_flag``). Until then the bridge takes no other write (AXI4-Lite one write at a
  time); reads are served as usual.

* **Port naming rule**: a field's port is named ``<register>_<field>`` in lower case
  (``ctrl_enable``); a field called ``value`` is named after its register alone (``arb_policy``).
  The direction follows the access mode: ``RW`` -> ``Out`` (the stored value), ``RO`` (not
  constant) -> ``In`` (the value to read), ``W1C`` -> ``In(1)`` (the event pulse that sets the
  flag), ``WS`` -> ``Out`` (a one-cycle pulse). A ``hw_write`` field adds ``<port>_we`` ``In(1)``
  and ``<port>_next`` ``In(shape)`` (load ``next`` when ``we`` is high).
"""

import enum
from dataclasses import dataclass

from amaranth.hdl import unsigned

__all__ = ["Access", "Field", "Register", "RegisterMap", "Port", "DATA_WIDTH", "ADDR_WIDTH",
           "BRIDGE_ERRORS"]

#: Width of the AXI4-Lite data bus and of every register.
DATA_WIDTH = 32
#: Width of the AXI4-Lite byte address (a 4 KiB map).
ADDR_WIDTH = 12
#: Error flags the bridge sets itself (fields of the map's error register with ``driver="bridge"``):
#: an unmapped address, a refused write (read-only register, partial strobe, lock, illegal value of
#: a register whose ``err_flag`` is this one), a stream register's full buffer.
BRIDGE_ERRORS = ("bad_address", "bad_write", "stream_full")


class Access(enum.Enum):
    """Access mode of a register field (see the module docstring for the exact semantics)."""
    RW  = "RW"
    RO  = "RO"
    W1C = "W1C"
    WS  = "WS"


@dataclass(frozen=True)
class Field:
    """One field of a register.

    Parameters
    ----------
    name : str
        Lower-case identifier (``enable``); ``value`` for the single field of a register.
    offset : int
        Position of the field's least significant bit in the 32-bit register.
    width : int
        Width in bits.
    access : Access
        Access mode.
    desc : str
        One-sentence description (it goes into the docs and the JSON map).
    reset : int
        Reset value of ``RW`` and ``W1C`` fields.
    const : int or None
        For an ``RO`` field: a constant read value (no port). ``None`` means the value comes from
        an input port.
    enum : enum.Enum subclass or None
        For a field holding an enumeration: the enum (its members are the legal values; writing any
        other value is an error) and the shape of the field's port.
    min, max : int or None
        Legal range of a written value (inclusive); writing a value outside is an error.
    port : bool
        Whether the field is a port of the component that owns the register block (see the
        naming rule); ``False`` for fields the owner uses internally (they are still ports of the
        bridge unless ``driver`` says the bridge drives them).
    driver : str or None
        ``"bridge"``: the bridge computes the field itself: a ``W1C`` flag of the error register
        named after an error the bridge detects (:data:`BRIDGE_ERRORS` or a register's
        ``err_flag``), or an ``RO`` bit that reads the emptiness of the stream ``ready_of``.
    ready_of : str or None
        For an ``RO`` field with ``driver="bridge"``: the stream register's stream whose one-entry
        buffer being empty this bit reads.
    hw_write : bool
        For an ``RW`` field: the owner can load the stored value too (SystemRDL ``hw=rw; we``),
        through the bridge's inputs ``<port>_we`` (load this cycle; the value is stored the next
        cycle) and ``<port>_next``. A software write executing in the same cycle wins.
    errors : tuple of str or None
        For a ``W1C`` flag with ``driver="bridge"``: the errors that set it (:data:`BRIDGE_ERRORS`
        and the registers' ``err_flag``/``done_err_flag`` names). ``None``: the error named like
        the field.
    """
    name: str
    offset: int
    width: int
    access: Access
    desc: str
    reset: int = 0
    const: int | None = None
    enum: type | None = None
    min: int | None = None
    max: int | None = None
    port: bool = True
    driver: str | None = None
    ready_of: str | None = None
    hw_write: bool = False
    errors: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"field name must be a lower-case identifier, not {self.name!r}")
        if not isinstance(self.access, Access):
            raise TypeError(f"access of field {self.name!r} must be an Access, not {self.access!r}")
        if not (isinstance(self.width, int) and 1 <= self.width <= DATA_WIDTH):
            raise ValueError(f"width of field {self.name!r} must be in [1, {DATA_WIDTH}], not {self.width!r}")
        if not (isinstance(self.offset, int) and 0 <= self.offset and self.offset + self.width <= DATA_WIDTH):
            raise ValueError(f"field {self.name!r} (offset {self.offset!r}, width {self.width}) "
                             f"does not fit in {DATA_WIDTH} bits")
        if not 0 <= self.reset < (1 << self.width):
            raise ValueError(f"reset of field {self.name!r} ({self.reset}) does not fit in {self.width} bits")
        if self.const is not None:
            if self.access is not Access.RO:
                raise ValueError(f"only an RO field can be constant, not {self.name!r} ({self.access.value})")
            if not 0 <= self.const < (1 << self.width):
                raise ValueError(f"constant of field {self.name!r} ({self.const}) does not fit in "
                                 f"{self.width} bits")
        if self.enum is not None:
            big = [m for m in self.enum if m.value >= (1 << self.width)]
            if big:
                raise ValueError(f"enum {self.enum.__name__} of field {self.name!r} has values that do "
                                 f"not fit in {self.width} bits: {big}")
        if self.access is Access.W1C and self.width != 1:
            raise ValueError(f"W1C field {self.name!r} must be 1 bit wide, not {self.width}")
        if self.driver not in (None, "bridge"):
            raise ValueError(f"driver of field {self.name!r} must be None or 'bridge', not "
                             f"{self.driver!r}")
        if self.driver == "bridge":
            if self.access is Access.RO and (self.ready_of is None or self.width != 1):
                raise ValueError(f"RO field {self.name!r} driven by the bridge must be 1 bit wide "
                                 "and name its stream (ready_of)")
            if self.access not in (Access.RO, Access.W1C):
                raise ValueError(f"only RO and W1C fields can be driven by the bridge, not "
                                 f"{self.name!r} ({self.access.value})")
            if self.port:
                raise ValueError(f"field {self.name!r} is driven by the bridge: port must be False")
        elif self.ready_of is not None:
            raise ValueError(f"field {self.name!r}: ready_of needs driver='bridge'")
        if not isinstance(self.hw_write, bool):
            raise TypeError(f"hw_write of field {self.name!r} must be a bool, not {self.hw_write!r}")
        if self.hw_write and self.access is not Access.RW:
            raise ValueError(f"field {self.name!r}: only an RW field can be hw_write, not "
                             f"{self.access.value}")
        if self.errors is not None:
            if self.driver != "bridge" or self.access is not Access.W1C:
                raise ValueError(f"field {self.name!r}: errors needs a W1C field with "
                                 "driver='bridge'")
            if (not isinstance(self.errors, tuple) or not self.errors
                    or not all(isinstance(e, str) and e.isidentifier() for e in self.errors)):
                raise ValueError(f"errors of field {self.name!r} must be a non-empty tuple of "
                                 f"identifiers, not {self.errors!r}")

    @property
    def sets_on(self):
        """For a flag the bridge sets: the names of the errors that set it."""
        return self.errors if self.errors is not None else (self.name,)

    @property
    def mask(self):
        """Mask of the field in place in the register."""
        return ((1 << self.width) - 1) << self.offset

    @property
    def shape(self):
        """Shape of the field's port: its enum, or ``unsigned(width)``."""
        return self.enum if self.enum is not None else unsigned(self.width)

    @property
    def writable(self):
        return self.access in (Access.RW, Access.W1C, Access.WS)

    def legal(self, value):
        """Whether ``value`` (already extracted from the register word) is a legal write value."""
        if self.enum is not None and value not in {m.value for m in self.enum}:
            return False
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return True

    @property
    def checked(self):
        """Whether writes of this field are checked (enum, min or max)."""
        return self.access is not Access.RO and (
            self.enum is not None or self.min is not None or self.max is not None)


@dataclass(frozen=True)
class Port:
    """A port of the bridge (and, if ``owner``, of the component that owns it) carrying one field.

    ``direction`` is ``"in"`` or ``"out"`` (seen from the component).
    """
    name: str
    direction: str
    shape: object
    reset: int
    register: str
    field: str
    desc: str
    owner: bool = True


class Register:
    """One 32-bit register.

    Parameters
    ----------
    name : str
        Upper-case identifier (``CTRL``).
    offset : int
        Byte offset, a multiple of 4 below ``2**ADDR_WIDTH``.
    desc : str
        Description (docs, JSON).
    fields : list of Field
        Non-overlapping fields.
    stream : str or None
        For a *stream register* (all fields ``WS``): the name of the output stream that a write
        sends one transfer on, through a one-entry buffer; a write while the buffer is full is
        refused (SLVERR, ``ERR.stream_full``). The write response never waits for the stream.
    err_flag : str
        Name of the ``ERR`` flag set by an illegal field value written here (``bad_write``,
        ``bad_command``).
    notes : str
        Extra documentation (checks done on write, timing).
    lockable : bool
        A write is refused (SLVERR, ``bad_write``) while the bridge's ``write_lock`` input is high
        (e.g. configuration registers while a run is busy).
    reject : bool
        The owner may refuse a write: the bridge has an input ``<register>_reject`` (looked at in
        the cycle the write executes, with the written word on the bridge's ``write_data``); high
        refuses the write (SLVERR, ``err_flag``).
    capture : Layout or None
        For a stream register: extra payload (member ``capture`` of the stream's payload) sampled
        from the bridge's input ``<stream>_capture`` when the write executes.
    strict : bool
        A write with a reserved bit (one no field covers) set is refused (SLVERR, ``err_flag``),
        instead of the reserved bits being ignored.
    deferred : bool
        For a stream register: the write response waits for the owner (see the module docstring):
        the bridge has inputs ``<stream>_done`` (one-cycle pulse: the write is complete; ``BVALID``
        rises the next cycle) and ``<stream>_error`` (looked at with ``done``: answer SLVERR and
        set ``done_err_flag``). Until ``done``, no other write executes; reads are served.
    done_err_flag : str
        Name of the ``ERR`` flag set by a deferred write that the owner completes with
        ``<stream>_error`` (default ``write_failed``).
    """

    def __init__(self, name, offset, desc, fields, *, stream=None, err_flag="bad_write", notes="",
                 lockable=False, reject=False, capture=None, strict=False, deferred=False,
                 done_err_flag="write_failed"):
        if not isinstance(name, str) or not name.isidentifier() or name != name.upper():
            raise ValueError(f"register name must be an upper-case identifier, not {name!r}")
        if not isinstance(offset, int) or offset % 4 or not 0 <= offset < (1 << ADDR_WIDTH):
            raise ValueError(f"offset of register {name} must be word aligned in the 4 KiB map, "
                             f"not {offset!r}")
        for arg, v in (("lockable", lockable), ("reject", reject), ("strict", strict),
                       ("deferred", deferred)):
            if not isinstance(v, bool):
                raise TypeError(f"{arg} of register {name} must be a bool, not {v!r}")
        if capture is not None and stream is None:
            raise ValueError(f"register {name}: capture needs a stream register")
        if not isinstance(err_flag, str) or not err_flag.isidentifier():
            raise ValueError(f"err_flag of register {name} must be an identifier, not {err_flag!r}")
        if deferred and stream is None:
            raise ValueError(f"register {name}: deferred needs a stream register (stream=...)")
        if not isinstance(done_err_flag, str) or not done_err_flag.isidentifier():
            raise ValueError(f"done_err_flag of register {name} must be an identifier, not "
                             f"{done_err_flag!r}")
        self.name = name
        self.offset = offset
        self.desc = desc
        self.stream = stream
        self.err_flag = err_flag
        self.notes = notes
        self.lockable = lockable
        self.reject = reject
        self.capture = capture
        self.strict = strict
        self.deferred = deferred
        self.done_err_flag = done_err_flag
        self.fields = {}
        used = 0
        for f in fields:
            if not isinstance(f, Field):
                raise TypeError(f"fields of register {name} must be Field objects, not {f!r}")
            if f.name in self.fields:
                raise ValueError(f"register {name}: field {f.name!r} defined twice")
            if used & f.mask:
                raise ValueError(f"register {name}: field {f.name!r} overlaps another field")
            if stream is not None and f.access is not Access.WS:
                raise ValueError(f"stream register {name}: field {f.name!r} must be WS")
            used |= f.mask
            self.fields[f.name] = f
        if not self.fields:
            raise ValueError(f"register {name} has no field")

    def __repr__(self):
        return f"Register({self.name}, 0x{self.offset:03x})"

    def __getitem__(self, name):
        return self.fields[name]

    @property
    def writable(self):
        """Whether a write can succeed (some field is not RO)."""
        return any(f.writable for f in self.fields.values())

    @property
    def access(self):
        """Summary access of the register: the set of its fields' modes, e.g. ``"RW/WS"``."""
        modes = []
        for f in self.fields.values():
            if f.access.value not in modes:
                modes.append(f.access.value)
        return "/".join(modes)

    @property
    def reset(self):
        """Value read after reset with all inputs at 0."""
        value = 0
        for f in self.fields.values():
            if f.access in (Access.RW, Access.W1C):
                value |= f.reset << f.offset
            elif f.const is not None:
                value |= f.const << f.offset
        return value

    @property
    def defined_mask(self):
        """Bits covered by fields (the others are reserved)."""
        mask = 0
        for f in self.fields.values():
            mask |= f.mask
        return mask

    @property
    def reserved_mask(self):
        """Bits no field covers (a ``strict`` register refuses a write with one of them set)."""
        return ~self.defined_mask & ((1 << DATA_WIDTH) - 1)

    def port_name(self, f):
        """Name of the CSR component's port for field ``f`` (see the naming rule)."""
        if isinstance(f, str):
            f = self.fields[f]
        return self.name.lower() if f.name == "value" else f"{self.name.lower()}_{f.name}"

    def encode(self, **values):
        """Register word with the given fields (others 0); raises for an unknown field or a value that
        does not fit. Enum members are accepted for enum fields."""
        word = 0
        for name, value in values.items():
            if name not in self.fields:
                raise KeyError(f"register {self.name} has no field {name!r}")
            f = self.fields[name]
            if isinstance(value, enum.Enum):
                value = value.value
            if not 0 <= value < (1 << f.width):
                raise ValueError(f"{self.name}.{name} = {value} does not fit in {f.width} bits")
            word |= value << f.offset
        return word

    def decode(self, word):
        """``{field: value}`` of a register word (reserved bits ignored)."""
        return {name: (word >> f.offset) & ((1 << f.width) - 1) for name, f in self.fields.items()}

    def legal(self, word):
        """Whether writing ``word`` passes the per-field checks (enum, min, max) and, for a
        ``strict`` register, has no reserved bit set."""
        if self.strict and word & self.reserved_mask:
            return False
        return all(f.legal((word >> f.offset) & ((1 << f.width) - 1))
                   for f in self.fields.values() if f.checked)

    def hooks(self):
        """The bridge members this register adds besides its field ports, ``{role: name}``:
        ``stream`` (and ``capture``, ``done``, ``error``: ``<stream>_capture``, ...) and
        ``reject`` (``<register>_reject``). :class:`hw.csr.bridge.AXI4LiteRegisterBridge` makes
        one member per entry, so the names are written here only."""
        out = {}
        if self.stream is not None:
            out["stream"] = self.stream
            if self.capture is not None:
                out["capture"] = f"{self.stream}_capture"
            if self.deferred:
                out["done"], out["error"] = f"{self.stream}_done", f"{self.stream}_error"
        if self.reject:
            out["reject"] = f"{self.name.lower()}_reject"
        return out


class RegisterMap:
    """The registers of one register block, ordered by offset.

    Parameters
    ----------
    params : object
        The parameters the map was built for (documentation only).
    registers : list of Register
    name : str
        Lower-case identifier of the block (``t3``, ``tg``): the SystemRDL ``addrmap`` name and the
        prefix of generated C names.
    desc : str
        One-line description of the block.
    errors : str or None
        Name of the error register, whose ``driver="bridge"`` W1C fields the bridge sets; ``None``:
        errors only answer SLVERR.

    Attributes
    ----------
    regs : dict of str -> Register
        In offset order; ``regs["CTRL"].offset``.
    """

    def __init__(self, params, registers, *, name="regs", desc="", errors=None):
        if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
            raise ValueError(f"map name must be a lower-case identifier, not {name!r}")
        self.params = params
        self.name = name
        self.desc = desc
        self.errors = errors
        self.data_width = DATA_WIDTH
        self.addr_width = ADDR_WIDTH
        self.regs = {}
        offsets = {}
        for reg in sorted(registers, key=lambda r: r.offset):
            if reg.name in self.regs:
                raise ValueError(f"register {reg.name} defined twice")
            if reg.offset in offsets:
                raise ValueError(f"registers {offsets[reg.offset]} and {reg.name} share offset "
                                 f"0x{reg.offset:03x}")
            self.regs[reg.name] = reg
            offsets[reg.offset] = reg.name
        if errors is not None and errors not in self.regs:
            raise ValueError(f"error register {errors!r} is not in the map")
        for reg in self.regs.values():
            for f in reg.fields.values():
                if f.driver == "bridge" and f.access is Access.W1C and reg.name != errors:
                    raise ValueError(f"{reg.name}.{f.name}: a flag the bridge sets must be in the "
                                     f"error register ({errors!r})")
        self.error_sources()        # raises if two flags collect one error
        names = [p.name for p in self.bridge_ports()]
        names += [n for reg in self.regs.values() for n in reg.hooks().values()]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"port names defined twice: {sorted(dup)}")

    def __getitem__(self, name):
        return self.regs[name]

    def __iter__(self):
        return iter(self.regs.values())

    def by_offset(self, offset):
        """The register at byte ``offset``, or ``None`` (unmapped)."""
        for reg in self.regs.values():
            if reg.offset == offset:
                return reg
        return None

    def error_flags(self):
        """Names of the flags the bridge sets (``driver="bridge"`` W1C fields of the error
        register)."""
        if self.errors is None:
            return []
        return [f.name for f in self.regs[self.errors].fields.values()
                if f.driver == "bridge" and f.access is Access.W1C]

    def error_sources(self):
        """``{error: flag}``: the flag of the error register each error sets (see the field's
        ``errors``); raises if two flags collect the same error."""
        if self.errors is None:
            return {}
        out = {}
        for name in self.error_flags():
            for e in self.regs[self.errors][name].sets_on:
                if e in out:
                    raise ValueError(f"error register {self.errors}: error {e!r} is collected by "
                                     f"both {out[e]} and {name}")
                out[e] = name
        return out

    def ports(self):
        """The field ports of the owner component (fields with ``port=True``; streams, ``irq``
        and the bus excluded)."""
        return [p for p in self.bridge_ports() if p.owner]

    def bridge_ports(self):
        """The field ports of the bridge: every field with a value to read or store, except
        constants, stream-register fields and fields the bridge drives itself."""
        ports = []
        for reg in self.regs.values():
            if reg.stream is not None:
                continue
            for f in reg.fields.values():
                if f.driver is not None or (f.access is Access.RO and f.const is not None):
                    continue
                direction = "in" if f.access in (Access.RO, Access.W1C) else "out"
                shape = unsigned(1) if f.access is Access.W1C else f.shape
                reset = f.reset if f.access is Access.RW else 0
                ports.append(Port(reg.port_name(f), direction, shape, reset, reg.name, f.name,
                                  f.desc, f.port))
                if f.hw_write:
                    name = reg.port_name(f)
                    ports.append(Port(f"{name}_we", "in", unsigned(1), 0, reg.name, f.name,
                                      f"Load {name}_next into the field.", f.port))
                    ports.append(Port(f"{name}_next", "in", f.shape, 0, reg.name, f.name,
                                      "The value loaded by a high _we.", f.port))
        return ports
