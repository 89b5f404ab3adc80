"""microtf.Model: load a model, feed it, read it.

    import microtf
    m = microtf.Model("models/gesture/gesture_int8.tflite")   # or bytes, or an embedded module
    print(m.input_shape, m.input_dtype, m.labels)
    y = m.predict(window)                 # floats in (list or array('f')) or raw int8 (array('b'), bytes)
    m.predict_into(x, out)                # the same without allocating: out is array('f') or array('b')
    m.input(0)[:] = raw; m.invoke(); m.output(0)   # zero-copy: memoryviews over the arena

Engines: the native C engine (module ``_microtf``) when the firmware has it,
else the pure-MicroPython viper engine (``microtf.vengine``); ``engine=``
forces one ("native" or "viper").

The arena: ``_microtf`` has one static arena of MICROTF_ARENA_SIZE bytes, set
when the firmware is built.  The viper engine gets one buffer too, allocated
once (when this module is imported on a firmware without ``_microtf``, while
the heap is still in one piece; else at the first Model with engine="viper")
and reused by every later model; its size is ``ARENA_SIZE`` of an optional
module ``microtf_config`` on the board, else DEFAULT_ARENA_SIZE.  A model that needs more raises MemoryError saying how
many bytes it needs.  Either way one model at a time owns the arena: loading
another one ends the previous model (its methods raise RuntimeError).  Pass
``arena=bytearray(n)`` (viper engine only) to give a model a buffer of its own.

An input's bytes do not survive invoke() (the engines reuse them for later
tensors): write every input before each invoke().

What allocates:
- ``predict(x)``: the result (a list of floats per output, a tuple of them when
  there are several outputs), and the classification of ``x`` (a few bytes).
- ``predict_into(x, out)``, ``invoke()``, ``input(i)``/``output(i)`` after the
  first call: nothing (tested under ``micropython.heap_lock()``).  The first
  call with a new ``x`` or ``out`` object inspects it once and remembers it.

Quantization of floats: q = clamp(round_half_away(x / scale) + zero_point),
computed exactly from the float32 value of x (see microtf._convert), so every
board gives the same bytes.  Dequantization: (q - zero_point) * scale, rounded
to float32.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

from array import array

from microtf import _convert

DEFAULT_ARENA_SIZE = 16384

_DTYPE_SIZE = {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "int32": 4, "float32": 4, "int64": 8}
_RANGE = {"int8": (-128, 127), "uint8": (0, 255)}

# kinds of user buffers
_RAW = 0  # bytes in the tensor's own dtype: copied
_F32 = 1  # array('f'): quantized (or copied into a float32 tensor)
_LIST = 2  # list/tuple of numbers: packed into array('f') first (allocates nothing new per call)

_NONE = array("i")  # placeholder for buffers a port does not need
_arena = None  # the viper engine's shared arena (made once)
_owner = None  # the Model that owns _arena now


def _native():
    """The _microtf module, or None; ImportError when its version does not match this package's."""
    try:
        import _microtf  # type: ignore[import-not-found]
    except ImportError:
        return None
    import microtf

    if _microtf.VERSION.split(".")[:2] != microtf.__version__.split(".")[:2]:
        raise ImportError(
            "_microtf %s in the firmware does not match the microtf package %s: update one of them"
            % (_microtf.VERSION, microtf.__version__)
        )
    return _microtf


def viper_arena_size():
    """Bytes of the viper engine's shared arena: ARENA_SIZE of microtf_config, else the default."""
    try:
        import microtf_config  # type: ignore[import-not-found]

        return microtf_config.ARENA_SIZE
    except (ImportError, AttributeError):
        return DEFAULT_ARENA_SIZE


def arena_size():
    """Bytes of arena a model can use: the firmware's for _microtf, else the viper engine's."""
    nat = _native()
    return nat.ARENA_SIZE if nat is not None else viper_arena_size()


def _shared_arena():
    global _arena
    if _arena is None:
        # array('b'): int8 tensors seen through input(i)/output(i) are then signed, as with _microtf.
        _arena = array("b", bytes(viper_arena_size()))
    return _arena


if _native() is None:
    _shared_arena()  # early, while the heap is still in one piece


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


def _labels_beside(path):
    """labels.txt in the model file's directory, or None."""
    cut = path.rfind("/")
    name = path[: cut + 1] + "labels.txt"
    try:
        text = _read_file(name).decode()
    except OSError:
        return None
    return tuple(s.strip() for s in text.split("\n") if s.strip())


def _source(source):
    """(model bytes, labels, sha256 or None, where) for a path, a buffer or an embedded module."""
    if isinstance(source, str):
        try:
            data = _read_file(source)
        except OSError as exc:
            raise OSError(
                exc.args[0] if exc.args else 2, "cannot read model %r" % (source,)
            ) from None
        return data, _labels_beside(source), None, source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return source, None, None, "buffer"
    data = getattr(source, "MODEL", None)
    if data is None:
        raise TypeError("model source must be a path, bytes/bytearray/memoryview or a module with MODEL")
    labels = getattr(source, "LABELS", None)
    return data, tuple(labels) if labels is not None else None, getattr(source, "SHA256", None), "module"


def _count(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _kind(x, itemsize):
    """_RAW / _F32 / _LIST for a user buffer; ValueError when it fits neither (allocates a little)."""
    if isinstance(x, (bytes, bytearray)):
        return _RAW, 1
    if isinstance(x, (list, tuple)):
        return _LIST, 0
    try:
        if isinstance(x, str):
            raise TypeError
        mv = memoryview(x)
    except TypeError:
        raise ValueError(
            "expected a list, array('f'), array('b') or bytes, got %s" % type(x).__name__
        ) from None
    if len(mv) == 0:
        return _RAW, itemsize  # the length check reports it
    size = len(bytes(mv[:1]))
    if isinstance(mv[0], float):
        if size != 4:
            raise ValueError("float arrays must be array('f') (float32), got %d-byte floats" % size)
        return _F32, 4
    return _RAW, size


def _tname(kind, size):
    if kind == _F32:
        return "array('f')"
    if kind == _LIST:
        return "list"
    return "%d-byte integers" % size


class _Port:
    """One input or output: its view, quantization and scratch buffers."""

    def __init__(self, view, info, index, is_input):
        shape, dtype, scale, zp = info
        self.view = view
        self.shape = shape
        self.dtype = dtype
        self.scale = scale
        self.zero_point = zp
        self.n = _count(shape)
        self.size = _DTYPE_SIZE.get(dtype, 0)
        self.what = "%s %d" % ("input" if is_input else "output", index)
        self.quantized = dtype in _RANGE and scale > 0
        self.params = _NONE  # quantize() parameters (inputs)
        self.table = _NONE  # dequantize() table (outputs)
        self.floats = None  # array('f') scratch, made at first use
        self.cached = None  # the last two user buffers seen, and their kinds
        self.cached_kind = 0
        self.older = None
        self.older_kind = 0
        if self.quantized and is_input:
            lo, hi = _RANGE[dtype]
            self.params = _convert.quant_params(self.n, scale, zp, lo, hi)
        if self.quantized and not is_input:
            self.table = _convert.dequant_table(scale, zp, dtype == "int8")

    def expect(self):
        return "%d values (shape %s, %s)" % (self.n, self.shape, self.dtype)

    def scratch(self):
        if self.floats is None:
            self.floats = array("f", bytes(4 * self.n))
        return self.floats

    def classify(self, x, is_input):
        if x is self.cached:
            return self.cached_kind
        if x is self.older:
            return self.older_kind
        kind, size = _kind(x, self.size)
        if kind == _LIST and not is_input:
            raise ValueError("%s: out must be a buffer (array('f') or raw), not a list" % self.what)
        if kind == _RAW and size != self.size:
            raise ValueError(
                "%s is %s: raw data must have %d-byte items, got %s; or pass floats (list, array('f'))"
                % (self.what, self.dtype, self.size, _tname(kind, size))
            )
        if kind != _RAW and not (self.quantized or self.dtype == "float32"):
            raise ValueError("%s is %s without quantization: pass raw data" % (self.what, self.dtype))
        if len(x) != self.n:
            raise ValueError("%s expects %s, got %d" % (self.what, self.expect(), len(x)))
        if kind != _LIST:
            self.older, self.older_kind = self.cached, self.cached_kind
            self.cached, self.cached_kind = x, kind
        return kind

    def write(self, x):
        """User data into the input tensor."""
        kind = self.classify(x, True)
        if kind == _LIST:
            f = self.scratch()
            for i in range(self.n):
                f[i] = x[i]
            x = f
            kind = _F32
        if kind == _RAW or self.dtype == "float32":
            _convert.copy(self.view, x, self.n * self.size)
        else:
            _convert.quantize(self.view, x, self.params)  # type: ignore[arg-type]

    def read_into(self, out):
        """The output tensor into a user buffer."""
        kind = self.classify(out, False)
        if kind == _RAW or self.dtype == "float32":
            _convert.copy(out, self.view, self.n * self.size)
        else:
            _convert.dequantize(out, self.view, self.table, self.n)  # type: ignore[arg-type]

    def values(self):
        """The output tensor as a list of floats (dequantized) or ints (not quantized)."""
        if self.quantized:
            f = self.scratch()
            _convert.dequantize(f, self.view, self.table, self.n)  # type: ignore[arg-type]
            return list(f)
        if self.dtype == "float32":
            f = self.scratch()
            _convert.copy(f, self.view, 4 * self.n)
            return list(f)
        return list(self.view)


class Model:
    """A model ready to run; see the module's docstring."""

    def __init__(self, source, arena=None, engine=None):
        global _owner
        if engine not in (None, "native", "viper"):
            raise ValueError("engine must be 'native', 'viper' or None, got %r" % (engine,))
        nat = _native() if engine in (None, "native") else None
        if engine == "native" and nat is None:
            raise ImportError("engine='native': this firmware has no _microtf module")
        if nat is None and arena is None:
            _shared_arena()  # before the model's bytes and objects: one large block, made once
        data, labels, sha, where = _source(source)
        self._data = data
        self._shared = False
        if nat is not None:
            if arena is not None:
                raise ValueError(
                    "the native engine uses the firmware's arena (%d bytes, MICROTF_ARENA_SIZE); "
                    "arena= is for engine='viper'" % nat.ARENA_SIZE
                )
            self._m = nat.Model(data)  # MemoryError says how much the model needs
            self.engine = "native"
            self.arena_size = nat.ARENA_SIZE
        else:
            from microtf.vengine.model import VModel

            if arena is None:
                arena = _shared_arena()
                self._shared = True
                _owner = self  # the arena is overwritten from here on
            try:
                self._m = VModel(data, arena)
            except ValueError as exc:
                msg = str(exc)
                if not msg.startswith("arena too small"):
                    raise
                needed = msg.rsplit(" ", 2)[-2] if msg.endswith(" bytes") else "more"
                raise MemoryError(
                    "model needs %s bytes of arena, the arena has %d (set ARENA_SIZE in microtf_config, "
                    "or pass arena=bytearray(n))" % (needed, len(arena))
                ) from None
            self.engine = "viper"
            self.arena_size = len(arena)
        self._labels = labels
        self.sha256 = sha
        self.source = where
        m = self._m
        n_in = m.n_inputs if hasattr(m, "n_inputs") else m.input_count()
        n_out = m.n_outputs if hasattr(m, "n_outputs") else m.output_count()
        self._ins = [_Port(m.input(i), m.input_info(i), i, True) for i in range(n_in)]
        self._outs = [_Port(m.output(i), m.output_info(i), i, False) for i in range(n_out)]

    # ---- introspection (read-only) ----

    @property
    def labels(self):
        """Class names: LABELS of an embedded module, or labels.txt beside a model file; else None."""
        return self._labels

    @property
    def n_inputs(self):
        return len(self._ins)

    @property
    def n_outputs(self):
        return len(self._outs)

    @property
    def input_shape(self):
        return self._ins[0].shape

    @property
    def input_dtype(self):
        return self._ins[0].dtype

    @property
    def input_scale(self):
        return self._ins[0].scale

    @property
    def input_zero_point(self):
        return self._ins[0].zero_point

    @property
    def output_shape(self):
        return self._outs[0].shape

    @property
    def output_dtype(self):
        return self._outs[0].dtype

    @property
    def output_scale(self):
        return self._outs[0].scale

    @property
    def output_zero_point(self):
        return self._outs[0].zero_point

    def input_info(self, i=0):
        """(shape, dtype, scale, zero_point) of input i."""
        p = self._ins[i]
        return (p.shape, p.dtype, p.scale, p.zero_point)

    def output_info(self, i=0):
        p = self._outs[i]
        return (p.shape, p.dtype, p.scale, p.zero_point)

    @property
    def ops(self):
        """[(name, version, supported)] of the operator codes the model uses, in first-use order."""
        seen = []
        for op in self._m.ops():
            entry = (op[0], op[1], op[2] if len(op) > 2 else True)
            if entry not in seen:
                seen.append(entry)
        return seen

    @property
    def arena_used(self):
        return self._m.arena_used

    @property
    def model_size(self):
        return len(self._data)

    # ---- running ----

    def _check(self):
        if self._shared and _owner is not self:
            raise RuntimeError("Model was replaced: one model at a time owns the arena")

    def input(self, i=0):
        """Input i as a writable memoryview over the arena (raw, in the tensor's dtype).

        Write it before every invoke(): the engine may reuse its bytes for later tensors."""
        self._check()
        return self._ins[i].view

    def output(self, i=0):
        """Output i as a memoryview over the arena (raw); valid until the next invoke()."""
        self._check()
        return self._outs[i].view

    def invoke(self):
        """Run the model on what input(i) holds. Allocates nothing."""
        if self._shared and _owner is not self:
            self._check()
        self._m.invoke()

    def reset(self):
        """Clear a streaming model's state (variables) to its initial values."""
        self._check()
        self._m.reset()

    def _write_inputs(self, x):
        ins = self._ins
        if len(ins) == 1:
            ins[0].write(x)
            return
        if not isinstance(x, (list, tuple)) or len(x) != len(ins):
            raise ValueError("model has %d inputs: pass a list or tuple of %d buffers" % (len(ins), len(ins)))
        for i in range(len(ins)):
            ins[i].write(x[i])

    def predict(self, x):
        """Run on ``x``; returns the output as a list of floats (a tuple of lists for several outputs).

        x: floats (list, tuple, array('f')), quantized here, or raw data in the input's
        dtype (array('b') or bytes for int8). Allocates the result.
        """
        self._check()
        self._write_inputs(x)
        self._m.invoke()
        if len(self._outs) == 1:
            return self._outs[0].values()
        return tuple(p.values() for p in self._outs)

    def predict_into(self, x, out):
        """Run on ``x`` and write the output into ``out``: array('f') gets dequantized floats,
        a raw buffer (array('b') for int8) the raw values. No allocation once x and out were seen.
        Several inputs or outputs: lists or tuples of buffers."""
        if self._shared and _owner is not self:
            self._check()
        self._write_inputs(x)
        self._m.invoke()
        outs = self._outs
        if len(outs) == 1:
            outs[0].read_into(out)
            return out
        for i in range(len(outs)):
            outs[i].read_into(out[i])
        return out

    def label(self, y, labels=None):
        """(label, score) of the largest score in ``y`` (from predict, or an array('f')).

        The label comes from ``labels``, else the model's labels; without either it is the index."""
        best = 0
        for i in range(1, len(y)):
            if y[i] > y[best]:
                best = i
        names = labels if labels is not None else self._labels
        return (names[best] if names is not None and best < len(names) else best), y[best]

    def __repr__(self):
        return "<Model %s %s %s -> %s %s, %s engine>" % (
            self.source,
            self.input_dtype,
            self.input_shape,
            self.output_dtype,
            self.output_shape,
            self.engine,
        )
