"""The T3 register map, declared with the generic register model of :mod:`hw.csr`.

Everything about the T3 CSR address space is defined here: the CSR block :mod:`hw.t3csr` (the
:class:`hw.csr.AXI4LiteRegisterBridge` of this map plus the unit's streams), the documentation
``docs/registers.md``, the SystemRDL ``docs/t3_regs.rdl`` and from it (PeakRDL) the IP-XACT
``docs/t3_regs.xml`` and the C header ``docs/t3_regs.h``, the JSON map ``docs/t3_regs.json`` and
the testbenches' addresses and field encodings are all derived from :func:`build`.

Run ``python tools/regs.py --out docs`` to (re)write the generated files and
``python tools/regs.py --check docs`` to verify that they are up to date (exit status 1 and a
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
* Access modes of a field (:class:`Access`: ``RW``, ``RO``, ``W1C``, ``WS``): as defined in
  :mod:`hw.csr.reg`.

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

Adding a counter is one entry in :data:`COUNTERS` (then regenerate the docs).
"""

from .csr.reg import ADDR_WIDTH, DATA_WIDTH, Access, Field, Port, Register, RegisterMap
from .params import ArbPolicy, Kind, LaneType, T3Params

__all__ = [
    "Access", "Field", "Register", "RegisterMap", "Port",
    "ID_VALUE", "RESPONSE_BOUND", "DATA_WIDTH", "ADDR_WIDTH", "COUNTERS", "COUNTER_BASE",
    "STREAM_NOTE", "build", "DEFAULT", "REGS",
]

#: Constant read from the ``ID`` register: ASCII "T3", major version 0, minor version 3 (3: ERR
#: bit 7 ``bad_burst`` and the counter ``CNT_BAD_BURSTS``, the compute bursts T3Unit's AXI4 port
#: refused; 2: ERR bit 3 ``bad_arm`` is set by the CSR block, ERR bit 2 ``overshoot`` is gone (a
#: T3 unit tracks one beat per write, so a tile fires at exactly its threshold), ERR bit 19
#: ``stream_full`` and the STATUS ``*_ready`` bits are new, stream-register writes answer at once).
ID_VALUE = 0x5433_0003
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
    ("bad_bursts",        "Compute bursts answered SLVERR by the AXI4 compute port of T3Unit (see "
                          "ERR.bad_burst); 0 on a T3Core driven through its native port."),
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
              "buffer is empty); 0: it would be refused with ERR.stream_full.", port=False, driver="bridge", ready_of="arm"),
            F("doorbell_ready", 3, 1, RO, "A DOORBELL write now is taken (the `doorbell` buffer is "
              "empty); 0: it would be refused with ERR.stream_full.", port=False, driver="bridge", ready_of="doorbell"),
            F("cmd_ready", 4, 1, RO, "A CMD_COMMIT write now is taken (the `cmd_write` buffer is "
              "empty); 0: it would be refused with ERR.stream_full.", port=False, driver="bridge", ready_of="cmd_write"),
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
              "(SLVERR, nothing sent).", port=False, driver="bridge"),
            F("no_command", 4, 1, W1C, "A tile fired (or a doorbell rang) whose DMA command table "
              "entry holds no valid command: nothing is sent."),
            F("misroute", 5, 1, W1C, "A link packet arrived whose header names another device "
              "(dst_dev != CTRL.dev_id): the whole packet is dropped, nothing is written."),
            F("malformed_packet", 6, 1, W1C, "A link packet's framing disagreed with its header's "
              "length (`last` before or missing on the length-th data beat, or a header with "
              "length 0 without `last` or length > 0 with `last`): data beats within the length "
              "are written, the rest up to the next `last` is dropped."),
            F("bad_burst", 7, 1, W1C, "The AXI4 compute port (T3Unit's `s_axi`) answered a "
              "burst SLVERR: not INCR, narrow, unaligned, past the end of the memory, a partial "
              "WSTRB (that beat dropped), a misplaced WLAST, or a remote burst too long for "
              "one packet. Nothing of a refused burst is issued; counted in CNT_BAD_BURSTS."),
            F("bad_write", 16, 1, W1C, "CSR block: a write was refused (read-only register, partial "
              "strobe, illegal value of a non-stream register's field).", port=False, driver="bridge"),
            F("bad_command", 17, 1, W1C, "CSR block: a CMD_COMMIT or DOORBELL was refused (malformed "
              "command or index out of range).", port=False, driver="bridge"),
            F("bad_address", 18, 1, W1C, "CSR block: an access to an unmapped or unaligned address.",
              port=False, driver="bridge"),
            F("stream_full", 19, 1, W1C, "CSR block: a legal ARM, DOORBELL or CMD_COMMIT write was "
              "refused because that register's one-entry stream buffer still held the previous "
              "transfer (SLVERR, nothing sent; retry when STATUS.<stream>_ready is 1).", port=False, driver="bridge"),
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
        ], stream="cmd_write", err_flag="bad_command", reject=True, capture=p.dma_command_layout,
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
    return RegisterMap(params, regs, name="t3", errors="ERR",
                       desc="T3 unit: tracker, trigger, DMA and arbiter control and status.")


#: The register map for the default parameters.
DEFAULT = build()
#: ``REGS["CTRL"].offset`` etc. for the default parameters.
REGS = DEFAULT.regs

