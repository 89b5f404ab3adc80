"""FULLY_CONNECTED: int8 (per-tensor or per-channel weights) and float32,
with the semantics of firmware/engine/ops/fully_connected.c.

int8: the C engine's accumulator is
    sum(w*x) + fold[c] + w_offset*(sum(x) + in_offset*depth)    (int32, wrapping)
with fold[c] = bias[c] + in_offset*sum(w[c]). The viper loop multiplies the
raw (unsigned) bytes: with u = s + 128 (the raw byte with its top bit flipped),
    sum(s_w*s_x) = sum(u_w*u_x) - 128*sum(u_w) - 128*sum(u_x) + 16384*depth,
so the weight part is folded at prepare and the input part once per row,
and the inner loop has no sign extension. Everything is modular int32
arithmetic, which wraps alike on 32- and 64-bit viper ints (see fxp.py).
"""

import array
import struct

import micropython

from . import exact
from .fxp import requant
from .model import FLOAT32, INT8, INT32

FC_MAX_DEPTH = 65536


def _i32(v):
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


@micropython.viper
def _fc_rows(x: ptr8, w: ptr8, acc: ptr32, fold: ptr32, prm: ptr32):
    """acc[c] = u-dot(w[c], x) + fold[c] + row_term for c < out_depth (one batch row)."""
    depth = int(prm[0])
    out_depth = int(prm[1])
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    w_offset = (int(prm[2]) ^ b31) - b31
    in_offset = (int(prm[3]) ^ b31) - b31
    sx = 0
    k = 0
    while k < depth:
        sx += int(x[k]) ^ 128
        k += 1
    # sum of signed x = sx - 128*depth
    row = 0 - 128 * sx
    if w_offset != 0:
        row += w_offset * (sx - 128 * depth + in_offset * depth)
    c = 0
    base = 0
    while c + 4 <= out_depth:
        a0 = 0
        a1 = 0
        a2 = 0
        a3 = 0
        b1 = base + depth
        b2 = b1 + depth
        b3 = b2 + depth
        k = 0
        while k < depth:
            xv = int(x[k]) ^ 128
            a0 += (int(w[base + k]) ^ 128) * xv
            a1 += (int(w[b1 + k]) ^ 128) * xv
            a2 += (int(w[b2 + k]) ^ 128) * xv
            a3 += (int(w[b3 + k]) ^ 128) * xv
            k += 1
        acc[c] = a0 + int(fold[c]) + row
        acc[c + 1] = a1 + int(fold[c + 1]) + row
        acc[c + 2] = a2 + int(fold[c + 2]) + row
        acc[c + 3] = a3 + int(fold[c + 3]) + row
        c += 4
        base = b3 + depth
    while c < out_depth:
        a0 = 0
        k = 0
        while k < depth:
            a0 += (int(w[base + k]) ^ 128) * (int(x[k]) ^ 128)
            k += 1
        acc[c] = a0 + int(fold[c]) + row
        c += 1
        base += depth


class FullyConnectedInt8:
    def __init__(self, model, node, inp, w, bias, out):
        self.t_in, self.t_out = inp, out
        self.w = w
        depth = w.shape[-1]
        out_depth = out.shape[-1]
        batches = out.elements() // out_depth if out_depth else 0
        self.batches, self.depth, self.out_depth = batches, depth, out_depth
        activation = node.options.i8(0, 0)
        per_channel = w.q_count > 1
        if per_channel and not (w.q_dim == 0 and w.q_count == w.shape[0] and w.q_count >= out_depth):
            raise ValueError("%d weight scales on dim %d" % (w.q_count, w.q_dim))
        if not (w.q_count >= 1 and inp.q_count >= 1 and out.q_count >= 1):
            raise ValueError("int8 tensors must be quantized")
        for t in (inp, out, w):
            if not -128 <= t.zero_point <= 127:
                raise ValueError("int8 zero point out of range")
        if not w.const or (bias is not None and not bias.const):
            raise ValueError("non-constant weights or bias are not supported by the viper engine")
        mult = array.array("i", bytes(4 * max(out_depth, 1)))
        shift = array.array("i", bytes(4 * max(out_depth, 1)))
        n_mult = w.q_count if per_channel else 1
        ms = []
        w_scales = w.scales
        for c in range(n_mult):
            product = exact.mul_d(inp.scale, w_scales[c])
            if not per_channel and bias is not None:
                diff = exact.sub_d(product, bias.scale)
                diff = (abs(diff[0]), diff[1])
                ratio = exact.div_d(diff, out.scale)
                if exact.cmp(ratio, _TWO_HUNDREDTHS) > 0:
                    raise ValueError("bias scale does not match")
            ms.append(exact.quantize_multiplier(exact.div_d(product, out.scale)))
        for c in range(out_depth):
            m, s = ms[c if per_channel else 0]
            mult[c] = m
            shift[c] = s
        self.mult, self.shift = mult, shift
        in_offset = -inp.zero_point
        w_offset = 0 if per_channel else -w.zero_point
        lo, hi = exact.activation_range(activation, out.scale, out.zero_point, -128, 127)
        self.rq = array.array("i", [out.zero_point, lo, hi, max(out_depth, 1)])
        self.prm = array.array("i", [depth, out_depth, w_offset, in_offset])
        fold = array.array("i", bytes(4 * max(out_depth, 1)))
        wd = w.buf
        bd = bias.buf if bias is not None else None
        for c in range(out_depth):
            s = 0
            su = 0
            for k in range(c * depth, (c + 1) * depth):
                v = wd[k]
                su += v ^ 128
                s += v - 256 if v > 127 else v
            f = in_offset * s - 128 * su + 16384 * depth
            if bd is not None:
                f += bd[4 * c] | (bd[4 * c + 1] << 8) | (bd[4 * c + 2] << 16) | (bd[4 * c + 3] << 24)
            fold[c] = _i32(f)
        self.fold = fold
        self.acc = array.array("i", bytes(4 * max(out_depth, 1)))

    def bind(self):
        d, od = self.depth, self.out_depth
        self.rows = [(self.t_in.buf[b * d : (b + 1) * d], self.t_out.buf[b * od : (b + 1) * od])
                     for b in range(self.batches)]

    def eval(self):
        for x, o in self.rows:
            _fc_rows(x, self.w.buf, self.acc, self.fold, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers
            requant(self.acc, o, self.out_depth, self.mult, self.shift, self.rq)  # type: ignore[arg-type]  # arrays are viper pointers


# 0.02 as the double the C engine compares with (0x3F947AE147AE147B).
_TWO_HUNDREDTHS = (0x147AE147AE147B, -58)


class FullyConnectedFloat:
    """float32: each product and sum rounded to float32 as C does it. On the
    Unix port floats are double: every result goes through an array('f')
    slot, which rounds it (a double holds the exact product of two float32s,
    and double rounding of a sum of float32s is innocuous). Allocates float
    objects: not for heap_lock."""

    def __init__(self, model, node, inp, w, bias, out):
        self.t_in, self.t_out, self.w, self.bias = inp, out, w, bias
        self.depth = w.shape[-1]
        self.out_depth = out.shape[-1]
        self.batches = out.elements() // self.out_depth if self.out_depth else 0
        act = node.options.i8(0, 0)
        if act > 3:
            raise ValueError("fused activation %d" % act)
        inf = float("inf")
        self.lo, self.hi = {0: (-inf, inf), 1: (0.0, inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}[act]
        self.r = array.array("f", [0.0])
        n = self.depth * self.out_depth
        self.wf = struct.unpack("<%df" % n, w.buf[: 4 * n])
        self.bf = struct.unpack("<%df" % self.out_depth, bias.buf[: 4 * self.out_depth]) if bias else None

    def bind(self):
        self.fmt_in = "<%df" % (self.batches * self.depth)

    def eval(self):
        wf, bf, r = self.wf, self.bf, self.r
        xf = struct.unpack_from(self.fmt_in, self.t_in.buf, 0)
        depth, od, o = self.depth, self.out_depth, self.t_out.buf
        for b in range(self.batches):
            xrow = b * depth
            for c in range(od):
                total = 0.0
                wrow = c * depth
                for k in range(depth):
                    r[0] = xf[xrow + k] * wf[wrow + k]
                    r[0] = total + r[0]
                    total = r[0]
                v = total
                if bf is not None:
                    r[0] = v + bf[c]
                    v = r[0]
                v = self.lo if v < self.lo else v
                v = self.hi if self.hi < v else v
                struct.pack_into("<f", o, 4 * (b * od + c), v)


def prepare_fully_connected(model, node):
    n_in = len(node.inputs)
    if not (2 <= n_in <= 3 and len(node.outputs) == 1):
        raise ValueError("needs 2 or 3 inputs and 1 output")
    inp = model.tensor(node, 0)
    w = model.tensor(node, 1)
    bias = model.tensor(node, 2)
    out = model.tensor(node, 0, True)
    if inp is None or w is None or out is None:
        raise ValueError("missing input, weights or output")
    if node.options.u8(1, 0) != 0:
        raise ValueError("shuffled weights format")
    if inp.dtype != out.dtype:
        raise ValueError("input type %d, output type %d" % (inp.dtype, out.dtype))
    is_float = inp.dtype == FLOAT32 and w.dtype == FLOAT32
    is_int8 = inp.dtype == INT8 and w.dtype == INT8
    if not (is_float or is_int8):
        raise ValueError("input type %d with weights type %d" % (inp.dtype, w.dtype))
    if bias is not None and bias.dtype != (FLOAT32 if is_float else INT32):
        raise ValueError("bias type %d" % bias.dtype)
    if len(w.shape) < 2 or len(out.shape) < 1:
        raise ValueError("weights need 2 dims")
    depth = w.shape[-1]
    out_depth = out.shape[-1]
    batches = out.elements() // out_depth if out_depth else 0
    if depth > FC_MAX_DEPTH:
        raise ValueError("depth %d (max %d)" % (depth, FC_MAX_DEPTH))
    if out_depth > w.shape[-2] or out_depth * depth > w.elements():
        raise ValueError("%d outputs but %d weight rows" % (out_depth, w.shape[-2]))
    if batches * depth > inp.elements():
        raise ValueError("input has %d values, needs %d x %d" % (inp.elements(), batches, depth))
    if bias is not None and bias.elements() < out_depth:
        raise ValueError("bias shorter than %d" % out_depth)
    if is_float:
        return FullyConnectedFloat(model, node, inp, w, bias, out)
    return FullyConnectedInt8(model, node, inp, w, bias, out)
