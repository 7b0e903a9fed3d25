"""Numpy reference of the NMC lane arithmetic (independent of the RTL).

The RTL :class:`hw.nmc.NmcAlu` adds two beats lane by lane. This module computes the same sums in a
different way, so tests can compare against it:

* ``int32`` lanes: two's-complement addition modulo ``2**32`` (numpy ``uint32`` wrap-around).
* ``bf16`` lanes: both operands are widened to float32 (exact), added by numpy in float32, and the
  float32 sum is rounded to bfloat16 with round-to-nearest-even. For a two-operand add this double
  rounding is innocuous (float32 has 24 >= 2*8+2 significand bits), so the result is the correctly
  rounded IEEE-754 sum.

bf16 policy shared with the RTL (the only departures from IEEE-754 ``addition`` with RNE):

* Subnormal inputs (exponent field 0, fraction != 0) are read as zero of the same sign (DAZ).
* A result whose exponent field would be 0 (a subnormal) is flushed to zero with the sign of the
  exact sum (FTZ). (Sums of two bf16 numbers that fall into the subnormal range are exact, so it
  does not matter whether the flush is done before or after rounding.)
* Every NaN result is the canonical quiet NaN ``0x7FC0`` (payloads and signs of NaN operands are not
  propagated); ``inf + -inf`` is that NaN too.

Everything else is IEEE-exact: signed zeros (``+0 + -0 = +0``, ``-0 + -0 = -0``, ``x + -x = +0``),
infinities, overflow to infinity under RNE, and correct RNE rounding of all normal results.
"""

import numpy as np

from hw.params import LaneType, T3Params

__all__ = [
    "BF16_QNAN", "bf16_to_f32", "f32_to_bf16", "bf16_add", "int32_add",
    "split_lanes", "join_lanes", "add_beats",
]

BF16_QNAN = 0x7FC0


def bf16_to_f32(bits):
    """bf16 bit patterns (array of ints) -> float32 array, subnormals read as signed zero."""
    u = np.asarray(bits, dtype=np.uint32) & 0xFFFF
    exp = (u >> 7) & 0xFF
    u = np.where(exp == 0, u & 0x8000, u)
    return (u << 16).astype(np.uint32).view(np.float32)


def f32_to_bf16(x):
    """float32 array -> bf16 bit patterns (uint16 array): RNE, canonical NaN, subnormals flushed."""
    x = np.asarray(x, dtype=np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16          # RNE on the 16 dropped bits
    r = r & 0xFFFF
    exp = (r >> 7) & 0xFF
    r = np.where(exp == 0, r & 0x8000, r)              # FTZ, keep the sign
    r = np.where(np.isnan(x), BF16_QNAN, r)
    return r.astype(np.uint16)


def bf16_add(a, b):
    """Lane-wise bf16 sum of two arrays of bf16 bit patterns (see the module docstring)."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = bf16_to_f32(a) + bf16_to_f32(b)
    return f32_to_bf16(s)


def int32_add(a, b):
    """Lane-wise two's-complement int32 sum (wraps) of two arrays of 32-bit patterns."""
    return (np.asarray(a, dtype=np.uint64) + np.asarray(b, dtype=np.uint64)) & 0xFFFFFFFF


def _lane_width(lane):
    if isinstance(lane, T3Params):
        lane = lane.lane
    if not isinstance(lane, LaneType):
        raise TypeError(f"params_or_lane must be a T3Params or a LaneType, not {lane!r}")
    return lane, (32 if lane is LaneType.INT32 else 16)


def split_lanes(beat, width, data_width):
    """Split an integer beat into ``data_width // width`` lanes (lane 0 in the low bits)."""
    mask = (1 << width) - 1
    return np.array([(beat >> (i * width)) & mask for i in range(data_width // width)],
                    dtype=np.uint64)


def join_lanes(lanes, width):
    """Inverse of :func:`split_lanes`."""
    beat = 0
    for i, v in enumerate(lanes):
        beat |= int(v) << (i * width)
    return beat


def add_beats(a_int, b_int, params_or_lane, data_width):
    """Lane-wise sum of two beats given as Python integers; returns a Python integer.

    Parameters
    ----------
    a_int, b_int : int
        Beats, ``data_width`` bits each (lane ``i`` in bits ``[i*w, (i+1)*w)``).
    params_or_lane : T3Params or LaneType
        Lane type (``INT32``: 32-bit wrap-around lanes; ``BF16``: 16-bit bfloat16 lanes).
    data_width : int
        Beat width in bits, a multiple of 32.
    """
    lane, w = _lane_width(params_or_lane)
    if data_width % 32:
        raise ValueError(f"data_width must be a multiple of 32, not {data_width}")
    a = split_lanes(a_int, w, data_width)
    b = split_lanes(b_int, w, data_width)
    s = int32_add(a, b) if lane is LaneType.INT32 else bf16_add(a, b)
    return join_lanes(s, w)
