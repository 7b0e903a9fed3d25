"""Parameters and payload layouts shared by every T3 block.

One :class:`T3Params` object describes a T3 unit; every block takes the fields it needs from it, so
the tracker, the DMA engine, the memory model and the link all agree on widths. The layouts below are
the payloads of the ``lib.stream`` interfaces that join the blocks.

Vocabulary (the same in RTL, model, benches and docs):

* *beat*: one ``data_width``-bit word of memory, the unit of every request and link transfer.
* *tile*: one GEMM output tile, identified by a ``tile_width``-bit tile id carried as metadata.
* *chunk*: ``1/N`` of the output; made of tiles.
* *device*: one GPU (one T3 unit) in the ring, identified by a ``dev_width``-bit id.
* *store* / *update*: a write that replaces / that is added (read-add-write by the NMC unit).
* *compute* / *communication*: the two request classes the memory-controller arbiter separates.
"""

import enum as py_enum
from dataclasses import dataclass

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

__all__ = [
    "MemOp", "ReqClass", "Kind", "LaneType", "ArbPolicy",
    "T3Params",
]


class MemOp(enum.Enum, shape=2):
    """Operation of a memory request."""
    READ   = 0
    STORE  = 1
    UPDATE = 2


class ReqClass(enum.Enum, shape=1):
    """Request class seen by the memory-controller arbiter."""
    COMPUTE = 0
    COMM    = 1


class Kind(enum.Enum, shape=1):
    """Kind of a write as the tracker and the DMA commands see it."""
    STORE  = 0
    UPDATE = 1


class LaneType(py_enum.Enum):
    """Element type of the NMC adder lanes (elaboration-time parameter, not a signal)."""
    INT32 = "int32"
    BF16  = "bf16"


class ArbPolicy(enum.Enum, shape=2):
    """Memory-controller arbitration policy, selectable at run time."""
    ROUND_ROBIN   = 0
    COMPUTE_FIRST = 1
    T3_MCA        = 2


def _check_int(name, value, lo, hi=None):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {rng}, not {value}")


#: Bounds of each integer field of :class:`T3Params` on its own, ``name -> (lo, hi)`` inclusive;
#: ``T3Params.__post_init__`` checks them, ``tools/datasheet.py`` prints them.
PARAM_BOUNDS = {
    "data_width":      (32, 1024),
    "addr_width":      (1, 32),
    "tile_width":      (1, 32),
    "count_width":     (2, 32),
    "tracker_entries": (2, 1 << 16),
    "len_width":       (1, 16),
    "dev_width":       (1, 8),
    "mem_latency":     (2, 64),
}

#: The legality rules of :class:`T3Params` beyond :data:`PARAM_BOUNDS`, in the order
#: ``__post_init__`` checks them (one ``raise`` each; ``tests/test_docs.py`` counts them).
PARAM_RULES = (
    "`data_width` is a multiple of 32.",
    "`tracker_entries` is a power of two.",
    "`tracker_entries` fits the tile id: `log2(tracker_entries) <= tile_width`.",
    "`lane` is a `LaneType`.",
    "The link header (`dev_width` * 2 + 1 + `len_width` + `addr_width` + `tile_width` bits) fits "
    "in one beat: it is at most `data_width`.",
)


@dataclass(frozen=True)
class T3Params:
    """Elaboration-time parameters of a T3 unit.

    Parameters
    ----------
    data_width : int
        Width of one beat in bits; a multiple of 32 (int32 lanes) and of 16 (bf16 lanes). Default 64.
    addr_width : int
        Beat address width of the device memory (depth ``2**addr_width`` beats). Default 12.
    tile_width : int
        Width of a tile id. Default 16.
    count_width : int
        Width of the tracker's per-tile beat count and threshold. Default 16.
    tracker_entries : int
        Entries of the tracker table and of the DMA command table (a power of two). Default 256.
    len_width : int
        Width of a DMA command's length in beats. Default 8.
    dev_width : int
        Width of a device id. Default 4.
    mem_latency : int
        Read latency of the memory model in cycles (>= 2). Default 4.
    lane : LaneType
        NMC lane type. Default :attr:`LaneType.INT32`.
    """
    data_width: int = 64
    addr_width: int = 12
    tile_width: int = 16
    count_width: int = 16
    tracker_entries: int = 256
    len_width: int = 8
    dev_width: int = 4
    mem_latency: int = 4
    lane: LaneType = LaneType.INT32

    def __post_init__(self):
        for name, (lo, hi) in PARAM_BOUNDS.items():
            _check_int(name, getattr(self, name), lo, hi)
        if self.data_width % 32:
            raise ValueError(f"data_width must be a multiple of 32, not {self.data_width}")
        if self.tracker_entries & (self.tracker_entries - 1):
            raise ValueError(f"tracker_entries must be a power of two, not {self.tracker_entries}")
        if (self.tracker_entries - 1).bit_length() > self.tile_width:
            raise ValueError(f"tracker_entries ({self.tracker_entries}) needs more tile id bits "
                             f"than tile_width ({self.tile_width})")
        if not isinstance(self.lane, LaneType):
            raise TypeError(f"lane must be a LaneType, not {self.lane!r}")
        if self.link_header_layout.size > self.data_width:
            raise ValueError(f"link header ({self.link_header_layout.size} bits) does not fit in "
                             f"data_width ({self.data_width})")

    # -- derived sizes --------------------------------------------------------------------------
    @property
    def index_width(self):
        """Width of a tracker/command table index (``log2(tracker_entries)``)."""
        return (self.tracker_entries - 1).bit_length()

    @property
    def lanes(self):
        """Number of NMC lanes in one beat."""
        return self.data_width // (32 if self.lane is LaneType.INT32 else 16)

    # -- payload layouts ------------------------------------------------------------------------
    @property
    def mem_request_layout(self):
        """One memory request: what the arbiter grants and the memory model executes."""
        return data.StructLayout({
            "op":      MemOp,
            "cls":     ReqClass,
            "tracked": 1,                          # the tracker counts it (writes only)
            "addr":    unsigned(self.addr_width),
            "tile":    unsigned(self.tile_width),  # metadata for the tracker
            "data":    unsigned(self.data_width),
        })

    @property
    def mem_response_layout(self):
        """Read data returned for a READ request, in request order."""
        return data.StructLayout({
            "cls":  ReqClass,
            "data": unsigned(self.data_width),
        })

    @property
    def arm_layout(self):
        """Arm a tracker entry: count ``threshold`` beats for ``tile``, then fire."""
        return data.StructLayout({
            "tile":      unsigned(self.tile_width),
            "threshold": unsigned(self.count_width),
        })

    @property
    def track_layout(self):
        """One observed write: ``beats`` beats of ``kind`` from ``source`` landing on ``tile``."""
        return data.StructLayout({
            "tile":   unsigned(self.tile_width),
            "kind":   Kind,
            "source": ReqClass,
            "beats":  unsigned(4),
        })

    @property
    def fire_layout(self):
        """A tile whose count reached its threshold."""
        return data.StructLayout({
            "tile": unsigned(self.tile_width),
        })

    @property
    def dma_command_layout(self):
        """A pre-programmed DMA command: send ``length`` beats from ``src_addr`` to device
        ``dst_dev`` at ``dst_addr`` as ``op`` writes counted against ``tile`` there."""
        return data.StructLayout({
            "src_addr": unsigned(self.addr_width),
            "length":   unsigned(self.len_width),
            "dst_dev":  unsigned(self.dev_width),
            "dst_addr": unsigned(self.addr_width),
            "tile":     unsigned(self.tile_width),
            "op":       Kind,
        })

    @property
    def link_header_layout(self):
        """First beat of a link packet (the low bits of ``data``); ``length`` data beats follow."""
        return data.StructLayout({
            "dst_dev":  unsigned(self.dev_width),
            "src_dev":  unsigned(self.dev_width),
            "op":       Kind,
            "length":   unsigned(self.len_width),
            "dst_addr": unsigned(self.addr_width),
            "tile":     unsigned(self.tile_width),
        })

    @property
    def link_layout(self):
        """One beat on a link: header or data; ``last`` marks a packet's final beat."""
        return data.StructLayout({
            "data": unsigned(self.data_width),
            "last": 1,
        })
