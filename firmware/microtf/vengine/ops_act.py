"""Single-input int8 activations as 256-entry tables built at prepare from the
C engine's exact integer formulas (ops/logistic.c; gemmlowp fixed point in
fxmath.py). Eval is a byte lookup: bit-exact on every port, no float."""

import micropython

from . import exact, fxmath
from .model import INT8


@micropython.viper
def lookup8(src: ptr8, dst: ptr8, table: ptr8, n: int):
    i = 0
    while i < n:
        dst[i] = table[src[i]]
        i += 1


class Table8:
    def __init__(self, inp, out, table):
        self.t_in, self.t_out, self.table = inp, out, table
        self.n = inp.elements()

    def bind(self):
        self.src = self.t_in.buf
        self.dst = self.t_out.buf

    def eval(self):
        lookup8(self.src, self.dst, self.table, self.n)


def _one_in_one_out(model, node):
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise ValueError("bad model: needs 1 input and 1 output")
    inp = model.tensor(node, 0)
    out = model.tensor(node, 0, True)
    if inp is None or out is None:
        raise ValueError("bad model: missing tensor")
    if inp.dtype != out.dtype:
        raise ValueError("input and output types differ")
    if inp.elements() != out.elements():
        raise ValueError("input and output sizes differ")
    return inp, out


def _frexp_multiplier(scale, extra_bits):
    """(multiplier, shift) of frexp((double)scale * 2**extra_bits), multiplier = round(q * 2**31)."""
    real = exact.to_double((scale[0], scale[1] + extra_bits))
    q, shift = exact.frexp(real)
    return exact.round_away((q[0], q[1] + 31)), shift


def prepare_logistic(model, node):
    inp, out = _one_in_one_out(model, node)
    if inp.dtype != INT8:
        raise ValueError("unsupported type %d (the viper engine runs int8 only)" % inp.dtype)
    if inp.q_count < 1 or out.q_count < 1:
        raise ValueError("bad model: bad input scale")
    if out.zero_point != -128:
        raise ValueError("int8 output zero point must be -128")
    mult, shift = _frexp_multiplier(inp.scale, 27)
    if shift < 0 or shift > 62:
        raise ValueError("input scale out of range")
    radius = fxmath.input_radius(4, shift, 31)
    zp = inp.zero_point
    table = bytearray(256)
    for x in range(-128, 128):
        v = x - zp
        if v <= -radius:
            r = -128
        elif v >= radius:
            r = 127
        else:
            q4 = fxmath.mul_by_qm(v, mult, shift)
            q0 = fxmath.logistic(q4, 4)
            r = fxmath.rdbpot(q0, 23) - 128
            r = 127 if r > 127 else (-128 if r < -128 else r)
        table[x & 0xFF] = r & 0xFF
    return Table8(inp, out, table)


def _int8_only(inp, what):
    if inp.dtype != INT8:
        raise ValueError("unsupported type %d (the viper engine runs int8 %s only)" % (inp.dtype, what))
    if inp.q_count < 1:
        raise ValueError("bad model: bad quantization")


def _table(f):
    table = bytearray(256)
    for x in range(-128, 128):
        table[x & 0xFF] = f(x) & 0xFF
    return table


def _clamp8(v):
    return 127 if v > 127 else (-128 if v < -128 else v)


def prepare_tanh(model, node):
    inp, out = _one_in_one_out(model, node)
    _int8_only(inp, "TANH")
    mult, shift = _frexp_multiplier(inp.scale, 27)
    if shift < 0 or shift > 62:
        raise ValueError("input scale out of range")
    radius = fxmath.input_radius(4, shift, 31)
    zp = inp.zero_point

    def one(x):
        v = x - zp
        if v <= -radius:
            return -128
        if v >= radius:
            return 127
        q0 = fxmath.tanh(fxmath.mul_by_qm(v, mult, shift), 4)
        return _clamp8(fxmath.rdbpot(q0, 24))

    return Table8(inp, out, _table(one))
