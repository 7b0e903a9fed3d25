"""NmcAlu (hw/nmc.py) against the numpy reference sim/ref/nmc.py, in the Amaranth simulator."""

import gc
import itertools
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable
from amaranth.sim import Simulator

from hw.nmc import NmcAlu
from hw.params import LaneType, T3Params
from sim.ref import nmc as ref


# -- the reference itself, on hand-computed values ---------------------------------------------
@pytest.mark.parametrize("a, b, expect", [
    (0x3F80, 0x3F80, 0x4000),   # 1 + 1 = 2
    (0x3F80, 0x3B80, 0x3F80),   # 1 + 2^-8: tie, even -> 1
    (0x3F81, 0x3B80, 0x3F82),   # (1+2^-7) + 2^-8: tie, odd -> up
    (0x3F80, 0x3B81, 0x3F81),   # just above the tie -> up
    (0x3F80, 0xBF80, 0x0000),   # x + -x = +0
    (0x8000, 0x8000, 0x8000),   # -0 + -0 = -0
    (0x8000, 0x0000, 0x0000),   # -0 + +0 = +0
    (0x7F7F, 0x7F7F, 0x7F80),   # overflow -> +inf
    (0x7F7F, 0x7B00, 0x7F80),   # max (odd mantissa) + half ulp: tie, rounds up to +inf
    (0x7F7E, 0x7B00, 0x7F7E),   # even mantissa + half ulp: tie, stays
    (0x7F80, 0xFF80, 0x7FC0),   # inf - inf = NaN
    (0xFF80, 0x3F80, 0xFF80),   # -inf + 1 = -inf
    (0x0001, 0x3F80, 0x3F80),   # subnormal read as zero
    (0x0081, 0x8080, 0x0000),   # result 2^-133: subnormal, flushed to +0
    (0x8081, 0x0080, 0x8000),   # flushed keeping the sign of the sum
    (0x7FC1, 0x3F80, 0x7FC0),   # NaN canonicalised
])
def test_reference_hand_values(a, b, expect):
    assert int(ref.bf16_add(np.array([a]), np.array([b]))[0]) == expect


def test_reference_add_beats():
    p = T3Params(data_width=64)
    a = (0x7FFFFFFF << 32) | 0xFFFFFFFF
    b = (1 << 32) | 5
    assert ref.add_beats(a, b, p, 64) == (0x80000000 << 32) | 4
    assert ref.add_beats(0x3F80_4000_0000_3F80, 0x3F80_C000_8000_BF80, LaneType.BF16, 64) \
        == 0x4000_0000_0000_0000
    with pytest.raises(TypeError, match="params_or_lane"):
        ref.add_beats(0, 0, "bf16", 64)


# -- constructor checks ---------------------------------------------------------------------------
def test_nmc_bad_params():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)   # the half-built object
        with pytest.raises(TypeError, match="params"):
            NmcAlu(64)
        with pytest.raises(TypeError, match="stages"):
            NmcAlu(T3Params(), stages=1.0)
        with pytest.raises(ValueError, match="stages"):
            NmcAlu(T3Params(), stages=4)
        gc.collect()


# -- RTL against the reference --------------------------------------------------------------------
SPECIALS = [
    0x0000, 0x8000,                 # zeros
    0x0001, 0x007F, 0x8001, 0x807F,  # subnormals
    0x0080, 0x8080, 0x0081, 0x8081, 0x0100, 0x8100,  # smallest normals
    0x3F80, 0xBF80, 0x3F81, 0xBF81, 0x3F7F, 0xBF7F, 0x4000, 0xC000, 0x3B80, 0xBB80, 0x3B81,
    0x7F7F, 0xFF7F, 0x7F7E, 0xFF7E, 0x7B00, 0xFB00,  # largest normals, half an ulp of max
    0x7F80, 0xFF80,                 # infinities
    0x7FC0, 0xFFC0, 0x7F81, 0xFFFF,  # NaNs
]


def _bf16_pairs(rng, n):
    sp = list(itertools.product(SPECIALS, SPECIALS))
    a = [x for x, _ in sp]
    b = [y for _, y in sp]
    ra = rng.integers(0, 1 << 16, n, dtype=np.int64)
    kinds = rng.integers(0, 3, n)
    rb = np.where(
        kinds == 0, rng.integers(0, 1 << 16, n),                                  # anything
        np.where(kinds == 1, ra ^ rng.integers(0, 1 << 11, n) ^ (rng.integers(0, 2, n) << 15),
                 # close exponents / near cancellation
                 (ra + rng.integers(-3, 4, n)) ^ 0x8000))                         # x + -(x +- ulps)
    a += [int(v) & 0xFFFF for v in ra]
    b += [int(v) & 0xFFFF for v in rb]
    return np.array(a, dtype=np.uint32), np.array(b, dtype=np.uint32)


def _run_alu(params, a_beats, b_beats, stages=0):
    dut = NmcAlu(params, stages=stages)
    got = []

    async def bench(ctx):
        inputs = list(zip(a_beats, b_beats)) + [(0, 0)] * stages
        for i, (a, b) in enumerate(inputs):
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            if i >= stages:             # the sum of the operands of `stages` cycles ago
                got.append(ctx.get(dut.sum))
            if stages:
                await ctx.tick()

    sim = Simulator(dut)
    if stages:
        sim.add_clock(1e-9)
    sim.add_testbench(bench)
    sim.run()
    return got


def _pack(lanes, width, per_beat):
    lanes = list(lanes) + [0] * (-len(lanes) % per_beat)
    return [ref.join_lanes(lanes[i:i + per_beat], width) for i in range(0, len(lanes), per_beat)]


@pytest.mark.parametrize("stages", [0, 1, 2, 3])
def test_nmc_bf16_against_reference(stages):
    params = T3Params(data_width=512, lane=LaneType.BF16)   # 32 lanes per beat
    rng = np.random.default_rng(2024)
    # ~7200 pairs with the specials for the combinational adder; fewer for the pipelined ones
    a, b = _bf16_pairs(rng, 6000 if stages == 0 else 1500)
    expect = ref.bf16_add(a, b)
    a_beats = _pack(a, 16, 32)
    b_beats = _pack(b, 16, 32)
    got = _run_alu(params, a_beats, b_beats, stages)
    got_lanes = np.concatenate([ref.split_lanes(g, 16, 512) for g in got])[:len(a)]
    bad = np.nonzero(got_lanes != expect)[0]
    msg = ", ".join(f"{a[i]:04x}+{b[i]:04x}: got {int(got_lanes[i]):04x} want {int(expect[i]):04x}"
                    for i in bad[:8])
    assert len(bad) == 0, f"{len(bad)} mismatches: {msg}"


@pytest.mark.parametrize("data_width, stages", [(64, 0), (128, 0), (256, 0), (64, 2)])
def test_nmc_int32_against_reference(data_width, stages):
    params = T3Params(data_width=data_width)
    rng = np.random.default_rng(data_width)
    edge = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
    lanes_a = [x for x, _ in itertools.product(edge, edge)]
    lanes_b = [y for _, y in itertools.product(edge, edge)]
    lanes_a += [int(v) for v in rng.integers(0, 1 << 32, 400, dtype=np.uint64)]
    lanes_b += [int(v) for v in rng.integers(0, 1 << 32, 400, dtype=np.uint64)]
    per = data_width // 32
    a_beats = _pack(lanes_a, 32, per)
    b_beats = _pack(lanes_b, 32, per)
    got = _run_alu(params, a_beats, b_beats, stages)
    assert len(got) == len(a_beats)
    for a, b, g in zip(a_beats, b_beats, got):
        assert g == ref.add_beats(a, b, params, data_width), (hex(a), hex(b), hex(g))
    # independent of the reference: plain modular arithmetic per lane
    for a, b, g in zip(a_beats, b_beats, got):
        for i in range(per):
            x, y, s = ((v >> (32 * i)) & 0xFFFFFFFF for v in (a, b, g))
            assert s == (x + y) % (1 << 32)


def test_nmc_export():
    from amaranth.back import verilog
    import hw.nmc as mod
    for name, factory in mod.EXPORTS.items():
        assert "module" in verilog.convert(factory(), name=name)
