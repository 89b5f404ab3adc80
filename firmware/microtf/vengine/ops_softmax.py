"""SOFTMAX int8 -> int8 and int8 -> int16 over the last dimension, as the C engine's
ops/softmax.c (TFLite Micro's reference kernel: gemmlowp fixed point).

An int8 row's differences to its maximum lie in [-255, 0], so prepare
tabulates exp(diff) (the Q0 result of mtf_fp_exp_on_negative_values) and its
Q12 rescale for all 256 of them, with Python ints. Eval sums the table
entries, takes gemmlowp's fixed-point reciprocal of the sum (viper, Newton
iterations) and scales each exp by it.
"""

import array

import micropython

from . import exact
from .model import INT8, INT16

SCALED_DIFF_BITS = 5
ACCUM_BITS = 12
I32_MIN = -(1 << 31)
I32_MAX = (1 << 31) - 1

# ---- prepare-time gemmlowp arithmetic on Python ints (mtf_quant.h, mtf_fixedpoint.c) ----


def _wrap(v):
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def _srdhm(a, b):
    if a == b == I32_MIN:
        return I32_MAX
    return _wrap((a * b + (1 << 30)) >> 31)


def _rdbpot(x, e):
    mask = (1 << e) - 1
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > thr else 0)


def _sat_shl(x, e):
    thr = (1 << (31 - e)) - 1
    if x > thr:
        return I32_MAX
    if x < -thr:
        return I32_MIN
    return _wrap(x << e)


def _rescale(x, src, dst):
    e = src - dst
    if e > 0:
        return _sat_shl(x, e)
    if e < 0:
        return _rdbpot(x, -e)
    return x


def _exp_quarter(a):
    x = _wrap(a + (1 << 28))
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    poly = _wrap(_srdhm(_wrap(_rdbpot(x4, 2) + x3), 715827883) + x2)
    poly = _rdbpot(poly, 1)
    return _wrap(1895147668 + _srdhm(1895147668, _wrap(x + poly)))


_FACTORS = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)


def _exp_on_negative_values(a, integer_bits):
    frac = 31 - integer_bits
    quarter = 1 << (frac - 2)
    rest = _wrap((a & (quarter - 1)) - quarter)
    result = _exp_quarter(_rescale(rest, integer_bits, 0))
    remainder = _wrap(rest - a)
    for k in range(-2, 5):
        if integer_bits > k:
            if remainder & (1 << (frac + k)):
                result = _srdhm(result, _FACTORS[k + 2])
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    if a == 0:
        result = I32_MAX
    return result


# ---- eval (viper) ----


@micropython.viper
def _srdhm3(wobj, i: int, j: int, k: int):
    """w[k] = SaturatingRoundingDoublingHighMul(w[i], w[j]) (see fxp.py for the method)."""
    w = ptr32(wobj)
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    x = (int(w[i]) ^ b31) - b31
    m = (int(w[j]) ^ b31) - b31
    ah = x >> 16
    al = x & 0xFFFF
    bh = m >> 16
    bl = m & 0xFFFF
    hl = ah * bl
    lh = al * bh
    ll_hi = ((al >> 8) * bl + (((al & 0xFF) * bl) >> 8)) >> 8
    h = 2 * ah * bh + (hl >> 15) + (lh >> 15) + (((hl & 0x7FFF) + (lh & 0x7FFF) + ll_hi + 0x4000) >> 15)
    if ah == -32768 and bh == -32768 and al == 0 and bl == 0:
        h = b31 - 1
    w[k] = h & m32


# Work slots of the reciprocal.
_W_SUM = 0
_W_HD = 1
_W_X = 2
_W_C1 = 3  # -32/17 in Q2
_W_C2 = 4  # 48/17 in Q2
_W_T = 5
_W_U = 6
_W_SCALE = 7
_W_BITS = 8


@micropython.viper
def _reciprocal(wobj):
    """gemmlowp GetReciprocal(sum, 12): w[SCALE] = 1/x normalised, w[BITS] = bits over unit."""
    w = ptr32(wobj)
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    s = int(w[0])  # positive
    clz = 0
    while clz < 32 and not (s & (b31 >> clz)):
        clz += 1
    w[8] = 12 - clz
    xm1 = ((s << clz) & m32) - b31  # in [0, 2^31)
    # RoundingHalfSum(xm1, INT32_MAX) for xm1 >= 0.
    w[1] = (one << 30) + (xm1 >> 1)
    _srdhm3(wobj, 1, 3, 5)
    w[2] = (int(w[4]) + int(w[5])) & m32
    it = 0
    while it < 3:
        _srdhm3(wobj, 1, 2, 5)  # hd * x
        w[6] = ((1 << 29) - ((int(w[5]) ^ b31) - b31)) & m32  # 1 - hd*x (Q2)
        _srdhm3(wobj, 2, 6, 5)  # x * (1 - hd*x), Q4
        v = (int(w[5]) ^ b31) - b31
        thr = (1 << 29) - 1
        if v > thr:
            v = b31 - 1
        elif v < 0 - thr:
            v = 0 - b31
        else:
            v = v << 2
        w[2] = (((int(w[2]) ^ b31) - b31) + v) & m32
        it += 1
    # Q2 read as Q1, to Q0: saturating shift by 1.
    v = (int(w[2]) ^ b31) - b31
    thr = (one << 30) - 1
    if v > thr:
        v = b31 - 1
    elif v < 0 - thr:
        v = 0 - b31
    else:
        v = v << 1
    w[7] = v & m32


@micropython.viper
def _softmax_rows(x: ptr8, out: ptr8, tab: ptr32, wobj, prm: ptr32):
    """tab: [0, 256) exp(-d) in Q0, [256, 512) its Q12 rescale, [512, 768) 1 when d is in range."""
    w = ptr32(wobj)
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    rows = int(prm[0])
    depth = int(prm[1])
    out_bits = int(prm[2])
    out_min = -128
    out_max = 127
    if out_bits == 16:
        out_min = -32768
        out_max = 32767
    r = 0
    while r < rows:
        base = r * depth
        mx = -128
        c = 0
        while c < depth:
            v = (int(x[base + c]) ^ 128) - 128
            if v > mx:
                mx = v
            c += 1
        total = 0
        c = 0
        while c < depth:
            d = mx - ((int(x[base + c]) ^ 128) - 128)
            if int(tab[512 + d]):
                total = (total + int(tab[256 + d])) & m32
            c += 1
        w[0] = total
        _reciprocal(wobj)
        scale = (int(w[7]) ^ b31) - b31
        exponent = int(w[8]) + 31 - out_bits
        bh = scale >> 16
        bl = scale & 0xFFFF
        mask = (1 << exponent) - 1
        c = 0
        while c < depth:
            d = mx - ((int(x[base + c]) ^ 128) - 128)
            v = out_min
            if int(tab[512 + d]):
                e = (int(tab[d]) ^ b31) - b31
                ah = e >> 16
                al = e & 0xFFFF
                hl = ah * bl
                lh = al * bh
                ll_hi = ((al >> 8) * bl + (((al & 0xFF) * bl) >> 8)) >> 8
                h = 2 * ah * bh + (hl >> 15) + (lh >> 15) + (((hl & 0x7FFF) + (lh & 0x7FFF) + ll_hi + 0x4000) >> 15)
                h = ((h & m32) ^ b31) - b31
                thr = (mask >> 1) + int(h < 0)
                v = (h >> exponent) + int((h & mask) > thr) + out_min
                if v > out_max:
                    v = out_max
                if v < out_min:
                    v = out_min
            if out_bits == 16:
                out[2 * (base + c)] = v
                out[2 * (base + c) + 1] = v >> 8
            else:
                out[base + c] = v
            c += 1
        r += 1


class SoftmaxInt8:
    def __init__(self, inp, out, mult, shift, diff_min):
        self.t_in, self.t_out = inp, out
        depth = inp.shape[-1]
        bits = 16 if out.dtype == INT16 else 8
        self.prm = array.array("i", [inp.elements() // depth if depth else 0, depth, bits])
        tab = array.array("i", bytes(4 * 768))
        for d in range(256):
            diff = -d
            if diff >= diff_min:
                e = _exp_on_negative_values(_srdhm(_wrap(diff << shift), mult), SCALED_DIFF_BITS)
                tab[d] = e
                tab[256 + d] = _rescale(e, 0, ACCUM_BITS)
                tab[512 + d] = 1
        self.tab = tab
        self.work = array.array("i", [0, 0, 0, -1010580540, 1515870810, 0, 0, 0, 0])

    def bind(self):
        pass

    def eval(self):
        _softmax_rows(self.t_in.buf, self.t_out.buf, self.tab, self.work, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers


# 1/256 as float32 bits; 2**-16 and 0.001f for the int16 output check.
_ONE_256TH_BITS = 0x3B800000
_TWO_M16 = (1, -16)
_MILLI_F32 = exact.from_f32_bits(0x3A83126F)


def prepare_softmax(model, node):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("needs 1 input and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("missing tensor")
    if len(inp.shape) < 1:
        raise ValueError("input needs at least 1 dimension")
    if inp.elements() != out.elements() or inp.shape[-1] != (out.shape[-1] if out.shape else -1):
        raise ValueError("input and output shapes differ")
    beta = exact.from_f32_bits(node.options.f32_bits(0, 0x3F800000))
    if inp.dtype != INT8:
        raise ValueError("unsupported input type %d (the viper engine runs int8 SOFTMAX only)" % inp.dtype)
    if out.dtype == INT8:
        if out.zero_point != -128 or not out.scale_bits or out.scale_bits[0] != _ONE_256TH_BITS:
            raise ValueError("int8 output must have scale 1/256 and zero point -128")
    elif out.dtype == INT16:
        # fabsf(scale - 1.0f/65536) <= 0.001f * (1.0f/65536), in float32.
        diff = exact.to_float(exact.add(out.scale, exact.neg(_TWO_M16)))
        limit = exact.to_float(exact.mul(_MILLI_F32, _TWO_M16))
        if out.zero_point != -32768 or exact.cmp((abs(diff[0]), diff[1]), limit) > 0:
            raise ValueError("int16 output must have scale 1/65536 and zero point -32768")
    else:
        raise ValueError("unsupported output type %d" % out.dtype)
    sc = exact.softmax_scaling(beta, inp.scale)
    if sc is None:
        raise ValueError("beta * input scale too small")
    mult, shift, diff_min = sc
    return SoftmaxInt8(inp, out, mult, shift, diff_min)
