"""Near-memory compute (NMC) lane adder.

:class:`NmcAlu` adds two beats lane by lane. The memory model (:mod:`hw.memory`) uses it to apply
*update* writes as an atomic read-add-write: ``mem[addr] = mem[addr] + data``.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import LaneType, T3Params

__all__ = ["NmcAlu", "BF16_QNAN"]

#: Canonical quiet NaN produced by every bf16 lane whose result is NaN.
BF16_QNAN = 0x7FC0


def _int32_lane(m, a, b, s, name, stages):
    v = (a + b)[:32]
    for j in range(stages):
        r = Signal(32, name=f"{name}_p{j + 1}")
        m.d.sync += r.eq(v)
        v = r
    m.d.comb += s.eq(v)


def _bf16_lane(m, a, b, s, name, stages):
    """Combinational bfloat16 adder, round-to-nearest-even, DAZ/FTZ (see :class:`NmcAlu`).

    Classic 3-extra-bit (guard, round, sticky) datapath: order operands by magnitude, align the
    smaller significand with a sticky shift, add or subtract, normalise (one right shift on carry
    or a leading-zero-count left shift), round to nearest even, then patch zeros, overflow and
    specials.
    """
    def sig(shape, suffix):
        return Signal(shape, name=f"{name}_{suffix}")

    enabled = {0: "", 1: "B", 2: "BC", 3: "ABC"}[stages]

    def cut(cut_no, **values):
        """Pipeline register on every value if cut ``cut_no`` (A, B or C) is enabled."""
        if cut_no not in enabled:
            return values.values()
        regs = []
        for k, v in values.items():
            r = Signal.like(v, name=f"{name}_c{cut_no}_{k}") if isinstance(v, Signal) \
                else Signal(v.shape(), name=f"{name}_c{cut_no}_{k}")
            m.d.sync += r.eq(v)
            regs.append(r)
        return regs

    sa, ea, fa = a[15], a[7:15], a[0:7]
    sb, eb, fb = b[15], b[7:15], b[0:7]
    a_nan = (ea == 0xFF) & (fa != 0)
    b_nan = (eb == 0xFF) & (fb != 0)
    a_inf = (ea == 0xFF) & (fa == 0)
    b_inf = (eb == 0xFF) & (fb == 0)

    # Magnitudes with subnormals read as zero (DAZ); order so that |L| >= |S|.
    mag_a = sig(15, "mag_a")
    mag_b = sig(15, "mag_b")
    m.d.comb += [
        mag_a.eq(Mux(ea == 0, 0, a[0:15])),
        mag_b.eq(Mux(eb == 0, 0, b[0:15])),
    ]
    swap = sig(1, "swap")
    m.d.comb += swap.eq(mag_b > mag_a)
    s_l = Mux(swap, sb, sa)
    s_s = Mux(swap, sa, sb)
    mag_l = sig(15, "mag_l")
    mag_s = sig(15, "mag_s")
    m.d.comb += [
        mag_l.eq(Mux(swap, mag_b, mag_a)),
        mag_s.eq(Mux(swap, mag_a, mag_b)),
    ]
    is_nan = a_nan | b_nan | (a_inf & b_inf & (sa != sb))
    is_inf = a_inf | b_inf
    inf_sign = Mux(a_inf, sa, sb)
    zero_sign = sa & sb
    # -- pipeline cut A (stages >= 3): after ordering by magnitude --
    mag_l, mag_s, s_l, s_s, zero_sign, is_nan, is_inf, inf_sign = cut(
        "A", mag_l=mag_l, mag_s=mag_s, s_l=s_l, s_s=s_s, zero_sign=zero_sign,
        is_nan=is_nan, is_inf=is_inf, inf_sign=inf_sign)
    e_l, e_s = mag_l[7:15], mag_s[7:15]
    m_l = Mux(e_l == 0, 0, Cat(mag_l[0:7], Const(1, 1)))   # 8-bit significands
    m_s = Mux(e_s == 0, 0, Cat(mag_s[0:7], Const(1, 1)))

    # Align the smaller significand: 8 bits + guard/round/sticky, shifted right by min(d, 15).
    d = sig(8, "d")
    m.d.comb += d.eq(e_l - e_s)
    dc = sig(4, "dc")
    m.d.comb += dc.eq(Mux(d > 15, 15, d[0:4]))
    x = Cat(Const(0, 3), m_s)                                  # 11 bits
    shifted = (x >> dc)[0:11]
    lost = (x & ~(Const(0x7FF, 11) << dc)[0:11]) != 0
    s_al = sig(11, "s_al")
    m.d.comb += s_al.eq(Cat(shifted[0] | lost, shifted[1:11]))
    l_x = Cat(Const(0, 3), m_l)

    eff_sub = s_l != s_s
    # -- pipeline cut B (stages >= 1): after alignment --
    s_al, l_x, eff_sub, e_l, s_l, zero_sign, is_nan, is_inf, inf_sign = cut(
        "B", s_al=s_al, l_x=l_x, eff_sub=eff_sub, e_l=e_l, s_l=s_l, zero_sign=zero_sign,
        is_nan=is_nan, is_inf=is_inf, inf_sign=inf_sign)

    r = sig(12, "r")
    m.d.comb += r.eq(Mux(eff_sub, (l_x - s_al)[0:12], l_x + s_al))
    carry = r[11]

    # Leading-zero count of r[0:11] (11 when zero).
    lz = sig(range(12), "lz")
    m.d.comb += lz.eq(11)
    for i in range(11):
        with m.If(r[i]):
            m.d.comb += lz.eq(10 - i)

    rn = sig(11, "rn")
    m.d.comb += rn.eq(Mux(carry, Cat(r[0] | r[1], r[2:12]), (r[0:11] << lz)[0:11]))
    e = sig(signed(10), "e")
    m.d.comb += e.eq(Mux(carry, e_l + 1, e_l - lz))

    r_zero = r == 0
    # The special result (NaN, infinity, zero) and the rounding decision are prepared before cut
    # C, so that the last stage is an 8-bit increment in parallel with exponent checks, then muxes.
    special = sig(1, "special")
    special_val = sig(16, "special_val")
    m.d.comb += special.eq(is_nan | is_inf | r_zero)
    with m.If(is_nan):
        m.d.comb += special_val.eq(BF16_QNAN)
    with m.Elif(is_inf):
        m.d.comb += special_val.eq(Cat(Const(0, 7), Const(0xFF, 8), inf_sign))
    with m.Else():                              # both zero, or exact cancellation (-> +0)
        m.d.comb += special_val.eq(Cat(Const(0, 15), zero_sign))
    # Round to nearest, ties to even: increment the 8-bit mantissa if guard and (sticky or odd).
    up = sig(1, "up")
    m.d.comb += up.eq(rn[2] & ((rn[0:2] != 0) | rn[3]))
    # -- pipeline cut C (stages >= 2): after normalisation --
    mant, up, e, s_l, special, special_val = cut(
        "C", mant=rn[3:11], up=up, e=e, s_l=s_l, special=special, special_val=special_val)

    # exponent checks for both outcomes of the rounding carry, in parallel with the increment
    e1 = sig(signed(11), "e1")
    m.d.comb += e1.eq(e + 1)
    flush0, flush1 = e <= 0, e1 <= 0            # subnormal result (without / with rounding carry)
    ovf0, ovf1 = e >= 0xFF, e1 >= 0xFF          # overflow to infinity
    exp0, exp1 = e[0:8], e1[0:8]
    rounded = sig(9, "rounded")
    m.d.comb += rounded.eq(mant + up)
    carry_r = rounded[8]                        # 1.1111111 + ulp: exponent + 1, mantissa 0

    with m.If(special):
        m.d.comb += s.eq(special_val)
    with m.Elif(Mux(carry_r, flush1, flush0)):  # subnormal result: flush to signed zero
        m.d.comb += s.eq(Cat(Const(0, 15), s_l))
    with m.Elif(Mux(carry_r, ovf1, ovf0)):      # overflow (RNE) -> infinity
        m.d.comb += s.eq(Cat(Const(0, 7), Const(0xFF, 8), s_l))
    with m.Else():
        m.d.comb += s.eq(Cat(rounded[0:7], Mux(carry_r, exp1, exp0), s_l))


class NmcAlu(wiring.Component):
    """Lane-wise adder of two beats (the arithmetic of an NMC *update*).

    Purely combinational: ``sum`` follows ``a`` and ``b`` in the same cycle (pipeline depth 0), so
    that the memory model can apply one update per cycle to the same address. The int32 lanes are
    one carry chain each; a bf16 lane is about 30 ns deep on ECP5 (it limits a bf16 memory model to
    about 31 MHz; int32 meets 100 MHz; a bf16 memory model with ``stages=3`` reaches 100 MHz).

    Lanes are taken from the low bits up: lane ``i`` is bits ``[i*w, (i+1)*w)`` of each beat.

    * :attr:`LaneType.INT32`: ``data_width // 32`` lanes of 32-bit two's-complement integers, sum
      modulo ``2**32`` (wrap-around; exact, signedness-agnostic).
    * :attr:`LaneType.BF16`: ``data_width // 16`` lanes of bfloat16 (1 sign, 8 exponent, 7 fraction
      bits). The result is the IEEE-754 sum rounded to nearest, ties to even, with these
      (documented, reference-matched) departures:

      - subnormal operands are read as zero of the same sign (denormals-are-zero);
      - a subnormal result is flushed to zero with the sign of the exact sum (flush-to-zero);
      - every NaN result is the canonical quiet NaN ``0x7FC0`` (operand NaN payloads and signs are
        not propagated); ``+inf + -inf`` gives that NaN.

      IEEE-exact otherwise: correctly rounded normal results, overflow to ``±inf``, ``±inf``
      operands, signed zeros (``+0 + -0 = +0``, ``-0 + -0 = -0``, exact cancellation
      ``x + -x = +0``).
      :mod:`sim.ref.nmc` is the numpy reference with the same policy.

    With ``stages > 0`` the adder is pipelined instead: ``sum`` is the sum of the ``a`` and ``b``
    presented ``stages`` cycles earlier (bf16: registers after the alignment shift; for 2 also
    after normalisation; for 3 also after ordering the operands by magnitude; int32: registers
    after the add). The memory model uses this only with its
    same-address hazard stall (``MemoryModel(alu_stages=...)``).

    Parameters
    ----------
    params : T3Params
        Uses ``data_width`` and ``lane``.
    stages : int
        Pipeline depth, 0 (combinational, default), 1, 2 or 3.

    Attributes
    ----------
    a : In(data_width)
        First operand beat (the current memory contents for an update).
    b : In(data_width)
        Second operand beat (the update's data).
    sum : Out(data_width)
        Lane-wise ``a + b``: combinational (same cycle as ``a`` and ``b``) when ``stages == 0``,
        else the sum of the operands of ``stages`` cycles earlier.
    """

    def __init__(self, params, *, stages=0):
        if not isinstance(params, T3Params):
            raise TypeError(f"params must be a T3Params, not {params!r}")
        if not isinstance(stages, int) or isinstance(stages, bool):
            raise TypeError(f"stages must be an integer, not {stages!r}")
        if stages not in (0, 1, 2, 3):
            raise ValueError(f"stages must be 0, 1, 2 or 3, not {stages}")
        self._params = params
        self._stages = stages
        w = params.data_width
        super().__init__({
            "a":   In(w),
            "b":   In(w),
            "sum": Out(w),
        })

    @property
    def params(self):
        return self._params

    @property
    def stages(self):
        """Pipeline depth: ``sum`` is valid ``stages`` cycles after ``a`` and ``b``."""
        return self._stages

    def elaborate(self, platform):
        m = Module()
        p = self._params
        width = 32 if p.lane is LaneType.INT32 else 16
        for i in range(p.data_width // width):
            sl = slice(i * width, (i + 1) * width)
            s = Signal(width, name=f"lane{i}_sum")
            if p.lane is LaneType.INT32:
                _int32_lane(m, self.a[sl], self.b[sl], s, f"lane{i}", self._stages)
            else:
                _bf16_lane(m, self.a[sl], self.b[sl], s, f"lane{i}", self._stages)
            m.d.comb += self.sum[sl].eq(s)
        return m


EXPORTS = {
    "nmc_alu":      lambda: NmcAlu(T3Params()),
    "nmc_alu_bf16": lambda: NmcAlu(T3Params(lane=LaneType.BF16)),
    "nmc_alu_bf16_p3": lambda: NmcAlu(T3Params(lane=LaneType.BF16), stages=3),
}
