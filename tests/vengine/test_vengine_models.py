"""The viper engine on real models: bit for bit against TFLite Micro (expected
outputs computed on the host, the engine run by the MicroPython Unix port),
invoke() under heap_lock, and the arena plan against the C engine's."""

from __future__ import annotations

import numpy as np
import pytest
from microtf_host import tflm
from microtf_host.engine import Engine, arena_needed, list_ops
from vhelpers import HERE, LSTM, MODELS, plan_of_c_engine, run_micropython, run_vengine

STEPS = {
    "sine_int8": 200,
    "hello_world_int8": 200,
    "sine_float": 100,
    "gesture_int8": 100,
    "micro_speech_quantized": 40,
    "person_detect": 3,
}
# Models whose every op runs without allocating (float32 FULLY_CONNECTED allocates floats).
HEAPLOCK = {"sine_int8", "hello_world_int8", "gesture_int8", "micro_speech_quantized", "person_detect"}


def _samples(eng: Engine, steps: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        s = []
        for info in eng.inputs:
            if info.dtype == np.float32:
                s.append(rng.uniform(-1.0, 7.0, info.shape).astype(np.float32))
            else:
                s.append(rng.integers(-128, 128, info.shape).astype(info.dtype))
        out.append(s)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bit_exact_with_tflite_micro(name: str, tmp_path) -> None:
    path = MODELS[name]
    model = path.read_bytes()
    eng = Engine(model)
    samples = _samples(eng, STEPS[name], 7)
    expected = tflm.run(model, samples)
    flags = ("heaplock",) if name in HEAPLOCK else ()
    got, line = run_vengine(path, samples, [(o.shape, o.dtype) for o in eng.outputs], tmp_path, *flags)
    assert line.startswith(f"ok {len(samples)} "), line
    # The run covers the model's operators.
    names = {op.name for op in list_ops(model)}
    assert all(n in line for n in names), (names, line)
    distinct = set()
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x.dtype == y.dtype and x.shape == y.shape
            assert np.array_equal(x, y), f"step {k} output {j}: {x.ravel()[:8]} vs {y.ravel()[:8]}"
            distinct.add(x.tobytes())
    # Not a saturated constant output.
    assert len(distinct) > min(10, len(samples) // 2)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_plan_equals_c_engine(name: str) -> None:
    path = MODELS[name]
    used, head, offsets = plan_of_c_engine(path)
    assert used == arena_needed(path.read_bytes())
    out = run_micropython([str(HERE / "vplan.py"), str(path)]).split("\n")
    assert out[0] == f"head {head}"
    ours = {int(a): int(b) for a, b in (line.split() for line in out[1:] if line)}
    assert ours == offsets
    assert len(offsets) >= 3


def test_lstm_refused(tmp_path) -> None:
    code = (
        "from microtf.vengine.model import VModel\n"
        f"m = open({str(LSTM)!r}, 'rb').read()\n"
        "try:\n    VModel(m)\n    print('loaded')\n"
        "except ValueError as e:\n    print('ValueError', e)\n"
    )
    script = tmp_path / "lstm.py"
    script.write_text(code)
    out = run_micropython([str(script)]).strip()
    assert out.startswith("ValueError") and "LSTM" in out and "version" in out, out
