"""Real models on the emulated board (qemu_m4): `_microtf` outputs bit-exact with TFLite Micro.

One QEMU run per model: the board reads every step's inputs from a binary file (open() over
semihosting) and writes every step's outputs to another; TFLite Micro computes the expected
outputs on the host (microtf_host.tflm). Stateful models (microWakeWord) run a 200-step stream
twice with reset() between, and first meet a model too big for the arena.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from boardbatch import first_difference, split_outputs
from boardkit import BIG_ARENA, ROOT, SHARED
from microtf_host import qemu, tflm

pytestmark = pytest.mark.timeout(300)

SITE = Path(np.__file__).parents[1]
SINE_FLOAT = SITE / "tflite_micro" / "python" / "tflite_micro" / "sine_float.tflite"
WAKEWORD = SITE / "pymicro_wakeword" / "models"
STREAMS = Path(__file__).resolve().parent / "fixtures" / "wakeword_streams.npz"  # make_wakeword_streams.py

# argv: model, steps, passes, [too-big model]. Streams inputs.bin through the model `passes`
# times, with reset() between passes, appending every output of every step to outputs.bin.
BOARD_SCRIPT = """\
import _microtf, sys

def stream(m, steps, res):
    ins = [m.input(i) for i in range(m.n_inputs)]
    outs = [m.output(j) for j in range(m.n_outputs)]
    with open('inputs.bin', 'rb') as f:
        for k in range(steps):
            for v in ins:
                if f.readinto(v) != len(bytes(v)):
                    raise OSError('short read at step %d' % k)
            m.invoke()
            for o in outs:
                res.write(o)

model, steps, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if len(sys.argv) > 4:
    try:
        _microtf.Model(open(sys.argv[4], 'rb').read())
        print('too-big model accepted')
    except MemoryError as e:
        print('MemoryError', e)
m = _microtf.Model(open(model, 'rb').read())
print('arena', m.arena_used)
with open('outputs.bin', 'wb') as res:
    for p in range(passes):
        if p:
            m.reset()
        stream(m, steps, res)
print('done')
"""


def run_on_board(
    tmp_path: Path, model: Path, samples: list[list[np.ndarray]], passes: int = 1, big: bool = False
) -> tuple[list[str], bytes]:
    """Run the samples through `model` on the board; return (console lines, outputs.bin)."""
    shutil.copy(model, tmp_path / "m.tflite")
    with open(tmp_path / "inputs.bin", "wb") as f:
        for sample in samples:
            for value in sample:
                f.write(np.ascontiguousarray(value).tobytes())
    args = ["m.tflite", str(len(samples)), str(passes)]
    if big:
        shutil.copy(BIG_ARENA, tmp_path / "big.tflite")
        args.append("big.tflite")
    script = tmp_path / "main.py"
    script.write_text(BOARD_SCRIPT)
    status, out = qemu.run_script(script, timeout=120, cwd=tmp_path, args=args)
    assert status == 0, out
    lines = out.splitlines()
    assert lines[-1] == "done", out
    return lines, (tmp_path / "outputs.bin").read_bytes()


def assert_bit_exact(got: list[list[np.ndarray]], want: list[list[np.ndarray]], name: str) -> None:
    why = first_difference(got, want)
    if why:
        pytest.fail(f"{name}: {why}")


def distinct(outputs: list[list[np.ndarray]]) -> int:
    return len({b"".join(a.tobytes() for a in row) for row in outputs})


# --- stateless models: one pass over >= 100 inputs ------------------------------------------------


def sine_int8_samples() -> list[list[np.ndarray]]:
    return [[np.array([[v]], dtype=np.int8)] for v in range(-128, 128)]  # every possible input


def sine_float_samples() -> list[list[np.ndarray]]:
    xs = np.concatenate([np.linspace(-1.0, 7.5, 190), [0.0, -0.0, 1e-30, 2 * np.pi, 100.0, -100.0]])
    rng = np.random.default_rng(3)
    xs = np.concatenate([xs, rng.uniform(0, 2 * np.pi, 14)]).astype(np.float32)
    return [[np.array([[x]], dtype=np.float32)] for x in xs]


def gesture_windows() -> tuple[np.ndarray, np.ndarray]:
    """The int8 test windows as the manifest quantizes them (counts / 32768, scale 1/127.5), labels."""
    counts = np.load(ROOT / "models" / "gesture" / "test_x.npy").astype(np.float64)
    labels = np.load(ROOT / "models" / "gesture" / "test_y.npy")
    x = counts / 32768.0 / 0.007843017578125
    q = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5), -128, 127).astype(np.int8)  # round half away
    return q, labels


def gesture_samples() -> list[list[np.ndarray]]:
    windows, _ = gesture_windows()
    rng = np.random.default_rng(5)
    noise = rng.integers(-128, 128, (60, 64, 3), dtype=np.int8)
    return [[w.reshape(1, 64, 1, 3)] for w in np.concatenate([windows, noise])]


def micro_speech_samples() -> list[list[np.ndarray]]:
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(100):
        lo, hi = sorted(rng.integers(-128, 128, 2))  # random loudness bands: varied classes
        samples.append([rng.integers(lo, hi + 1, (1, 1960)).astype(np.int8)])
    return samples


@dataclass(frozen=True)
class Case:
    model: Path
    samples: Callable[[], list[list[np.ndarray]]]
    min_distinct: int


STATELESS = {
    "sine_int8": Case(ROOT / "models" / "sine" / "sine_int8.tflite", sine_int8_samples, 20),
    "sine_float": Case(SINE_FLOAT, sine_float_samples, 150),
    "gesture_int8": Case(ROOT / "models" / "gesture" / "gesture_int8.tflite", gesture_samples, 100),
    "micro_speech": Case(SHARED / "micro_speech_quantized.tflite", micro_speech_samples, 50),
}


@pytest.mark.parametrize("name", list(STATELESS))
def test_model_bit_exact_with_tflite_micro(firmware, tmp_path, name):
    case = STATELESS[name]
    samples = case.samples()
    assert len(samples) >= 100
    want = tflm.run(case.model.read_bytes(), samples)
    assert distinct(want) >= case.min_distinct, f"{name}: oracle outputs barely vary"
    _, raw = run_on_board(tmp_path, case.model, samples)
    got = split_outputs(raw, want[0], len(samples))
    assert_bit_exact(got, want, name)
    if name == "gesture_int8":
        # The board classifies the real windows as labelled (the model's test accuracy is 1.0).
        windows, labels = gesture_windows()
        predicted = np.array([int(np.argmax(row[0])) for row in got[: len(windows)]])
        assert np.mean(predicted == labels) >= 0.95


# --- microWakeWord: streams with state carried between invokes ------------------------------------

STEPS = 200


def wakeword_samples(name: str) -> list[list[np.ndarray]]:
    """200 steps of [1, 3, 40] int8 features: quiet segments, then segments found to wake the model.

    Ending loud matters: the state left by one pass then changes the next pass's first outputs,
    unless reset() clears it.
    """
    vectors = np.load(STREAMS)[name].astype(np.int16)
    seed = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu").index(name)
    rng = np.random.default_rng(seed)
    frames = np.repeat(vectors, STEPS * 3 // len(vectors), axis=0)
    frames = np.clip(frames + rng.integers(-12, 13, frames.shape), -128, 127).astype(np.int8)
    steps = [[f.reshape(1, 3, 40)] for f in frames.reshape(STEPS, 3, 40)]
    return steps[STEPS // 2 :] + steps[: STEPS // 2]


@pytest.mark.parametrize("name", ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"])
def test_microwakeword_stream_bit_exact_and_reset(firmware, tmp_path, name):
    model = WAKEWORD / f"{name}.tflite"
    samples = wakeword_samples(name)
    # TFLite Micro runs the stream twice WITHOUT reset: the first pass is what the board must
    # give from fresh and again after reset(); the second proves the state matters (a reset()
    # that did nothing would be caught).
    oracle = tflm.run(model.read_bytes(), samples + samples)
    want, carried = oracle[:STEPS], oracle[STEPS:]
    ys = np.array([int(row[0].item()) for row in want])
    assert ys.max() >= 100 and len(np.unique(ys)) >= 10, f"{name}: oracle stream barely wakes: {ys.max()}"
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(want, carried, strict=True)), (
        "state made no difference"
    )
    lines, raw = run_on_board(tmp_path, model, samples, passes=2, big=True)
    # The too-big model was refused with MemoryError, and the VM went on to load this one.
    assert lines[0].startswith("MemoryError model needs ") and lines[1].startswith("arena "), lines
    got = split_outputs(raw, want[0], 2 * STEPS)
    assert_bit_exact(got[:STEPS], want, f"{name} from fresh")
    assert_bit_exact(got[STEPS:], want, f"{name} after reset()")
