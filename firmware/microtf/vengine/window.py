"""Window geometry of CONV_2D, DEPTHWISE_CONV_2D and the pools (mtf_window.h).

SAME padding omits the taps outside the input, so each output row and column
gets a clipped tap range [start, end), computed here once at prepare into an
int32 array: for each output column (ix0, fx0, fx1), then for each output
row (iy0, fy0, fy1). The viper kernels only read that table.
"""

import array

PADDING_SAME = 0
PADDING_VALID = 1
GEO_HEADER = 24  # int32 parameters before the clip table


def out_size(padding, size, filt, stride, dilation):
    effective = (filt - 1) * dilation + 1
    if stride <= 0:
        return 0
    if padding == PADDING_SAME:
        return (size + stride - 1) // stride
    if padding == PADDING_VALID:
        return (size + stride - effective) // stride
    return 0


def padding_before(stride, dilation, size, filt, out):
    effective = (filt - 1) * dilation + 1
    total = (out - 1) * stride + effective - size
    if total < 0:
        total = 0
    return total // 2


def check(padding, in_h, in_w, out_h, out_w, stride_h, stride_w, dil_h, dil_w, kh, kw):
    """(pad_h, pad_w) after the C engine's checks (mtf_window_init)."""
    if padding not in (PADDING_SAME, PADDING_VALID):
        raise ValueError("unsupported padding %d" % padding)
    if stride_h <= 0 or stride_w <= 0:
        raise ValueError("stride must be positive (%d, %d)" % (stride_h, stride_w))
    if dil_h <= 0 or dil_w <= 0:
        raise ValueError("dilation must be positive (%d, %d)" % (dil_h, dil_w))
    if kh <= 0 or kw <= 0:
        raise ValueError("filter size must be positive (%d, %d)" % (kh, kw))
    want_h = out_size(padding, in_h, kh, stride_h, dil_h)
    want_w = out_size(padding, in_w, kw, stride_w, dil_w)
    if want_h <= 0 or want_w <= 0:
        raise ValueError("window larger than the input")
    if out_h != want_h or out_w != want_w:
        raise ValueError("output is %dx%d, padding and strides give %dx%d" % (out_h, out_w, want_h, want_w))
    return (padding_before(stride_h, dil_h, in_h, kh, out_h), padding_before(stride_w, dil_w, in_w, kw, out_w))


def clip(origin, dilation, k_size, in_size):
    left = in_size - origin
    if dilation == 1:
        s = -origin if origin < 0 else 0
        e = left if left > 0 else 0
    else:
        s = (-origin + dilation - 1) // dilation if origin < 0 else 0
        e = (left + dilation - 1) // dilation if left > 0 else 0
    if e > k_size:
        e = k_size
    if e < s:
        e = s
    return s, e


def geometry(header, out_h, out_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kh, kw, in_h, in_w):
    """int32 array: header (GEO_HEADER ints), then the column and row clip tables."""
    geo = array.array("i", bytes(4 * (GEO_HEADER + 3 * (out_w + out_h))))
    for i, v in enumerate(header):
        geo[i] = v
    p = GEO_HEADER
    for ox in range(out_w):
        ix0 = ox * stride_w - pad_w
        s, e = clip(ix0, dil_w, kw, in_w)
        geo[p], geo[p + 1], geo[p + 2] = ix0, s, e
        p += 3
    for oy in range(out_h):
        iy0 = oy * stride_h - pad_h
        s, e = clip(iy0, dil_h, kh, in_h)
        geo[p], geo[p + 1], geo[p + 2] = iy0, s, e
        p += 3
    return geo
