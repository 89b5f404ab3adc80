"""Convolution-family operators (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D,
PAD, MEAN) of the C engine, bit for bit against TFLite Micro.

Fixtures: tests/fixtures/ops/conv/*.tflite, made by tests/fixtures/make_conv_models.py.
Plus two real models (micro_speech, person_detect) and models patched to be invalid,
which the engine must refuse with a message naming what is wrong.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tflite
from microtf_host import tflm
from microtf_host.paths import ROOT, SHARED_MODELS
from model_tools import model_and_graph, op_codes, seeded_inputs

engine = pytest.importorskip("microtf_host.engine")

FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ops" / "conv"
FIXTURES = sorted(FIXTURE_DIR.glob("*.tflite"))
SAMPLES_PER_MODEL = 24

# Builtin codes of the family and the option tables the refusal tests patch.
CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, PAD, MEAN = 3, 4, 1, 17, 34, 40
FAMILY = {CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, PAD, MEAN}


def _fixture_inputs(data: bytes, count: int, seed: int) -> list[list[np.ndarray]]:
    return seeded_inputs(data, count, seed, float_scale=2.0)


def _missing_kernels(data: bytes) -> list[str]:
    """Names of the model's operators this engine build cannot run."""
    missing = []
    for op in engine.list_ops(data):
        supported = op["supported"] if isinstance(op, dict) else op.supported
        name = op["name"] if isinstance(op, dict) else op.name
        if not supported:
            missing.append(str(name))
    return missing


def _assert_bit_exact(data: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    expected = tflm.run(data, samples)
    got = engine.Engine(data).run(samples)
    assert len(got) == len(expected)
    for k, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        assert len(g_step) == len(e_step)
        for j, (g, e) in enumerate(zip(g_step, e_step, strict=True)):
            assert g.dtype == e.dtype and g.shape == e.shape, f"step {k} output {j}: {g.dtype}{g.shape}"
            if not np.array_equal(g, e):
                diff = np.abs(g.astype(np.float64) - e.astype(np.float64))
                raise AssertionError(
                    f"step {k} output {j}: {int((diff > 0).sum())} of {diff.size} values differ, "
                    f"max by {diff.max()}"
                )
    return expected


def _assert_not_saturated(outputs: list[list[np.ndarray]]) -> None:
    values = np.concatenate([o.ravel() for step in outputs for o in step])
    if np.issubdtype(values.dtype, np.integer):
        info = np.iinfo(values.dtype)
        saturated = np.mean((values == info.min) | (values == info.max))
        assert saturated < 0.9, f"{saturated:.0%} of outputs saturated: the comparison proves little"
    assert len(np.unique(values)) > 2, "outputs (nearly) constant"


def test_fixtures_exist() -> None:
    assert len(FIXTURES) >= 20, "run tests/fixtures/make_conv_models.py"
    covered = set()
    for path in FIXTURES:
        codes = set(op_codes(path.read_bytes()))
        assert codes <= FAMILY, f"{path.name} holds operators outside the family: {codes - FAMILY}"
        covered |= codes
    assert covered == FAMILY


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_bit_exact(path: Path) -> None:
    data = path.read_bytes()
    assert set(op_codes(data)) & FAMILY, "fixture holds no operator of the family"
    samples = _fixture_inputs(data, SAMPLES_PER_MODEL, zlib.crc32(path.stem.encode()))
    expected = _assert_bit_exact(data, samples)
    _assert_not_saturated(expected)


@pytest.mark.parametrize(
    ("name", "count", "needs"),
    [
        ("micro_speech_quantized", 20, {DEPTHWISE_CONV_2D}),
        ("person_detect", 6, {CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D}),
    ],
)
def test_real_model_bit_exact(name: str, count: int, needs: set[int]) -> None:
    path = SHARED_MODELS / f"{name}.tflite"
    data = path.read_bytes()
    assert needs <= set(op_codes(data))
    missing = _missing_kernels(data)
    if missing:
        pytest.skip(f"kernel not in this build: {', '.join(missing)}")
    expected = _assert_bit_exact(data, _fixture_inputs(data, count, zlib.crc32(name.encode())))
    _assert_not_saturated(expected)


def test_same_model_twice_gives_same_output() -> None:
    data = (FIXTURE_DIR / "net_conv_pool_dw_gap.tflite").read_bytes()
    samples = _fixture_inputs(data, 3, 7)
    eng = engine.Engine(data)
    first = eng.run(samples)
    second = eng.run(samples)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("offset", [1, 2, 3])
def test_unaligned_model(offset: int) -> None:
    """Constants (bias, paddings, axes, per-channel scales) read from a model at an odd address."""
    for name in (
        "net_conv_avgpool_pad",
        "net_conv_pool_dw_gap",
        "pad_then_conv_valid",
        "dw_3x3_valid_s2_mult2",
    ):
        data = _fixture(name)
        samples = _fixture_inputs(data, 4, offset)
        aligned = engine.Engine(data).run(samples)
        shifted = engine.Engine(data, model_offset=offset).run(samples)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(aligned, shifted, strict=True)), name


# ---- refusals: models patched to be invalid or unsupported ----


def _op_index(data: bytes, code: int) -> int:
    return op_codes(data).index(code)


def _write(buf: bytearray, pos: int, fmt: str, value: float) -> None:
    buf[pos : pos + struct.calcsize(fmt)] = struct.pack(fmt, value)


def _patch_option(data: bytes, code: int, options_cls: type, field: int, fmt: str, value: int) -> bytes:
    """Overwrite field (0-based, as in schema.fbs) of the builtin options of the first `code` operator."""
    buf = bytearray(data)
    _, graph = model_and_graph(buf)
    table = graph.Operators(_op_index(data, code)).BuiltinOptions()
    opts = options_cls()
    opts.Init(table.Bytes, table.Pos)
    offset = opts._tab.Offset(4 + 2 * field)
    assert offset, "field absent from the flatbuffer: cannot patch in place"
    _write(buf, opts._tab.Pos + offset, fmt, value)
    return bytes(buf)


def _patch_tensor_type(data: bytes, code: int, input_index: int, dtype: int) -> bytes:
    buf = bytearray(data)
    _, graph = model_and_graph(buf)
    tensor = graph.Tensors(graph.Operators(_op_index(data, code)).Inputs(input_index))
    offset = tensor._tab.Offset(6)  # Tensor.type
    assert offset, "tensor type absent (float32 default)"
    _write(buf, tensor._tab.Pos + offset, "<b", dtype)
    return bytes(buf)


def _patch_const_input(data: bytes, code: int, input_index: int, index: int, value: int) -> bytes:
    """Overwrite int32 element `index` of a constant input of the first `code` operator."""
    buf = bytearray(data)
    model, graph = model_and_graph(buf)
    tensor = graph.Tensors(graph.Operators(_op_index(data, code)).Inputs(input_index))
    buffer = model.Buffers(tensor.Buffer())
    start = buffer._tab.Vector(buffer._tab.Offset(4))  # Buffer.data
    _write(buf, start + 4 * index, "<i", value)
    return bytes(buf)


def _fixture(name: str) -> bytes:
    return (FIXTURE_DIR / f"{name}.tflite").read_bytes()


REFUSALS = [
    # (id, model bytes factory, words the message must contain)
    (
        "conv_stride_mismatch",
        lambda: _patch_option(_fixture("conv_3x3_same_relu"), CONV_2D, tflite.Conv2DOptions, 1, "<i", 2),
        "output",
    ),
    (
        "conv_dilation_zero",
        lambda: _patch_option(_fixture("conv_3x3_same_dil2"), CONV_2D, tflite.Conv2DOptions, 4, "<i", 0),
        "dilation",
    ),
    ("conv_int16_input", lambda: _patch_tensor_type(_fixture("conv_1x1"), CONV_2D, 0, 7), "int8"),
    ("conv_uint8_filter", lambda: _patch_tensor_type(_fixture("conv_1x1"), CONV_2D, 1, 3), "filter"),
    (
        "dw_depth_multiplier",
        lambda: _patch_option(
            _fixture("dw_3x3_valid_s2_mult2"), DEPTHWISE_CONV_2D, tflite.DepthwiseConv2DOptions, 3, "<i", 3
        ),
        "depth multiplier",
    ),
    (
        "maxpool_filter_mismatch",
        lambda: _patch_option(
            _fixture("maxpool_2x2_s2_valid"), MAX_POOL_2D, tflite.Pool2DOptions, 3, "<i", 3
        ),
        "output",
    ),
    (
        "avgpool_stride_zero",
        lambda: _patch_option(
            _fixture("avgpool_2x2_s2_valid"), AVERAGE_POOL_2D, tflite.Pool2DOptions, 1, "<i", 0
        ),
        "stride",
    ),
    ("pad_paddings_mismatch", lambda: _patch_const_input(_fixture("pad_zero_2d"), PAD, 1, 2, 5), "paddings"),
    ("pad_negative", lambda: _patch_const_input(_fixture("pad_zero_2d"), PAD, 1, 2, -1), "negative"),
    ("mean_axis_out_of_range", lambda: _patch_const_input(_fixture("mean_gap"), MEAN, 1, 0, 7), "axis"),
]


@pytest.mark.parametrize(("make", "words"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refused(make, words: str) -> None:
    data = make()
    with pytest.raises(engine.EngineError) as info:
        engine.Engine(data)
    assert words in info.value.message, info.value.message
