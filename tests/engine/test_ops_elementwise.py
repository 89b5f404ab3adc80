"""Activation and elementwise operators (SOFTMAX, LOGISTIC, TANH, RELU, RELU6, HARD_SWISH,
ADD, SUB, MUL) of the C engine, bit for bit against TFLite Micro.

Fixtures: tests/fixtures/ops/elementwise/*.tflite, made by
tests/fixtures/make_elementwise_models.py. Every fixture gets seeded random inputs over
the whole int8 range (or wide float ranges), and a first sample that sweeps all 256 int8
values: for the single-input activations with 256 inputs that is an exhaustive test of
the operator at that quantization, and for the *_pairs_* models ([2, 256, 1] against
[2, 1, 256]) it evaluates every pair of int8 values. Patched models check that the engine
refuses quantizations TFLite Micro refuses (naming the reason), that fused RELU/RELU6
clamp once the output quantization lets them bite, that other fused codes (TANH,
SIGN_BIT) run unclamped as in TFLite Micro, and that constant operands are read
correctly with the model at odd addresses.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tflite
from microtf_host import tflm
from microtf_host.paths import ROOT
from model_tools import op_codes

engine = pytest.importorskip("microtf_host.engine")

FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ops" / "elementwise"
FIXTURES = sorted(FIXTURE_DIR.glob("*.tflite"))
SAMPLES_PER_MODEL = 50
# TFLite Micro's default arena is too small for the 128 KiB tensors of the pairs models.
TFLM_ARENA = 1 << 20

ADD, LOGISTIC, MUL, RELU, RELU6, SOFTMAX, TANH, SUB, HARD_SWISH = 0, 14, 18, 19, 21, 25, 28, 41, 117
FAMILY = {ADD, LOGISTIC, MUL, RELU, RELU6, SOFTMAX, TANH, SUB, HARD_SWISH}
SWEPT = {LOGISTIC, TANH, HARD_SWISH, SOFTMAX}  # must have an exhaustive 256-value fixture
SWEEP = np.arange(-128, 128, dtype=np.int8)


def _graph(data: bytes) -> tuple[tflite.Model, tflite.SubGraph]:
    model = tflite.Model.GetRootAsModel(data, 0)
    return model, model.Subgraphs(0)


def _is_quantized(data: bytes) -> bool:
    return all(d["dtype"] == np.int8 for d in tflm.input_details(data))


def _inputs(data: bytes, count: int, seed: int) -> list[list[np.ndarray]]:
    """Two sweeps of all int8 values first, then seeded random samples: even ones over the full
    int8 range, odd ones in a narrow random window (near-ties, which SOFTMAX needs to be
    interesting, and small differences for ADD/SUB)."""
    rng = np.random.default_rng(seed)
    details = tflm.input_details(data)
    samples = []
    for k in range(count):
        sample = []
        for d in details:
            shape = d["shape"]
            if d["dtype"] == np.int8:
                if k < 2:
                    # All int8 values, then reversed (SOFTMAX mixes them across a row).
                    x = np.resize(SWEEP if k == 0 else SWEEP[::-1], shape).astype(np.int8)
                elif k % 2 == 0:
                    x = rng.integers(-128, 128, size=shape, dtype=np.int8)
                else:
                    lo = int(rng.integers(-128, 124))
                    x = rng.integers(lo, lo + 5, size=shape).astype(np.int8)
            else:
                assert d["dtype"] == np.float32
                x = (rng.standard_normal(shape) * rng.choice([0.5, 3.0, 30.0])).astype(np.float32)
                if k == 0:
                    x.flat[:4] = [0.0, -0.0, 1e30, -1e30][: x.size]
            sample.append(x)
        samples.append(sample)
    return samples


def _assert_bit_exact(data: bytes, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    expected = tflm.run(data, samples, arena_size=TFLM_ARENA)
    got = engine.Engine(data).run(samples)
    assert len(got) == len(expected)
    for k, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        assert len(g_step) == len(e_step)
        for j, (g, e) in enumerate(zip(g_step, e_step, strict=True)):
            assert g.dtype == e.dtype and g.shape == e.shape, f"step {k} output {j}: {g.dtype}{g.shape}"
            if g.dtype == np.float32:
                same = g.view(np.uint32) == e.view(np.uint32)  # bit patterns, so -0.0 and NaN count
            else:
                same = g == e
            if not same.all():
                bad = np.flatnonzero(~same)
                raise AssertionError(
                    f"step {k} output {j}: {bad.size} of {g.size} values differ, first at {bad[0]}: "
                    f"engine {g.ravel()[bad[0]]}, TFLite Micro {e.ravel()[bad[0]]}"
                )
    return expected


# Fixtures whose outputs saturate by design, with the reason.
SATURATING = {"softmax_beta7000": "beta * scale >= 32 caps the input multiplier: outputs are one-hot"}


def _assert_not_saturated(outputs: list[list[np.ndarray]]) -> None:
    values = np.concatenate([o.ravel() for step in outputs for o in step])
    if values.dtype == np.float32:
        assert len(np.unique(values)) > 10, "float outputs (nearly) constant"
        return
    info = np.iinfo(values.dtype)
    saturated = np.mean((values == info.min) | (values == info.max))
    assert saturated < 0.9, f"{saturated:.0%} of outputs saturated: the comparison proves little"
    assert len(np.unique(values)) > 8, "outputs (nearly) constant"


def test_fixtures_cover_the_family() -> None:
    assert len(FIXTURES) >= 70, "run tests/fixtures/make_elementwise_models.py"
    assert any(not _is_quantized(p.read_bytes()) for p in CONST_FIXTURES), "no float constant operand"
    covered_int8, covered_float, swept = set(), set(), set()
    for path in FIXTURES:
        data = path.read_bytes()
        codes = op_codes(data)
        # One operator, or the same operator several times side by side (the *_x8 models).
        assert len(set(codes)) == 1 and codes[0] in FAMILY, f"{path.name}: operators {codes}"
        (covered_int8 if _is_quantized(data) else covered_float).update(codes)
        if _is_sweep(data):
            swept.update(codes)
    assert covered_int8 == FAMILY
    assert covered_float == FAMILY
    assert SWEPT <= swept, f"no exhaustive 256-value fixture for {SWEPT - swept}"


def _is_sweep(data: bytes) -> bool:
    """Single-input operators on int8 inputs of exactly 256 values: the first sample is then
    exhaustive for every operator of the model."""
    details = tflm.input_details(data)
    _, graph = _graph(data)
    single = all(graph.Operators(i).InputsLength() == 1 for i in range(graph.OperatorsLength()))
    return single and all(d["dtype"] == np.int8 and int(np.prod(d["shape"])) == 256 for d in details)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_bit_exact(path: Path) -> None:
    """Bit-exact on every sample; for sweep fixtures the first two samples hold all 256
    int8 inputs, so the operator is checked exhaustively at that quantization."""
    data = path.read_bytes()
    assert set(op_codes(data)) <= FAMILY
    samples = _inputs(data, SAMPLES_PER_MODEL, zlib.crc32(path.stem.encode()))
    expected = _assert_bit_exact(data, samples)
    if _is_sweep(data) and op_codes(data)[0] != SOFTMAX:  # SOFTMAX mixes a row: no per-value map
        for out in (o.ravel() for o in expected[0]):
            assert len(np.unique(out)) >= 4, "the sweep covers too few output values to prove much"
            if op_codes(data)[0] in (LOGISTIC, TANH, RELU, RELU6):
                # Monotonic functions: TFLite Micro (and so the engine) must not step backwards.
                assert np.all(np.diff(out.astype(np.int32)) >= 0)
    if path.stem in SATURATING:
        values = np.concatenate([step[0].ravel() for step in expected])
        assert len(np.unique(values)) >= 3, "not even ties reached: " + SATURATING[path.stem]
    else:
        _assert_not_saturated(expected)


def _has_constant_operand(data: bytes) -> bool:
    model, graph = _graph(data)
    op = graph.Operators(0)
    for i in range(op.InputsLength()):
        buffer = model.Buffers(graph.Tensors(op.Inputs(i)).Buffer())
        if buffer is not None and buffer.DataLength() > 0:
            return True
    return False


CONST_FIXTURES = [p for p in FIXTURES if _has_constant_operand(p.read_bytes())]


@pytest.mark.parametrize("path", CONST_FIXTURES, ids=[p.stem for p in CONST_FIXTURES])
def test_constant_operands_at_odd_model_offsets(path: Path) -> None:
    """Constant operands are read in place from the model bytes, which may sit at any
    address: the engine must give the same results with the model at offsets 1-3 (the
    sanitizer build flags any misaligned float load)."""
    data = path.read_bytes()
    samples = _inputs(data, 6, zlib.crc32(path.stem.encode()))
    # At offset 0 the engine matches TFLite Micro (test_fixture_bit_exact).
    expected = engine.Engine(data).run(samples)
    for offset in (1, 2, 3):
        got = engine.Engine(data, model_offset=offset).run(samples)
        for g, e in zip(got, expected, strict=True):
            assert g[0].tobytes() == e[0].tobytes(), f"model at offset {offset}"


def test_pairs_cover_every_int8_pair() -> None:
    """The *_pairs_* fixtures really evaluate all 65536 input pairs in their sweep sample."""
    pairs = [p for p in FIXTURES if "_pairs_" in p.stem]
    assert {op_codes(p.read_bytes())[0] for p in pairs} == {ADD, SUB, MUL}
    for path in pairs:
        d1, d2 = tflm.input_details(path.read_bytes())
        a = np.resize(SWEEP, d1["shape"]).astype(np.int32)
        b = np.resize(SWEEP, d2["shape"]).astype(np.int32)
        combos = np.unique(((a + 128) * 256 + (b + 128)).ravel())
        assert combos.size == 65536, path.name


# ---- refusals: quantizations TFLite Micro refuses must be refused with a reason ----


def _patch_output_quant(data: bytes, scale: float | None = None, zero_point: int | None = None) -> bytes:
    """Overwrite the graph output's first scale and/or zero point in place."""
    buf = bytearray(data)
    _, graph = _graph(buf)
    q = graph.Tensors(graph.Outputs(0)).Quantization()
    # QuantizationParameters vtable slots: scale (float vector) at 8, zero_point (int64 vector) at 10.
    if scale is not None:
        struct.pack_into("<f", buf, q._tab.Vector(q._tab.Offset(8)), scale)
    if zero_point is not None:
        struct.pack_into("<q", buf, q._tab.Vector(q._tab.Offset(10)), zero_point)
    return bytes(buf)


def _patch_fused_activation(data: bytes, activation: int) -> bytes:
    """Overwrite the fused activation of the model's ADD/SUB/MUL (field 0 of its options)."""
    buf = bytearray(data)
    _, graph = _graph(buf)
    table = graph.Operators(0).BuiltinOptions()
    opts = tflite.AddOptions()
    opts.Init(table.Bytes, table.Pos)
    offset = opts._tab.Offset(4)
    assert offset, "fixture stores no fused activation to patch"
    buf[opts._tab.Pos + offset] = activation
    return bytes(buf)


@pytest.mark.parametrize(
    ("fixture", "patch", "words"),
    [
        ("softmax_r4", {"scale": 1.0 / 128}, "1/256"),
        ("softmax_r4", {"zero_point": 0}, "zero point"),
        ("sigmoid_r6", {"zero_point": 0}, "zero point"),
    ],
)
def test_refuses_output_quantization(fixture: str, patch: dict, words: str) -> None:
    data = _patch_output_quant((FIXTURE_DIR / f"{fixture}.tflite").read_bytes(), **patch)
    with pytest.raises(engine.EngineError) as info:
        engine.Engine(data)
    assert words in info.value.message


@pytest.mark.parametrize(
    ("fixture", "activation"),  # 4 = TANH, 5 = SIGN_BIT
    [("add_relu", 4), ("sub_relu", 5), ("mul_relu", 4), ("float_add_relu_bcast", 5)],
)
def test_other_fused_activations_run_unclamped(fixture: str, activation: int) -> None:
    """TFLite Micro treats fused activations other than the RELUs as none; so must the engine."""
    data = _patch_fused_activation((FIXTURE_DIR / f"{fixture}.tflite").read_bytes(), activation)
    samples = _inputs(data, 6, activation)
    got = _assert_bit_exact(data, samples)
    unclamped = engine.Engine(_patch_fused_activation(data, 0)).run(samples)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(got, unclamped, strict=True))


@pytest.mark.parametrize(
    ("fixture", "scale"),
    [
        ("add_relu", None),
        ("sub_relu", None),
        ("mul_relu", None),
        ("add_relu6", 1.0 / 16),
        ("mul_relu6", 1.0 / 16),
    ],
)
def test_fused_activation_clamps(fixture: str, scale: float | None) -> None:
    """The converter calibrates a fused RELU's output to start at 0.0, which makes the clamp a
    no-op; moving the output zero point to 0 (and, for RELU6, the scale so that 6.0 is inside
    the int8 range) makes it bite, and the engine must still match TFLite Micro."""
    data = _patch_output_quant((FIXTURE_DIR / f"{fixture}.tflite").read_bytes(), scale=scale, zero_point=0)
    samples = _inputs(data, SAMPLES_PER_MODEL, zlib.crc32(fixture.encode()))
    values = np.concatenate([step[0].ravel() for step in _assert_bit_exact(data, samples)])
    assert values.min() == 0, "no output was clamped at 0.0"
    assert np.mean(values == 0) < 0.9
    if scale is not None:
        six = round(6.0 / scale)
        assert values.max() == six, "no output was clamped at 6.0"
