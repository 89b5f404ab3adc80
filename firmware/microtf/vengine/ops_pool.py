"""MAX_POOL_2D and AVERAGE_POOL_2D, int8, as the C engine's ops/max_pool_2d.c
and ops/average_pool_2d.c (prepare: mtf_pool_prepare in mtf_window.h), and
MEAN as ops/mean.c."""

import array

import micropython

from . import exact
from . import window as W
from .fxp import requant
from .model import INT8, INT32

# 1e-6 as a double (0x3EB0C6F7A0B5ED8D): the scale tolerance of TFLite Micro's pools.
_ONE_MILLIONTH = (0x10C6F7A0B5ED8D, -72)


@micropython.viper
def _max_row(x: ptr8, out: ptr8, geo: ptr32, oy: int):
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    depth = int(geo[2])
    out_w = int(geo[10])
    row_len = int(geo[12])
    act_min = (int(geo[17]) ^ b31) - b31
    act_max = (int(geo[18]) ^ b31) - b31
    xb = int(geo[16])
    yp = 24 + 3 * out_w + 3 * oy
    iy0 = (int(geo[yp]) ^ b31) - b31
    fy0 = int(geo[yp + 1])
    fy1 = int(geo[yp + 2])
    ox = 0
    while ox < out_w:
        xp = 24 + 3 * ox
        ix0 = (int(geo[xp]) ^ b31) - b31
        fx0 = int(geo[xp + 1])
        fx1 = int(geo[xp + 2])
        c = 0
        while c < depth:
            best = -128
            fy = fy0
            while fy < fy1:
                xi = xb + (iy0 + fy) * row_len + c
                fx = fx0
                while fx < fx1:
                    v = (int(x[xi + (ix0 + fx) * depth]) ^ 128) - 128
                    if v > best:
                        best = v
                    fx += 1
                fy += 1
            if best < act_min:
                best = act_min
            if best > act_max:
                best = act_max
            out[ox * depth + c] = best
            c += 1
        ox += 1


@micropython.viper
def _avg_row(x: ptr8, out: ptr8, geo: ptr32, oy: int) -> int:
    """Returns 1 when a window holds no input (the C engine fails the invoke then)."""
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    depth = int(geo[2])
    out_w = int(geo[10])
    row_len = int(geo[12])
    act_min = (int(geo[17]) ^ b31) - b31
    act_max = (int(geo[18]) ^ b31) - b31
    xb = int(geo[16])
    yp = 24 + 3 * out_w + 3 * oy
    iy0 = (int(geo[yp]) ^ b31) - b31
    fy0 = int(geo[yp + 1])
    fy1 = int(geo[yp + 2])
    ox = 0
    while ox < out_w:
        xp = 24 + 3 * ox
        ix0 = (int(geo[xp]) ^ b31) - b31
        fx0 = int(geo[xp + 1])
        fx1 = int(geo[xp + 2])
        count = (fy1 - fy0) * (fx1 - fx0)
        if count <= 0:
            return 1
        half = count >> 1
        c = 0
        while c < depth:
            a = 0
            fy = fy0
            while fy < fy1:
                xi = xb + (iy0 + fy) * row_len + c
                fx = fx0
                while fx < fx1:
                    a += (int(x[xi + (ix0 + fx) * depth]) ^ 128) - 128
                    fx += 1
                fy += 1
            # C's truncating division, on non-negative operands only.
            if a > 0:
                a = (a + half) // count
            else:
                a = 0 - ((half - a) // count)
            if a < act_min:
                a = act_min
            if a > act_max:
                a = act_max
            out[ox * depth + c] = a
            c += 1
        ox += 1
    return 0


class _Pool:
    def __init__(self, inp, out, geo, kernel, average):
        self.t_in, self.t_out, self.geo, self.kernel, self.average = inp, out, geo, kernel, average

    def bind(self):
        oh, ow, d = self.t_out.shape[1], self.t_out.shape[2], self.t_out.shape[3]
        row = ow * d
        self.rows = [self.t_out.buf[r * row : (r + 1) * row] for r in range(self.t_out.shape[0] * oh)]
        self.out_h = oh
        self.batch_step = self.t_in.shape[1] * self.t_in.shape[2] * self.t_in.shape[3]
        self.batches = self.t_out.shape[0]

    def eval(self):
        # One name per line: a 4-tuple assignment would allocate a tuple.
        geo = self.geo
        rows = self.rows
        oh = self.out_h
        x = self.t_in.buf
        for b in range(self.batches):
            geo[16] = b * self.batch_step
            for oy in range(oh):
                if self.average:
                    if _avg_row(x, rows[b * oh + oy], geo, oy):
                        raise ValueError("pooling window outside the input")
                else:
                    _max_row(x, rows[b * oh + oy], geo, oy)


def _prepare(model, node, kernel, average):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("expects 1 input and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("missing tensor")
    if inp.dtype != INT8 or out.dtype != INT8:
        raise ValueError("only int8 input and output are supported (input type %d, output type %d)"
                         % (inp.dtype, out.dtype))
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise ValueError("input and output must be 4-D")
    if inp.shape[0] != out.shape[0] or inp.shape[3] != out.shape[3]:
        raise ValueError("batch and channels of input and output must match")
    diff = exact.sub_d(inp.scale, out.scale)
    diff = (abs(diff[0]), diff[1])
    if exact.cmp(diff, _ONE_MILLIONTH) > 0 or inp.zero_point != out.zero_point:
        raise ValueError("input and output quantization must be equal")
    o = node.options
    stride_w, stride_h = o.i32(1, 0), o.i32(2, 0)
    fw, fh = o.i32(3, 0), o.i32(4, 0)
    in_h, in_w = inp.shape[1], inp.shape[2]
    out_h, out_w = out.shape[1], out.shape[2]
    pad_h, pad_w = W.check(o.u8(0, W.PADDING_SAME), in_h, in_w, out_h, out_w, stride_h, stride_w, 1, 1, fh, fw)
    lo, hi = exact.activation_range(o.u8(5, 0), out.scale, out.zero_point, -128, 127)
    depth = inp.shape[3]
    header = [in_h, in_w, depth, fh, fw, 0, depth, 1, 1, 0, out_w, out_h, in_w * depth, 0, 0, 0, 0, lo, hi]
    geo = W.geometry(header, out_h, out_w, stride_h, stride_w, pad_h, pad_w, 1, 1, fh, fw, in_h, in_w)
    return _Pool(inp, out, geo, kernel, average)


def prepare_max_pool_2d(model, node):
    return _prepare(model, node, _max_row, False)


def prepare_average_pool_2d(model, node):
    return _prepare(model, node, _avg_row, True)



# ---- MEAN (ops/mean.c: int8 over any axes, keep_dims or not) ----

_M_DIMS = 2
_M_STRIDES = 8
_M_IDXK = 14
_M_IDXR = 20
_M_ZP = 26


@micropython.viper
def _mean_sums(x: ptr8, acc: ptr32, p: ptr32):
    """acc[o] = sum of the int8 values reduced into output o, minus zp_in * count (int32 wrap)."""
    one = 1
    b31 = one << 31
    nk = int(p[0])
    nr = int(p[1])
    zp_total = (int(p[26]) ^ b31) - b31
    k = 0
    while k < nk:
        p[14 + k] = 0
        k += 1
    base = 0
    o = 0
    while True:
        s = 0
        if nr == 0:
            s = (int(x[base]) ^ 128) - 128
        else:
            k = 0
            while k < nr:
                p[20 + k] = 0
                k += 1
            b = base
            inner_n = int(p[2 + nk + nr - 1])
            inner_st = int(p[8 + nk + nr - 1])
            while True:
                q = b
                i = 0
                while i < inner_n:
                    s += (int(x[q]) ^ 128) - 128
                    q += inner_st
                    i += 1
                k = nr - 2
                while k >= 0:
                    b += int(p[8 + nk + k])
                    v = int(p[20 + k]) + 1
                    if v < int(p[2 + nk + k]):
                        p[20 + k] = v
                        break
                    b -= int(p[8 + nk + k]) * int(p[2 + nk + k])
                    p[20 + k] = 0
                    k -= 1
                if k < 0:
                    break
        acc[o] = s - zp_total
        o += 1
        k = nk - 1
        while k >= 0:
            base += int(p[8 + k])
            v = int(p[14 + k]) + 1
            if v < int(p[2 + k]):
                p[14 + k] = v
                break
            base -= int(p[8 + k]) * int(p[2 + k])
            p[14 + k] = 0
            k -= 1
        if k < 0:
            break


class Mean:
    def __init__(self, inp, out, prm, n, mult, shift, rq):
        self.t_in, self.t_out, self.prm, self.n = inp, out, prm, n
        self.mult, self.shift, self.rq = mult, shift, rq
        self.acc = array.array("i", bytes(4 * max(n, 1)))

    def bind(self):
        self.x = self.t_in.buf
        self.y = self.t_out.buf

    def eval(self):
        _mean_sums(self.x, self.acc, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers
        requant(self.acc, self.y, self.n, self.mult, self.shift, self.rq)  # type: ignore[arg-type]  # arrays are viper pointers


def prepare_mean(model, node):
    if len(node.inputs) != 2 or len(node.outputs) != 1:
        raise ValueError("bad model: expects 2 inputs and 1 output")
    inp = model.tensor(node, 0)
    axis = model.tensor(node, 1)
    out = model.tensor(node, 0, True)
    if inp is None or axis is None or out is None:
        raise ValueError("bad model: missing tensor")
    if inp.dtype != INT8 or out.dtype != INT8:
        raise ValueError("only int8 input and output are supported (input type %d, output type %d)"
                         % (inp.dtype, out.dtype))
    if axis.dtype != INT32:
        raise ValueError("bad model: axis must be int32")
    if not axis.const:
        raise ValueError("non-constant axis")
    nd = len(inp.shape)
    if nd < 1:
        raise ValueError("scalar input")
    if inp.q_count < 1 or out.q_count < 1:
        raise ValueError("bad model: input and output must be quantized")
    reduced = [False] * nd
    ab = axis.buf
    for i in range(axis.elements()):
        v = ab[4 * i] | (ab[4 * i + 1] << 8) | (ab[4 * i + 2] << 16) | (ab[4 * i + 3] << 24)
        a = v - (1 << 32) if v & 0x80000000 else v
        r = a + nd if a < 0 else a
        if not 0 <= r < nd:
            raise ValueError("axis %d out of range for rank %d" % (a, nd))
        reduced[r] = True
    keep = node.options.u8(0, 0) != 0
    strides = [0] * nd
    st = 1
    for i in range(nd - 1, -1, -1):
        strides[i] = st
        st *= inp.shape[i]
    count = 1
    out_elems = 1
    n_kept = 0
    for i in range(nd):
        if reduced[i]:
            count *= inp.shape[i]
        else:
            out_elems *= inp.shape[i]
            n_kept += 1
    if keep:
        if len(out.shape) != nd:
            raise ValueError("keep_dims output must have rank %d" % nd)
        for i in range(nd):
            if out.shape[i] != (1 if reduced[i] else inp.shape[i]):
                raise ValueError("output axis %d is %d" % (i, out.shape[i]))
    else:
        if not (len(out.shape) == n_kept or (n_kept == 0 and len(out.shape) == 1)):
            raise ValueError("output rank %d, expected %d" % (len(out.shape), n_kept))
        j = 0
        for i in range(nd):
            if j >= len(out.shape):
                break
            if reduced[i]:
                continue
            if out.shape[j] != inp.shape[i]:
                raise ValueError("output axis %d is %d" % (j, out.shape[j]))
            j += 1
    prm = array.array("i", bytes(4 * 27))
    dims: list = []
    strd: list = []
    n_k = 0
    for pas in (False, True):
        first = len(dims)
        for i in range(nd):
            if reduced[i] != pas or inp.shape[i] == 1:
                continue
            if len(dims) > first and strd[-1] == strides[i] * inp.shape[i]:
                dims[-1] *= inp.shape[i]
                strd[-1] = strides[i]
            else:
                dims.append(inp.shape[i])
                strd.append(strides[i])
        if not pas:
            n_k = len(dims)
    if out.elements() != out_elems:
        raise ValueError("output has %d elements, expected %d" % (out.elements(), out_elems))
    if count <= 0:
        raise ValueError("empty reduction")
    prm[0] = n_k
    prm[1] = len(dims) - n_k
    for k in range(len(dims)):
        prm[_M_DIMS + k] = dims[k]
        prm[_M_STRIDES + k] = strd[k]
    zp_total = (inp.zero_point * count) & 0xFFFFFFFF
    prm[_M_ZP] = zp_total - (1 << 32) if zp_total & 0x80000000 else zp_total
    mult, shift = exact.ratio_multiplier(inp.scale, out.scale)
    s = len(bin(count)) - 3  # floor(log2(count))
    s = min(s, 32, 31 + shift)
    if s < 0 or not -31 <= shift - s <= 30:
        # As the C engine: TFLite Micro's 32-bit shifts are undefined there (hostile models only).
        raise ValueError("input and output scales are too far apart (shift %d)" % (shift - s))
    m = (mult << s) // count if mult >= 0 else -((-mult << s) // count)
    m &= 0xFFFFFFFF
    m = m - (1 << 32) if m & 0x80000000 else m
    n = out_elems
    return Mean(inp, out, prm, n, array.array("i", [m]), array.array("i", [shift - s]),
                array.array("i", [out.zero_point, -128, 127, 1]))
