"""ADD, SUB and MUL of int8 tensors with numpy broadcasting, with the
semantics of the C engine's ops/add.c, sub.c, mul.c (TFLite Micro's
reference kernels), including which operand shapes broadcast (src/mtf_elementwise.c).

Each operand's contribution depends on its int8 value alone, so prepare
tabulates it per raw byte: for ADD/SUB the operand shifted left by 20 and
scaled onto the common scale (SUB negates the second), for MUL the
zero-point-corrected value. Eval sums (or multiplies) two table entries and
requantizes with one multiplier, 32-bit safe as fxp.py.
"""

import array

import micropython

from . import exact, fxmath
from .model import INT8

MAX_RUNS = 6
# Parameter block layout.
P_MODE = 0  # 0: t1 + t2, 1: t1 * t2
P_RUNS = 1
P_MULT = 2
P_SHIFT = 3
P_OUT = 4
P_MIN = 5
P_MAX = 6
P_EXT = 7
P_S1 = P_EXT + MAX_RUNS
P_S2 = P_S1 + MAX_RUNS
P_IDX = P_S2 + MAX_RUNS  # odometer scratch
P_SIZE = P_IDX + MAX_RUNS


@micropython.viper
def _binary(x1: ptr8, x2: ptr8, y: ptr8, t1: ptr32, t2: ptr32, p: ptr32):
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    mode = int(p[0])
    runs = int(p[1])
    m = (int(p[2]) ^ b31) - b31
    s = (int(p[3]) ^ b31) - b31
    out_off = (int(p[4]) ^ b31) - b31
    act_min = (int(p[5]) ^ b31) - b31
    act_max = (int(p[6]) ^ b31) - b31
    last = runs - 1
    n = int(p[7 + last])
    s1 = int(p[13 + last])
    s2 = int(p[19 + last])
    left = 0
    right = 0
    if s > 0:
        left = s
    else:
        right = 0 - s
    mask = (1 << right) - 1
    bh = m >> 16
    bl = m & 0xFFFF
    d = 0
    while d < runs:
        p[25 + d] = 0
        d += 1
    off1 = 0
    off2 = 0
    o = 0
    while True:
        i = 0
        a = off1
        c = off2
        while i < n:
            u = (int(t1[int(x1[a])]) ^ b31) - b31
            v = (int(t2[int(x2[c])]) ^ b31) - b31
            if mode:
                x = u * v
            else:
                x = u + v
            if left:
                x = (((x << left) & m32) ^ b31) - b31
            # SRDHM(x, m) from 16-bit halves (see fxp.requant).
            ah = x >> 16
            al = x & 0xFFFF
            hl = ah * bl
            lh = al * bh
            ll_hi = ((al >> 8) * bl + (((al & 0xFF) * bl) >> 8)) >> 8
            h = 2 * ah * bh + (hl >> 15) + (lh >> 15) + (((hl & 0x7FFF) + (lh & 0x7FFF) + ll_hi + 0x4000) >> 15)
            h = ((h & m32) ^ b31) - b31
            thr = (mask >> 1) + int(h < 0)
            r = (h >> right) + int((h & mask) > thr) + out_off
            if r < act_min:
                r = act_min
            if r > act_max:
                r = act_max
            y[o] = r
            o += 1
            a += s1
            c += s2
            i += 1
        # Next row: an odometer over the runs before the last.
        d = last - 1
        while d >= 0:
            off1 += int(p[13 + d])
            off2 += int(p[19 + d])
            k = int(p[25 + d]) + 1
            if k < int(p[7 + d]):
                p[25 + d] = k
                break
            off1 -= int(p[13 + d]) * int(p[7 + d])
            off2 -= int(p[19 + d]) * int(p[7 + d])
            p[25 + d] = 0
            d -= 1
        if d < 0:
            break


def _broadcast(in1, in2, out, p):
    """Broadcast plan: runs of dims that broadcast alike, into p (the C engine walks per-dim strides
    instead; both visit the same elements in the same order)."""
    nd = max(len(in1.shape), len(in2.shape))
    if nd > MAX_RUNS:
        raise ValueError("more than %d dimensions" % MAX_RUNS)
    if len(out.shape) != nd:
        raise ValueError("output has %d dimensions, broadcast gives %d" % (len(out.shape), nd))
    f1: list = []
    f2: list = []
    ext: list = []
    for i in range(nd):
        j1 = i - (nd - len(in1.shape))
        j2 = i - (nd - len(in2.shape))
        e1 = in1.shape[j1] if j1 >= 0 else 1
        e2 = in2.shape[j2] if j2 >= 0 else 1
        e = e2 if e1 == 1 else e1
        if not (e1 == e2 or e1 == 1 or e2 == 1):
            raise ValueError("dimension %d: %d and %d do not broadcast" % (i, e1, e2))
        if out.shape[i] != e:
            raise ValueError("output dimension %d is %d, broadcast gives %d" % (i, out.shape[i], e))
        if e == 1:
            continue
        a, b = e1 == e, e2 == e
        if ext and f1[-1] == a and f2[-1] == b:
            ext[-1] *= e
        else:
            f1.append(a)
            f2.append(b)
            ext.append(e)
    if not ext:
        f1, f2, ext = [True], [True], [1]
    runs = len(ext)
    p[P_RUNS] = runs
    acc1 = acc2 = 1
    for r in range(runs - 1, -1, -1):
        p[P_EXT + r] = ext[r]
        p[P_S1 + r] = acc1 if f1[r] else 0
        p[P_S2 + r] = acc2 if f2[r] else 0
        if f1[r]:
            acc1 *= ext[r]
        if f2[r]:
            acc2 *= ext[r]


class Binary:
    def __init__(self, in1, in2, out, t1, t2, p):
        self.in1, self.in2, self.t_out, self.t1, self.t2, self.p = in1, in2, out, t1, t2, p

    def bind(self):
        self.x1 = self.in1.buf
        self.x2 = self.in2.buf
        self.y = self.t_out.buf
        # An empty output: nothing to compute (the odometer needs one element).
        self.empty = self.t_out.elements() == 0

    def eval(self):
        if not self.empty:
            _binary(self.x1, self.x2, self.y, self.t1, self.t2, self.p)  # type: ignore[arg-type]  # arrays are viper pointers


def _clamping(act):
    return act if act in (exact.ACT_RELU, exact.ACT_RELU_N1_TO_1, exact.ACT_RELU6) else exact.ACT_NONE


def _common(model, node, name):
    if len(node.inputs) != 2 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 2 inputs and 1 output")
    in1 = model.tensor(node, 0)
    in2 = model.tensor(node, 1)
    out = model.tensor(node, 0, True)
    if in1 is None or in2 is None or out is None:
        raise ValueError("bad model: missing tensor")
    if in1.dtype != out.dtype or in2.dtype != out.dtype:
        raise ValueError("input and output types differ")
    if out.dtype != INT8:
        raise ValueError("unsupported type %d (the viper engine runs int8 %s only)" % (out.dtype, name))
    p = array.array("i", bytes(4 * P_SIZE))
    _broadcast(in1, in2, out, p)
    if in1.q_count < 1 or in2.q_count < 1 or out.q_count < 1:
        raise ValueError("bad model: bad quantization")
    lo, hi = exact.activation_range(_clamping(node.options.u8(0, 0)), out.scale, out.zero_point, -128, 127)
    p[P_OUT] = out.zero_point
    p[P_MIN] = lo
    p[P_MAX] = hi
    return in1, in2, out, p


def _below_one(real):
    if not (real[0] > 0 and exact.cmp(real, (1, 0)) < 0):
        raise ValueError("scales give a rescale factor outside (0, 1)")
    return exact.quantize_multiplier(real)


def _add_sub(model, node, sign, name):
    in1, in2, out, p = _common(model, node, name)
    s1, s2 = in1.scale, in2.scale
    twice_max = exact.mul_d((2, 0), s1 if exact.cmp(s1, s2) > 0 else s2)
    m1, sh1 = _below_one(exact.div_d(s1, twice_max))
    m2, sh2 = _below_one(exact.div_d(s2, twice_max))
    mo, sho = _below_one(exact.div_d(twice_max, exact.mul_d((1, 20), out.scale)))
    p[P_MODE] = 0
    p[P_MULT] = mo
    p[P_SHIFT] = sho
    t1 = array.array("i", bytes(1024))
    t2 = array.array("i", bytes(1024))
    for u in range(256):
        x = u - 256 if u > 127 else u
        t1[u] = fxmath.rdbpot(fxmath.srdhm((x - in1.zero_point) << 20, m1), -sh1)
        t2[u] = sign * fxmath.rdbpot(fxmath.srdhm((x - in2.zero_point) << 20, m2), -sh2)
    return Binary(in1, in2, out, t1, t2, p)


def prepare_add(model, node):
    return _add_sub(model, node, 1, "ADD")


def prepare_sub(model, node):
    return _add_sub(model, node, -1, "SUB")


def prepare_mul(model, node):
    in1, in2, out, p = _common(model, node, "MUL")
    real = exact.div_d(exact.mul_d(in1.scale, in2.scale), out.scale)
    m, s = exact.quantize_multiplier(real)
    if s > 31:
        raise ValueError("rescale factor too large")
    p[P_MODE] = 1
    p[P_MULT] = m
    p[P_SHIFT] = s
    t1 = array.array("i", bytes(1024))
    t2 = array.array("i", bytes(1024))
    for u in range(256):
        x = u - 256 if u > 127 else u
        t1[u] = x - in1.zero_point
        t2[u] = x - in2.zero_point
    return Binary(in1, in2, out, t1, t2, p)
