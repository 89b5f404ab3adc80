"""CONCATENATION, STRIDED_SLICE and SPLIT_V: byte moves, with the checks and
semantics of the C engine's ops/concatenation.c, strided_slice.c, split_v.c."""

import array

import micropython

from .model import FLOAT32, INT8, INT16, INT32, UINT8

BOOL = 6
INT64 = 4


@micropython.viper
def copy_at(dst: ptr8, doff: int, src: ptr8, soff: int, n: int):
    i = 0
    while i < n:
        dst[doff + i] = src[soff + i]
        i += 1


def _i32_at(t, i):
    b = t.buf
    p = 4 * i
    v = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
    return v - (1 << 32) if v & 0x80000000 else v


# ---- CONCATENATION ----

_CONCAT_SIZE = {INT8: 1, BOOL: 1, INT16: 2, INT32: 4, FLOAT32: 4, INT64: 8}


class Concat:
    def __init__(self, ins, out, outer, chunks):
        self.ins, self.t_out, self.outer, self.chunks = ins, out, outer, chunks

    def bind(self):
        self.srcs = [t.buf for t in self.ins]
        self.dst = self.t_out.buf
        self.count = len(self.ins)

    def eval(self):
        dst = self.dst
        srcs = self.srcs
        chunks = self.chunks
        d = 0
        for k in range(self.outer):
            for i in range(self.count):
                c = chunks[i]
                copy_at(dst, d, srcs[i], k * c, c)
                d += c


def prepare_concatenation(model, node):
    n = len(node.inputs)
    if not 1 <= n <= 10:
        raise ValueError("%d inputs (1 to 10 supported)" % n)
    if len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 output")
    out = model.tensor(node, 0, True)
    if out is None:
        raise ValueError("bad model: missing output")
    act = node.options.u8(1, 0)
    if act != 0:
        raise ValueError("fused activation %d (only NONE)" % act)
    size = _CONCAT_SIZE.get(out.dtype, 0)
    if size == 0:
        raise ValueError("unsupported type %d" % out.dtype)
    nd = len(out.shape)
    if nd < 1:
        raise ValueError("output is a scalar")
    axis = node.options.i32(0, 0)
    if axis < 0:
        axis += nd
    if not 0 <= axis < nd:
        raise ValueError("axis %d out of range for %d dims" % (axis, nd))
    inner = 1
    for k in range(axis + 1, nd):
        inner *= out.shape[k]
    outer = 1
    for k in range(axis):
        outer *= out.shape[k]
    along = 0
    ins = []
    for i in range(n):
        t = model.tensor(node, i)
        if t is None:
            raise ValueError("bad model: missing input %d" % i)
        if t.dtype != out.dtype:
            raise ValueError("input %d type %d, output type %d" % (i, t.dtype, out.dtype))
        if out.dtype == INT8 and (t.scale_bits[:1] != out.scale_bits[:1] or t.zero_point != out.zero_point):
            raise ValueError("int8 input %d quantized differently from the output" % i)
        if len(t.shape) != nd:
            raise ValueError("input %d has %d dims, output %d" % (i, len(t.shape), nd))
        for k in range(nd):
            if k != axis and t.shape[k] != out.shape[k]:
                raise ValueError("input %d dim %d mismatch" % (i, k))
        along += t.shape[axis]
        ins.append(t)
    if along != out.shape[axis]:
        raise ValueError("inputs do not add up to output dim %d" % axis)
    if outer * along * inner * size != out.bytes:
        raise ValueError("output size mismatch")
    chunks = array.array("i", [0] * n)
    for i in range(n):
        chunks[i] = ins[i].shape[axis] * inner * size
        if outer * chunks[i] != ins[i].bytes:
            raise ValueError("input %d size mismatch" % i)
    return Concat(ins, out, outer, chunks)


# ---- SPLIT_V ----

_SPLIT_SIZE = {INT8: 1, UINT8: 1, INT16: 2, INT32: 4, FLOAT32: 4}


class SplitV:
    def __init__(self, inp, outs, outer, chunks):
        self.t_in, self.outs, self.outer, self.chunks = inp, outs, outer, chunks

    def bind(self):
        self.src = self.t_in.buf
        self.dsts = [t.buf for t in self.outs]
        self.count = len(self.outs)

    def eval(self):
        src = self.src
        dsts = self.dsts
        chunks = self.chunks
        s = 0
        for k in range(self.outer):
            for i in range(self.count):
                c = chunks[i]
                copy_at(dsts[i], k * c, src, s, c)
                s += c


def split_setup(model, node, inp, axis_t, n):
    """What SPLIT and SPLIT_V share: the axis (a constant int32), num_splits, and outputs that
    match the input except along the axis. Returns (element size, axis, outputs, their total
    extent along the axis)."""
    if inp is None or axis_t is None:
        raise ValueError("bad model: missing input")
    if not axis_t.const:
        raise ValueError("non-constant axis tensor")
    if axis_t.dtype != INT32 or axis_t.bytes < 4:
        raise ValueError("axis tensor must be int32")
    if node.options.i32(0, n) != n:
        raise ValueError("bad model: num_splits %d but %d outputs" % (node.options.i32(0, n), n))
    size = _SPLIT_SIZE.get(inp.dtype, 0)
    if size == 0:
        raise ValueError("unsupported type %d" % inp.dtype)
    nd = len(inp.shape)
    axis = _i32_at(axis_t, 0)
    if axis < 0:
        axis += nd
    if not 0 <= axis < nd:
        raise ValueError("axis out of range for %d dims" % nd)
    along = 0
    outs = []
    for i in range(n):
        o = model.tensor(node, i, True)
        if o is None:
            raise ValueError("bad model: missing output %d" % i)
        if o.dtype != inp.dtype:
            raise ValueError("output %d type differs" % i)
        if len(o.shape) != nd:
            raise ValueError("output %d has %d dims, input %d" % (i, len(o.shape), nd))
        for k in range(nd):
            if k != axis and o.shape[k] != inp.shape[k]:
                raise ValueError("output %d dim %d mismatch" % (i, k))
        if o.elements() * size != o.bytes:
            raise ValueError("output %d size" % i)
        along += o.shape[axis]
        outs.append(o)
    if inp.elements() * size != inp.bytes:
        raise ValueError("input size mismatch")
    return size, axis, outs, along


def prepare_split_v(model, node):
    n = len(node.outputs)
    if len(node.inputs) != 3 or n < 1:
        raise ValueError("bad model: needs 3 inputs and outputs")
    inp = model.tensor(node, 0)
    size, axis, outs, along = split_setup(model, node, inp, model.tensor(node, 2), n)
    nd = len(inp.shape)
    if along != inp.shape[axis]:
        raise ValueError("outputs do not add up to input dim %d" % axis)
    sizes = model.tensor(node, 1)
    if sizes is not None and sizes.const:
        if sizes.dtype != INT32:
            raise ValueError("size_splits must be int32")
        if len(sizes.shape) != 1 or sizes.shape[0] != n or sizes.bytes < 4 * n:
            raise ValueError("size_splits must hold %d values" % n)
        unknown = 0
        for i in range(n):
            v = _i32_at(sizes, i)
            if v == -1:
                unknown += 1
            elif v != outs[i].shape[axis]:
                raise ValueError("size_splits[%d] = %d disagrees with output" % (i, v))
        if unknown > 1:
            raise ValueError("bad model: size_splits has %d entries of -1" % unknown)
    inner = size
    for k in range(axis + 1, nd):
        inner *= inp.shape[k]
    outer = 1
    for k in range(axis):
        outer *= inp.shape[k]
    chunks = array.array("i", [o.shape[axis] * inner for o in outs])
    return SplitV(inp, outs, outer, chunks)


# ---- STRIDED_SLICE ----

_SS_SIZE = {INT8: 1, UINT8: 1, BOOL: 1, INT16: 2, INT32: 4, FLOAT32: 4}
_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1


def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


def _check_start(begin, stride, masked, size):
    if masked:
        begin = _I32_MIN if stride > 0 else _I32_MAX
    if begin < 0:
        begin += size
    return _clamp(begin, 0, size) if stride > 0 else _clamp(begin, -1, size - 1)


def _check_stop(end, stride, masked, size):
    if masked:
        end = _I32_MAX if stride > 0 else _I32_MIN
    if end < 0:
        end += size
    return _clamp(end, 0, size) if stride > 0 else _clamp(end, -1, size - 1)


def _eval_start(begin, stride, masked, size):
    if begin < 0:
        begin += size
    begin = _clamp(begin, 0, size) if stride > 0 else _clamp(begin, -1, size - 1)
    if masked:
        begin = 0 if stride > 0 else size - 1
    return begin


def _eval_stop(end, start, stride, masked, shrink, size):
    if shrink:
        return start if start >= size else start + 1
    if end < 0:
        end += size
    end = _clamp(end, 0, size) if stride > 0 else _clamp(end, -1, size - 1)
    if masked:
        end = size if stride > 0 else -1
    return end


def _iterations(start, stop, stride):
    span = stop - start if stride > 0 else start - stop
    step = stride if stride > 0 else -stride
    return (span + step - 1) // step if span > 0 else 0


def _ceil_div_f32(a, b):
    """(int32)ceilf((float)a / (float)b) for int32 a, b (b != 0), exactly."""
    from . import exact

    q = exact.div_f(exact.to_float((a, 0)), exact.to_float((b, 0)))
    m, e = q
    if e >= 0:
        return m << e
    # ceil of m * 2**e
    return -((-m) >> -e)


@micropython.viper
def _ss_copy(src: ptr8, dst: ptr8, p: ptr32):
    """p: start[4], count[4], step[4], run, size (step/start in bytes; may be negative)."""
    one = 1
    b31 = one << 31
    s0 = (int(p[0]) ^ b31) - b31
    s1 = (int(p[1]) ^ b31) - b31
    s2 = (int(p[2]) ^ b31) - b31
    s3 = (int(p[3]) ^ b31) - b31
    c0 = int(p[4])
    c1 = int(p[5])
    c2 = int(p[6])
    c3 = int(p[7])
    t0 = (int(p[8]) ^ b31) - b31
    t1 = (int(p[9]) ^ b31) - b31
    t2 = (int(p[10]) ^ b31) - b31
    t3 = (int(p[11]) ^ b31) - b31
    run = int(p[12])
    size = int(p[13])
    d = 0
    i0 = 0
    o0 = s0
    while i0 < c0:
        i1 = 0
        o1 = o0 + s1
        while i1 < c1:
            i2 = 0
            o2 = o1 + s2
            while i2 < c2:
                o3 = o2 + s3
                if run > 0:
                    k = 0
                    while k < run:
                        dst[d + k] = src[o3 + k]
                        k += 1
                    d += run
                else:
                    i3 = 0
                    while i3 < c3:
                        k = 0
                        while k < size:
                            dst[d + k] = src[o3 + k]
                            k += 1
                        d += size
                        o3 += t3
                        i3 += 1
                o2 += t2
                i2 += 1
            o1 += t1
            i1 += 1
        o0 += t0
        i0 += 1


class StridedSlice:
    def __init__(self, inp, out, prm):
        self.t_in, self.t_out, self.prm = inp, out, prm

    def bind(self):
        self.src = self.t_in.buf
        self.dst = self.t_out.buf

    def eval(self):
        _ss_copy(self.src, self.dst, self.prm)  # type: ignore[arg-type]  # arrays are viper pointers


def _vector(t, what, dims):
    if t is None:
        raise ValueError("bad model: missing %s tensor" % what)
    if not t.const:
        raise ValueError("non-constant %s tensor" % what)
    if t.dtype != INT32:
        raise ValueError("%s tensor must be int32" % what)
    if len(t.shape) != 1 or t.shape[0] != dims or t.bytes < 4 * dims:
        raise ValueError("%s tensor must hold %d values" % (what, dims))
    return [_i32_at(t, i) for i in range(dims)]


def prepare_strided_slice(model, node):
    if len(node.inputs) != 4 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 4 inputs and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("bad model: missing input or output")
    size = _SS_SIZE.get(inp.dtype, 0)
    if size == 0:
        raise ValueError("unsupported type %d" % inp.dtype)
    if out.dtype != inp.dtype:
        raise ValueError("output type differs from input")
    dims = len(inp.shape)
    if dims > 4:
        raise ValueError("input has %d dims (at most 4)" % dims)
    begin = _vector(model.tensor(node, 1), "begin", dims)
    end = _vector(model.tensor(node, 2), "end", dims)
    strides = _vector(model.tensor(node, 3), "strides", dims)
    begin_mask = node.options.i32(0, 0)
    end_mask = node.options.i32(1, 0)
    shrink_mask = node.options.i32(4, 0)
    pad = 4 - dims
    start = [0] * 4
    count = [1] * 4
    in_dims = [1] * 4
    out_axis = 0
    total = 1
    for i in range(dims):
        b, e0, st, sz = begin[i], end[i], strides[i], inp.shape[i]
        bm, em, sh = (begin_mask >> i) & 1, (end_mask >> i) & 1, (shrink_mask >> i) & 1
        if st == 0:
            raise ValueError("bad model: stride of axis %d is 0" % i)
        if sz <= 0:
            raise ValueError("axis %d is empty" % i)
        s = _check_start(b, st, bm, sz)
        e = s + 1 if sh else _check_stop(e0, st, em, sz)
        want = _ceil_div_f32(e - s, st)
        if want < 0:
            want = 0
        if not sh:
            if out_axis >= len(out.shape) or out.shape[out_axis] != want:
                raise ValueError("output dim %d should be %d" % (out_axis, want))
            out_axis += 1
        a = _eval_start(b, st, bm, sz)
        stop = _eval_stop(e0, a, st, em, sh, sz)
        c = _iterations(a, stop, st)
        if sh and c != 1:
            raise ValueError("shrunk axis %d index out of range" % i)
        start[pad + i] = a
        count[pad + i] = c
        in_dims[pad + i] = sz
        total *= c
    if out_axis != len(out.shape):
        raise ValueError("output has %d dims, slice gives %d" % (len(out.shape), out_axis))
    if total * size != out.bytes:
        raise ValueError("slice fills %d of %d output bytes" % (total * size, out.bytes))
    if inp.elements() * size != inp.bytes:
        raise ValueError("input size mismatch")
    step = [0] * 4
    pitch = size
    for a in range(3, -1, -1):
        stv = strides[a - pad] if (a >= pad and count[a] > 1) else 0
        step[a] = stv * pitch
        start[a] *= pitch
        pitch *= in_dims[a]
    run = count[3] * size if (dims == 0 or strides[dims - 1] == 1) else 0
    prm = array.array("i", start + count + step + [run, size])
    return StridedSlice(inp, out, prm)
