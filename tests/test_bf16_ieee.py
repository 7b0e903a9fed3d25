"""The bf16 NMC adder against IEEE 754 bfloat16 addition (numpy + ``ml_dtypes``), with exactly the
documented departures applied to the IEEE result, for the RTL (:class:`hw.nmc.NmcAlu`, Amaranth
simulator) and the numpy reference (:mod:`sim.ref.nmc`).

The IEEE oracle adds the two operands exactly enough in float64 (53 significand bits >= 2 * 8 + 2,
so rounding float64 -> bf16 afterwards gives the correctly rounded sum) and rounds with
``ml_dtypes.bfloat16`` (round to nearest, ties to even, gradual underflow, overflow to infinity).
It never looks at :mod:`sim.ref.nmc`. The departures (``docs/datasheet.md``, "bf16 NMC
arithmetic"), applied here as a function of the IEEE result:

* a subnormal operand is read as zero of the same sign (DAZ): the oracle adds the zeroed operand;
* a subnormal IEEE result is flushed to zero with its sign (FTZ);
* every NaN result is ``0x7FC0``.

Cases: every exponent difference 0..254 (both orders, both signs, effective add and subtract),
ties in both directions (to even down and up, at every exponent difference where a tie can
occur, plus just-above/just-below the tie), every pair of special values, and random pairs.
"""

import itertools

import ml_dtypes
import numpy as np
import pytest

from hw.nmc import NmcAlu
from hw.params import LaneType, T3Params
from sim.ref import nmc as ref

BF16 = ml_dtypes.bfloat16
LANES = 32
PARAMS = T3Params(data_width=16 * LANES, lane=LaneType.BF16)


def _bits_to_bf16(bits):
    return np.asarray(bits, dtype=np.uint16).view(BF16)


def _is_subnormal(bits):
    bits = np.asarray(bits, dtype=np.uint32)
    return ((bits >> 7) & 0xFF == 0) & (bits & 0x7F != 0)


def ieee_add(a, b):
    """IEEE 754 bf16 sum (RNE) of bit patterns, by float64 and ml_dtypes."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = _bits_to_bf16(a).astype(np.float64) + _bits_to_bf16(b).astype(np.float64)
        return s.astype(BF16).view(np.uint16).astype(np.uint32)


def documented_add(a, b):
    """IEEE result with the documented departures (DAZ, FTZ with sign, canonical NaN)."""
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    a = np.where(_is_subnormal(a), a & 0x8000, a)
    b = np.where(_is_subnormal(b), b & 0x8000, b)
    r = ieee_add(a, b)
    r = np.where(_is_subnormal(r), r & 0x8000, r)
    is_nan = ((r >> 7) & 0xFF == 0xFF) & (r & 0x7F != 0)
    return np.where(is_nan, 0x7FC0, r).astype(np.uint32)


def _rtl_add(a, b):
    a = list(map(int, a)) + [0] * (-len(a) % LANES)
    b = list(map(int, b)) + [0] * (-len(b) % LANES)
    dut = NmcAlu(PARAMS)
    got = []

    async def bench(ctx):
        for i in range(0, len(a), LANES):
            ctx.set(dut.a, ref.join_lanes(a[i:i + LANES], 16))
            ctx.set(dut.b, ref.join_lanes(b[i:i + LANES], 16))
            got.extend(int(x) for x in ref.split_lanes(ctx.get(dut.sum), 16, 16 * LANES))

    from amaranth.sim import Simulator
    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.uint32)


def _ref_add(a, b):
    return ref.bf16_add(np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)).astype(np.uint32)


ADDERS = {"rtl": _rtl_add, "ref": _ref_add}


def _check(adder, a, b):
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    want = documented_add(a, b)
    got = ADDERS[adder](a, b)[:len(a)]
    bad = np.nonzero(got != want)[0]
    msg = ", ".join(f"{a[i]:04x}+{b[i]:04x}: got {int(got[i]):04x}, IEEE {int(ieee_add(a[i:i+1], b[i:i+1])[0]):04x}, "
                    f"documented {int(want[i]):04x}" for i in bad[:8])
    assert len(bad) == 0, f"{adder}: {len(bad)} of {len(a)} differ: {msg}"


def _bf(sign, exp, frac):
    return (np.asarray(sign, dtype=np.uint32) << 15) | (np.asarray(exp, dtype=np.uint32) << 7) \
        | np.asarray(frac, dtype=np.uint32)


def exponent_difference_cases(rng, per_diff=3):
    """For every exponent difference d in 0..254: pairs (a, b) with exp(a) - exp(b) = d, random
    fractions and signs (so both effective addition and subtraction), in both operand orders;
    for d where exp(b) would be 0, b is subnormal (exponent field 0)."""
    a, b = [], []
    for d in range(0, 255):
        ea = rng.integers(max(1, d), 255, per_diff)          # normal a (1..254)
        eb = ea - d                                          # 0 = subnormal / zero
        sa, sb = rng.integers(0, 2, per_diff), rng.integers(0, 2, per_diff)
        fa, fb = rng.integers(0, 128, per_diff), rng.integers(0, 128, per_diff)
        x, y = _bf(sa, ea, fa), _bf(sb, eb, fb)
        a += list(x) + list(y)
        b += list(y) + list(x)
    return np.array(a), np.array(b)


def tie_cases(rng):
    """Exact sums halfway between two bf16 neighbours (ties), for both rounding directions: a
    with an even last fraction bit (the tie rounds down, to a) and with an odd one (it rounds up),
    b exactly half an ulp of a (same sign: an addition tie; a smaller exponent difference with a
    carry-out gives ties too), plus b just above and just below the tie (the sticky bit)."""
    a, b = [], []
    for ea in range(9, 255):
        for frac_lsb in (0, 1):
            fa = (rng.integers(0, 64) << 1) | frac_lsb
            for s in (0, 1):
                x = int(_bf(s, ea, fa))
                half = int(_bf(s, ea - 8, 0))                # 2**(ea-127-8): half an ulp of a
                above = int(_bf(s, ea - 8, 1))
                below = int(_bf(s, ea - 9, 127))             # just under half an ulp
                a += [x, x, x]
                b += [half, above, below]
    # carry-out ties: 1.f + 1.g with exponent difference 0 and an odd sum of significands
    # (the sum needs 9 bits: the dropped bit is exactly a half)
    for _ in range(200):
        e = int(rng.integers(1, 254))
        s = int(rng.integers(0, 2))
        fa, fb = int(rng.integers(0, 128)), int(rng.integers(0, 128))
        if (fa + fb) % 2 == 0:
            fb ^= 1
        a.append(int(_bf(s, e, fa)))
        b.append(int(_bf(s, e, fb)))
    return np.array(a), np.array(b)


SPECIALS = [
    0x0000, 0x8000,                          # +-0
    0x7F80, 0xFF80,                          # +-inf
    0x7FC0, 0xFFC0, 0x7F81, 0xFFFF, 0x7FA5,  # NaNs: quiet, signalling-pattern, payloads, signs
    0x0001, 0x807F, 0x0040,                  # subnormals
    0x0080, 0x8080, 0x0081,                  # +-min normal
    0x7F7F, 0xFF7F, 0x7F7E,                  # +-max normal
    0x3F80, 0xBF80, 0x3F81,                  # +-1
]


def special_cases():
    pairs = list(itertools.product(SPECIALS, SPECIALS))
    return np.array([x for x, _ in pairs]), np.array([y for _, y in pairs])


def random_cases(rng, n=1000):
    return rng.integers(0, 1 << 16, n), rng.integers(0, 1 << 16, n)


CASES = {
    "exponent_differences": lambda rng: exponent_difference_cases(rng),
    "ties": tie_cases,
    "specials": lambda rng: special_cases(),
    "random": random_cases,
}


def test_oracle_is_ieee_on_known_values():
    """The oracle itself: IEEE values by hand (RNE ties, gradual underflow, overflow, NaN)."""
    a = [0x3F80, 0x3F81, 0x0081, 0x7F7F, 0x7F80, 0x0001, 0x8000]
    b = [0x3B80, 0x3B80, 0x8080, 0x7B00, 0xFF80, 0x0001, 0x8000]
    got = ieee_add(a, b)
    assert [int(g) for g in got[:5]] == [0x3F80, 0x3F82, 0x0001, 0x7F80, int(got[4])]
    assert (got[4] >> 7) & 0xFF == 0xFF and got[4] & 0x7F        # inf - inf is a NaN
    assert int(got[5]) == 0x0002                                 # subnormals add exactly
    assert int(got[6]) == 0x8000


def test_departures_are_exactly_the_documented_ones():
    """Where IEEE and the adder differ, it is one of the documented departures, and each one
    happens: a subnormal operand, a subnormal result, a non-canonical NaN."""
    rng = np.random.default_rng(16)
    a, b = (np.concatenate(x) for x in zip(*(f(rng) for f in CASES.values())))
    ieee, doc = ieee_add(a, b), documented_add(a, b)
    differ = ieee != doc
    daz = _is_subnormal(a) | _is_subnormal(b)
    ftz = _is_subnormal(ieee)
    nan = ((ieee >> 7) & 0xFF == 0xFF) & (ieee & 0x7F != 0)
    assert not np.any(differ & ~(daz | ftz | nan))
    for kind in (daz, ftz & ~daz, nan):
        assert np.any(differ & kind)


@pytest.mark.parametrize("adder", ADDERS)
@pytest.mark.parametrize("case", CASES)
def test_bf16_adder_is_ieee_with_documented_departures(adder, case):
    rng = np.random.default_rng(len(case) * 7919)
    a, b = CASES[case](rng)
    _check(adder, a, b)


@pytest.mark.parametrize("adder", ADDERS)
def test_datasheet_examples(adder):
    """The departure examples printed in docs/datasheet.md (tools/datasheet.py) hold."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "tools" / "datasheet.py"
    spec = importlib.util.spec_from_file_location("datasheet_tool", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    BF16_EXAMPLES = tool.BF16_EXAMPLES
    a = [e[0] for e in BF16_EXAMPLES]
    b = [e[1] for e in BF16_EXAMPLES]
    ieee, got = ieee_add(a, b), ADDERS[adder](a, b)
    for (x, y, want_ieee, want, what), i, g in zip(BF16_EXAMPLES, ieee, got):
        if want_ieee is None:
            assert (i >> 7) & 0xFF == 0xFF and i & 0x7F, what
        else:
            assert i == want_ieee, what
        assert g == want, f"{what}: {x:04x}+{y:04x} gives {int(g):04x}"


def test_two_contributions_are_order_independent_three_are_not():
    """The arithmetic behind the determinism property: a tile slot starts at +0 and receives its
    contributions as NMC updates. With two contributions per slot the result is bit-identical in
    either arrival order (``0 + x`` is exactly ``x`` under the documented policy, up to DAZ/FTZ,
    and one rounded addition commutes); with three it is not (rounded addition is not
    associative), so the property breaks beyond two contributions per tile per step."""
    rng = np.random.default_rng(4)
    n = 512
    x, y, z = (rng.integers(0, 1 << 16, n) for _ in range(3))
    for adder in ADDERS.values():
        zero = np.zeros(n, dtype=np.uint32)
        xy = adder(adder(zero, x)[:n], y)[:n]
        yx = adder(adder(zero, y)[:n], x)[:n]
        assert np.array_equal(xy, yx)
    # three contributions: some orders differ (numbers of similar magnitude, mixed signs)
    e = rng.integers(120, 135, n)
    x, y, z = (_bf(rng.integers(0, 2, n), e, rng.integers(0, 128, n)) for _ in range(3))
    first = _ref_add(_ref_add(x, y), z)
    second = _ref_add(_ref_add(x, z), y)
    assert np.any(first != second)
