"""The microtf C engine on the host, through ctypes over build/host/libmicrotf.so.

    eng = Engine(model_bytes)             # arena: exactly what the model needs
    eng.set_input(0, x); eng.invoke(); y = eng.output(0)
    outputs = eng.run(samples)            # same format as microtf_host.tflm.run

The library is built by ``make engine`` (``make -C firmware/engine host``);
the environment variable MICROTF_LIB names another build.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import MicrotfError
from .paths import BUILD
from .tflite_types import TENSOR_TYPES, type_name

MAX_DIMS = 6
MESSAGE_MAX = 112
ARENA_TOO_SMALL = 5
ALIGN = 16
MAX_ARENA = 1 << 30  # refuse to allocate more for one model (hostile shapes ask for gigabytes)


class EngineError(MicrotfError):
    """The engine refused the model or failed to run it."""

    def __init__(self, status: int, message: str, needed: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.needed = needed


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple
    dtype: np.dtype
    scale: float
    zero_point: int


@dataclass(frozen=True)
class OpInfo:
    name: str
    code: int
    version: int
    supported: bool


class _Error(ctypes.Structure):
    _fields_ = [
        ("status", ctypes.c_int),
        ("needed", ctypes.c_size_t),
        ("message", ctypes.c_char * MESSAGE_MAX),
    ]


class _TensorInfo(ctypes.Structure):
    _fields_ = [
        ("dtype", ctypes.c_int),
        ("ndims", ctypes.c_int),
        ("dims", ctypes.c_int32 * MAX_DIMS),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
        ("data", ctypes.c_void_p),
        ("bytes", ctypes.c_size_t),
    ]


class _OpInfo(ctypes.Structure):
    _fields_ = [
        ("builtin_code", ctypes.c_int32),
        ("version", ctypes.c_int32),
        ("name", ctypes.c_char_p),
        ("supported", ctypes.c_int),
    ]


def library_path() -> Path:
    return Path(os.environ.get("MICROTF_LIB") or BUILD / "host" / "libmicrotf.so")


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    path = library_path()
    if not path.exists():
        raise MicrotfError(f"engine library {path} not found: run `make engine`")
    lib = ctypes.CDLL(str(path))
    vp, sz, err = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_Error)
    lib.mtf_init.argtypes = [vp, sz, vp, sz, ctypes.POINTER(vp), err]
    lib.mtf_arena_needed.argtypes = [vp, sz, vp, sz, ctypes.POINTER(sz), err]
    lib.mtf_arena_used.argtypes = [vp]
    lib.mtf_arena_used.restype = sz
    lib.mtf_input_count.argtypes = lib.mtf_output_count.argtypes = [vp]
    lib.mtf_input.argtypes = lib.mtf_output.argtypes = [vp, ctypes.c_int, ctypes.POINTER(_TensorInfo)]
    # mtf_invoke runs per inference: without argtypes ctypes skips a from_param conversion per
    # argument (about 0.15 us of a sub-microsecond invoke). Every caller passes the c_void_p handle
    # and a byref(_Error), which ctypes hands over unconverted and at full pointer width.
    lib.mtf_invoke.argtypes = None
    lib.mtf_invoke.restype = ctypes.c_int
    lib.mtf_reset.argtypes = [vp]
    lib.mtf_list_ops.argtypes = [
        vp,
        sz,
        ctypes.POINTER(_OpInfo),
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        err,
    ]
    return lib


def _raise(status: int, err: _Error) -> None:
    if status != 0:
        raise EngineError(status, err.message.decode(errors="replace") or f"status {status}", int(err.needed))


def _aligned(size: int, offset: int = 0) -> tuple[ctypes.Array, int]:
    """A ctypes byte buffer and the address inside it that is 16-aligned plus offset."""
    buf = (ctypes.c_uint8 * (size + ALIGN + offset))()
    addr = ctypes.addressof(buf)
    return buf, addr + (-addr) % ALIGN + offset


def _numpy_dtype(code: int) -> np.dtype:
    dtype = TENSOR_TYPES.get(code, ("", None))[1]
    if dtype is None:
        raise EngineError(4, f"tensor type {type_name(code)} has no numpy equivalent")
    return np.dtype(dtype)


def arena_needed(model: bytes) -> int:
    """Exact arena bytes (16-aligned arena) the engine needs for this model."""
    lib = _lib()
    mbuf, maddr = _aligned(len(model))
    ctypes.memmove(maddr, model, len(model))
    work = max(64 * 1024, 4 * len(model))
    while True:
        if work > MAX_ARENA:
            raise EngineError(ARENA_TOO_SMALL, "model needs over 1 GiB of arena")
        wbuf, waddr = _aligned(work)
        needed, err = ctypes.c_size_t(0), _Error()
        status = lib.mtf_arena_needed(maddr, len(model), waddr, work, ctypes.byref(needed), ctypes.byref(err))
        if status == 0:
            return int(needed.value)
        if status != ARENA_TOO_SMALL:
            _raise(status, err)
        work *= 4
        del wbuf


def list_ops(model: bytes) -> list[OpInfo]:
    """The operators a model uses and whether this engine build runs them."""
    lib = _lib()
    count, err = ctypes.c_int(0), _Error()
    ops = (_OpInfo * 256)()
    _raise(lib.mtf_list_ops(model, len(model), ops, 256, ctypes.byref(count), ctypes.byref(err)), err)
    return [
        OpInfo(o.name.decode(), o.builtin_code, o.version, bool(o.supported))
        for o in ops[: min(count.value, 256)]
    ]


class Engine:
    """One model in its own arena. ``model_offset`` places the model bytes at that
    distance from a 16-aligned address (to test unaligned models)."""

    def __init__(self, model: bytes, arena_size: int | None = None, model_offset: int = 0) -> None:
        lib = self._lib = _lib()
        if arena_size is None:
            arena_size = arena_needed(model)
        if arena_size > MAX_ARENA:
            raise EngineError(
                ARENA_TOO_SMALL, f"model needs {arena_size} bytes of arena (over 1 GiB)", arena_size
            )
        self._model_buf, maddr = _aligned(len(model), model_offset)
        ctypes.memmove(maddr, model, len(model))
        self._arena_buf, aaddr = _aligned(arena_size)
        self._arena_addr = aaddr
        self._handle = ctypes.c_void_p()
        err = _Error()
        _raise(
            lib.mtf_init(maddr, len(model), aaddr, arena_size, ctypes.byref(self._handle), ctypes.byref(err)),
            err,
        )
        self.inputs = [self._info(lib.mtf_input, i) for i in range(lib.mtf_input_count(self._handle))]
        self.outputs = [self._info(lib.mtf_output, i) for i in range(lib.mtf_output_count(self._handle))]

    def _raw(self, getter, index: int) -> _TensorInfo:
        info = _TensorInfo()
        status = getter(self._handle, index, ctypes.byref(info))
        if status != 0:
            raise IndexError(f"no tensor {index}")
        return info

    def _info(self, getter, index: int) -> TensorInfo:
        raw = self._raw(getter, index)
        shape = tuple(raw.dims[: raw.ndims])
        return TensorInfo(shape, _numpy_dtype(raw.dtype), float(raw.scale), int(raw.zero_point))

    @property
    def arena_used(self) -> int:
        return int(self._lib.mtf_arena_used(self._handle))

    def tensor_offset(self, subgraph: int, tensor: int) -> int | None:
        """Offset of a tensor's data from the (16-aligned) arena start, None for tensors that
        have no planned or persistent memory (constants). For planner tests."""
        fn = self._lib.mtf_debug_tensor_data
        fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int], ctypes.c_void_p
        addr = fn(self._handle, subgraph, tensor)
        return None if addr is None else addr - self._arena_addr

    def set_input(self, index: int, value: np.ndarray) -> None:
        info = self.inputs[index]
        value = np.asarray(value)
        if value.dtype != info.dtype or value.shape != info.shape:
            raise ValueError(
                f"input {index} must be {info.dtype} of shape {info.shape}, got {value.dtype} of shape {value.shape}"
            )
        raw = self._raw(self._lib.mtf_input, index)
        data = np.ascontiguousarray(value).tobytes()
        ctypes.memmove(raw.data, data, min(len(data), raw.bytes))

    def invoke(self) -> None:
        err = _Error()
        _raise(self._lib.mtf_invoke(self._handle, ctypes.byref(err)), err)

    def output(self, index: int) -> np.ndarray:
        info = self.outputs[index]
        raw = self._raw(self._lib.mtf_output, index)
        data = ctypes.string_at(raw.data, raw.bytes) if raw.bytes else b""
        return np.frombuffer(data, dtype=info.dtype).reshape(info.shape).copy()

    def reset(self) -> None:
        status = self._lib.mtf_reset(self._handle)
        if status != 0:
            raise EngineError(status, "reset failed")

    def run(
        self, samples: Sequence[Sequence[np.ndarray]], reset_each: bool = False
    ) -> list[list[np.ndarray]]:
        """Invoke once per sample (``samples[k][i]`` feeds input i at step k); state carries over
        unless ``reset_each``. Returns ``outputs[k][j]``, as ``microtf_host.tflm.run``."""
        results = []
        for k, sample in enumerate(samples):
            if reset_each and k:
                self.reset()
            for i, value in enumerate(sample):
                self.set_input(i, value)
            self.invoke()
            results.append([self.output(j) for j in range(len(self.outputs))])
        return results
