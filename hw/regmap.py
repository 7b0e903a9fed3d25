"""The T3 register map: one Python definition, and the generators that come from it.

Everything about the CSR address space lives here: the AXI4-Lite decoder in :mod:`hw.csr`, the
documentation ``docs/registers.md``, the machine-readable map ``docs/t3_regs.json``, the C header
``docs/t3_regs.h`` and the testbenches' addresses and field encodings are all derived from
:func:`build` (in the style of amaranth-soc's ``csr/reg.py``: each register an object with typed,
documented fields and an access mode).

Run ``python -m hw.regmap --out docs`` to (re)write the three generated files, and
``python -m hw.regmap --check docs`` to verify that they are up to date (exit status 1 and a
message naming each stale file otherwise).

Usage from Python (e.g. a testbench)::

    from hw import regmap
    regmap.REGS["CTRL"].offset                       # 0x010
    regmap.REGS["CTRL"].encode(enable=1, dev_id=3)   # 0x301
    regmap.REGS["STATUS"].decode(0x00050101)         # {"busy": 1, "dma_busy": 0, ...}
    regmap.build(T3Params(dev_width=8))               # the map for other parameters

Rules
-----
* Registers are 32 bits wide at word-aligned byte offsets in a 4 KiB space (12 address bits).
* **Reserved bits** (bits not covered by any field) read as 0; writes to them are ignored.
* Access modes of a field (:class:`Access`):

  - ``RW``: read/write storage; reads return the last value written (or the reset value).
  - ``RO``: read-only; a constant or the value of an input port, sampled when the read is accepted.
  - ``W1C``: sticky flag, set by a one-cycle event pulse; writing 1 clears it, writing 0 leaves it.
    An event in the same cycle as the clearing write wins (the flag stays set).
  - ``WS``: write strobe; a write produces a one-cycle pulse (or, for a *stream register*, one
    transfer on a stream carrying the written fields); reads return 0.

* A write to a register with no writable field (all ``RO``) is an error, as is a write whose
  ``WSTRB`` is not ``0b1111``, and a write of an illegal field value (an ``enum`` field written with
  a value that is not a member, a value below the field's ``min`` or above its ``max``): the write
  has no effect at all, the response is ``SLVERR`` and an error flag is set (see the ``ERR``
  register). Unmapped addresses (and addresses that are not word-aligned) answer ``SLVERR`` to
  reads and writes and set ``ERR.bad_address``.

* **Port naming rule**: every field that talks to the rest of the unit is a port of the CSR
  component named ``<register>_<field>`` in lower case (``ctrl_enable``, ``status_busy``,
  ``err_unarmed``); a field called ``value`` is named after its register alone (``arb_policy``,
  ``cnt_fires``, ``done``). The direction follows the access mode: ``RW`` -> ``Out`` (the stored
  value), ``RO`` (not constant) -> ``In`` (the value to read), ``W1C`` -> ``In(1)`` (the event
  pulse that sets the flag), ``WS`` -> ``Out`` (a one-cycle pulse). Fields of stream registers and
  fields marked internal (the command staging registers, the flags the CSR block sets itself, the
  STATUS bits it computes itself) have no port. :meth:`RegisterMap.ports` lists the ports.
"""

import argparse
import enum
import json
import sys
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from amaranth.hdl import unsigned

from .params import ArbPolicy, Kind, LaneType, T3Params

__all__ = [
    "Access", "Field", "Register", "RegisterMap", "Port",
    "ID_VALUE", "RESPONSE_BOUND", "DATA_WIDTH", "ADDR_WIDTH", "COUNTERS", "COUNTER_BASE",
    "build", "DEFAULT", "REGS",
    "render_markdown", "render_json", "render_c_header", "generate", "main",
]

#: Constant read from the ``ID`` register: ASCII "T3", major version 0, minor version 2 (2: ERR
#: bit 3 ``bad_arm`` is set by the CSR block, ERR bit 2 ``overshoot`` is gone (a T3 unit tracks
#: one beat per write, so a tile fires at exactly its threshold), ERR bit 19 ``stream_full`` and
#: the STATUS ``*_ready`` bits are new, stream-register writes answer at once).
ID_VALUE = 0x5433_0002
#: Width of the AXI4-Lite data bus and of every register.
DATA_WIDTH = 32
#: Width of the AXI4-Lite byte address (a 4 KiB map).
ADDR_WIDTH = 12

#: Base byte offset of the counter window; counter ``i`` is at ``COUNTER_BASE + 4*i``.
COUNTER_BASE = 0x100
#: The 32-bit read-only event counters, in address order: ``(name, description)``. Adding a counter
#: is one line here (the register ``CNT_<NAME>``, its input port ``cnt_<name>`` and the docs follow).
COUNTERS = (
    ("fires",             "Tracker fires (tiles whose count reached their threshold)."),
    ("arms",              "Tracker entries armed."),
    ("tracked_beats",     "Write beats counted by the tracker."),
    ("updates_applied",   "Update beats applied by the NMC unit (read-add-write)."),
    ("rd_beats_compute",  "Read beats granted to the compute class by the arbiter."),
    ("wr_beats_compute",  "Write beats granted to the compute class by the arbiter."),
    ("rd_beats_comm",     "Read beats granted to the communication class by the arbiter."),
    ("wr_beats_comm",     "Write beats granted to the communication class by the arbiter."),
    ("stall_compute",     "Cycles a compute request waited (valid and not granted)."),
    ("stall_comm",        "Cycles a communication request waited (valid and not granted)."),
    ("link_tx_beats",     "Beats sent on the outgoing link (headers and data)."),
    ("link_rx_beats",     "Beats received on the incoming link (headers and data)."),
    ("dma_commands",      "DMA commands started (fired or doorbell)."),
    ("starvation_grants", "Grants forced by the arbiter's starvation limit."),
    ("cycles",            "Clock cycles since reset (free-running)."),
    ("notifications",     "Notification commands (length 0) completed: DONE set, no transfer."),
    ("arm_stall",         "Cycles an arm waited for a tracker entry (the table-full fallback): "
                          "parked until the tile holding its entry fired, or held while every "
                          "fire-queue slot was outstanding. CNT_ARMS counts an arm once installed."),
)


#: Bound, in clock cycles, of the CSR block's answers to a master that takes responses at once
#: (BREADY/RREADY high) and completes a write it started (offers W after AW and AW after W):
#: AWREADY, WREADY and ARREADY within this many cycles of AWVALID/WVALID/ARVALID, BVALID within
#: this many cycles of the cycle both halves of the write were accepted, RVALID within this many
#: cycles of the AR handshake, whatever the internal streams do (proved in formal/csr_props.py).
RESPONSE_BOUND = 2

#: Notes of a stream register (``{stream}``, its STATUS bit ``{ready}``).
STREAM_NOTE = ("The stream has a one-entry buffer (its registered `valid`/payload). A legal write "
               "when the buffer is empty (STATUS.{ready} = 1) fills it and answers OKAY at once; the "
               "`{stream}` stream delivers the transfer when the block behind it is ready, in "
               "write order. A legal write while the buffer is full is refused: SLVERR, "
               "ERR.stream_full, nothing sent (the buffered transfer is kept). The bus is never "
               "held: see the response bound in the rules.")


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
        Whether the field has a port on the CSR component (see the naming rule).
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
    """A port of the CSR component that carries one field.

    ``direction`` is ``"in"`` or ``"out"`` (seen from the CSR component).
    """
    name: str
    direction: str
    shape: object
    reset: int
    register: str
    field: str
    desc: str


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
    """

    def __init__(self, name, offset, desc, fields, *, stream=None, err_flag="bad_write", notes=""):
        if not isinstance(name, str) or not name.isidentifier() or name != name.upper():
            raise ValueError(f"register name must be an upper-case identifier, not {name!r}")
        if not isinstance(offset, int) or offset % 4 or not 0 <= offset < (1 << ADDR_WIDTH):
            raise ValueError(f"offset of register {name} must be word aligned in the 4 KiB map, "
                             f"not {offset!r}")
        self.name = name
        self.offset = offset
        self.desc = desc
        self.stream = stream
        self.err_flag = err_flag
        self.notes = notes
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
        """Whether writing ``word`` passes the per-field checks (enum, min, max)."""
        return all(f.legal((word >> f.offset) & ((1 << f.width) - 1))
                   for f in self.fields.values() if f.checked)


class RegisterMap:
    """The registers of one T3 unit, ordered by offset.

    Attributes
    ----------
    params : T3Params
    regs : dict of str -> Register
        In offset order; ``regs["CTRL"].offset``.
    """

    def __init__(self, params, registers):
        self.params = params
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
        names = [p.name for p in self.ports()]
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

    def ports(self):
        """The field ports of the CSR component (streams, ``irq`` and the bus excluded)."""
        ports = []
        for reg in self.regs.values():
            if reg.stream is not None:
                continue
            for f in reg.fields.values():
                if not f.port or (f.access is Access.RO and f.const is not None):
                    continue
                direction = "in" if f.access in (Access.RO, Access.W1C) else "out"
                shape = unsigned(1) if f.access is Access.W1C else f.shape
                reset = f.reset if f.access is Access.RW else 0
                ports.append(Port(reg.port_name(f), direction, shape, reset, reg.name, f.name, f.desc))
        return ports


def _lane_code(lane):
    return list(LaneType).index(lane)


def build(params=None):
    """Build the register map for ``params`` (default :class:`T3Params()`).

    Raises
    ------
    TypeError
        If ``params`` is not a :class:`T3Params`.
    ValueError
        If a parameter does not fit its register field (e.g. ``tile_width`` or ``count_width`` above
        16 for the ``ARM`` register).
    """
    if params is None:
        params = T3Params()
    if not isinstance(params, T3Params):
        raise TypeError(f"params must be a T3Params, not {params!r}")
    p = params
    if p.tile_width > 16:
        raise ValueError(f"tile_width ({p.tile_width}) does not fit the 16-bit tile field of ARM")
    if p.count_width > 16:
        raise ValueError(f"count_width ({p.count_width}) does not fit the 16-bit threshold field of ARM")
    if p.index_width > 16:
        raise ValueError(f"index_width ({p.index_width}) does not fit the 16-bit index fields")
    RW, RO, W1C, WS = Access.RW, Access.RO, Access.W1C, Access.WS
    F = Field
    entries_max = p.tracker_entries - 1

    regs = [
        # -- identification ----------------------------------------------------------------
        Register("ID", 0x000, "Identification: ASCII \"T3\" and the version of this register map.", [
            F("minor", 0, 8, RO, "Minor version of the register map.", const=ID_VALUE & 0xff),
            F("major", 8, 8, RO, "Major version of the register map.", const=(ID_VALUE >> 8) & 0xff),
            F("magic", 16, 16, RO, "ASCII \"T3\" (0x5433).", const=ID_VALUE >> 16),
        ]),
        Register("PARAMS0", 0x004, "Elaboration-time parameters of this unit (part 0).", [
            F("entries_log2", 0, 8, RO, "log2 of the tracker / DMA command table entries.",
              const=p.index_width),
            F("data_words", 8, 8, RO, "Beat width in 32-bit words (data_width / 32).",
              const=p.data_width // 32),
            F("dev_width", 16, 8, RO, "Width of a device id in bits.", const=p.dev_width),
            F("lane", 24, 4, RO, "NMC lane type: 0 = int32, 1 = bf16.", const=_lane_code(p.lane)),
        ]),
        Register("PARAMS1", 0x008, "Elaboration-time parameters of this unit (part 1).", [
            F("addr_width", 0, 8, RO, "Beat address width of the device memory (depth 2**addr_width beats).",
              const=p.addr_width),
            F("len_width", 8, 8, RO, "Width of a DMA command length in beats.", const=p.len_width),
            F("tile_width", 16, 8, RO, "Width of a tile id.", const=p.tile_width),
            F("count_width", 24, 8, RO, "Width of a tracker count / threshold.", const=p.count_width),
        ]),
        # -- control and status ------------------------------------------------------------
        Register("CTRL", 0x010, "Global control.", [
            F("enable", 0, 1, RW, "Enable the unit (tracking, triggering, DMA)."),
            F("soft_reset", 1, 1, WS, "Write 1: one-cycle soft-reset pulse to the unit's datapath "
              "(the CSR registers keep their values); reads 0."),
            F("irq_enable", 2, 1, RW, "Enable the irq output."),
            F("dev_id", 8, p.dev_width, RW, "Device id of this unit in the ring."),
        ]),
        Register("STATUS", 0x014, "Live status, sampled when the read is accepted.", [
            F("busy", 0, 1, RO, "The unit has work in flight."),
            F("dma_busy", 1, 1, RO, "The DMA engine is sending a tile."),
            F("arm_ready", 2, 1, RO, "An ARM write now is taken (the `arm` stream's one-entry "
              "buffer is empty); 0: it would be refused with ERR.stream_full.", port=False),
            F("doorbell_ready", 3, 1, RO, "A DOORBELL write now is taken (the `doorbell` buffer is "
              "empty); 0: it would be refused with ERR.stream_full.", port=False),
            F("cmd_ready", 4, 1, RO, "A CMD_COMMIT write now is taken (the `cmd_write` buffer is "
              "empty); 0: it would be refused with ERR.stream_full.", port=False),
            F("queue_level", 8, 8, RO, "Fired commands waiting for the DMA engine."),
            F("tracker_pending", 16, 16, RO, "Armed tracker entries that have not fired yet."),
        ]),
        Register("ERR", 0x018, "Sticky error flags (W1C). Any set flag raises irq when "
                 "CTRL.irq_enable is set.", [
            F("unarmed", 0, 1, W1C, "A tracked write was not counted: its tile is not armed "
              "(never armed, already fired, or its tracker entry holds another tile that shares "
              "the entry index)."),
            F("collision", 1, 1, W1C, "The tracker refused an arm: the tile is already armed "
              "(a second arm of a live tile); it keeps counting, unchanged. An arm of another tile "
              "sharing the entry (tile mod tracker_entries) is not refused: it waits until the "
              "entry's tile fires (CNT_ARM_STALL)."),
            F("bad_arm", 3, 1, W1C, "CSR block: an ARM write with threshold 0 was refused "
              "(SLVERR, nothing sent).", port=False),
            F("no_command", 4, 1, W1C, "A tile fired (or a doorbell rang) whose DMA command table "
              "entry holds no valid command: nothing is sent."),
            F("misroute", 5, 1, W1C, "A link packet arrived whose header names another device "
              "(dst_dev != CTRL.dev_id): the whole packet is dropped, nothing is written."),
            F("malformed_packet", 6, 1, W1C, "A link packet's framing disagreed with its header's "
              "length (`last` before or missing on the length-th data beat, or a header with "
              "length 0 without `last` or length > 0 with `last`): data beats within the length "
              "are written, the rest up to the next `last` is dropped."),
            F("bad_write", 16, 1, W1C, "CSR block: a write was refused (read-only register, partial "
              "strobe, illegal value of a non-stream register's field).", port=False),
            F("bad_command", 17, 1, W1C, "CSR block: a CMD_COMMIT or DOORBELL was refused (malformed "
              "command or index out of range).", port=False),
            F("bad_address", 18, 1, W1C, "CSR block: an access to an unmapped or unaligned address.",
              port=False),
            F("stream_full", 19, 1, W1C, "CSR block: a legal ARM, DOORBELL or CMD_COMMIT write was "
              "refused because that register's one-entry stream buffer still held the previous "
              "transfer (SLVERR, nothing sent; retry when STATUS.<stream>_ready is 1).", port=False),
        ]),
        Register("DONE", 0x01c, "Completion flag (W1C), raises irq when CTRL.irq_enable is set.", [
            F("value", 0, 1, W1C, "Set by the unit's done pulse (e.g. all DMA commands sent)."),
        ]),
        # -- arbiter ---------------------------------------------------------------------------
        Register("ARB_POLICY", 0x020, "Memory-controller arbitration policy.", [
            F("value", 0, 2, RW, "0 = round-robin, 1 = compute-first, 2 = T3-MCA; 3 is illegal "
              "(SLVERR, ERR.bad_write, not written).", enum=ArbPolicy, reset=ArbPolicy.ROUND_ROBIN.value),
        ]),
        Register("ARB_THRESHOLD", 0x024, "T3-MCA occupancy threshold.", [
            F("value", 0, 8, RW, "Communication requests are held back while the compute queue "
              "occupancy is at or above this threshold (T3-MCA).", reset=8),
        ]),
        Register("ARB_STARVATION", 0x028, "T3-MCA starvation limit.", [
            F("value", 0, 16, RW, "Cycles a waiting request may be passed over before it is granted "
              "(T3-MCA).", reset=64),
        ]),
        # -- tracker and DMA programming -------------------------------------------------------
        Register("ARM", 0x030, "Arm a tracker entry: a write sends one transfer on the `arm` stream.", [
            F("tile", 0, p.tile_width, WS, "Tile id to track.", port=False),
            F("threshold", 16, p.count_width, WS, "Beats to count before the tile fires; 0 is "
              "illegal (SLVERR, ERR.bad_arm, nothing sent).", min=1, port=False),
        ], stream="arm", err_flag="bad_arm", notes=STREAM_NOTE.format(stream="arm", ready="arm_ready")),
        Register("DOORBELL", 0x034, "Ring the doorbell of a DMA command (the sequential / Domino path): "
                 "a write sends one transfer on the `doorbell` stream.", [
            F("index", 0, 16, WS, f"DMA command table index; >= {p.tracker_entries} is illegal "
              "(SLVERR, ERR.bad_command, nothing sent).", max=entries_max, port=False),
        ], stream="doorbell", err_flag="bad_command",
           notes=STREAM_NOTE.format(stream="doorbell", ready="doorbell_ready")),
        Register("CMD_SRC_ADDR", 0x040, "DMA command staging: source beat address.", [
            F("value", 0, p.addr_width, RW, "Source beat address in this device's memory.", port=False),
        ]),
        Register("CMD_DST_ADDR", 0x044, "DMA command staging: destination beat address.", [
            F("value", 0, p.addr_width, RW, "Destination beat address in the destination device's "
              "memory.", port=False),
        ]),
        Register("CMD_LEN_OP_DEV", 0x048, "DMA command staging: length, operation, destination device.", [
            F("length", 0, p.len_width, RW, "Length in beats; 0 makes a *notification*: when the "
              "command becomes ready it moves no data, sets DONE and counts in CNT_NOTIFICATIONS.",
              port=False),
            F("op", 16, 1, RW, "0 = store, 1 = update (read-add-write at the destination).",
              enum=Kind, port=False),
            F("dst_dev", 24, p.dev_width, RW, "Destination device id.", port=False),
        ]),
        Register("CMD_TILE", 0x04c, "DMA command staging: tile id counted at the destination.", [
            F("value", 0, p.tile_width, RW, "Tile id the destination's tracker counts the writes "
              "against.", port=False),
        ]),
        Register("CMD_COMMIT", 0x050, "Write the staged command into the DMA command table: a write "
                 "sends one transfer on the `cmd_write` stream.", [
            F("index", 0, 16, WS, f"DMA command table index; >= {p.tracker_entries} is illegal.",
              max=entries_max, port=False),
            F("valid", 16, 1, WS, "1: install the staged command; 0: invalidate the entry.",
              port=False),
        ], stream="cmd_write", err_flag="bad_command",
           notes="With valid = 1 the staged command is checked: "
                 "src_addr + length > 2**addr_width or dst_addr + length > 2**addr_width is "
                 "malformed: SLVERR, ERR.bad_command, nothing sent (never a partial command). "
                 "The staging registers keep their values. "
                 + STREAM_NOTE.format(stream="cmd_write", ready="cmd_ready")),
    ]
    for i, (name, desc) in enumerate(COUNTERS):
        regs.append(Register(f"CNT_{name.upper()}", COUNTER_BASE + 4 * i, f"Counter: {desc}", [
            F("value", 0, 32, RO, "Current value of the counter input (wraps at 2**32)."),
        ]))
    return RegisterMap(params, regs)


# -- generators ----------------------------------------------------------------------------------

def _params_dict(p):
    return {
        "data_width": p.data_width, "addr_width": p.addr_width, "tile_width": p.tile_width,
        "count_width": p.count_width, "tracker_entries": p.tracker_entries,
        "len_width": p.len_width, "dev_width": p.dev_width, "mem_latency": p.mem_latency,
        "lane": p.lane.value,
    }


def _bits(f):
    return f"{f.offset}" if f.width == 1 else f"{f.offset + f.width - 1}:{f.offset}"


def _reserved_ranges(reg):
    ranges, start = [], None
    mask = reg.defined_mask
    for b in range(DATA_WIDTH + 1):
        free = b < DATA_WIDTH and not (mask >> b) & 1
        if free and start is None:
            start = b
        elif not free and start is not None:
            ranges.append((start, b - 1))
            start = None
    return ranges


def _port_of(rmap, reg, f):
    for p in rmap.ports():
        if p.register == reg.name and p.field == f.name:
            return p
    return None


def render_markdown(rmap):
    """``docs/registers.md``."""
    p = rmap.params
    out = [
        "# T3 register map",
        "",
        "<!-- Generated by `python -m hw.regmap --out docs` from hw/regmap.py: do not edit. -->",
        "",
        f"AXI4-Lite slave, {DATA_WIDTH}-bit data, {ADDR_WIDTH}-bit byte addresses (4 KiB map), "
        "registers at word-aligned offsets. Widths below are for the default parameters "
        f"(`T3Params()`: " + ", ".join(f"{k}={v}" for k, v in _params_dict(p).items()) + ").",
        "",
        "## Rules",
        "",
        "* **Reserved bits** (not covered by a field) read as 0; writes to them are ignored.",
        "* **RW**: stored; reads return the stored value. **RO**: constant, or an input sampled when "
        "the read is accepted. **W1C**: sticky flag set by a one-cycle event; writing 1 clears it "
        "(an event in the same cycle wins). **WS**: write strobe: a write makes a one-cycle pulse or "
        "one stream transfer; reads return 0.",
        "* **SLVERR** (`BRESP`/`RRESP` = 0b10), with no effect at all, for: an unmapped or unaligned "
        "address (sets `ERR.bad_address`); a write to a register without writable fields, or with "
        "`WSTRB` != 0b1111 (sets `ERR.bad_write`); an illegal field value (an enum field written "
        "with a non-member value, a value out of the field's range; sets the register's error flag); "
        "a malformed DMA command (sets `ERR.bad_command`); a legal write to a stream register whose "
        "one-entry buffer is still full (sets `ERR.stream_full`). Everything else answers OKAY.",
        "* AW and W are accepted independently, in any order (one of each is buffered); one B "
        "response per write once both arrived; one R response per AR. Writes to a stream register "
        "(ARM, DOORBELL, CMD_COMMIT) answer at once too: OKAY means the transfer is in the stream's "
        "one-entry buffer and will be delivered; `STATUS.arm_ready`, `doorbell_ready` and "
        "`cmd_ready` say whether the next write to that register will be taken.",
        f"* **Response bound**: to a master that takes responses at once (BREADY/RREADY high) and "
        f"completes every write it starts, the block answers within {RESPONSE_BOUND} cycles whatever "
        f"the unit behind it does: AWREADY, WREADY, ARREADY within {RESPONSE_BOUND} cycles of "
        f"AWVALID/WVALID/ARVALID; BVALID within {RESPONSE_BOUND} cycles of the cycle both AW and W "
        f"were accepted; RVALID the cycle after the AR handshake. (Proved by k-induction, "
        f"`make formal`, job `csr.response_bound`.)",
        "* `irq` (registered) = `CTRL.irq_enable` and (any `ERR` flag or `DONE`).",
        "* **Port naming**: the CSR component's port for a field is `<register>_<field>` in lower "
        "case, or `<register>` for a field called `value`. RW -> `Out` (stored value), RO -> `In`, "
        "W1C -> `In(1)` event pulse, WS -> `Out` one-cycle pulse. Stream registers drive the "
        "streams `arm`, `doorbell` and `cmd_write` instead.",
        "",
        "## Summary",
        "",
        "| offset | name | access | reset | description |",
        "|---|---|---|---|---|",
    ]
    for reg in rmap:
        out.append(f"| 0x{reg.offset:03x} | [{reg.name}](#{reg.name.lower()}) | {reg.access} | "
                   f"0x{reg.reset:08x} | {reg.desc} |")
    out += ["", "Unlisted offsets are unmapped (SLVERR).", "", "## Registers", ""]
    for reg in rmap:
        out += [f"### {reg.name}", "", f"Offset 0x{reg.offset:03x}, access {reg.access}, "
                f"reset 0x{reg.reset:08x}. {reg.desc}", ""]
        if reg.stream:
            out += [f"Stream register: a successful write sends one transfer on `{reg.stream}`.", ""]
        if reg.notes:
            out += [reg.notes, ""]
        out += ["| bits | field | access | reset | port | description |", "|---|---|---|---|---|---|"]
        rows = []
        for f in reg.fields.values():
            port = _port_of(rmap, reg, f)
            port_s = f"`{port.name}` ({port.direction})" if port else "-"
            if f.const is not None:
                reset = f"0x{f.const:x} (const)"
            elif f.access in (Access.RW, Access.W1C):
                reset = f"0x{f.reset:x}"
            else:
                reset = "-"
            desc = f.desc
            if f.enum is not None:
                desc += " Values: " + ", ".join(f"{m.value} = {m.name}" for m in f.enum) + "."
            rows.append((f.offset, f"| {_bits(f)} | {f.name} | {f.access.value} | {reset} | "
                         f"{port_s} | {desc} |"))
        for lo, hi in _reserved_ranges(reg):
            bits = f"{lo}" if lo == hi else f"{hi}:{lo}"
            rows.append((lo, f"| {bits} | - | reserved | 0 | - | Reads 0, writes ignored. |"))
        out += [r for _, r in sorted(rows, reverse=True)]
        out.append("")
    return "\n".join(out)


def render_json(rmap):
    """``docs/t3_regs.json``."""
    doc = {
        "name": "t3",
        "generated_by": "python -m hw.regmap --out docs",
        "data_width": DATA_WIDTH,
        "addr_width": ADDR_WIDTH,
        "params": _params_dict(rmap.params),
        "registers": [],
    }
    for reg in rmap:
        r = {
            "name": reg.name, "offset": reg.offset, "access": reg.access, "reset": reg.reset,
            "description": reg.desc, "stream": reg.stream, "err_flag": reg.err_flag,
            "notes": reg.notes, "fields": [],
        }
        for f in reg.fields.values():
            port = _port_of(rmap, reg, f)
            r["fields"].append({
                "name": f.name, "bit_offset": f.offset, "width": f.width, "access": f.access.value,
                "reset": f.reset, "const": f.const, "min": f.min, "max": f.max,
                "enum": {m.name: m.value for m in f.enum} if f.enum is not None else None,
                "port": {"name": port.name, "direction": port.direction} if port else None,
                "description": f.desc,
            })
        doc["registers"].append(r)
    return json.dumps(doc, indent=2) + "\n"


def render_c_header(rmap):
    """``docs/t3_regs.h``."""
    out = [
        "/* T3 register map. Generated by `python -m hw.regmap --out docs` from hw/regmap.py:",
        " * do not edit. Offsets are byte offsets from the CSR base; masks are in place. */",
        "#ifndef T3_REGS_H",
        "#define T3_REGS_H",
        "",
        f"#define T3_ID_VALUE 0x{ID_VALUE:08x}u",
        "#define T3_RESP_OKAY 0u",
        "#define T3_RESP_SLVERR 2u",
        "",
    ]
    for reg in rmap:
        n = f"T3_{reg.name}"
        out.append(f"/* {reg.name} ({reg.access}): {reg.desc} */")
        out.append(f"#define {n}_OFFSET 0x{reg.offset:03x}u")
        out.append(f"#define {n}_RESET 0x{reg.reset:08x}u")
        for f in reg.fields.values():
            fn = f"{n}_{f.name.upper()}"
            out.append(f"#define {fn}_SHIFT {f.offset}")
            out.append(f"#define {fn}_WIDTH {f.width}")
            out.append(f"#define {fn}_MASK 0x{f.mask:08x}u")
            if f.enum is not None:
                for m in f.enum:
                    out.append(f"#define {fn}_{m.name} {m.value}u")
        out.append("")
    out += ["#endif /* T3_REGS_H */", ""]
    return "\n".join(out)


#: File name -> renderer of the generated documents.
GENERATED = {
    "registers.md": render_markdown,
    "t3_regs.json": render_json,
    "t3_regs.h": render_c_header,
}


def generate(rmap=None):
    """``{file name: text}`` of the generated documents for ``rmap`` (default map)."""
    rmap = DEFAULT if rmap is None else rmap
    return {name: render(rmap) for name, render in GENERATED.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m hw.regmap",
                                 description="Generate (or check) the T3 register map documents.")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", metavar="DIR", help="write registers.md, t3_regs.json, t3_regs.h")
    group.add_argument("--check", metavar="DIR", help="exit 1 if any generated file in DIR is stale")
    args = ap.parse_args(argv)
    texts = generate()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (out / name).write_text(text)
            print(out / name)
        return 0
    stale = []
    for name, text in texts.items():
        path = Path(args.check) / name
        if not path.exists() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print("stale register map documents (run `python -m hw.regmap --out "
              f"{args.check}`): " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"register map documents in {args.check} are up to date")
    return 0


#: The register map for the default parameters.
DEFAULT = build()
#: ``REGS["CTRL"].offset`` etc. for the default parameters.
REGS = DEFAULT.regs


if __name__ == "__main__":
    sys.exit(main())
