"""CONV_2D and DEPTHWISE_CONV_2D, int8 with per-tensor or per-channel int8
weights and int32 bias, with the semantics of the C engine's ops/conv_2d.c and
ops/depthwise_conv_2d.c (TFLite Micro's reference kernels):

    acc[c] = bias[c] + sum over taps inside the input of w * (x + in_offset)

in wrapping int32, then MultiplyByQuantizedMultiplier per channel. The viper
kernels compute one output row of accumulators per call; fxp.requant turns
it into int8.

CONV_2D windows wholly inside the input (one group, unit width dilation) take
a fast path: with u = raw byte ^ 128 = s + 128,
    sum(s_w * (s_x + off)) = sum(u_w*u_x) - 128*sum(u_w) - 128*sum(u_x)
                             + 16384*n + off*sum(s_w),
where the weight terms are folded at prepare and sum(u_x) is taken once per
pixel, so the inner loop is four unsigned MACs per input byte load.
"""

import array

import micropython

from . import exact
from . import window as W
from .fxp import requant
from .model import INT8, INT32

# Header fields of the geometry array (window.GEO_HEADER ints).
G_IN_H = 0
G_IN_W = 1
G_CIN = 2
G_KH = 3
G_KW = 4
G_FDEPTH = 5
G_COUT = 6
G_DIL_H = 7
G_DIL_W = 8
G_IN_OFFSET = 9
G_OUT_W = 10
G_OUT_H = 11
G_ROW_LEN = 12
G_FILTER_LEN = 13
G_FAST = 14
G_BATCH_OFFSET = 16


@micropython.viper
def _conv_row(x: ptr8, w: ptr8, acc: ptr32, chan: ptr32, geo: ptr32, oy: int):
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    cin = int(geo[2])
    kh = int(geo[3])
    kw = int(geo[4])
    fdepth = int(geo[5])
    cout = int(geo[6])
    dil_h = int(geo[7])
    dil_w = int(geo[8])
    off = (int(geo[9]) ^ b31) - b31
    out_w = int(geo[10])
    row_len = int(geo[12])
    flen = int(geo[13])
    fast = int(geo[14])
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
        ab = ox * cout
        if fast and fy0 == 0 and fy1 == kh and fx0 == 0 and fx1 == kw:
            run = kw * cin
            sux = 0
            fy = 0
            while fy < kh:
                xi = xb + (iy0 + fy * dil_h) * row_len + ix0 * cin
                k = 0
                while k < run:
                    sux += int(x[xi + k]) ^ 128
                    k += 1
                fy += 1
            pix = 0 - 128 * sux
            c = 0
            while c + 4 <= cout:
                a0 = 0
                a1 = 0
                a2 = 0
                a3 = 0
                fy = 0
                while fy < kh:
                    xi = xb + (iy0 + fy * dil_h) * row_len + ix0 * cin
                    w0 = c * flen + fy * run
                    w1 = w0 + flen
                    w2 = w1 + flen
                    w3 = w2 + flen
                    k = 0
                    while k < run:
                        xv = int(x[xi + k]) ^ 128
                        a0 += (int(w[w0 + k]) ^ 128) * xv
                        a1 += (int(w[w1 + k]) ^ 128) * xv
                        a2 += (int(w[w2 + k]) ^ 128) * xv
                        a3 += (int(w[w3 + k]) ^ 128) * xv
                        k += 1
                    fy += 1
                acc[ab + c] = a0 + int(chan[cout + c]) + pix
                acc[ab + c + 1] = a1 + int(chan[cout + c + 1]) + pix
                acc[ab + c + 2] = a2 + int(chan[cout + c + 2]) + pix
                acc[ab + c + 3] = a3 + int(chan[cout + c + 3]) + pix
                c += 4
            while c < cout:
                a0 = 0
                fy = 0
                while fy < kh:
                    xi = xb + (iy0 + fy * dil_h) * row_len + ix0 * cin
                    w0 = c * flen + fy * run
                    k = 0
                    while k < run:
                        a0 += (int(w[w0 + k]) ^ 128) * (int(x[xi + k]) ^ 128)
                        k += 1
                    fy += 1
                acc[ab + c] = a0 + int(chan[cout + c]) + pix
                c += 1
        else:
            c = 0
            while c < cout:
                goff = int(chan[2 * cout + c])
                a = int(chan[c])
                fy = fy0
                while fy < fy1:
                    yrow = xb + (iy0 + fy * dil_h) * row_len + goff
                    fx = fx0
                    while fx < fx1:
                        xi = yrow + (ix0 + fx * dil_w) * cin
                        wi = c * flen + (fy * kw + fx) * fdepth
                        k = 0
                        while k < fdepth:
                            a += ((int(w[wi + k]) ^ 128) - 128) * (((int(x[xi + k]) ^ 128) - 128) + off)
                            k += 1
                        fx += 1
                    fy += 1
                acc[ab + c] = a
                c += 1
        ox += 1


@micropython.viper
def _dw_row(x: ptr8, w: ptr8, acc: ptr32, chan: ptr32, geo: ptr32, oy: int):
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    cin = int(geo[2])
    kw = int(geo[4])
    cout = int(geo[6])
    dil_h = int(geo[7])
    dil_w = int(geo[8])
    off = (int(geo[9]) ^ b31) - b31
    out_w = int(geo[10])
    row_len = int(geo[12])
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
        ab = ox * cout
        c = 0
        while c < cout:
            ic = int(chan[2 * cout + c])
            a = int(chan[c])
            fy = fy0
            while fy < fy1:
                yrow = xb + (iy0 + fy * dil_h) * row_len + ic
                wrow = fy * kw * cout + c
                fx = fx0
                while fx < fx1:
                    a += ((int(w[wrow + fx * cout]) ^ 128) - 128) * (
                        ((int(x[yrow + (ix0 + fx * dil_w) * cin]) ^ 128) - 128) + off
                    )
                    fx += 1
                fy += 1
            acc[ab + c] = a
            c += 1
        ox += 1


def _i32(v):
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def _load_i32(buf, i):
    p = 4 * i
    return _i32(buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24))


class _Conv:
    """Shared prepare of both convolutions (the C engine's mtf_conv_prepare) and eval."""

    def __init__(self, node, inp, filt, bias, out, channels, activation, kernel):
        if not (filt.q_count == 1 or filt.q_count == channels):
            raise ValueError("filter has %d scales for %d output channels" % (filt.q_count, channels))
        if filt.q_count > 1 and not (0 <= filt.q_dim < len(filt.shape) and filt.shape[filt.q_dim] == channels):
            raise ValueError("filter quantized_dimension %d does not hold the %d output channels"
                             % (filt.q_dim, channels))
        self.t_in, self.t_out, self.filt = inp, out, filt
        self.kernel = kernel
        lo, hi = exact.activation_range(activation, out.scale, out.zero_point, -128, 127)
        self.rq = array.array("i", [out.zero_point, lo, hi, channels])
        out_w = out.shape[2]
        n = out_w * channels
        # One multiplier per channel: requant cycles through them along the output row.
        self.mult = array.array("i", bytes(4 * channels))
        self.shift = array.array("i", bytes(4 * channels))
        cache = {}
        bits = filt.scale_bits
        in_scale, out_scale = inp.scale, out.scale
        for c in range(channels):
            fs = bits[c if filt.q_count > 1 else 0]
            if fs not in cache:
                cache[fs] = exact.product_ratio_multiplier(in_scale, exact.from_f32_bits(fs), out_scale)
            self.mult[c], self.shift[c] = cache[fs]
        self.chan = array.array("i", bytes(4 * 3 * channels))
        for c in range(channels):
            self.chan[c] = _load_i32(bias.buf, c) if bias is not None else 0
        self.acc = array.array("i", bytes(4 * max(n, 1)))
        self.channels = channels
        self.geo = array.array("i")  # set by the prepare function
        self.macs = 0

    def bind(self):
        out_h, out_w = self.t_out.shape[1], self.t_out.shape[2]
        row = out_w * self.channels
        self.rows = [self.t_out.buf[r * row : (r + 1) * row] for r in range(self.t_out.shape[0] * out_h)]
        self.out_h = out_h
        self.row = row
        self.batch_step = self.t_in.shape[1] * self.t_in.shape[2] * self.t_in.shape[3]
        self.batches = self.t_out.shape[0]

    def eval(self):
        # One name per line: a 4-tuple assignment would allocate a tuple.
        geo = self.geo
        acc = self.acc
        rows = self.rows
        oh = self.out_h
        x = self.t_in.buf
        w = self.filt.buf
        for b in range(self.batches):
            geo[G_BATCH_OFFSET] = b * self.batch_step
            for oy in range(oh):
                self.kernel(x, w, acc, self.chan, geo, oy)
                requant(acc, rows[b * oh + oy], self.row, self.mult, self.shift, self.rq)  # type: ignore[arg-type]  # arrays are viper pointers


def _check_common(model, node):
    n_in = len(node.inputs)
    if not (n_in in (2, 3) and len(node.outputs) == 1):
        raise ValueError("expects 2 or 3 inputs and 1 output")
    inp = model.tensor(node, 0)
    filt = model.tensor(node, 1)
    bias = model.tensor(node, 2) if n_in == 3 else None
    out = model.tensor(node, 0, True)
    if inp is None or filt is None or out is None:
        raise ValueError("missing tensor")
    if inp.dtype != INT8 or out.dtype != INT8:
        raise ValueError("only int8 input and output are supported (input type %d, output type %d)"
                         % (inp.dtype, out.dtype))
    if filt.dtype != INT8:
        raise ValueError("only int8 filters are supported (type %d)" % filt.dtype)
    if not filt.const:
        raise ValueError("non-constant filter")
    if len(inp.shape) != 4 or len(filt.shape) != 4 or len(out.shape) != 4:
        raise ValueError("input, filter and output must be 4-D")
    if inp.q_count < 1 or filt.q_count < 1 or out.q_count < 1:
        raise ValueError("input, filter and output must be quantized")
    if inp.shape[0] != out.shape[0]:
        raise ValueError("batch of input and output differ")
    if bias is not None and not bias.const:
        raise ValueError("non-constant bias is not supported by the viper engine")
    return inp, filt, bias, out


def _check_bias(bias, cout):
    if bias is not None:
        if bias.dtype != INT32:
            raise ValueError("bias must be int32 (type %d)" % bias.dtype)
        if bias.elements() != cout:
            raise ValueError("bias has %d values for %d channels" % (bias.elements(), cout))


def prepare_conv_2d(model, node):
    inp, filt, bias, out = _check_common(model, node)
    cout, kh, kw, fdepth = filt.shape
    cin = inp.shape[3]
    if out.shape[3] != cout:
        raise ValueError("output has %d channels, filter %d" % (out.shape[3], cout))
    if fdepth <= 0 or cin % fdepth:
        raise ValueError("input depth %d is not a multiple of filter depth %d" % (cin, fdepth))
    groups = cin // fdepth
    if groups == 0:
        raise ValueError("input has no channels")
    if cout % groups:
        raise ValueError("%d output channels do not split into %d groups" % (cout, groups))
    _check_bias(bias, cout)
    o = node.options
    stride_w, stride_h = o.i32(1, 0), o.i32(2, 0)
    dil_w, dil_h = o.i32(4, 1), o.i32(5, 1)
    in_h, in_w = inp.shape[1], inp.shape[2]
    out_h, out_w = out.shape[1], out.shape[2]
    pad_h, pad_w = W.check(o.u8(0, W.PADDING_SAME), in_h, in_w, out_h, out_w, stride_h, stride_w, dil_h, dil_w,
                           kh, kw)
    conv = _Conv(node, inp, filt, bias, out, cout, o.u8(3, 0), _conv_row)
    flen = kh * kw * fdepth
    in_offset = -inp.zero_point
    per_group = cout // groups
    wd = filt.buf
    for c in range(cout):
        s = 0
        su = 0
        for k in range(c * flen, (c + 1) * flen):
            v = wd[k]
            su += v ^ 128
            s += v - 256 if v > 127 else v
        conv.chan[cout + c] = _i32(conv.chan[c] + in_offset * s - 128 * su + 16384 * flen)
        conv.chan[2 * cout + c] = (c // per_group) * fdepth
    fast = 1 if (groups == 1 and dil_w == 1) else 0
    header = [in_h, in_w, cin, kh, kw, fdepth, cout, dil_h, dil_w, in_offset, out_w, out_h, in_w * cin, flen, fast]
    conv.geo = W.geometry(header, out_h, out_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kh, kw, in_h, in_w)
    conv.macs = out.shape[0] * out_h * out_w * cout * flen
    return conv


def prepare_depthwise_conv_2d(model, node):
    inp, filt, bias, out = _check_common(model, node)
    cin = inp.shape[3]
    _, kh, kw, cout = filt.shape
    o = node.options
    dm = o.i32(3, 0)
    if filt.shape[0] != 1:
        raise ValueError("filter must be [1, KH, KW, C]")
    if out.shape[3] != cout:
        raise ValueError("output has %d channels, filter %d" % (out.shape[3], cout))
    if dm <= 0 or cout != cin * dm:
        raise ValueError("%d output channels are not %d input channels times depth multiplier %d"
                         % (cout, cin, dm))
    _check_bias(bias, cout)
    stride_w, stride_h = o.i32(1, 0), o.i32(2, 0)
    dil_w, dil_h = o.i32(5, 1), o.i32(6, 1)
    in_h, in_w = inp.shape[1], inp.shape[2]
    out_h, out_w = out.shape[1], out.shape[2]
    pad_h, pad_w = W.check(o.u8(0, W.PADDING_SAME), in_h, in_w, out_h, out_w, stride_h, stride_w, dil_h, dil_w,
                           kh, kw)
    conv = _Conv(node, inp, filt, bias, out, cout, o.u8(4, 0), _dw_row)
    for c in range(cout):
        conv.chan[2 * cout + c] = c // dm
    header = [in_h, in_w, cin, kh, kw, 1, cout, dil_h, dil_w, -inp.zero_point, out_w, out_h, in_w * cin,
              kh * kw, 0]
    conv.geo = W.geometry(header, out_h, out_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kh, kw, in_h, in_w)
    conv.macs = out.shape[0] * out_h * out_w * cout * kh * kw
    return conv
