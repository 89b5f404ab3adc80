"""RESHAPE, DEQUANTIZE and QUANTIZE, with the semantics of the C engine's
ops/reshape.c, ops/dequantize.c and ops/quantize.c.

DEQUANTIZE (int8/uint8) and QUANTIZE from float32 (to int8/uint8) become
integer-only at eval: DEQUANTIZE looks up the float32 bits of all 256 results,
computed exactly at prepare; QUANTIZE compares the input's float32 bits with
the 255 thresholds where round((double)x / scale) + zero_point steps up,
found exactly at prepare. Neither uses a float, so both are bit-exact on
single- and double-precision ports alike.
"""

import array

import micropython

from . import exact
from .fxp import requant
from .model import FLOAT32, INT8, INT16, INT32, UINT8


@micropython.viper
def copy_bytes(dst: ptr8, src: ptr8, n: int):
    i = 0
    while i < n:
        dst[i] = src[i]
        i += 1


class Reshape:
    def __init__(self, inp, out):
        self.t_in, self.t_out = inp, out

    def bind(self):
        self.n = self.t_in.bytes
        self.same = self.t_in.offset == self.t_out.offset and self.t_in.offset >= 0

    def eval(self):
        if not self.same:
            copy_bytes(self.t_out.buf, self.t_in.buf, self.n)


_RESHAPE_TYPES = (0, 1, 2, 3, 4, 6, 7, 9, 10)


def _one_in_one_out(node):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("needs 1 input and 1 output")


def prepare_reshape(model, node):
    n = len(node.inputs)
    if not (n in (1, 2) and len(node.outputs) == 1):
        raise ValueError("needs 1 or 2 inputs and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("missing input or output")
    if inp.dtype != out.dtype:
        raise ValueError("input type %d, output type %d" % (inp.dtype, out.dtype))
    if inp.dtype not in _RESHAPE_TYPES:
        raise ValueError("unsupported type %d" % inp.dtype)
    if inp.elements() != out.elements() or inp.bytes != out.bytes:
        raise ValueError("input has %d elements, output %d" % (inp.elements(), out.elements()))
    return Reshape(inp, out)


@micropython.viper
def _lookup32(src: ptr8, dst: ptr32, table: ptr32, n: int, flip: int):
    i = 0
    while i < n:
        dst[i] = table[int(src[i]) ^ flip]
        i += 1


class Dequantize:
    def __init__(self, inp, out):
        self.t_in, self.t_out = inp, out
        self.n = inp.elements()
        # table[u] for the raw byte u: float32 bits of (float)((double)scale * (x - zp)).
        table = array.array("I", bytes(4 * 256))
        for u in range(256):
            x = u - 256 if (inp.dtype == INT8 and u > 127) else u
            v = exact.to_float(exact.mul(inp.scale, (x - inp.zero_point, 0)))
            table[u] = _f32_bits(v)
        self.table = table

    def bind(self):
        pass

    def eval(self):
        _lookup32(self.t_in.buf, self.t_out.buf, self.table, self.n, 0)  # type: ignore[arg-type]  # arrays are viper pointers


def _f32_bits(v):
    """float32 bit pattern of an exact value already rounded to float32 (finite)."""
    m, e = v
    if m == 0:
        return 0
    sign = 0x80000000 if m < 0 else 0
    a = -m if m < 0 else m
    n = exact.bitlen(a)
    # normalise to 24 bits
    a <<= 24 - n
    e -= 24 - n
    biased = e + 23 + 127
    if biased <= 0:  # subnormal: value = frac * 2**-149
        return sign | (a >> (1 - biased))
    return sign | (biased << 23) | (a & 0x7FFFFF)


def prepare_dequantize(model, node):
    _one_in_one_out(node)
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("missing input or output")
    if inp.dtype not in (INT8, UINT8, INT16) or out.dtype != FLOAT32:
        raise ValueError("input type %d to output type %d" % (inp.dtype, out.dtype))
    if inp.q_count < 1:
        raise ValueError("input is not quantized")
    if inp.elements() != out.elements():
        raise ValueError("input and output sizes differ")
    if inp.dtype == INT16:
        raise ValueError("int16 input is not supported by the viper engine")
    return Dequantize(inp, out)


@micropython.viper
def _quantize_f32(src: ptr32, dst: ptr8, n: int, keys: ptr32, prm: ptr32):
    """dst[i] = qmin + number of thresholds <= key(src[i]) (binary search; NaN gives nan_value)."""
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    qmin = (int(prm[0]) ^ b31) - b31
    count = int(prm[1])
    nan_value = (int(prm[2]) ^ b31) - b31
    inf_bits = 0xFF
    inf_bits <<= 23
    i = 0
    while i < n:
        bits = int(src[i])
        mag = bits & (b31 - 1)
        if mag > inf_bits:
            dst[i] = nan_value
        else:
            key = mag
            if bits & b31:
                key = 0 - mag
            lo = 0
            hi = count
            while lo < hi:
                mid = (lo + hi) >> 1
                if ((int(keys[mid]) ^ b31) - b31) <= key:
                    lo = mid + 1
                else:
                    hi = mid
            dst[i] = qmin + lo
        i += 1


def _key_value(key):
    """Exact value of the float32 with ordered key (|bits| with the sign of the key)."""
    bits = key if key >= 0 else (0x80000000 | -key)
    return exact.from_f32_bits(bits)


def _quantized(key, scale, zp, qmin, qmax):
    """The C engine's result for the float32 with this key."""
    mag = key if key >= 0 else -key
    if mag == 0x7F800000:
        r = (1 << 31) - 1 if key > 0 else -(1 << 31)
    else:
        q = exact.div_d(_key_value(key), scale)
        r = exact.round_away(q)
        r = max(-(1 << 31), min((1 << 31) - 1, r))
    v = r + zp
    return max(qmin, min(qmax, v))


class QuantizeFromFloat:
    def __init__(self, inp, out, qmin, qmax):
        self.t_in, self.t_out = inp, out
        self.n = inp.elements()
        scale, zp = out.scale, out.zero_point
        # Thresholds: keys[k] = smallest key whose result is >= qmin + k + 1.
        keys = array.array("i", bytes(4 * (qmax - qmin)))
        lo_key, hi_key = -0x7F800000, 0x7F800000
        for k in range(qmax - qmin):
            target = qmin + k + 1
            lo, hi = lo_key, hi_key + 1  # search in [lo, hi)
            if _quantized(hi_key, scale, zp, qmin, qmax) < target:
                keys[k] = hi_key + 1
                continue
            while lo < hi:
                mid = (lo + hi) >> 1
                if _quantized(mid, scale, zp, qmin, qmax) >= target:
                    hi = mid
                else:
                    lo = mid + 1
            keys[k] = lo
            lo_key = lo
        self.keys = keys
        self.prm = array.array("i", [qmin, qmax - qmin, max(qmin, min(qmax, zp))])

    def bind(self):
        pass

    def eval(self):
        _quantize_f32(self.t_in.buf, self.t_out.buf, self.n, self.keys, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers


@micropython.viper
def _widen8(src: ptr8, dst: ptr32, n: int, signed: int, zp: int):
    i = 0
    while i < n:
        v = int(src[i])
        if signed:
            v = (v ^ 128) - 128
        dst[i] = v - zp
        i += 1


class Requantize:
    """int8/uint8 -> int8/uint8 with MultiplyByQuantizedMultiplier (ops/quantize.c)."""

    def __init__(self, inp, out, qmin, qmax):
        self.t_in, self.t_out = inp, out
        self.n = inp.elements()
        m, s = exact.ratio_multiplier(inp.scale, out.scale)
        self.mult = array.array("i", [m])
        self.shift = array.array("i", [s])
        self.rq = array.array("i", [out.zero_point, qmin, qmax, 1])
        self.acc = array.array("i", bytes(4 * max(self.n, 1)))
        self.signed = 1 if inp.dtype == INT8 else 0

    def bind(self):
        pass

    def eval(self):
        _widen8(self.t_in.buf, self.acc, self.n, self.signed, self.t_in.zero_point)  # type: ignore[arg-type]  # arrays are viper pointers
        requant(self.acc, self.t_out.buf, self.n, self.mult, self.shift, self.rq)  # type: ignore[arg-type]  # arrays are viper pointers


_RANGES = {INT8: (-128, 127), UINT8: (0, 255)}


def prepare_quantize(model, node):
    _one_in_one_out(node)
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("missing input or output")
    if out.q_count != 1:
        raise ValueError("output needs one scale, has %d" % out.q_count)
    if inp.elements() != out.elements():
        raise ValueError("input and output sizes differ")
    if inp.dtype == FLOAT32 and out.dtype == INT8:
        return QuantizeFromFloat(inp, out, -128, 127)
    pair = (inp.dtype, out.dtype)
    if pair in ((INT8, INT8), (INT8, UINT8), (UINT8, INT8)) and inp.q_count >= 1:
        lo, hi = _RANGES[out.dtype]
        return Requantize(inp, out, lo, hi)
    if inp.dtype in (FLOAT32, INT8, UINT8, INT16, INT32):
        raise ValueError("input type %d to output type %d is not supported by the viper engine"
                         % (inp.dtype, out.dtype))
    raise ValueError("input type %d to output type %d" % (inp.dtype, out.dtype))
