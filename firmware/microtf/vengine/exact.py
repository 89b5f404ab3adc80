"""Prepare-time float math of TFLite Micro, emulated exactly with integers.

TFLite Micro computes quantized multipliers and activation ranges in IEEE
double and single precision. MicroPython floats are single precision on
boards and double on the Unix port, so this module never uses a float: a
number is a pair (m, e) meaning m * 2**e (m a signed int), decoded from the
float32 bits of the model, and every IEEE operation is an exact integer
operation followed by the IEEE rounding (round to nearest, ties to even,
gradual underflow). Valid under CPython and MicroPython (MPZ long ints).

Cross-checked against the C engine's double arithmetic in
tests/vengine/test_exact.py.
"""

# Precision and lowest ulp exponent of IEEE double and single.
D_PREC = 53
D_EMIN = -1074
D_EMAX = 1024  # values reach 2**D_EMAX: infinity
F_PREC = 24
F_EMIN = -149
F_EMAX = 128

ZERO = (0, 0)


def bitlen(a):
    """Bits of a non-negative int (int.bit_length is missing on MicroPython)."""
    return len(bin(a)) - 2 if a > 0 else 0


def from_f32_bits(bits):
    """Exact value of a float32 given by its 32-bit pattern; ValueError for NaN/inf."""
    sign = bits >> 31
    exp = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    if exp == 0xFF:
        raise ValueError("float is not finite")
    if exp == 0:
        m, e = frac, -149
    else:
        m, e = frac | 0x800000, exp - 150
    return (-m if sign else m), e


def from_f32_bytes(buf, pos=0):
    """Exact value of the little-endian float32 at buf[pos:pos+4]."""
    bits = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)
    return from_f32_bits(bits)


def from_int(n):
    return (n, 0)


def _round(m, e, prec, emin, emax):
    """m * 2**e rounded to prec bits (ties to even), subnormals below emin; inf raises."""
    if m == 0:
        return ZERO
    neg = m < 0
    a = -m if neg else m
    n = bitlen(a)
    sh = n - prec
    if emin - e > sh:
        sh = emin - e
    if sh > 0:
        q = a >> sh
        r = a - (q << sh)
        half = 1 << (sh - 1)
        if r > half or (r == half and (q & 1)):
            q += 1
        a = q
        e += sh
    if a and bitlen(a) + e > emax:
        raise ValueError("float overflow")
    return ((-a if neg else a), e)


def to_double(x):
    return _round(x[0], x[1], D_PREC, D_EMIN, D_EMAX)


def to_float(x):
    return _round(x[0], x[1], F_PREC, F_EMIN, F_EMAX)


def mul(x, y):
    """Exact product (not rounded)."""
    return (x[0] * y[0], x[1] + y[1])


def add(x, y):
    """Exact sum (not rounded)."""
    if x[0] == 0:
        return y
    if y[0] == 0:
        return x
    e = x[1] if x[1] < y[1] else y[1]
    return ((x[0] << (x[1] - e)) + (y[0] << (y[1] - e)), e)


def neg(x):
    return (-x[0], x[1])


def div(x, y, prec=D_PREC, emin=D_EMIN, emax=D_EMAX):
    """x / y rounded to the given format; y must not be zero."""
    if y[0] == 0:
        raise ValueError("division by zero")
    if x[0] == 0:
        return ZERO
    sign = -1 if (x[0] < 0) != (y[0] < 0) else 1
    a = abs(x[0])
    b = abs(y[0])
    # Enough quotient bits for the rounding, plus one sticky bit for the remainder.
    k = prec + 3 + bitlen(b) - bitlen(a)
    if k < 0:
        k = 0
    q, r = divmod(a << k, b)
    q = (q << 1) | (1 if r else 0)
    return _round(sign * q, x[1] - y[1] - k - 1, prec, emin, emax)


def mul_d(x, y):
    """double(x) * double(y) in IEEE double."""
    return to_double(mul(x, y))


def div_d(x, y):
    return div(x, y)


def sub_d(x, y):
    return to_double(add(x, neg(y)))


def div_f(x, y):
    """float32 division."""
    return div(x, y, F_PREC, F_EMIN, F_EMAX)


def cmp(x, y):
    """-1, 0 or 1 as x <, ==, > y (exact)."""
    d = add(x, neg(y))[0]
    return (d > 0) - (d < 0)


def round_away(x):
    """C round()/roundf() of an exact value: to int, ties away from zero."""
    m, e = x
    if e >= 0:
        return m << e
    a = -m if m < 0 else m
    sh = -e
    q = a >> sh
    if (a >> (sh - 1)) & 1:
        q += 1
    return -q if m < 0 else q


def floor_int(x):
    m, e = x
    return m << e if e >= 0 else m >> -e


def frexp(x):
    """(q, exp) with x = q * 2**exp, |q| in [0.5, 1); q exact."""
    if x[0] == 0:
        return ZERO, 0
    n = bitlen(abs(x[0]))
    return (x[0], -n), x[1] + n


def quantize_multiplier(real, saturate=False):
    """TFLite's QuantizeMultiplier of a double (as mtf_quantize_multiplier):
    frexp, q * 2**31 rounded half away from zero, 2**31 folded into the
    exponent, exponents below -31 flush to zero. TFLite Micro's default
    (double rounding) build keeps exponents above 30, as the C engine does;
    saturate gives the single-rounding build's (2**31 - 1, 30) instead."""
    if real[0] == 0:
        return 0, 0
    q, exp = frexp(real)
    q_fixed = round_away((q[0], q[1] + 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        exp += 1
    if exp < -31:
        exp = 0
        q_fixed = 0
    if saturate and exp > 30:
        exp = 30
        q_fixed = (1 << 31) - 1
    # (int32_t) of the int64 value, as C stores it.
    q_fixed &= 0xFFFFFFFF
    if q_fixed >= 1 << 31:
        q_fixed -= 1 << 32
    return q_fixed, exp


def product_ratio_multiplier(a, b, c):
    """QuantizeMultiplier((double)a * (double)b / (double)c): FC, CONV, DEPTHWISE."""
    return quantize_multiplier(div_d(mul_d(a, b), c))


def ratio_multiplier(a, c):
    """QuantizeMultiplier((double)a / (double)c): QUANTIZE requantization."""
    return quantize_multiplier(div_d(a, c))


def quantize_in_output(value, scale, zero_point):
    """zero_point + (int32)roundf(value / scale) in float32 (activation ranges)."""
    return zero_point + round_away(div_f(value, scale))


# Activation codes (TFLite ActivationFunctionType).
ACT_NONE = 0
ACT_RELU = 1
ACT_RELU_N1_TO_1 = 2
ACT_RELU6 = 3


def activation_range(activation, scale, zero_point, qmin, qmax):
    """TFLite's CalculateActivationRangeQuantized; ValueError for TANH/SIGN_BIT."""
    lo, hi = qmin, qmax
    if activation == ACT_NONE:
        pass
    elif activation == ACT_RELU:
        lo = max(qmin, quantize_in_output(ZERO, scale, zero_point))
    elif activation == ACT_RELU6:
        lo = max(qmin, quantize_in_output(ZERO, scale, zero_point))
        hi = min(qmax, quantize_in_output((6, 0), scale, zero_point))
    elif activation == ACT_RELU_N1_TO_1:
        lo = max(qmin, quantize_in_output((-1, 0), scale, zero_point))
        hi = min(qmax, quantize_in_output((1, 0), scale, zero_point))
    else:
        raise ValueError("unsupported fused activation %d" % activation)
    return lo, hi


def softmax_scaling(beta, in_scale):
    """SOFTMAX int8 prepare: (multiplier, left_shift, diff_min), or None when
    beta * scale is too small (the C engine refuses it)."""
    real = mul_d(beta, in_scale)
    real = (real[0], real[1] + 26)  # * 2**(31 - 5): exact
    max_real = ((1 << 31) - 1, 0)
    if cmp(real, max_real) > 0:
        real = max_real
    if cmp(real, (1, 0)) <= 0:
        return None
    mult, shift = quantize_multiplier(real)
    # CalculateInputRadius(5, shift, 31): floor(31 * 2**26 / 2**shift), exact in double.
    radius = floor_int((31, 26 - shift))
    return mult, shift, -radius


def to_float_value(x):
    """The Python float nearest to x (for user-facing scale figures only)."""
    m, e = x
    return float(m) * (2.0**e) if -1000 < e < 1000 else 0.0
