"""VModel: the pure-MicroPython engine's model (read, prepare, plan, invoke).

Same surface as the native binding:

    m = VModel(model_bytes)
    m.input(0)[:] = data            # memoryview over the arena
    m.invoke()
    y = m.output(0)
    m.input_info(0) -> (shape, dtype, scale, zero_point)

All activations live in one bytearray (the arena) laid out by the plan of
firmware/engine/src/mtf_planner.h, so every tensor sits at the offset the C
engine gives it; operator data (multipliers, folded biases) are Python
arrays made at load. invoke() allocates nothing.
"""

from . import exact
from . import plan as _plan
from .reader import (
    F_BUFFER_DATA,
    F_BUFFER_OFFSET,
    F_BUFFER_SIZE,
    F_MODEL_BUFFERS,
    F_MODEL_OPCODES,
    F_MODEL_SUBGRAPHS,
    F_OP_INPUTS,
    F_OP_OPCODE,
    F_OP_OPTIONS,
    F_OP_OPTIONS_TYPE,
    F_OP_OUTPUTS,
    F_OPCODE_BUILTIN,
    F_OPCODE_DEPRECATED,
    F_OPCODE_VERSION,
    F_QUANT_DIM,
    F_QUANT_SCALE,
    F_QUANT_ZERO_POINT,
    F_SG_INPUTS,
    F_SG_OPERATORS,
    F_SG_OUTPUTS,
    F_SG_TENSORS,
    F_TENSOR_BUFFER,
    F_TENSOR_QUANT,
    F_TENSOR_SHAPE,
    F_TENSOR_SPARSITY,
    F_TENSOR_TYPE,
    F_TENSOR_VARIABLE,
    Options,
    Reader,
    bad,
)
from .optable import kernel_for, op_name

MAX_DIMS = 6

# TFLite TensorType -> (element bytes, name)
DTYPES = {
    0: (4, "float32"),
    1: (2, "float16"),
    2: (4, "int32"),
    3: (1, "uint8"),
    4: (8, "int64"),
    6: (1, "bool"),
    7: (2, "int16"),
    9: (1, "int8"),
    10: (8, "float64"),
    13: (4, "resource"),
    15: (4, "uint32"),
    16: (2, "uint16"),
}
FLOAT32 = 0
INT32 = 2
UINT8 = 3
INT16 = 7
INT8 = 9

# Largest float32 scale accepted, as the C engine: 3.0e38f.
_MAX_SCALE_BITS = 0x7F61B1E6


class Tensor:
    """One tensor. buf is a memoryview: the model bytes for constants, the
    arena slice for planned tensors (set after planning)."""

    def __init__(self, index):
        self.index = index
        self.dtype = 0
        self.shape: tuple = ()
        self.bytes = 0
        self.const = False
        self.variable = False
        self.used = False
        self.buf = None
        self.offset = -1
        self.scales = []  # exact (m, e) pairs
        self.scale_bits = []
        self.zero_points = []
        self.q_dim = 0

    @property
    def q_count(self):
        return len(self.scales)

    @property
    def scale(self):
        return self.scales[0] if self.scales else exact.ZERO

    @property
    def zero_point(self):
        return self.zero_points[0] if self.zero_points else 0

    def elements(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class Node:
    def __init__(self, index, code, version, inputs, outputs, options, opt_type):
        self.index = index
        self.code = code
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.options = options
        self.opt_type = opt_type
        self.kernel = None


class VModel:
    def __init__(self, model, arena=None):
        self._r = Reader(model)
        self._model = model
        self._mv = memoryview(model)
        self._read()
        self._prepare()
        self._place(arena)
        self.reset()

    # ---- reading ----

    def _read(self):
        r = self._r
        root = r.root()
        self._opcodes = r.vec(root, F_MODEL_OPCODES, 4, "operator codes")
        subgraphs = r.vec(root, F_MODEL_SUBGRAPHS, 4, "subgraphs")
        self._buffers = r.vec(root, F_MODEL_BUFFERS, 4, "buffers")
        if subgraphs[1] == 0 or subgraphs[1] > 0xFFFF:
            raise bad("model has %d subgraphs" % subgraphs[1])
        sg = r.vec_table(subgraphs, 0, "subgraph")
        tensors = r.vec(sg, F_SG_TENSORS, 4, "tensors")
        ins = r.vec(sg, F_SG_INPUTS, 4, "subgraph inputs")
        outs = r.vec(sg, F_SG_OUTPUTS, 4, "subgraph outputs")
        ops = r.vec(sg, F_SG_OPERATORS, 4, "operators")
        if tensors[1] > 0x7FFFFF or ops[1] > 0x7FFFFF:
            raise ValueError("unsupported model: subgraph 0 is too large")
        n = tensors[1]
        self._in_idx = self._indices(ins, 0, n, "subgraph inputs")
        self._out_idx = self._indices(outs, 0, n, "subgraph outputs")
        self.tensors = [self._read_tensor(r.vec_table(tensors, i, "tensor"), i) for i in range(n)]
        for i in self._in_idx + self._out_idx:
            t = self.tensors[i]
            if t.const:
                raise ValueError("unsupported model: subgraph 0 input or output %d is a constant" % i)
            if t.dtype == 13:
                raise ValueError("unsupported model: model input or output %d is a resource tensor" % i)
            t.used = True
        self.nodes = [self._read_node(r.vec_table(ops, i, "operator"), i) for i in range(ops[1])]

    def _indices(self, v, lo, n, what):
        if v[1] > 0xFFFF:
            raise ValueError("unsupported model: %s: %d tensors" % (what, v[1]))
        out = []
        for i in range(v[1]):
            idx = self._r.vec_i32(v, i)
            if idx < lo or idx >= n:
                raise bad("%s: tensor index %d out of range" % (what, idx))
            out.append(idx)
        return out

    def _read_tensor(self, tt, index):
        r = self._r
        t = Tensor(index)
        shape = r.vec(tt, F_TENSOR_SHAPE, 4, "shape")
        dtype = r.u8f(tt, F_TENSOR_TYPE, 0)
        buffer = r.i32f(tt, F_TENSOR_BUFFER, 0)
        variable = r.u8f(tt, F_TENSOR_VARIABLE, 0)
        if r.sub(tt, F_TENSOR_SPARSITY, "sparsity") is not None:
            raise ValueError("unsupported model: tensor %d is sparse" % index)
        if shape[1] > MAX_DIMS:
            raise ValueError("unsupported model: tensor %d has %d dims (max %d)" % (index, shape[1], MAX_DIMS))
        if dtype not in DTYPES:
            raise ValueError("unsupported model: tensor %d has unsupported type %d" % (index, dtype))
        nbytes = DTYPES[dtype][0]
        dims = []
        for i in range(shape[1]):
            d = r.vec_i32(shape, i)
            if d < 0:
                raise bad("tensor %d has a negative dim" % index)
            dims.append(d)
            nbytes *= d
            if nbytes > 0x7FFFFFFF:
                raise bad("tensor %d is larger than 2 GB" % index)
        t.dtype = dtype
        t.shape = tuple(dims)
        t.bytes = nbytes
        self._read_quant(tt, t)
        if variable:
            t.variable = True
            t.buf = memoryview(bytearray(nbytes))
            return t
        data, length = self._read_buffer(buffer)
        if length:
            if length < nbytes:
                raise bad("tensor %d needs %d bytes, its buffer has %d" % (index, nbytes, length))
            t.const = True
            t.buf = self._mv[data : data + nbytes]
        return t

    def _read_quant(self, tt, t):
        r = self._r
        q = r.sub(tt, F_TENSOR_QUANT, "quantization")
        if q is None:
            return
        scales = r.vec(q, F_QUANT_SCALE, 4, "scales")
        zps = r.vec(q, F_QUANT_ZERO_POINT, 8, "zero points")
        dim = r.i32f(q, F_QUANT_DIM, 0)
        if scales[1] == 0:
            return
        if zps[1] != 0 and zps[1] != scales[1]:
            raise bad("tensor %d has %d scales but %d zero points" % (t.index, scales[1], zps[1]))
        zmin, zmax = -(1 << 31), (1 << 31) - 1
        if t.dtype == INT8:
            zmin, zmax = -128, 127
        elif t.dtype == UINT8:
            zmin, zmax = 0, 255
        elif t.dtype == INT16:
            zmin, zmax = -32768, 32767
        for c in range(scales[1]):
            bits = r.u32(scales[0] + 4 * c)
            if bits == 0 or bits > _MAX_SCALE_BITS:
                raise bad("tensor %d has a scale that is not positive and finite" % t.index)
            t.scale_bits.append(bits)
            t.scales.append(exact.from_f32_bits(bits))
            zp = 0
            if zps[1]:
                p = zps[0] + 8 * c
                zp = r.u32(p) | (r.u32(p + 4) << 32)
                if zp >= 1 << 63:
                    zp -= 1 << 64
                if zp < zmin or zp > zmax:
                    raise bad("tensor %d has zero point out of range" % t.index)
                # TFLite Micro keeps the low 32 bits.
                zp &= 0xFFFFFFFF
                if zp >= 1 << 31:
                    zp -= 1 << 32
            t.zero_points.append(zp)
        t.q_dim = dim

    def _read_buffer(self, b):
        r = self._r
        buffers = self._buffers
        if buffers[1] == 0 and b == 0:
            return 0, 0
        if b < 0 or b >= buffers[1]:
            raise bad("buffer index %d out of range" % b)
        bt = r.vec_table(buffers, b, "buffer")
        v = r.vec(bt, F_BUFFER_DATA, 1, "buffer data")
        offset = r.u64f(bt, F_BUFFER_OFFSET)
        size = r.u64f(bt, F_BUFFER_SIZE)
        if offset > 1:
            if size > r.n or offset > r.n - size:
                raise bad("buffer %d lies outside the model" % b)
            return offset, size
        return v[0], v[1]

    def _read_node(self, ot, index):
        r = self._r
        opcode = r.i32f(ot, F_OP_OPCODE, 0)
        if opcode < 0 or opcode >= self._opcodes[1]:
            raise bad("op %d uses operator code %d of %d" % (index, opcode, self._opcodes[1]))
        code, version = self._read_opcode(opcode)
        n = len(self.tensors)
        ins = self._indices(r.vec(ot, F_OP_INPUTS, 4, "op inputs"), -1, n, "op inputs")
        outs = self._indices(r.vec(ot, F_OP_OUTPUTS, 4, "op outputs"), 0, n, "op outputs")
        opt_type = r.u8f(ot, F_OP_OPTIONS_TYPE, 0)
        opt = r.sub(ot, F_OP_OPTIONS, "options")
        for j in outs:
            if self.tensors[j].const:
                raise bad("op %d writes a constant tensor" % index)
        kernel = kernel_for(code, version)
        if kernel is None:
            raise ValueError(
                "unsupported model: op %d: operator %s (code %d) version %d is not supported"
                % (index, op_name(code), code, version)
            )
        for j in ins + outs:
            if j >= 0:
                self.tensors[j].used = True
        node = Node(index, code, version, ins, outs, Options(r, opt), opt_type)
        node.kernel = kernel
        return node

    def _read_opcode(self, i):
        r = self._r
        t = r.vec_table(self._opcodes, i, "operator code")
        deprecated = r.u8f(t, F_OPCODE_DEPRECATED, 0)
        code = r.i32f(t, F_OPCODE_BUILTIN, 0)
        version = r.i32f(t, F_OPCODE_VERSION, 1)
        if deprecated > 127:
            deprecated -= 256
        if deprecated > code:
            code = deprecated
        if code < 0:
            raise bad("operator code %d is negative" % i)
        return code, version

    # ---- prepare and plan ----

    def _prepare(self):
        self._ops = []
        for node in self.nodes:
            try:
                op = node.kernel(self, node)
            except ValueError as e:
                raise ValueError("op %d %s: %s" % (node.index, op_name(node.code), e))
            except (ArithmeticError, IndexError, KeyError) as e:
                # A shape or option no check above foresaw: still the model's fault.
                raise ValueError("op %d %s: malformed model (%s)" % (node.index, op_name(node.code), e))
            self._ops.append(op)

    def tensor(self, node, i, output=False):
        """Input (or output) i of a node, None when absent (-1 or beyond the list)."""
        lst = node.outputs if output else node.inputs
        if i < 0 or i >= len(lst) or lst[i] < 0:
            return None
        return self.tensors[lst[i]]

    def _place(self, arena):
        """Steps 2 to 5 of mtf_planner.h for subgraph 0 (the only one this engine runs)."""
        planned = [t for t in self.tensors if t.used and not t.const and not t.variable]
        rec = {}
        bufs: list = []
        for t in planned:
            rec[t.index] = len(bufs)
            bufs.append([_plan.round_up(t.bytes), 1 << 30, -1])
        for node in self.nodes:
            for j in node.inputs + node.outputs:
                if j in rec:
                    b = bufs[rec[j]]
                    if node.index < b[1]:
                        b[1] = node.index
                    if node.index > b[2]:
                        b[2] = node.index
        first = 0
        last = len(self.nodes) - 1 if self.nodes else 0
        for j in self._in_idx:
            b = bufs[rec[j]]
            b[1] = first
            if b[2] < b[1]:
                b[2] = b[1]
        for j in self._out_idx:
            b = bufs[rec[j]]
            b[2] = last
            if b[1] > b[2]:
                b[1] = b[2]
        offsets, head = _plan.plan([tuple(b) for b in bufs])
        self.head_size = head
        if arena is None:
            arena = bytearray(head)
        elif len(arena) < head:
            raise ValueError("arena too small: needs %d bytes" % head)
        self.arena = arena
        amv = memoryview(arena)
        for t in planned:
            off = offsets[rec[t.index]]
            t.offset = off
            t.buf = amv[off : off + t.bytes]
        for op in self._ops:
            op.bind()
        self._inputs = [self.tensors[i].buf for i in self._in_idx]
        self._outputs = [self.tensors[i].buf for i in self._out_idx]

    # ---- the native binding's surface ----

    @property
    def arena_used(self):
        return self.head_size

    def input(self, i):
        return self._inputs[i]

    def output(self, i):
        return self._outputs[i]

    def input_count(self):
        return len(self._in_idx)

    def output_count(self):
        return len(self._out_idx)

    def _info(self, t):
        scale = exact.to_float_value(t.scale) if t.scales else 0.0
        return (t.shape, DTYPES[t.dtype][1], scale, t.zero_point if t.scales else 0)

    def input_info(self, i):
        return self._info(self.tensors[self._in_idx[i]])

    def output_info(self, i):
        return self._info(self.tensors[self._out_idx[i]])

    def ops(self):
        """(name, version) of every node, in order."""
        return [(op_name(n.code), n.version) for n in self.nodes]

    def invoke(self):
        for op in self._ops:
            op.eval()

    def reset(self):
        for t in self.tensors:
            if t.variable:
                fill = t.zero_point & 0xFF if t.dtype == INT8 else 0
                b = t.buf
                for k in range(len(b)):
                    b[k] = fill
