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

Compact on small heaps: the model is read in place (memoryview slices, never
copied); every tensor is checked at load but kept only as a few bytes of
per-subgraph arrays (flags, size, table position); a Tensor object is made
on demand for the operators' prepare and kept only for tensors an operator
holds on to; nodes are dropped after planning.
"""

import array
import gc

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


# Per-tensor flags (Subgraph.flags).
F_CONST = 1
F_VARIABLE = 2
F_USED = 4
F_RESOURCE = 8


class Tensor:
    """One tensor, made on demand from its flatbuffer table. buf is a memoryview:
    the model bytes for constants, the arena slice for planned tensors (set
    after planning), its own buffer for an is_variable tensor. Quantization
    stays in the model: scales are decoded when an operator's prepare asks."""

    # Defaults live in the class: an instance's dict holds only what differs (small heaps).
    dtype = 0
    shape: tuple = ()
    bytes = 0
    const = False
    variable = False
    resource = False
    buf: memoryview = None  # type: ignore[assignment]  # set once placed
    offset = -1
    res_id = -1
    q_count = 0
    q_dim = 0
    zero_point = 0
    _q: tuple = ()  # (reader, scales pos, zero points pos or 0)

    def __init__(self, index):
        self.index = index

    @property
    def scale_bits(self):
        if not self.q_count:
            return []
        r, sp = self._q[0], self._q[1]
        return [r.u32(sp + 4 * c) for c in range(self.q_count)]

    @property
    def scales(self):
        return [exact.from_f32_bits(b) for b in self.scale_bits]

    @property
    def scale(self):
        if not self.q_count:
            return exact.ZERO
        return exact.from_f32_bits(self._q[0].u32(self._q[1]))

    @property
    def zero_points(self):
        if not self.q_count:
            return []
        return [_zp32(self._q[0], self._q[2], c) for c in range(self.q_count)]

    def elements(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


def _zp32(r, zp_pos, c):
    """Zero point c: TFLite Micro keeps the low 32 bits of the int64."""
    if not zp_pos:
        return 0
    v = r.u32(zp_pos + 8 * c)
    return v - (1 << 32) if v >= 1 << 31 else v


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
        self.sg = 0
        self.step = 0


class Subgraph:
    """One subgraph that runs: subgraph 0 and those CALL_ONCE nodes reach."""

    def __init__(self, index, n):
        self.index = index
        self.n = n
        self.flags = bytearray(n)
        self.nbytes = array.array("i", bytes(4 * n))
        self.tpos = array.array("i", bytes(4 * n))  # tensor table positions
        self.off = array.array("i")  # arena offset per tensor (-1: not planned), set by the plan
        self.cache: dict = {}  # index -> Tensor made for an operator (while loading)
        self.varbufs: dict = {}  # index -> buffer of an is_variable tensor
        self.npos = array.array("i")  # node table positions
        self.nstep = array.array("i")  # node steps (mtf_planner.h step 1)
        self.first = array.array("i", bytes(4 * n))  # per tensor: first and last step used
        self.last = array.array("i", bytes(4 * n))
        for i in range(n):
            self.first[i] = 0x3FFFFFFF
            self.last[i] = -1
        self.in_idx: list = []
        self.out_idx: list = []
        self.first_step = 0
        self.last_step = 0
        self.ops: list = []


CODE_CALL_ONCE = 129
CODE_VAR_HANDLE = 142
MAX_CALL_DEPTH = 8
RESOURCE = 13


class VModel:
    def __init__(self, model, arena=None):
        self._in_idx: list = []
        self._out_idx: list = []
        self.resources: list = []  # [container, name, buffer or None, fill byte] while loading
        self._vars: list = []  # (buffer, fill byte) of each resource variable
        self._loaded = False
        r = Reader(model)
        self._mv = memoryview(model)
        self._read(r)
        # Plan and allocate the arena before the operators' data: on a small heap the one large
        # block is found while the heap is still unfragmented. (The viper kernels request no
        # scratch buffers, so the plan does not depend on prepare.)
        self._place(arena)
        gc.collect()
        self._prepare()
        for s in sorted(self._sgs):
            for op in self._sgs[s].ops:
                op.bind()
        self._io = [self._tensor(0, i) for i in self._in_idx + self._out_idx]
        # Nodes and the Tensors no operator keeps are not needed to invoke.
        for s in self._sgs:
            sg = self._sgs[s]
            sg.cache = {}
            sg.off = sg.first = sg.last = sg.npos = sg.nstep = array.array("i")
        self._loaded = True
        self._vars = [(rc[2], rc[3]) for rc in self.resources if rc[2] is not None]
        self.resources = []
        self.reset()

    # ---- reading ----

    def _read(self, r):
        self._r = r
        root = r.root()
        self._opcodes = r.vec(root, F_MODEL_OPCODES, 4, "operator codes")
        self._subgraphs = r.vec(root, F_MODEL_SUBGRAPHS, 4, "subgraphs")
        self._buffers = r.vec(root, F_MODEL_BUFFERS, 4, "buffers")
        if self._subgraphs[1] == 0 or self._subgraphs[1] > 0xFFFF:
            raise bad("model has %d subgraphs" % self._subgraphs[1])
        self._sgs: dict = {}
        self._steps = 0
        self._codes = bytearray()  # (code low, code high, version) of subgraph 0's nodes
        self._build_subgraph(0, 0)
        sg0 = self._sgs[0]
        self._in_idx = sg0.in_idx
        self._out_idx = sg0.out_idx
        for i in self._in_idx + self._out_idx:
            if self._tensor(0, i).dtype == RESOURCE:
                raise ValueError("unsupported model: model input or output %d is a resource tensor" % i)

    def _build_subgraph(self, s, depth):
        r = self._r
        sgt = r.vec_table(self._subgraphs, s, "subgraph")
        tensors = r.vec(sgt, F_SG_TENSORS, 4, "tensors")
        ins = r.vec(sgt, F_SG_INPUTS, 4, "subgraph inputs")
        outs = r.vec(sgt, F_SG_OUTPUTS, 4, "subgraph outputs")
        ops = r.vec(sgt, F_SG_OPERATORS, 4, "operators")
        if tensors[1] > 0x7FFFFF or ops[1] > 0x7FFFFF:
            raise ValueError("unsupported model: subgraph %d is too large" % s)
        n = tensors[1]
        sg = Subgraph(s, n)
        self._sgs[s] = sg
        sg.in_idx = self._indices(ins, 0, n, "subgraph inputs")
        sg.out_idx = self._indices(outs, 0, n, "subgraph outputs")
        # Pass 1: check every tensor, keep a few bytes of it.
        for i in range(n):
            tt = r.vec_table(tensors, i, "tensor")
            sg.tpos[i] = tt[0]
            t = self._read_tensor(tt, i, True)
            sg.nbytes[i] = t.bytes
            sg.flags[i] = (F_CONST if t.const else 0) | (F_VARIABLE if t.variable else 0)
            if t.variable:
                # TFLite Micro clears variable tensors to the zero point for int8, else to 0.
                sg.varbufs[i] = (memoryview(bytearray(t.bytes)), t.zero_point & 0xFF if t.dtype == INT8 else 0)
        for i in sg.in_idx + sg.out_idx:
            if sg.flags[i] & F_CONST:
                raise ValueError("unsupported model: subgraph %d input or output %d is a constant" % (s, i))
            sg.flags[i] |= F_USED
        sg.first_step = self._steps
        for i in range(ops[1]):
            ot = r.vec_table(ops, i, "operator")
            sg.npos.append(ot[0])
            sg.nstep.append(self._steps)
            self._read_node(sg, ot, i, depth)
        if self._steps > sg.first_step:
            sg.last_step = self._steps - 1
        else:
            sg.first_step = sg.last_step = self._steps - 1 if self._steps > 0 else 0

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

    def _tensor(self, s, i):
        """The Tensor of subgraph s, index i (made once, then shared by the operators)."""
        sg = self._sgs[s]
        t = sg.cache.get(i)
        if t is None:
            t = self._read_tensor(self._r.table(sg.tpos[i], "tensor"), i, False)
            if t.variable:
                t.buf = sg.varbufs[i][0]
            elif len(sg.off) and sg.off[i] >= 0:
                t.offset = sg.off[i]
                t.buf = self._amv[t.offset : t.offset + t.bytes]
            if sg.flags[i] & F_RESOURCE:
                t.resource = True
            # Constants are only read by prepare: not kept (an operator holds what it needs).
            if not self._loaded and not t.const:
                sg.cache[i] = t
        return t

    def _read_tensor(self, tt, index, check):
        r = self._r
        t = Tensor(index)
        shape = r.vec(tt, F_TENSOR_SHAPE, 4, "shape")
        dtype = r.u8f(tt, F_TENSOR_TYPE, 0)
        buffer = r.i32f(tt, F_TENSOR_BUFFER, 0)
        variable = r.u8f(tt, F_TENSOR_VARIABLE, 0)
        if check:
            if r.sub(tt, F_TENSOR_SPARSITY, "sparsity") is not None:
                raise ValueError("unsupported model: tensor %d is sparse" % index)
            if shape[1] > MAX_DIMS:
                raise ValueError(
                    "unsupported model: tensor %d has %d dims (max %d)" % (index, shape[1], MAX_DIMS)
                )
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
        self._read_quant(tt, t, check)
        if variable:
            t.variable = True
            return t
        data, length = self._read_buffer(buffer)
        if length:
            if length < nbytes:
                raise bad("tensor %d needs %d bytes, its buffer has %d" % (index, nbytes, length))
            t.const = True
            if not check:
                t.buf = self._mv[data : data + nbytes]
        return t

    def _read_quant(self, tt, t, check):
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
        t.q_count = scales[1]
        if dim:
            t.q_dim = dim
        t._q = (r, scales[0], zps[0] if zps[1] else 0)
        zp = _zp32(r, t._q[2], 0)
        if zp:
            t.zero_point = zp
        if not check:
            return
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
            if zps[1]:
                p = zps[0] + 8 * c
                lo = r.u32(p)
                hi = r.u32(p + 4)
                # int64: in range when hi is the sign extension of lo and lo is in [zmin, zmax].
                zp = lo - (1 << 32) if lo >= 1 << 31 else lo
                ext = 0xFFFFFFFF if zp < 0 else 0
                if hi != ext or zp < zmin or zp > zmax:
                    raise bad("tensor %d has zero point out of range" % t.index)

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

    def _read_node(self, sg, ot, index, depth):
        """Check node index of sg at read time (depth >= 0: number its step, mark its tensors,
        build the subgraph a CALL_ONCE runs); depth < 0: make the Node again for prepare."""
        r = self._r
        opcode = r.i32f(ot, F_OP_OPCODE, 0)
        if opcode < 0 or opcode >= self._opcodes[1]:
            raise bad("op %d uses operator code %d of %d" % (index, opcode, self._opcodes[1]))
        code, version = self._read_opcode(opcode)
        flags = sg.flags
        n = sg.n
        ins = self._indices(r.vec(ot, F_OP_INPUTS, 4, "op inputs"), -1, n, "op inputs")
        outs = self._indices(r.vec(ot, F_OP_OUTPUTS, 4, "op outputs"), 0, n, "op outputs")
        opt_type = r.u8f(ot, F_OP_OPTIONS_TYPE, 0)
        opt = r.sub(ot, F_OP_OPTIONS, "options")
        for j in outs:
            if flags[j] & F_CONST:
                raise bad("op %d writes a constant tensor" % index)
        kernel = kernel_for(code, version)
        if kernel is None:
            raise ValueError(
                "unsupported model: op %d: operator %s (code %d) version %d is not supported"
                % (index, op_name(code), code, version)
            )
        node = Node(index, code, version, ins, outs, Options(r, opt), opt_type)
        node.kernel = kernel
        node.sg = sg.index
        if depth < 0:
            node.step = sg.nstep[index]
            return node
        node.step = step = self._steps
        self._steps += 1
        if sg.index == 0:
            self._codes.append(code & 0xFF)
            self._codes.append(code >> 8)
            self._codes.append(version)
        for j in ins + outs:
            if j >= 0:
                flags[j] |= F_USED
                if step < sg.first[j]:
                    sg.first[j] = step
                if step > sg.last[j]:
                    sg.last[j] = step
        if code == CODE_VAR_HANDLE:
            # Its output holds the resource id (no planned memory), as in the C engine.
            for j in outs:
                flags[j] |= F_RESOURCE
        if code == CODE_CALL_ONCE:
            target = node.options.i32(0, 0)
            if target <= 0 or target >= self._subgraphs[1]:
                raise bad("op %d: CALL_ONCE of subgraph %d" % (index, target))
            if target in self._sgs:
                raise ValueError("unsupported model: subgraph %d is called more than once" % target)
            if depth >= MAX_CALL_DEPTH:
                raise ValueError("unsupported model: CALL_ONCE nested deeper than %d" % MAX_CALL_DEPTH)
            self._build_subgraph(target, depth + 1)
        return None

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
        # Subgraphs in index order, nodes in order, as the C engine's prepare_all.
        for s in sorted(self._sgs):
            sg = self._sgs[s]
            for k in range(len(sg.npos)):
                node = self._read_node(sg, self._r.table(sg.npos[k], "operator"), k, -1)
                try:
                    op = node.kernel(self, node)
                except ValueError as e:
                    raise ValueError("op %d %s: %s" % (node.index, op_name(node.code), e))
                except (ArithmeticError, IndexError, KeyError) as e:
                    # A shape or option no check above foresaw: still the model's fault.
                    raise ValueError("op %d %s: malformed model (%s)" % (node.index, op_name(node.code), e))
                sg.ops.append(op)
                # Prepare makes garbage (exact long-int math); collecting it now keeps the
                # operators' data packed on small heaps.
                gc.collect()
        self._ops = self._sgs[0].ops

    def tensor(self, node, i, output=False):
        """Input (or output) i of a node, None when absent (-1 or beyond the list)."""
        lst = node.outputs if output else node.inputs
        if i < 0 or i >= len(lst) or lst[i] < 0:
            return None
        return self._tensor(node.sg, lst[i])

    def subgraph(self, s):
        return self._sgs[s]

    def resource_id(self, container, name):
        """Found or created by container and name; an absent container matches any (as TFLite Micro)."""
        for i in range(len(self.resources)):
            rc = self.resources[i]
            if (container is None or rc[0] == container) and rc[1] == name:
                return i
        self.resources.append([container, name, None, 0])
        return len(self.resources) - 1

    def _place(self, arena):
        """Steps 2 to 5 of mtf_planner.h over the subgraphs that run, in index order."""
        planned: list = []  # (subgraph, tensor index)
        bufs: list = []
        for s in sorted(self._sgs):
            sg = self._sgs[s]
            rec = {}
            for i in range(sg.n):
                if sg.flags[i] & (F_USED | F_CONST | F_VARIABLE | F_RESOURCE) == F_USED:
                    rec[i] = len(bufs)
                    planned.append((s, i))
                    bufs.append([_plan.round_up(sg.nbytes[i]), 1 << 30, -1])
            for j in rec:
                b = bufs[rec[j]]
                b[1] = sg.first[j]
                b[2] = sg.last[j]
            for j in sg.in_idx:
                if j in rec:
                    b = bufs[rec[j]]
                    b[1] = sg.first_step
                    if b[2] < b[1]:
                        b[2] = b[1]
            for j in sg.out_idx:
                if j in rec:
                    b = bufs[rec[j]]
                    b[2] = sg.last_step
                    if b[1] > b[2]:
                        b[1] = b[2]
        offsets, head = _plan.plan([tuple(b) for b in bufs])
        del bufs
        self.head_size = head
        if arena is None:
            arena = bytearray(head)
        elif len(arena) < head:
            raise ValueError("arena too small: needs %d bytes" % head)
        self.arena = arena
        self._amv = memoryview(arena)
        for s in self._sgs:
            sg = self._sgs[s]
            sg.off = array.array("i", bytes(4 * sg.n))
            for i in range(sg.n):
                sg.off[i] = -1
        # Offsets of subgraph 0's planned tensors, for plan checks: index, offset pairs.
        self.plan = array.array("i")
        for k in range(len(planned)):
            s, i = planned[k]
            self._sgs[s].off[i] = offsets[k]
            if s == 0:
                self.plan.append(i)
                self.plan.append(offsets[k])
        # Tensors made while reading get their arena slices now.
        for s in self._sgs:
            sg = self._sgs[s]
            for i in sg.cache:
                t = sg.cache[i]
                if sg.off[i] >= 0:
                    t.offset = sg.off[i]
                    t.buf = self._amv[t.offset : t.offset + t.bytes]

    # ---- the native binding's surface ----

    @property
    def arena_used(self):
        return self.head_size

    def input(self, i):
        return self._io[i].buf

    def output(self, i):
        return self._io[len(self._in_idx) + i].buf

    def input_count(self):
        return len(self._in_idx)

    def output_count(self):
        return len(self._out_idx)

    @property
    def n_inputs(self):
        return len(self._in_idx)

    @property
    def n_outputs(self):
        return len(self._out_idx)

    def _info(self, t):
        scale = exact.to_float_value(t.scale) if t.scales else 0.0
        return (t.shape, DTYPES[t.dtype][1], scale, t.zero_point if t.scales else 0)

    def input_info(self, i):
        return self._info(self._io[i])

    def output_info(self, i):
        return self._info(self._io[len(self._in_idx) + i])

    def ops(self):
        """(name, version) of every node of subgraph 0, in order."""
        c = self._codes
        return [(op_name(c[k] | (c[k + 1] << 8)), c[k + 2]) for k in range(0, len(c), 3)]

    def invoke(self):
        for op in self._ops:
            op.eval()

    def reset(self):
        """Clear the state: is_variable tensors to their zero point (int8) or 0, resource
        variables to their fill byte, and re-arm CALL_ONCE."""
        for s in self._sgs:
            sg = self._sgs[s]
            for i in sg.varbufs:
                _fill(sg.varbufs[i][0], sg.varbufs[i][1])
        for buf, fill in self._vars:
            _fill(buf, fill)
        for s in self._sgs:
            for op in self._sgs[s].ops:
                if hasattr(op, "rearm"):
                    op.rearm()


def _fill(b, v):
    for k in range(len(b)):
        b[k] = v
