"""Copy, quantize and dequantize between user buffers and a model's tensors.

Viper kernels, so that ``Model.predict_into`` neither allocates nor depends on
the board's float precision (MicroPython floats are double on the Unix port,
single on most MCUs, and boxed on both, so any float arithmetic allocates):

- ``quantize`` reads float32 BITS (an ``array('f')``) and computes
  q = clamp(round_half_away(x / scale) + zero_point, lo, hi) exactly with
  small integers: x = mx * 2**ex and scale = ms * 2**es, and floor(2|x|/scale)
  is a long division of mantissas, one bit per step.  It is the rounding of
  the exact real quotient, so every board gives the same bytes (TFLite's
  reference quantizer rounds x / scale the same way, in float).
- ``dequantize`` looks each raw byte up in a 256-entry float32 table made at
  load ((q - zero_point) * scale, rounded once to float32 on every board) and
  stores its bits: no float object is ever made.

Viper functions take at most four arguments here (the limit on some native
emitters), so parameters travel in an ``array('i')``.
"""

from array import array

import micropython
from micropython import const

# Indices of the parameter block given to quantize().
P_N = 0  # element count
P_MS = 1  # scale's 24-bit mantissa
P_ES = 2  # scale's exponent: scale = ms * 2**es
P_ZP = 3
P_LO = 4
P_HI = 5
_BIAS = const(1 << 16)  # added to signed parameters (see quant_params)
_SAT = const(1 << 20)  # floor(2|x|/scale) beyond this saturates every supported output type


def f32_bits(x):
    """The IEEE single bits of float ``x`` (rounded to float32 first)."""
    b = bytes(array("f", (x,)))
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def quant_params(n, scale, zero_point, lo, hi):
    """The parameter block of quantize() for ``n`` values and this quantization."""
    bits = f32_bits(scale)
    e = (bits >> 23) & 0xFF
    if e == 0 or e == 0xFF or bits >> 31:
        raise ValueError("cannot quantize with scale %r" % (scale,))
    # Stored with a bias of _BIAS: ptr32 loads zero-extend on 64-bit ports, so no negatives.
    b = _BIAS
    return array("i", (n, (bits & 0x7FFFFF) | 0x800000, e - 150 + b, zero_point + b, lo + b, hi + b))


def dequant_table(scale, zero_point, signed):
    """float32 (q - zero_point) * scale for every raw byte (int8 when ``signed``, else uint8)."""
    t = array("f", bytes(1024))
    for b in range(256):
        q = b - 256 if signed and b >= 128 else b
        t[b] = (q - zero_point) * scale
    return t


@micropython.viper
def copy(dst: ptr8, src: ptr8, n: int):
    """dst[0:n] = src[0:n], bytewise (any alignment)."""
    i = 0
    while i < n:
        dst[i] = src[i]
        i += 1


@micropython.viper
def quantize(dst: ptr8, src: ptr32, p: ptr32):
    """dst[i] = clamp(round_half_away(src[i] / scale) + zp, lo, hi) as one byte each (see above)."""
    n = p[0]
    ms = p[1]
    es = p[2] - _BIAS
    zp = p[3] - _BIAS
    lo = p[4] - _BIAS
    hi = p[5] - _BIAS
    i = 0
    while i < n:
        b = src[i]
        neg = (b >> 31) & 1
        e = (b >> 23) & 0xFF
        m = b & 0x7FFFFF
        t = 0  # floor(2 |x| / scale), capped
        r = 0
        if e == 0xFF:
            if m == 0:
                t = _SAT  # infinity saturates; NaN stays 0 (the zero point)
        else:
            if e == 0:
                e = 1  # subnormal: no hidden bit
            else:
                m = m | 0x800000
            sh = e - 150 - es + 1  # 2|x|/scale = (m / ms) * 2**sh
            if sh >= 0:
                if m >= ms:
                    t = 1
                    r = m - ms
                else:
                    r = m
                while sh > 0 and t < _SAT:
                    t = t << 1
                    r = r << 1
                    if r >= ms:
                        r = r - ms
                        t = t + 1
                    sh = sh - 1
            # sh < 0: m / ms < 2, so 2|x|/scale < 1 and t stays 0
        q = (t + 1) >> 1  # floor(|x|/scale + 1/2): half away from zero
        if neg:
            q = zp - q
        else:
            q = zp + q
        if q < lo:
            q = lo
        elif q > hi:
            q = hi
        dst[i] = q & 0xFF
        i += 1


@micropython.viper
def dequantize(dst: ptr32, src: ptr8, table: ptr32, n: int):
    """dst[i] = table[src[i]]: float32 bits, no float objects."""
    i = 0
    while i < n:
        dst[i] = table[src[i]]
        i += 1
