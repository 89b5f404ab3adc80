"""RELU, RELU6 (int8 and float32) and HARD_SWISH (int8). int8: 256-entry tables built at prepare from
the C engine's exact integer formulas (ops/relu.c, relu6.c, hard_swish.c:
TFLite Micro's int16 fixed point for HARD_SWISH, float32 prepare steps
emulated by exact.py). float32 RELU/RELU6 only compare, so they run on the bit
patterns (no float arithmetic)."""

import micropython

from . import exact, fxmath
from .model import FLOAT32
from .ops_act import Table8, _clamp8, _int8_only, _one_in_one_out, _table

_SIX_F32 = 0x40C00000  # 6.0f
_INF_F32 = 0x7F800000


@micropython.viper
def _relu_f32(src: ptr32, dst: ptr32, n: int, six: int):
    """float32 RELU (six = 0) or RELU6 on the bit patterns, as C's comparisons:
    v < 0 gives +0 (-0 and NaN stay), with six, v > 6 gives 6."""
    one = 1
    b31 = one << 31
    inf = 0xFF
    inf <<= 23
    i = 0
    while i < n:
        bits = int(src[i])
        mag = bits & (b31 - 1)
        if mag > inf:
            dst[i] = bits  # NaN: every comparison is false
        elif bits & b31:
            if mag:
                dst[i] = 0
            else:
                dst[i] = bits
        elif six and mag > six:
            dst[i] = six
        else:
            dst[i] = bits
        i += 1


class ReluF32:
    def __init__(self, inp, out, six):
        self.t_in, self.t_out, self.six = inp, out, six
        self.n = inp.elements()

    def bind(self):
        self.src = self.t_in.buf
        self.dst = self.t_out.buf

    def eval(self):
        _relu_f32(self.src, self.dst, self.n, self.six)  # type: ignore[arg-type]  # arrays are viper pointers


def _float_relu(inp, out, six):
    if inp.const:
        raise ValueError("constant float32 input is not supported by the viper engine")
    return ReluF32(inp, out, six)


def prepare_relu(model, node):
    inp, out = _one_in_one_out(model, node)
    if inp.dtype == FLOAT32:
        return _float_relu(inp, out, 0)
    _int8_only(inp, "RELU")
    if out.q_count < 1:
        raise ValueError("bad model: bad quantization")
    mult, shift = exact.ratio_multiplier(inp.scale, out.scale)
    izp, ozp = inp.zero_point, out.zero_point
    lo = ozp if ozp > -128 else -128

    def one(x):
        v = ozp + fxmath.mul_by_qm(x - izp, mult, shift)
        return 127 if v > 127 else (lo if v < lo else v)

    return Table8(inp, out, _table(one))


def prepare_relu6(model, node):
    inp, out = _one_in_one_out(model, node)
    if inp.dtype == FLOAT32:
        return _float_relu(inp, out, _SIX_F32)
    _int8_only(inp, "RELU6")
    q = exact.round_away(exact.div_f((6, 0), inp.scale))
    if q >= 2147483520:
        raise ValueError("input scale too small")
    six = _clamp8(q + inp.zero_point)  # beyond 2**24 the float sum is > 127 anyway
    zero = ((inp.zero_point & 0xFF) ^ 0x80) - 0x80

    def one(v):
        return six if v > six else (zero if v < zero else v)

    return Table8(inp, out, _table(one))


def _i16(v):
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def _trunc_div(a, d):
    q = (-a) // d if a < 0 else a // d
    return -q if a < 0 else q


def _srdhm16(a, b):
    if a == b == -32768:
        return 32767
    ab = a * b
    return _i16(_trunc_div(ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14)), 1 << 15))


def _sdhm16(a, b):
    if a == b == -32768:
        return 32767
    return _i16(_trunc_div(a * b, 1 << 15))


def _sat_shl16(v, amount):
    r = v << amount
    return 32767 if r > 32767 else (-32768 if r < -32768 else r)


def _rdbpot16(x, e):
    mask = _i16((1 << e) - 1)
    rem = _i16(x & mask)
    thr = _i16((mask >> 1) + (1 if x < 0 else 0))
    return _i16((x >> e) + (1 if rem > thr else 0))


def _downscale(m):
    return 32767 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16


def _scale_ok(x):
    return x[0] > 0


def prepare_hard_swish(model, node):
    inp, out = _one_in_one_out(model, node)
    _int8_only(inp, "HARD_SWISH")
    if out.q_count < 1:
        raise ValueError("bad model: bad quantization")
    # float32 quotients widened afterwards, as TFLite Micro (exact.py emulates each step).
    try:
        hires = exact.to_float(exact.mul((1, -7), inp.scale))
        output_ratio = exact.div_f(hires, out.scale)
        reluish_ratio = exact.div_f(hires, exact.to_float((3, -15)))
    except ValueError:
        raise ValueError("scales out of range")
    if not (_scale_ok(hires) and _scale_ok(output_ratio)):
        raise ValueError("scales out of range")
    m32, out_exp = exact.quantize_multiplier(output_ratio)
    out_mult = _downscale(m32)
    if out_exp > 0:
        raise ValueError("output scale too small for the input scale")
    if not _scale_ok(reluish_ratio):
        raise ValueError("scales out of range")
    m32, rexp = exact.quantize_multiplier(reluish_ratio)
    rel_mult = _downscale(m32)
    if not (out_exp > -31 and -31 < rexp < 31):
        raise ValueError("scales out of range")
    izp, ozp = inp.zero_point, out.zero_point

    def one(x):
        hi = _i16(_i16(x - izp) * 128)
        pre_out = _srdhm16(hi, out_mult)
        r = hi
        if rexp > 0:
            r = _sat_shl16(r, rexp - 1)
        r = _srdhm16(r, rel_mult)
        if rexp > 0:
            r = _sat_shl16(r, 1)
        if rexp < 0:
            r = _rdbpot16(r, -rexp)
        r = _i16((r + (1 << 15)) >> 1)
        v = _rdbpot16(_sdhm16(r, pre_out), -out_exp)
        return _clamp8(_i16(v + ozp))

    return Table8(inp, out, _table(one))
