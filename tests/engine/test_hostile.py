"""Hostile model bytes: the engine refuses them cleanly and never reads out of bounds.

In-process tests (ctypes) cover truncation, bit flips, random bytes and targeted
structural mutations; the sanitizer tests run >= 10,000 mutated models through
the standalone ASan/UBSan fuzz driver (firmware/engine/fuzz/fuzz_main.c) and
prove, with a planted reader bug, that the harness would notice one.
"""

from __future__ import annotations

import ctypes
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
from microtf_host.engine import Engine, EngineError, _Error, _lib, _OpInfo, list_ops
from microtf_host.paths import BUILD, ENGINE
from model_tools import (
    HELLO_WORLD,
    MICRO_SPEECH,
    SINE_FLOAT,
    WAKE_WORDS,
    graph,
    load,
    patch_f32,
    patch_u32,
    scalar_pos,
    vector_length_pos,
    vector_start,
)

BAD_MODEL, UNSUPPORTED_OP, UNSUPPORTED_TYPE, ARENA_TOO_SMALL, SHAPE = 2, 3, 4, 5, 6
REFUSALS = {BAD_MODEL, UNSUPPORTED_OP, UNSUPPORTED_TYPE, SHAPE}

# The operators the core fuzz run builds in besides the reader, model and planner.
CORE_OPS = "fully_connected quantize dequantize call_once var_handle read_variable assign_variable"


def outcome(model: bytes) -> int:
    """0 when the engine accepts and runs the model, else the refusal status."""
    try:
        eng = Engine(model)
    except EngineError as e:
        assert e.message, "a refusal must say why"
        return e.status
    for i, info in enumerate(eng.inputs):
        eng.set_input(i, np.zeros(info.shape, info.dtype))
    eng.invoke()
    eng.reset()
    eng.invoke()
    return 0


def test_truncated_at_every_length() -> None:
    model = load(HELLO_WORLD)
    statuses = {}
    for n in range(len(model)):
        st = outcome(model[:n])
        statuses[st] = statuses.get(st, 0) + 1
        try:
            list_ops(model[:n])
        except EngineError as e:
            assert e.status == BAD_MODEL
    assert set(statuses) <= REFUSALS, statuses
    assert statuses.get(BAD_MODEL, 0) > len(model) // 2
    # An empty or cut file is the commonest bad input: it is named as such.
    for n in (0, 7):
        with pytest.raises(EngineError, match="model too short") as e:
            Engine(model[:n])
        assert e.value.status == BAD_MODEL


def test_single_bit_flips() -> None:
    model = bytearray(load(HELLO_WORLD))
    rng = np.random.default_rng(10)
    seen = set()
    for pos, bit in zip(rng.integers(0, len(model), 2500), rng.integers(0, 8, 2500), strict=True):
        mutated = bytearray(model)
        mutated[pos] ^= 1 << bit
        st = outcome(bytes(mutated))
        assert st == 0 or st in REFUSALS | {ARENA_TOO_SMALL}
        seen.add(st)
    assert 0 in seen and BAD_MODEL in seen


def test_random_bytes() -> None:
    rng = np.random.default_rng(11)
    for k in range(400):
        data = bytearray(rng.integers(0, 256, int(rng.integers(0, 600)), dtype=np.uint8).tobytes())
        if k % 2 and len(data) >= 8:
            data[0:4] = struct.pack("<I", int(rng.integers(8, max(9, len(data)))))
            data[4:8] = b"TFL3"
        assert outcome(bytes(data)) in REFUSALS


def test_identifier_checked_leniently() -> None:
    model = load(HELLO_WORLD)
    assert outcome(model[:4] + b"\0\0\0\0" + model[8:]) == 0  # no identifier: accepted, as TFLite does
    with pytest.raises(EngineError, match="TFL3"):
        Engine(model[:4] + b"ONNX" + model[8:])


def _refused(model: bytes, status: int, words: str) -> None:
    with pytest.raises(EngineError) as info:
        Engine(model)
    assert info.value.status == status, info.value.message
    assert re.search(words, info.value.message), info.value.message


def test_structural_mutations_hello_world() -> None:
    model = load(HELLO_WORLD)
    g = graph(model)
    n_tensors = g.TensorsLength()
    import tflite

    root = tflite.Model.GetRootAsModel(model, 0)
    weights = next(
        g.Tensors(i) for i in range(n_tensors) if root.Buffers(g.Tensors(i).Buffer()).DataLength() > 16
    )
    # Shapes: negative, absurd, overflowing.
    dims = vector_start(weights, 0)
    _refused(patch_u32(model, dims, 0xFFFFFFFF), BAD_MODEL, "negative dim")
    _refused(patch_u32(model, dims, 0x7FFFFFFF), BAD_MODEL, "2 GB|bytes")
    activation = g.Tensors(g.Inputs(0))
    _refused(patch_u32(model, vector_start(activation, 0), 0x40000000), ARENA_TOO_SMALL, "needs")
    _refused(patch_u32(model, vector_length_pos(weights, 0), 7), UNSUPPORTED_TYPE, "dims")
    assert outcome(patch_u32(model, dims, 0)) in REFUSALS  # empty weights: shapes no longer agree
    # Buffer index out of range, and a buffer shorter than its tensor.
    _refused(patch_u32(model, scalar_pos(weights, 2), 10_000), BAD_MODEL, "buffer index")
    _refused(patch_u32(model, dims, weights.Shape(0) + 1), BAD_MODEL, "needs .* bytes, its buffer has")
    # Operator tensor indices.
    op = g.Operators(0)
    _refused(patch_u32(model, vector_start(op, 1), n_tensors), BAD_MODEL, "index .* out of range")
    _refused(patch_u32(model, vector_start(op, 1), 0xFFFFFFFE), BAD_MODEL, "index -2 out of range")
    _refused(patch_u32(model, vector_length_pos(op, 1), 0x40000000), BAD_MODEL, "overruns")
    # Subgraph counts.
    _refused(patch_u32(model, vector_length_pos(root, 2), 0), BAD_MODEL, "0 subgraphs")
    _refused(patch_u32(model, vector_length_pos(root, 2), 1000), BAD_MODEL, "overruns")
    _refused(patch_u32(model, vector_length_pos(root, 1), 0), BAD_MODEL, "operator code")
    # Root and vtable offsets.
    _refused(patch_u32(model, 0, len(model) + 100), BAD_MODEL, "out of bounds")
    _refused(
        patch_u32(model, scalar_pos(g, 0) - scalar_pos(g, 0) + g._tab.Pos, 0x7FFFFFF0), BAD_MODEL, "vtable"
    )
    # Quantization: NaN and zero scales, zero point out of int8 range.
    q = g.Tensors(g.Inputs(0)).Quantization()
    _refused(patch_f32(model, vector_start(q, 2), float("nan")), BAD_MODEL, "scale")
    _refused(patch_f32(model, vector_start(q, 2), 0.0), BAD_MODEL, "scale")
    _refused(patch_u32(model, vector_start(q, 3), 1000), BAD_MODEL, "zero point")


def test_unsupported_operator_codes_are_named() -> None:
    import tflite

    model = load(HELLO_WORLD)
    code = tflite.Model.GetRootAsModel(model, 0).OperatorCodes(0)
    pos = scalar_pos(code, 3)
    _refused(patch_u32(model, pos, 44), UNSUPPORTED_OP, "UNIDIRECTIONAL_SEQUENCE_LSTM")
    _refused(patch_u32(model, pos, 300), UNSUPPORTED_OP, r"code 300")
    _refused(patch_u32(model, scalar_pos(code, 2), 99), UNSUPPORTED_OP, "version 99")


def test_call_once_targets_checked() -> None:
    import tflite

    model = load(WAKE_WORDS[0])
    root = tflite.Model.GetRootAsModel(model, 0)
    g = root.Subgraphs(0)
    op = next(
        g.Operators(i)
        for i in range(g.OperatorsLength())
        if root.OperatorCodes(g.Operators(i).OpcodeIndex()).BuiltinCode() == 129
    )
    options = op.BuiltinOptions()
    table = tflite.CallOnceOptions()
    table.Init(options.Bytes, options.Pos)
    pos = scalar_pos(table, 0)
    for target, words in (
        (0, "CALL_ONCE of subgraph 0"),
        (7, "CALL_ONCE of subgraph 7"),
        (-1, "subgraph -1"),
    ):
        _refused(patch_u32(model, pos, target), BAD_MODEL, words)


def test_model_over_2gb_refused_without_reading() -> None:
    lib = _lib()
    small = (ctypes.c_uint8 * 16)()
    err, count = _Error(), ctypes.c_int()
    ops = (_OpInfo * 4)()
    status = lib.mtf_list_ops(small, 1 << 31, ops, 4, ctypes.byref(count), ctypes.byref(err))
    assert status == BAD_MODEL and b"2 GB" in err.message


# ---- sanitizers: the standalone fuzz driver ----


def _build(name: str, ops: str = "", extra: str = "") -> str:
    cmd = [
        "make",
        "-s",
        "-C",
        str(ENGINE),
        "sanitize",
        f"FUZZ_NAME={name}",
        f"OPS={ops}",
        f"EXTRA_CFLAGS={extra}",
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return str(BUILD / "sanitize" / name)


FUZZ_MODELS = [HELLO_WORLD, SINE_FLOAT, MICRO_SPEECH, *WAKE_WORDS]


def _fuzz(binary: str, count: int, seed: int) -> subprocess.CompletedProcess:
    args = [binary, "-n", str(count), "-s", str(seed), *map(str, FUZZ_MODELS)]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def _runs(proc: subprocess.CompletedProcess) -> int:
    match = re.search(r"runs (\d+)", proc.stdout)
    return int(match.group(1)) if match else 0


@pytest.mark.slow
def test_fuzz_core_10000_mutations_zero_findings() -> None:
    """Reader, model, planner and this core's operators, under ASan + UBSan."""
    binary = _build("fuzz_core", CORE_OPS)
    proc = _fuzz(binary, 1500, 1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _runs(proc) >= 10_000
    accepted = int(re.search(r" 0=(\d+)", proc.stdout).group(1))
    assert accepted > 500, "too few mutants get past the reader to exercise prepare/plan/invoke"


@pytest.mark.slow
def test_fuzz_all_operators_10000_mutations() -> None:
    """Every operator file present, under ASan + UBSan: a finding in any file fails."""
    binary = _build("fuzz_main")
    proc = _fuzz(binary, 1500, 2)
    if proc.returncode != 0:
        frames = re.findall(
            r"(?:#\d+ 0x[0-9a-f]+ in \S+ |^)((?:src|ops|fuzz)/[\w./]+:\d+)", proc.stderr, re.M
        )
        first = frames[0] if frames else proc.stderr[-500:]
        pytest.fail(f"sanitizer finding at {first}:\n{proc.stderr[-3000:]}")
    assert _runs(proc) >= 10_000


@pytest.mark.slow
def test_fuzz_harness_catches_a_planted_out_of_bounds_read() -> None:
    binary = _build("fuzz_planted", "fully_connected", "-DMTF_FUZZ_PLANT_OOB")
    proc = subprocess.run(
        [binary, "-n", "3000", "-s", "3", str(HELLO_WORLD)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0
    assert "AddressSanitizer" in proc.stderr
    assert "mtf_reader" in proc.stderr


def test_partial_build_reports_missing_kernels_as_unsupported(tmp_path) -> None:
    """Weak references: a library built from a subset of ops/*.c links, and refuses the rest by name."""
    lib = tmp_path / "libmicrotf.so"
    subprocess.run(
        ["make", "-s", "-C", str(ENGINE), "host", "OPS=fully_connected", f"HOST_LIB={lib}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = (
        "from microtf_host.engine import Engine, EngineError, list_ops\n"
        f"m = open({str(MICRO_SPEECH)!r}, 'rb').read()\n"
        "print(sorted((o.name, o.supported) for o in list_ops(m)))\n"
        "try:\n    Engine(m)\nexcept EngineError as e:\n    print(e.status, e.message)\n"
        f"Engine(open({str(HELLO_WORLD)!r}, 'rb').read())\nprint('hello ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MICROTF_LIB": str(lib)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "('DEPTHWISE_CONV_2D', False)" in proc.stdout and "('FULLY_CONNECTED', True)" in proc.stdout
    assert "3 op 0: RESHAPE version 1 is not supported by this build" in proc.stdout
    assert "hello ok" in proc.stdout


# ---- MTF_TERSE_ERRORS: the code-size build without message texts ----


def test_terse_errors_build_keeps_statuses_and_results(tmp_path) -> None:
    """-DMTF_TERSE_ERRORS drops message formatting (code size) but keeps every status, a fixed
    text per status, and the same arithmetic."""
    lib_path = tmp_path / "libmicrotf_terse.so"
    srcs = sorted(map(str, (ENGINE / "src").glob("*.c"))) + sorted(map(str, (ENGINE / "ops").glob("*.c")))
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-O1", "-fPIC", "-shared"]
    includes = [f"-I{ENGINE / 'include'}", f"-I{ENGINE / 'src'}"]
    cmd = ["cc", *flags, "-DMTF_TERSE_ERRORS", *includes, "-o", str(lib_path), *srcs, "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    lib = ctypes.CDLL(str(lib_path))
    vp = ctypes.c_void_p
    lib.mtf_init.argtypes = [
        vp,
        ctypes.c_size_t,
        vp,
        ctypes.c_size_t,
        ctypes.POINTER(vp),
        ctypes.POINTER(_Error),
    ]
    lib.mtf_invoke.argtypes = [vp, ctypes.POINTER(_Error)]

    def init(model: bytes, arena: ctypes.Array) -> tuple[int, _Error, ctypes.c_void_p]:
        err, handle = _Error(), ctypes.c_void_p()
        buf = ctypes.create_string_buffer(model, len(model))
        init.keep = buf  # the model must outlive the handle
        status = lib.mtf_init(buf, len(model), arena, len(arena), ctypes.byref(handle), ctypes.byref(err))
        return status, err, handle

    arena = (ctypes.c_uint8 * (64 * 1024))()
    lstm = (HELLO_WORLD.parent / "trained_lstm_int8.tflite").read_bytes()
    status, err, _ = init(lstm, arena)
    assert status == UNSUPPORTED_OP and err.message == b"unsupported operator"
    # A failure inside a node keeps its "op N NAME: " prefix: FULLY_CONNECTED's weights
    # reshaped to one dim fail its prepare.
    model = load(HELLO_WORLD)
    g = graph(model)
    w = g.Tensors(g.Operators(0).Inputs(1))
    status, err, _ = init(patch_u32(model, vector_length_pos(w, 0), 1), arena)
    assert status == SHAPE and re.fullmatch(rb"op 0 FULLY_CONNECTED: inconsistent shapes", err.message), (
        err.message
    )
    # Same results as the normal build.
    status, err, handle = init(model, arena)
    assert status == 0, err.message
    ref = Engine(model)
    info = ref.inputs[0]
    outs = set()
    for v in range(-128, 128, 9):
        x = np.full(info.shape, v, dtype=info.dtype)
        ref.set_input(0, x)
        ref.invoke()
        expected = ref.output(0).ravel()
        assert np.array_equal(_terse_run(lib, handle, x), expected)
        outs.add(expected.tobytes())
    assert len(outs) > 10


def _terse_run(lib: ctypes.CDLL, handle: ctypes.c_void_p, x: np.ndarray) -> np.ndarray:
    from microtf_host.engine import _TensorInfo

    lib.mtf_input.argtypes = lib.mtf_output.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(_TensorInfo),
    ]
    info = _TensorInfo()
    assert lib.mtf_input(handle, 0, ctypes.byref(info)) == 0
    data = np.ascontiguousarray(x).tobytes()
    assert len(data) == info.bytes
    ctypes.memmove(info.data, data, len(data))
    err = _Error()
    assert lib.mtf_invoke(handle, ctypes.byref(err)) == 0, err.message
    assert lib.mtf_output(handle, 0, ctypes.byref(info)) == 0
    return np.frombuffer(ctypes.string_at(info.data, info.bytes), dtype=x.dtype).copy()
