"""MAX_POOL_2D and AVERAGE_POOL_2D, int8, as the C engine's ops/max_pool_2d.c
and ops/average_pool_2d.c (prepare: mtf_pool_prepare in mtf_window.h)."""

import micropython

from . import exact
from . import window as W
from .model import INT8

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

