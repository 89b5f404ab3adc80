"""EXPAND_DIMS, SQUEEZE, SHAPE, PACK, SPLIT and PAD: byte moves, with the
checks and semantics of the C engine's ops/expand_dims.c, squeeze.c, shape.c,
pack.c, split.c and pad.c. (Kept apart from ops_move, which the streaming
wake-word models import, so small boards load only what a model uses.)"""

import array

import micropython

from .model import FLOAT32, INT8, INT16, INT32, UINT8
from .ops_move import BOOL, INT64, SplitV, _i32_at, copy_at, split_setup


# ---- EXPAND_DIMS, SQUEEZE (a copy, as RESHAPE), SHAPE, PACK, SPLIT ----

_EXPAND_TYPES = (INT8, UINT8, INT16, INT32, FLOAT32)
_SQUEEZE_TYPES = (INT8, UINT8, BOOL, INT16, 1, INT32, FLOAT32, INT64, 10)


def prepare_expand_dims(model, node):
    from .ops_simple import Reshape

    if len(node.inputs) != 2 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 2 inputs and 1 output")
    inp = model.tensor(node, 0)
    axis_t = model.tensor(node, 1)
    out = model.tensor(node, 0, True)
    if inp is None or axis_t is None or out is None:
        raise ValueError("bad model: missing input or output")
    if not axis_t.const:
        raise ValueError("non-constant axis tensor")
    if axis_t.dtype != INT32 or len(axis_t.shape) > 1 or axis_t.bytes < 4:
        raise ValueError("axis must be one int32")
    if inp.dtype != out.dtype:
        raise ValueError("output type differs from input")
    if inp.dtype not in _EXPAND_TYPES:
        raise ValueError("unsupported type %d" % inp.dtype)
    dims = len(inp.shape)
    axis = _i32_at(axis_t, 0)
    if axis < 0:
        axis += dims + 1
    if not 0 <= axis <= dims:
        raise ValueError("axis out of range for %d dims" % dims)
    if len(out.shape) != dims + 1:
        raise ValueError("output must have %d dims" % (dims + 1))
    for k in range(dims + 1):
        want = inp.shape[k] if k < axis else (1 if k == axis else inp.shape[k - 1])
        if out.shape[k] != want:
            raise ValueError("output dim %d should be %d" % (k, want))
    if inp.bytes != out.bytes:
        raise ValueError("input and output sizes differ")
    return Reshape(inp, out)


def prepare_squeeze(model, node):
    from .ops_simple import Reshape

    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 input and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("bad model: missing input or output")
    if inp.dtype != out.dtype:
        raise ValueError("output type differs from input")
    if inp.dtype not in _SQUEEZE_TYPES:
        raise ValueError("unsupported type %d" % inp.dtype)
    dims = len(inp.shape)
    lst = node.options.i32_vec(0)
    count = -1 if lst is None else len(lst)
    if count > 8:
        raise ValueError("%d squeeze dims (at most 8)" % count)
    drop = [False] * dims
    if count <= 0:
        for k in range(dims):
            drop[k] = inp.shape[k] == 1
    else:
        for v in lst:
            k = v + dims if v < 0 else v
            if not (0 <= k < dims and inp.shape[k] == 1):
                raise ValueError("cannot squeeze dim %d" % v)
            drop[k] = True
    kept = 0
    for k in range(dims):
        if drop[k]:
            continue
        if not (kept < len(out.shape) and out.shape[kept] == inp.shape[k]):
            raise ValueError("output dim %d should be %d" % (kept, inp.shape[k]))
        kept += 1
    if kept != len(out.shape):
        raise ValueError("output has %d dims, squeeze gives %d" % (len(out.shape), kept))
    if inp.bytes != out.bytes:
        raise ValueError("input and output sizes differ")
    return Reshape(inp, out)


class _Const:
    """Writes fixed bytes (SHAPE's output) at every invoke."""

    def __init__(self, out, data):
        self.t_out, self.data, self.n = out, data, len(data)

    def bind(self):
        self.dst = self.t_out.buf

    def eval(self):
        copy_at(self.dst, 0, self.data, 0, self.n)


def prepare_shape(model, node):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 input and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("bad model: missing input or output")
    if out.dtype != INT32:
        raise ValueError("output type %d (int32 only)" % out.dtype)
    nd = len(inp.shape)
    if not (len(out.shape) == 1 and out.shape[0] == nd and out.bytes == 4 * nd):
        raise ValueError("output must hold %d values" % nd)
    data = bytearray(4 * nd)
    for k in range(nd):
        d = inp.shape[k]
        for b in range(4):
            data[4 * k + b] = (d >> (8 * b)) & 0xFF
    return _Const(out, data)


_PACK_SIZE = {INT8: 1, UINT8: 1, INT16: 2, INT32: 4, FLOAT32: 4, INT64: 8}


class Pack:
    def __init__(self, ins, out, outer, chunk):
        self.ins, self.t_out, self.outer, self.chunk = ins, out, outer, chunk

    def bind(self):
        self.srcs = [t.buf for t in self.ins]
        self.dst = self.t_out.buf
        self.count = len(self.ins)

    def eval(self):
        dst = self.dst
        srcs = self.srcs
        c = self.chunk
        n = self.count
        for i in range(n):
            src = srcs[i]
            for k in range(self.outer):
                copy_at(dst, (k * n + i) * c, src, k * c, c)


def prepare_pack(model, node):
    n = len(node.inputs)
    values = node.options.i32(0, 0)
    if n < 1 or values != n:
        raise ValueError("bad model: values_count %d but %d inputs" % (values, n))
    if len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 output")
    out = model.tensor(node, 0, True)
    in0 = model.tensor(node, 0)
    if out is None or in0 is None:
        raise ValueError("bad model: missing input or output")
    size = _PACK_SIZE.get(out.dtype, 0)
    if size == 0:
        raise ValueError("unsupported type %d" % out.dtype)
    dims = len(out.shape)
    if dims != len(in0.shape) + 1:
        raise ValueError("output needs one dim more than the inputs")
    axis = node.options.i32(1, 0)
    if axis < 0:
        axis += dims
    if not 0 <= axis < dims:
        raise ValueError("axis out of range for %d dims" % dims)
    for k in range(dims):
        want = in0.shape[k] if k < axis else (n if k == axis else in0.shape[k - 1])
        if out.shape[k] != want:
            raise ValueError("output dim %d should be %d" % (k, want))
    if out.elements() * size != out.bytes:
        raise ValueError("output size mismatch")
    ins = []
    for i in range(n):
        t = model.tensor(node, i)
        if t is None:
            raise ValueError("bad model: missing input %d" % i)
        if t.dtype != out.dtype:
            raise ValueError("input %d type differs" % i)
        if t.shape != in0.shape:
            raise ValueError("input %d shape differs" % i)
        if t.bytes != out.bytes // n:
            raise ValueError("input %d size mismatch" % i)
        ins.append(t)
    outer = 1
    for k in range(axis):
        outer *= out.shape[k]
    chunk = size
    for k in range(axis + 1, dims):
        chunk *= out.shape[k]
    return Pack(ins, out, outer, chunk)


def prepare_split(model, node):
    n = len(node.outputs)
    if len(node.inputs) != 2 or n < 1:
        raise ValueError("bad model: needs 2 inputs and outputs")
    inp = model.tensor(node, 1)
    size, axis, outs, _ = split_setup(model, node, inp, model.tensor(node, 0), n)
    dims = len(inp.shape)
    if inp.shape[axis] % n:
        raise ValueError("axis size %d does not split in %d" % (inp.shape[axis], n))
    for i in range(n):
        if outs[i].shape[axis] != inp.shape[axis] // n:
            raise ValueError("output %d dim %d should be %d" % (i, axis, inp.shape[axis] // n))
    inner = size
    for k in range(axis + 1, dims):
        inner *= inp.shape[k]
    outer = 1
    for k in range(axis):
        outer *= inp.shape[k]
    chunk = inp.shape[axis] // n * inner
    return SplitV(inp, outs, outer, array.array("i", [chunk] * n))


# ---- PAD ----

PAD_MAX_DIMS = 5


@micropython.viper
def _pad(src: ptr8, dst: ptr8, val: ptr8, p: ptr32):
    """p: nd, elem size, out dims[5], in dims[5], before[5], odometer[5]."""
    nd = int(p[0])
    es = int(p[1])
    last = nd - 1
    out_n = int(p[2 + last])
    in_row = int(p[7 + last]) * es
    left = int(p[12 + last])
    right = out_n - int(p[7 + last]) - left
    rows = 1
    i = 0
    while i < last:
        rows *= int(p[2 + i])
        p[17 + i] = 0
        i += 1
    s = 0
    d = 0
    r = 0
    while r < rows:
        inside = 1
        i = 0
        while i < last:
            k = int(p[17 + i]) - int(p[12 + i])
            if k < 0 or k >= int(p[7 + i]):
                inside = 0
            i += 1
        before = out_n
        after = 0
        if inside:
            before = left
            after = right
        e = 0
        while e < before:
            b = 0
            while b < es:
                dst[d] = val[b]
                d += 1
                b += 1
            e += 1
        if inside:
            j = 0
            while j < in_row:
                dst[d + j] = src[s + j]
                j += 1
            d += in_row
            s += in_row
        e = 0
        while e < after:
            b = 0
            while b < es:
                dst[d] = val[b]
                d += 1
                b += 1
            e += 1
        i = last - 1
        while i >= 0:
            k = int(p[17 + i]) + 1
            if k < int(p[2 + i]):
                p[17 + i] = k
                break
            p[17 + i] = 0
            i -= 1
        r += 1


class Pad:
    def __init__(self, inp, out, value, fill, prm):
        self.t_in, self.t_out, self.t_val, self.fill, self.prm = inp, out, value, fill, prm

    def bind(self):
        self.src = self.t_in.buf
        self.dst = self.t_out.buf
        self.val = self.t_val.buf if self.t_val is not None else self.fill

    def eval(self):
        _pad(self.src, self.dst, self.val, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers


def prepare_pad(model, node):
    n_in = len(node.inputs)
    if n_in not in (2, 3) or len(node.outputs) != 1:
        raise ValueError("bad model: expects 2 or 3 inputs and 1 output")
    inp = model.tensor(node, 0)
    pads = model.tensor(node, 1)
    value = model.tensor(node, 2) if n_in == 3 else None
    out = model.tensor(node, 0, True)
    if inp is None or pads is None or out is None:
        raise ValueError("bad model: missing tensor")
    if inp.dtype != out.dtype:
        raise ValueError("bad model: input and output types differ")
    if inp.dtype == INT8:
        es = 1
    elif inp.dtype in (INT32, FLOAT32):
        es = 4
    else:
        raise ValueError("unsupported type %d (int8, int32 and float32 only)" % inp.dtype)
    nd = len(inp.shape)
    if not (1 <= nd <= PAD_MAX_DIMS and len(out.shape) == nd):
        raise ValueError("input rank %d must be 1 to %d and equal the output rank %d" % (nd, PAD_MAX_DIMS, len(out.shape)))
    if pads.dtype != INT32:
        raise ValueError("paddings must be int32")
    if not pads.const:
        raise ValueError("non-constant paddings")
    if pads.elements() != 2 * nd:
        raise ValueError("paddings must be [%d, 2]" % nd)
    fill = bytearray(4)
    if value is not None:
        if value.dtype != inp.dtype:
            raise ValueError("bad model: constant_values type differs from input")
        if value.elements() != 1:
            raise ValueError("constant_values must be a scalar")
        if inp.dtype == INT8 and (
            value.zero_point != out.zero_point or value.scale_bits[:1] != out.scale_bits[:1]
        ):
            raise ValueError("constant_values quantization differs from the output")
    elif inp.dtype == INT8:
        if not -128 <= out.zero_point <= 127:
            raise ValueError("bad model: output zero point %d outside int8" % out.zero_point)
        fill[0] = out.zero_point & 0xFF
    prm = array.array("i", bytes(4 * 22))
    prm[0] = nd
    prm[1] = es
    for i in range(nd):
        lo = _i32_at(pads, 2 * i)
        hi = _i32_at(pads, 2 * i + 1)
        if lo < 0 or hi < 0:
            raise ValueError("negative padding on axis %d" % i)
        if out.shape[i] != inp.shape[i] + lo + hi:
            raise ValueError("output axis %d is %d, input plus paddings give %d" % (i, out.shape[i], inp.shape[i] + lo + hi))
        prm[2 + i] = out.shape[i]
        prm[7 + i] = inp.shape[i]
        prm[12 + i] = lo
    return Pad(inp, out, value, fill, prm)
