"""Bounds-checked flatbuffer reader (the MicroPython twin of mtf_reader.c).

Every offset, vtable, vector and nested table is checked against the model
length before it is read; reads are bytewise (the model may be any buffer at
any alignment). A malformed model raises ValueError("bad model: ..."), never
IndexError. Field numbers are the 0-based field indexes of TFLite's schema.fbs.
"""

# Schema field numbers.
F_MODEL_OPCODES = 1
F_MODEL_SUBGRAPHS = 2
F_MODEL_BUFFERS = 4
F_OPCODE_DEPRECATED = 0
F_OPCODE_VERSION = 2
F_OPCODE_BUILTIN = 3
F_SG_TENSORS = 0
F_SG_INPUTS = 1
F_SG_OUTPUTS = 2
F_SG_OPERATORS = 3
F_TENSOR_SHAPE = 0
F_TENSOR_TYPE = 1
F_TENSOR_BUFFER = 2
F_TENSOR_QUANT = 4
F_TENSOR_VARIABLE = 5
F_TENSOR_SPARSITY = 6
F_QUANT_SCALE = 2
F_QUANT_ZERO_POINT = 3
F_QUANT_DIM = 6
F_OP_OPCODE = 0
F_OP_INPUTS = 1
F_OP_OUTPUTS = 2
F_OP_OPTIONS_TYPE = 3
F_OP_OPTIONS = 4
F_BUFFER_DATA = 0
F_BUFFER_OFFSET = 1
F_BUFFER_SIZE = 2


def bad(msg):
    return ValueError("bad model: " + msg)


class Reader:
    """A model buffer; tables are tuples (pos, vtable, vtable_len, table_len)."""

    def __init__(self, buf):
        self.b = buf
        self.n = len(buf)
        if self.n > 0x7FFFFFFF:
            raise bad("larger than 2 GB")

    def check(self, pos, size, what):
        if pos < 0 or pos + size > self.n:
            raise bad(what + " out of bounds")

    # Raw loads at positions the caller checked.
    def u16(self, p):
        b = self.b
        return b[p] | (b[p + 1] << 8)

    def u32(self, p):
        b = self.b
        return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)

    def i32(self, p):
        v = self.u32(p)
        return v - 0x100000000 if v & 0x80000000 else v

    def root(self):
        if self.n < 8:
            raise bad("too short (%d bytes)" % self.n)
        ident = self.b[4:8]
        printable = True
        for c in ident:
            printable = printable and 0x20 <= c < 0x7F
        if printable and bytes(ident) != b"TFL3":
            raise bad("not a .tflite model (identifier is not TFL3)")
        return self.table(self.u32(0), "model")

    def table(self, pos, what):
        if pos + 4 > self.n:
            raise bad("%s table at %d is out of bounds" % (what, pos))
        vt = pos - self.i32(pos)
        if vt < 0 or vt + 4 > self.n:
            raise bad(what + " vtable out of bounds")
        vt_len = self.u16(vt)
        tbl_len = self.u16(vt + 2)
        if vt_len < 4 or (vt_len & 1) or vt + vt_len > self.n or tbl_len < 4 or pos + tbl_len > self.n:
            raise bad(what + " vtable is malformed")
        return (pos, vt, vt_len, tbl_len)

    def field_pos(self, t, field, size):
        """Absolute position of a field, 0 when absent; raises when it does not fit its table."""
        slot = 4 + 2 * field
        if slot + 2 > t[2]:
            return 0
        off = self.u16(t[1] + slot)
        if off == 0:
            return 0
        if off + size > t[3]:
            raise bad("field %d does not fit its table" % field)
        return t[0] + off

    def u8f(self, t, field, dflt):
        p = self.field_pos(t, field, 1)
        return self.b[p] if p else dflt

    def i32f(self, t, field, dflt):
        p = self.field_pos(t, field, 4)
        return self.i32(p) if p else dflt

    def u64f(self, t, field):
        p = self.field_pos(t, field, 8)
        return self.u32(p) | (self.u32(p + 4) << 32) if p else 0

    def _follow(self, p):
        target = p + self.u32(p)
        if target >= self.n:
            return -1
        return target

    def vec(self, t, field, elem, what):
        """(pos, len) of a vector field of elem-byte items; (0, 0) when absent."""
        p = self.field_pos(t, field, 4)
        if p == 0:
            return (0, 0)
        vp = self._follow(p)
        if vp < 0 or vp + 4 > self.n:
            raise bad(what + " vector out of bounds")
        n = self.u32(vp)
        if vp + 4 + n * elem > self.n:
            raise bad("%s vector of %d items overruns the model" % (what, n))
        return (vp + 4, n)

    def vec_i32(self, v, i):
        return self.i32(v[0] + 4 * i)

    def vec_table(self, v, i, what):
        if i >= v[1]:
            raise bad("%s %d out of bounds" % (what, i))
        target = self._follow(v[0] + 4 * i)
        if target < 0:
            raise bad("%s %d out of bounds" % (what, i))
        return self.table(target, what)

    def sub(self, t, field, what):
        """A sub-table field, or None when absent."""
        p = self.field_pos(t, field, 4)
        if p == 0:
            return None
        target = self._follow(p)
        if target < 0:
            raise bad(what + " table out of bounds")
        return self.table(target, what)


class Options:
    """A node's builtin options table (checked by Reader.table), read like mtf_opt_*()."""

    def __init__(self, reader, table):
        self.r = reader
        self.t = table

    def _pos(self, field, size):
        t = self.t
        if t is None:
            return 0
        slot = 4 + 2 * field
        if slot + 2 > t[2]:
            return 0
        off = self.r.u16(t[1] + slot)
        if off == 0 or off + size > t[3]:
            return 0
        return t[0] + off

    def i32(self, field, dflt):
        p = self._pos(field, 4)
        return self.r.i32(p) if p else dflt

    def u8(self, field, dflt):
        p = self._pos(field, 1)
        return self.r.b[p] if p else dflt

    def i8(self, field, dflt):
        p = self._pos(field, 1)
        if not p:
            return dflt
        v = self.r.b[p]
        return v - 256 if v > 127 else v

    def f32_bits(self, field, dflt_bits):
        p = self._pos(field, 4)
        return self.r.u32(p) if p else dflt_bits

    def bytes_vec(self, field):
        """A string (byte vector) field as bytes, None when absent or out of bounds."""
        p = self._pos(field, 4)
        if not p:
            return None
        r = self.r
        v = p + r.u32(p)
        if v + 4 > r.n:
            return None
        n = r.u32(v)
        if v + 4 + n > r.n:
            return None
        return bytes(r.b[v + 4 : v + 4 + n])

    def i32_vec(self, field):
        """An int32 vector field as a list, None when absent or out of bounds."""
        p = self._pos(field, 4)
        if not p:
            return None
        r = self.r
        v = p + r.u32(p)
        if v + 4 > r.n:
            return None
        n = r.u32(v)
        if v + 4 + 4 * n > r.n:
            return None
        return [r.i32(v + 4 + 4 * i) for i in range(n)]
