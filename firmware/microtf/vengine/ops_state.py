"""CALL_ONCE, VAR_HANDLE, READ_VARIABLE and ASSIGN_VARIABLE (streaming state),
with the semantics of the C engine's ops/call_once.c, var_handle.c,
read_variable.c and assign_variable.c.

Resource variables live in the model's resource table ([container, name,
buffer, fill byte] by id, found or created by VAR_HANDLE at prepare). The
first ASSIGN_VARIABLE prepare that sees a variable sizes its buffer from the
value and fills it with the value's zero point; reset() refills it and
re-arms CALL_ONCE, so the init subgraph runs again at the next invoke.
"""

from .model import RESOURCE, INT32
from .ops_simple import copy_bytes


class CallOnce:
    def __init__(self, model, target):
        self.model = model
        self.target = target
        self.ran = False
        self.ops: list = []

    def bind(self):
        self.ops = self.model.subgraph(self.target).ops

    def rearm(self):
        self.ran = False

    def eval(self):
        if self.ran:
            return
        for op in self.ops:
            op.eval()
        self.ran = True


def prepare_call_once(model, node):
    if node.inputs or node.outputs:
        raise ValueError("bad model: takes no inputs or outputs")
    return CallOnce(model, node.options.i32(0, 0))


class _NoOp:
    def bind(self):
        pass

    def eval(self):
        pass


def prepare_var_handle(model, node):
    if len(node.inputs) != 0 or len(node.outputs) != 1:
        raise ValueError("bad model: needs no inputs and 1 output")
    out = model.tensor(node, 0, True)
    if out is None or out.dtype != RESOURCE or out.elements() != 1 or out.const:
        raise ValueError("bad model: output must be one resource")
    container = node.options.bytes_vec(0)
    name = node.options.bytes_vec(1)
    out.res_id = model.resource_id(container, name if name is not None else b"")
    return _NoOp()


def _handle(t):
    if t is None or getattr(t, "res_id", -1) < 0:
        raise ValueError("bad model: resource tensor has no variable")
    return t.res_id


def _variable(model, t, nbytes):
    rid = _handle(t)
    rc = model.resources[rid]
    if rc[2] is None or len(rc[2]) != nbytes:
        raise ValueError("bad model: no variable of %d bytes for this resource" % nbytes)
    return rc[2]


class ReadVariable:
    def __init__(self, model, handle, out):
        self.model, self.handle, self.t_out = model, handle, out

    def bind(self):
        # The id is fixed at prepare (VAR_HANDLE), so the buffer is known now.
        self.src = _variable(self.model, self.handle, self.t_out.bytes)
        self.n = self.t_out.bytes

    def eval(self):
        copy_bytes(self.t_out.buf, self.src, self.n)


def prepare_read_variable(model, node):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 input and 1 output")
    h = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if h is None or h.dtype != RESOURCE or h.elements() != 1 or out is None:
        raise ValueError("bad model: input must be one resource")
    return ReadVariable(model, h, out)


class AssignVariable:
    def __init__(self, model, handle, value):
        self.model, self.handle, self.t_val = model, handle, value

    def bind(self):
        self.dst = _variable(self.model, self.handle, self.t_val.bytes)
        self.n = self.t_val.bytes

    def eval(self):
        copy_bytes(self.dst, self.t_val.buf, self.n)


def prepare_assign_variable(model, node):
    if len(node.inputs) != 2 or len(node.outputs) != 0:
        raise ValueError("bad model: needs 2 inputs and no output")
    h = model.tensor(node, 0)
    v = model.tensor(node, 1)
    if h is None or h.dtype not in (RESOURCE, INT32) or h.elements() != 1 or v is None:
        raise ValueError("bad model: input 0 must be one resource")
    rid = getattr(h, "res_id", -1)
    if rid >= 0:
        rc = model.resources[rid]
        if rc[2] is None:
            rc[2] = bytearray(v.bytes if v.bytes else 1)
            rc[3] = (v.zero_point & 0xFF) if v.q_count else 0
    return AssignVariable(model, h, v)
