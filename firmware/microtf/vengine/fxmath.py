"""Prepare-time fixed-point math (gemmlowp style) on Python ints, as the C
engine's src/mtf_fixedpoint.c and mtf_quant.h compute it in int32.

Used only at load, to build the 256-entry tables of single-input int8
operators (LOGISTIC, TANH): every result is wrapped to int32 exactly where C
wraps, so the tables equal the C engine's on any port (long ints are exact).
"""

INT32_MAX = (1 << 31) - 1
INT32_MIN = -(1 << 31)


def i32(v):
    """v wrapped to int32, as a C cast through uint32 does."""
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def fp_add(a, b):
    return i32(a + b)


def fp_sub(a, b):
    return i32(a - b)


def srdhm(a, b):
    """SaturatingRoundingDoublingHighMul (C truncating division by 2**31)."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = (-v) >> 31 if v < 0 else v >> 31
    return i32(-q if v < 0 else q)


def rdbpot(x, exponent):
    """RoundingDivideByPOT: round half away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def mul_by_qm(x, multiplier, shift):
    """MultiplyByQuantizedMultiplier with the wrapping left shift of the C engine."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    return rdbpot(srdhm(i32(x << left), multiplier), right)


def sat_shl(x, exponent):
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return i32(x << exponent)


def rescale(x, src_bits, dst_bits):
    e = src_bits - dst_bits
    if e > 0:
        return sat_shl(x, e)
    if e < 0:
        return rdbpot(x, -e)
    return x


_EXP_MINUS_ONE_EIGHTH = 1895147668
_ONE_THIRD = 715827883
_ONE_HALF = 1 << 30
_48_17 = 1515870810
_M32_17 = -1010580540
_Q2_ONE = 1 << 29
_FACTORS = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)


def _exp_on_quarter_interval(a):
    x = fp_add(a, 1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = fp_add(srdhm(fp_add(x4_over_4, x3), _ONE_THIRD), x2)
    poly = rdbpot(poly, 1)
    return fp_add(_EXP_MINUS_ONE_EIGHTH, srdhm(_EXP_MINUS_ONE_EIGHTH, fp_add(x, poly)))


def exp_on_negative_values(a, integer_bits):
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    rest = fp_sub(a & mask, one_quarter)
    result = _exp_on_quarter_interval(rescale(rest, integer_bits, 0))
    remainder = fp_sub(rest, a)
    for k in range(-2, 5):
        if integer_bits > k:
            bit = fractional_bits + k
            if i32(remainder & (1 << bit)):
                result = srdhm(result, _FACTORS[k + 2])
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal_q2(half_denominator):
    x = fp_add(_48_17, srdhm(half_denominator, _M32_17))
    for _ in range(3):
        hd_x = srdhm(half_denominator, x)
        one_minus = fp_sub(_Q2_ONE, hd_x)
        x = fp_add(x, rescale(srdhm(x, one_minus), 4, 2))
    return x


def _rounding_half_sum(a, b):
    s = a + b
    v = s + (1 if s >= 0 else -1)
    q = (-v) // 2 if v < 0 else v // 2  # C truncating division of a value that is exact or odd
    return i32(-q if v < 0 else q)


def one_over_one_plus_x(a):
    x = _newton_reciprocal_q2(_rounding_half_sum(a, INT32_MAX))
    return rescale(x, 1, 0)


def _one_minus_x_over_one_plus_x(a):
    x = _newton_reciprocal_q2(_rounding_half_sum(a, INT32_MAX))
    return rescale(fp_sub(x, _Q2_ONE), 2, 0)


def logistic(a, integer_bits):
    if a == 0:
        return _ONE_HALF
    abs_a = a if a > 0 else fp_sub(0, a)
    positive = one_over_one_plus_x(exp_on_negative_values(fp_sub(0, abs_a), integer_bits))
    return positive if a > 0 else fp_sub(INT32_MAX, positive)


def tanh(a, integer_bits):
    if a == 0:
        return 0
    non_positive = a if a < 0 else fp_sub(0, a)
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(non_positive, integer_bits + 1))
    return fp_sub(0, t) if a < 0 else t


def input_radius(integer_bits, left_shift, total_signed_bits):
    """floor(((1 << ib) - 1) * 2**(tsb - ib) / 2**left_shift): exact in double, so exact here."""
    v = ((1 << integer_bits) - 1) << (total_signed_bits - integer_bits)
    return v >> left_shift if left_shift >= 0 else v << -left_shift
