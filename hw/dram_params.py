"""Parameters of the DRAM timing model (:mod:`hw.dram`), one frozen dataclass checked on creation.

Kept apart from the RTL so that the cycle-level reference (:mod:`sim.ref.dram`) and the benches
read the same parameter object without importing the component.
"""

import enum as py_enum
import math
from dataclasses import dataclass, fields

from .params import _check_int

__all__ = ["Scheduler", "DramParams", "HBM2_NS", "MODEL_CYCLE_NS"]


class Scheduler(py_enum.Enum):
    """Scheduling policy of the request queue (elaboration-time)."""
    FCFS = "fcfs"
    FR_FCFS = "fr_fcfs"


#: One model cycle: the data time of one BL4 column access of an HBM2 pseudo-channel at
#: 2 Gb/s/pin (tCK = 1 ns, BL4 = 2 tCK).
MODEL_CYCLE_NS = 2.0

#: HBM2 timing in ns (DRAMsim3 ``configs/HBM2_8Gb_x128.ini``, tCK = 1 ns, after JESD235), and the
#: derived read-to-write turnaround (Ramulator2 ``HBM2.cpp``: RD->WR = CL + BL + 2 tCK - CWL).
HBM2_NS = {
    "tRCD": 14, "tRP": 14, "tRAS": 34, "tCL": 14, "tCWL": 4, "tCCD": 2, "tWTR": 6,
    "tRTW": 14 + 2 + 2 - 4, "tRRD": 4, "tFAW": 30, "tWR": 16, "tRTP": 4,
    "tREFI": 3900, "tRFC": 260,
}


def _cycles(ns):
    """Nanoseconds to model cycles, rounded up (a timing constraint is never shortened)."""
    return max(1, math.ceil(ns / MODEL_CYCLE_NS))


_DEFAULT = {k: _cycles(v) for k, v in HBM2_NS.items()}

_TIMING_LIMITS = {
    # name: (lo, hi)
    "tRCD": (1, 255), "tRP": (1, 255), "tRAS": (1, 255), "tCL": (2, 63), "tCWL": (1, 63),
    "tCCD": (1, 15), "tWTR": (1, 63), "tRTW": (1, 63), "tRRD": (1, 63), "tFAW": (1, 255),
    "tWR": (1, 63), "tRTP": (1, 63), "tREFI": (2, 65535), "tRFC": (1, 1023),
}


def _check_pow2(name, value):
    if value & (value - 1):
        raise ValueError(f"{name} must be a power of two, not {value}")


@dataclass(frozen=True)
class DramParams:
    """Elaboration-time parameters of :class:`hw.dram.DramModel` (all timings in model cycles).

    Geometry: ``channels`` x ``banks`` banks of ``rows`` rows of ``cols`` beats; one beat is one
    ``data_width``-bit AXI beat and stands for one BL4 column access. Address mapping of the beat
    address ``a = byte_addr // (data_width // 8)``: from the top, ``row : col_hi : bank : col_lo``
    with ``col_lo`` the low ``log2(interleave)`` bits. ``interleave == cols`` (default) is the plain
    ``row:bank:column`` mapping; a smaller ``interleave`` moves to the next bank every
    ``interleave`` beats.

    Timings are defaults from an HBM2 pseudo-channel (see :data:`HBM2_NS`), rounded up to whole
    2 ns model cycles. ``tRTW`` is counted from the last read column command to the write column
    command, ``tWTR``/``tWR`` from the end of the last write data beat, ``tCCD`` from the last
    column command of one burst to the first of the next. Bank groups are not modelled; the
    different-group (``_S``) values are used.
    """
    channels: int = 1
    banks: int = 16
    rows: int = 8
    cols: int = 32
    interleave: int = 32
    data_width: int = 64
    addr_width: int = 15
    id_width: int = 4
    max_burst: int = 16
    queue_depth: int = 8
    read_buffer: int = 32
    scheduler: Scheduler = Scheduler.FR_FCFS
    age_cap: int = 512          # 4 x queue_depth x max_burst: see docs/dram.md
    tRCD: int = _DEFAULT["tRCD"]
    tRP: int = _DEFAULT["tRP"]
    tRAS: int = _DEFAULT["tRAS"]
    tCL: int = _DEFAULT["tCL"]
    tCWL: int = _DEFAULT["tCWL"]
    tCCD: int = _DEFAULT["tCCD"]
    tWTR: int = _DEFAULT["tWTR"]
    tRTW: int = _DEFAULT["tRTW"]
    tRRD: int = _DEFAULT["tRRD"]
    tFAW: int = _DEFAULT["tFAW"]
    tWR: int = _DEFAULT["tWR"]
    tRTP: int = _DEFAULT["tRTP"]
    tREFI: int = _DEFAULT["tREFI"]
    tRFC: int = _DEFAULT["tRFC"]

    def __post_init__(self):
        _check_int("channels", self.channels, 1, 1)   # one model per channel (see docs/dram.md)
        for name, hi in (("banks", 64), ("rows", 1 << 16), ("cols", 1 << 12),
                         ("interleave", 1 << 12)):
            _check_int(name, getattr(self, name), 1, hi)
            _check_pow2(name, getattr(self, name))
        if self.interleave > self.cols:
            raise ValueError(f"interleave must be <= cols ({self.cols}), not {self.interleave}")
        _check_int("data_width", self.data_width, 8, 1024)
        _check_pow2("data_width", self.data_width)
        _check_int("id_width", self.id_width, 1, 16)
        _check_int("max_burst", self.max_burst, 1, 256)
        _check_pow2("max_burst", self.max_burst)
        if self.max_burst > self.interleave:
            raise ValueError(f"max_burst must be <= interleave ({self.interleave}), "
                             f"not {self.max_burst}")
        need = (self.capacity * (self.data_width // 8) - 1).bit_length()
        _check_int("addr_width", self.addr_width, max(1, need), 64)
        _check_int("queue_depth", self.queue_depth, 1, 32)
        _check_int("read_buffer", self.read_buffer, self.max_burst, 1024)
        if not isinstance(self.scheduler, Scheduler):
            raise TypeError(f"scheduler must be a Scheduler, not {self.scheduler!r}")
        _check_int("age_cap", self.age_cap, 1, 65535)
        for name, (lo, hi) in _TIMING_LIMITS.items():
            _check_int(name, getattr(self, name), lo, hi)

    # -- derived ---------------------------------------------------------------------------------
    @property
    def capacity(self):
        """Storage in beats: ``banks * rows * cols``."""
        return self.banks * self.rows * self.cols

    @property
    def beat_bytes(self):
        return self.data_width // 8

    @property
    def beat_addr_width(self):
        return max(1, (self.capacity - 1).bit_length())

    @property
    def size(self):
        """``AxSIZE`` of a full-width beat."""
        return (self.beat_bytes - 1).bit_length()

    def bank_of(self, beat):
        return (beat // self.interleave) % self.banks

    def row_of(self, beat):
        return beat // (self.banks * self.cols)

    def timings(self):
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name.startswith("t")}

    def replace(self, **kw):
        from dataclasses import replace
        return replace(self, **kw)
