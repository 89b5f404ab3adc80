"""The C engine on real models, bit for bit against TFLite Micro, and its arena figures."""

from __future__ import annotations

import numpy as np
import pytest
from microtf_host import tflm
from microtf_host.engine import Engine, EngineError, arena_needed, list_ops
from microtf_host.paths import ROOT
from model_tools import (
    HELLO_WORLD,
    LSTM,
    MICRO_SPEECH,
    PERSON_DETECT,
    SINE_FLOAT,
    SVDF,
    WAKE_WORDS,
    assert_bit_exact,
    distinct_outputs,
    load,
    op_names,
    op_tensor,
    random_samples,
    with_output,
)

ARENA_TOO_SMALL = 5
UNSUPPORTED_OP = 3


def test_hello_world_int8_bit_exact() -> None:
    model = load(HELLO_WORLD)
    assert op_names(model) == {"FULLY_CONNECTED"}
    values = np.arange(-128, 128, dtype=np.int8)  # every input once ...
    rng = np.random.default_rng(1)
    values = np.concatenate([values, rng.integers(-128, 128, 300).astype(np.int8)])  # ... and 300 random
    samples = [[np.array([[v]], dtype=np.int8)] for v in values]
    outputs = assert_bit_exact(model, samples)
    assert len(outputs) >= 500
    assert distinct_outputs(outputs) > 50, "outputs barely vary: the comparison would prove little"


@pytest.mark.parametrize("name", ["sine", "gesture"])
def test_example_model_bit_exact_over_500_inputs(name: str) -> None:
    """The project's example models (models/*/NAME_int8.tflite): 500 seeded random int8 inputs,
    half uniform over the whole range, half around zero (where trained inputs live)."""
    model = load(ROOT / "models" / name / f"{name}_int8.tflite")
    eng = Engine(model)
    rng = np.random.default_rng(5)
    samples = random_samples(eng, 250, rng)
    samples += [
        [np.clip(s[0].astype(np.int16) // 4, -128, 127).astype(np.int8)]
        for s in random_samples(eng, 250, rng)
    ]
    outputs = assert_bit_exact(model, samples)
    assert len(outputs) == 500
    assert distinct_outputs(outputs) > 100, "outputs barely vary: the comparison would prove little"


def test_sine_float_bit_exact() -> None:
    model = load(SINE_FLOAT)
    assert "FULLY_CONNECTED" in op_names(model)
    rng = np.random.default_rng(2)
    xs = np.concatenate([rng.uniform(0, 2 * np.pi, 300), [0.0, -0.0, 1e-30, 1e30, -7.5]]).astype(np.float32)
    outputs = assert_bit_exact(model, [[np.array([[x]], dtype=np.float32)] for x in xs])
    assert distinct_outputs(outputs) > 250


def test_micro_speech_bit_exact() -> None:
    model = load(MICRO_SPEECH)
    assert op_names(model) == {"DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE"}
    eng = Engine(model)
    outputs = assert_bit_exact(model, random_samples(eng, 20, np.random.default_rng(3)))
    assert distinct_outputs(outputs) > 5


def test_person_detect_bit_exact() -> None:
    model = load(PERSON_DETECT)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"} <= op_names(model)
    eng = Engine(model)
    outputs = assert_bit_exact(model, random_samples(eng, 3, np.random.default_rng(4)))
    assert distinct_outputs(outputs) >= 2


def _wake_word_stream(steps: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Feature frames [1, 3, 40]: a random walk with bursts, so the streaming state matters."""
    walk = rng.normal(0, 1, (3 * steps, 40)).cumsum(axis=0)
    walk = (walk - walk.min()) / (np.ptp(walk) + 1e-9) * 200 - 128
    frames = walk.reshape(steps, 1, 3, 40)
    frames[rng.random(steps) < 0.3] = rng.integers(-128, -40, (1, 3, 40))
    return [[f.astype(np.int8)] for f in frames]


@pytest.mark.parametrize("path", WAKE_WORDS, ids=lambda p: p.stem)
def test_micro_wake_word_stream_bit_exact(path) -> None:
    model = load(path)
    names = op_names(model)
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "STRIDED_SLICE"} <= names
    samples = _wake_word_stream(200, np.random.default_rng(5))
    assert_bit_exact(model, samples)
    # The final probability is mostly 0 on such input, so also compare the logits
    # (the input of LOGISTIC), which carry the whole streaming state.
    logits = with_output(model, op_tensor(model, "LOGISTIC"))
    outputs = assert_bit_exact(logits, samples)
    assert distinct_outputs(outputs) > 10, "logits barely vary: the stream would prove little"


def test_micro_wake_word_reset_reruns_call_once() -> None:
    model = with_output(load(WAKE_WORDS[0]), op_tensor(load(WAKE_WORDS[0]), "LOGISTIC"))
    samples = _wake_word_stream(12, np.random.default_rng(6))
    assert_bit_exact(model, samples, reset_each=True)
    eng = Engine(model)
    first = eng.run(samples[:6])
    eng.reset()
    again = eng.run(samples[:6])
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))


@pytest.mark.parametrize(
    "path, op", [(LSTM, "UNIDIRECTIONAL_SEQUENCE_LSTM"), (SVDF, "SVDF")], ids=["lstm", "svdf"]
)
def test_unsupported_models_are_refused_naming_the_operator(path, op) -> None:
    model = load(path)
    with pytest.raises(EngineError) as info:
        Engine(model)
    assert info.value.status == UNSUPPORTED_OP
    assert op in info.value.message
    assert any(o.name == op and not o.supported for o in list_ops(model))


def _tflm_smallest_arena(model: bytes, step: int = 32) -> tuple[int, int]:
    """(lo, hi): TFLite Micro fails with lo bytes and works with hi, hi - lo <= step."""
    lo, hi = 256, 4096
    while not tflm.probe(model, hi):
        lo, hi = hi, hi * 2
    while hi - lo > step:
        mid = (lo + hi) // 2
        if tflm.probe(model, mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


@pytest.mark.parametrize("path", [HELLO_WORLD, SINE_FLOAT], ids=lambda p: p.stem)
def test_arena_not_larger_than_tflite_micro(path) -> None:
    model = load(path)
    ours = arena_needed(model)
    lo, hi = _tflm_smallest_arena(model)
    assert ours <= lo, f"microtf needs {ours} bytes, TFLite Micro works from {lo + 1}..{hi}"
    eng = Engine(model)
    assert eng.arena_used == ours


def test_too_small_arena_reports_exact_need() -> None:
    model = load(MICRO_SPEECH)
    needed = arena_needed(model)
    Engine(model, arena_size=needed)  # exactly enough
    for size in (needed - 8, needed - 1000):
        with pytest.raises(EngineError) as info:
            Engine(model, arena_size=size)
        assert info.value.status == ARENA_TOO_SMALL
        assert info.value.needed == needed, info.value.message
    with pytest.raises(EngineError) as info:
        Engine(model, arena_size=64)
    assert info.value.status == ARENA_TOO_SMALL


@pytest.mark.parametrize("path", [HELLO_WORLD, MICRO_SPEECH, WAKE_WORDS[-1]], ids=lambda p: p.stem)
def test_model_at_unaligned_offsets_gives_identical_outputs(path) -> None:
    model = load(path)
    reference = Engine(model)
    samples = random_samples(reference, 8, np.random.default_rng(7))
    expected = reference.run(samples)
    for offset in (1, 2, 3):
        got = Engine(model, model_offset=offset).run(samples)
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(expected, got, strict=True)), f"offset {offset}"


def test_set_input_checks_dtype_and_shape() -> None:
    eng = Engine(load(HELLO_WORLD))
    with pytest.raises(ValueError, match=r"int8 of shape \(1, 1\)"):
        eng.set_input(0, np.zeros((1, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=r"shape \(1, 1\)"):
        eng.set_input(0, np.zeros((2,), dtype=np.int8))


@pytest.mark.parametrize(
    "path", [HELLO_WORLD, SINE_FLOAT, MICRO_SPEECH, PERSON_DETECT, *WAKE_WORDS], ids=lambda p: p.stem
)
def test_plan_matches_the_written_specification(path) -> None:
    """mtf_planner.h's prose, implemented independently in Python (plan_reference.py), places
    every planned tensor where the C engine does (these models' kernels ask for no scratch)."""
    from plan_reference import plan

    model = load(path)
    offsets = plan(model)
    eng = Engine(model)
    assert offsets
    for (s, t), offset in offsets.items():
        assert eng.tensor_offset(s, t) == offset, f"subgraph {s} tensor {t}"
