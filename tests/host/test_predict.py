"""microtf predict: engines agree bit for bit, streaming state carries over, bad input is one line."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hostkit import MICROTF, ROOT, SHARED, SITE, WAKEWORD, one_error_line
from microtf_host.cli import main
from microtf_host.modelinfo import describe

HELLO = SHARED / "hello_world_int8.tflite"
LSTM = SHARED / "trained_lstm_int8.tflite"
SVDF = SHARED / "keyword_scrambled_8bit.tflite"
NABU = next(p for p in WAKEWORD if p.stem == "okay_nabu")
SINE_FLOAT = SITE / "tflite_micro" / "python" / "tflite_micro" / "sine_float.tflite"

pytestmark = pytest.mark.timeout(120)


def run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def predict_files(capsys, model: Path, x: Path, y: Path, *extra: str) -> np.ndarray:
    code, _out, err = run_main(capsys, ["predict", model, "--input", x, "--output", y, *extra])
    assert code == 0, err
    return np.load(y)


def op_names(model: bytes) -> set[str]:
    return {u.name for u in describe(model).ops}


def with_logits_output(model: bytes) -> bytes:
    """okay_nabu with its output replaced by LOGISTIC's input: the logits carry the whole stream's state,
    where the probability itself is 0 for almost any input that is not the wake word."""
    import tflite

    m = tflite.Model.GetRootAsModel(model, 0)
    g = m.Subgraphs(0)
    logistic = tflite.BuiltinOperator.LOGISTIC
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == logistic:
            tensor = op.Inputs(0)
            break
    else:
        raise AssertionError("no LOGISTIC in the model")
    outputs = g._tab.Vector(g._tab.Offset(4 + 2 * 2))  # SubGraph field 2: outputs
    return model[:outputs] + struct.pack("<i", tensor) + model[outputs + 4 :]


def wake_word_stream(steps: int, seed: int) -> np.ndarray:
    """Feature frames [1, 3, 40] stacked: a random walk with quiet bursts, so the state matters."""
    rng = np.random.default_rng(seed)
    walk = rng.normal(0, 1, (3 * steps, 40)).cumsum(axis=0)
    walk = (walk - walk.min()) / (np.ptp(walk) + 1e-9) * 200 - 128
    frames = walk.reshape(steps, 1, 3, 40)
    frames[rng.random(steps) < 0.3] = rng.integers(-128, -40, (1, 3, 40))
    return frames.astype(np.int8)


def test_hello_world_c_equals_tflm(capsys, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.arange(-128, 128, 4, dtype=np.int8).reshape(-1, 1, 1))
    c = predict_files(capsys, HELLO, x, tmp_path / "c.npy")
    t = predict_files(capsys, HELLO, x, tmp_path / "t.npy", "--engine", "tflm")
    assert c.shape == (64, 1, 1) and c.dtype == np.int8
    assert np.array_equal(c, t)
    assert len(np.unique(c)) > 30, "a sine through 64 points has many distinct values"
    assert np.mean((c == -128) | (c == 127)) < 0.2
    # Samples without the batch axis are accepted too (same results).
    np.save(x, np.arange(-128, 128, 4, dtype=np.int8).reshape(-1, 1))
    assert np.array_equal(predict_files(capsys, HELLO, x, tmp_path / "c2.npy"), c)


def test_float_model_c_equals_tflm(capsys, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.linspace(0, 6.28, 40, dtype=np.float32).reshape(-1, 1, 1))
    c = predict_files(capsys, SINE_FLOAT, x, tmp_path / "c.npy")
    t = predict_files(capsys, SINE_FLOAT, x, tmp_path / "t.npy", "--engine", "tflm")
    assert c.dtype == np.float32 and np.array_equal(c, t)
    assert np.abs(c.ravel() - np.sin(np.linspace(0, 6.28, 40))).max() < 0.2


@pytest.mark.parametrize("logits", [False, True], ids=["probability", "logits"])
def test_okay_nabu_stream_c_equals_tflm(capsys, tmp_path, logits):
    model = NABU.read_bytes()
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "SPLIT_V"} <= op_names(model)
    path = NABU
    if logits:
        path = tmp_path / "okay_nabu_logits.tflite"
        path.write_bytes(with_logits_output(model))
    x = tmp_path / "x.npy"
    np.save(x, wake_word_stream(50, seed=11))
    c = predict_files(capsys, path, x, tmp_path / "c.npy")
    t = predict_files(capsys, path, x, tmp_path / "t.npy", "--engine", "tflm")
    assert c.shape[0] == 50 and np.array_equal(c, t)
    if logits:
        assert c.dtype == np.int8
        assert len(np.unique(c)) > 10, "logits barely vary: the stream would prove little"
        # State carries from step to step: resetting before every sample changes the results,
        # and both engines agree on that too.
        rc = predict_files(capsys, path, x, tmp_path / "rc.npy", "--reset-each")
        rt = predict_files(capsys, path, x, tmp_path / "rt.npy", "--reset-each", "--engine", "tflm")
        assert np.array_equal(rc, rt)
        assert not np.array_equal(rc, c)
        # With a reset before each, a sample's result no longer depends on the ones before it.
        np.save(x, wake_word_stream(50, seed=11)[::-1].copy())
        rev = predict_files(capsys, path, x, tmp_path / "rev.npy", "--reset-each")
        assert np.array_equal(rev[::-1], rc)


def test_npz_in_and_out(capsys, tmp_path):
    x = np.arange(-100, 100, 10, dtype=np.int8).reshape(-1, 1, 1)
    np.save(tmp_path / "x.npy", x)
    want = predict_files(capsys, HELLO, tmp_path / "x.npy", tmp_path / "y.npy")
    name = describe(HELLO.read_bytes()).inputs[0].name
    for key in (name, "input_0", "arr_0"):
        np.savez(tmp_path / "x.npz", **{key: x})
        code, _, err = run_main(
            capsys, ["predict", HELLO, "--input", tmp_path / "x.npz", "--output", tmp_path / "y.npz"]
        )
        assert code == 0, err
        with np.load(tmp_path / "y.npz") as y:
            assert list(y.files) == ["output_0"]
            assert np.array_equal(y["output_0"], want)


def test_command_line_end_to_end(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((3, 1, 1), dtype=np.int8))
    proc = subprocess.run(
        [str(MICROTF), "predict", str(HELLO), "--input", str(x), "--output", str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "3 samples through engine 'c'" in proc.stdout
    assert np.load(tmp_path / "y.npy").shape == (3, 1, 1)


@pytest.fixture()
def hello_x(tmp_path) -> Path:
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((4, 1, 1), dtype=np.int8))
    return x


@pytest.mark.parametrize(
    "case, expect",
    [
        ("viper_lstm", "engine 'viper' does not support: UNIDIRECTIONAL_SEQUENCE_LSTM v1"),
        ("native_svdf", "engine 'native' does not support: SVDF v3"),
        ("float_for_int8", "samples are float32, the model input takes int8; quantize floats first"),
        ("uint8_for_int8", "samples are uint8, the model input takes int8"),
        ("shape", "samples have shape [3]"),
        ("lstm", "engine 'c' does not support: UNIDIRECTIONAL_SEQUENCE_LSTM v1"),
        ("svdf", "engine 'c' does not support: SVDF v3"),
        ("missing_input", "no such file (input)"),
        ("not_npy", "not a .npy/.npz file"),
        ("two_inputs", "the model has 1 inputs, got 2"),
        ("two_outputs", "the model has 1 outputs, got 2 --output"),
        ("npz_keys", "do not name the model's 1 inputs"),
        ("missing_model", "no such file"),
        ("empty", "no samples"),
    ],
)
def test_bad_input_is_one_line(capsys, tmp_path, hello_x, case, expect):
    model, x, y = HELLO, hello_x, tmp_path / "y.npy"
    extra: list[str] = []
    if case in ("viper_lstm", "native_svdf"):
        extra = ["--engine", case.split("_")[0]]
        model = LSTM if case == "viper_lstm" else SVDF
    elif case == "float_for_int8":
        np.save(x, np.zeros((4, 1, 1), dtype=np.float32))
    elif case == "uint8_for_int8":
        np.save(x, np.zeros((4, 1, 1), dtype=np.uint8))
    elif case == "shape":
        np.save(x, np.zeros((4, 3), dtype=np.int8))
    elif case == "lstm":
        model = LSTM
    elif case == "svdf":
        model = SVDF
    elif case == "missing_input":
        x = tmp_path / "nope.npy"
    elif case == "not_npy":
        x.write_text("1,2,3\n")
    elif case == "two_inputs":
        extra = ["--input", str(hello_x)]
    elif case == "two_outputs":
        extra = ["--output", str(tmp_path / "z.npy")]
    elif case == "npz_keys":
        x = tmp_path / "x.npz"
        np.savez(x, a=np.zeros((4, 1, 1), np.int8), b=np.zeros((4, 1, 1), np.int8))
    elif case == "missing_model":
        model = tmp_path / "none.tflite"
    elif case == "empty":
        np.save(x, np.zeros((0, 1, 1), dtype=np.int8))
    code, out, err = run_main(capsys, ["predict", model, "--input", x, "--output", y, *extra])
    assert code == 2
    assert expect in one_error_line(err)
    assert not y.exists()


def test_several_inputs_and_outputs_plumbing(tmp_path, monkeypatch):
    """Two inputs (files in order, or one .npz by names) and two outputs (two .npy, or one .npz):
    no shipped model has two inputs, so the model's tensor list is stood in for."""
    import microtf_host.predict as predict
    from microtf_host.errors import MicrotfError
    from microtf_host.tflfile import Tensor

    fake = [Tensor("a", (1, 2), 9, 0), Tensor("b", (1, 3), 0, 0)]
    monkeypatch.setattr(predict, "_io", lambda model, which: fake)
    a = np.arange(10, dtype=np.int8).reshape(5, 1, 2)
    b = np.linspace(0, 1, 15, dtype=np.float32).reshape(5, 1, 3)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    np.savez(tmp_path / "ab.npz", b=b, a=a)
    for paths in ([tmp_path / "a.npy", tmp_path / "b.npy"], [tmp_path / "ab.npz"]):
        samples = predict.load_inputs(b"", paths)
        assert len(samples) == 5
        assert all(np.array_equal(s[0], a[k]) and np.array_equal(s[1], b[k]) for k, s in enumerate(samples))
    with pytest.raises(MicrotfError, match=r"input 1 'b'\): samples are int8, the model input takes float32"):
        predict.load_inputs(b"", [tmp_path / "a.npy", tmp_path / "a.npy"])
    np.save(tmp_path / "b4.npy", b[:4])
    with pytest.raises(MicrotfError, match="different numbers of samples: \\[5, 4\\]"):
        predict.load_inputs(b"", [tmp_path / "a.npy", tmp_path / "b4.npy"])
    outputs = [[a[k], b[k]] for k in range(5)]
    predict.save_outputs(outputs, [tmp_path / "y0.npy", tmp_path / "y1.npy"])
    assert np.array_equal(np.load(tmp_path / "y0.npy"), a) and np.array_equal(np.load(tmp_path / "y1.npy"), b)
    predict.save_outputs(outputs, [tmp_path / "y.npz"])
    with np.load(tmp_path / "y.npz") as y:
        assert sorted(y.files) == ["output_0", "output_1"]
        assert np.array_equal(y["output_1"], b)


# --- native (_microtf on the emulated Cortex-M4 board) and viper (vengine on the Unix port) ----------

SINE_INT8 = ROOT / "models" / "sine" / "sine_int8.tflite"
GESTURE = ROOT / "models" / "gesture" / "gesture_int8.tflite"


@pytest.fixture(scope="module")
def board() -> None:
    """The qemu_m4 firmware, built once (incremental), unless $MICROPYTHON itself has _microtf."""
    import os
    import shutil

    from microtf_host import predict_board, qemu
    from microtf_host.virtual import find_micropython

    if os.environ.get("MICROPYTHON") and predict_board.has_native(find_micropython()):
        return
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc (make setup)")
    qemu.build()


def quantized_gesture_windows(n: int) -> np.ndarray:
    """n test windows of the gesture model, normalised as the manifest says and quantized to int8."""
    from microtf_host.dataio import manifest_normalisation, normalise

    x = np.load(GESTURE.parent / "test_x.npy")[:n]
    norm = manifest_normalisation(GESTURE)
    assert norm is not None
    info = describe(GESTURE.read_bytes()).inputs[0]
    q = np.round(normalise(x, *norm) / info.scale) + info.zero_point
    return np.clip(q, -128, 127).astype(np.int8).reshape(n, *info.shape)


def engines_agree(
    capsys, tmp_path: Path, model: Path, x: np.ndarray, engine: str, *extra: str, min_unique: int = 4
) -> np.ndarray:
    """``engine`` and TFLite Micro through the command, bit for bit; the outputs (checked not degenerate)."""
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    got = predict_files(capsys, model, xp, tmp_path / f"{engine}.npy", "--engine", engine, *extra)
    want = predict_files(capsys, model, xp, tmp_path / "tflm.npy", "--engine", "tflm", *extra)
    assert got.shape == want.shape and got.dtype == want.dtype
    diff = np.flatnonzero((got != want).reshape(len(x), -1).any(axis=1))
    assert diff.size == 0, f"{diff.size} of {len(x)} samples differ, first {diff[0]}"
    assert len(np.unique(got)) >= min_unique, "outputs barely vary: the comparison would prove little"
    return got


@pytest.mark.parametrize("engine", ["native", "viper"])
def test_hello_world_every_input_equals_tflm(capsys, tmp_path, board, engine):
    x = np.arange(-128, 128, dtype=np.int8).reshape(-1, 1, 1)  # every possible input
    y = engines_agree(capsys, tmp_path, HELLO, x, engine)
    assert len(np.unique(y)) > 40 and np.mean((y == -128) | (y == 127)) < 0.2


@pytest.mark.parametrize("engine", ["native", "viper"])
def test_sine_int8_equals_tflm(capsys, tmp_path, board, engine):
    assert {"FULLY_CONNECTED"} <= op_names(SINE_INT8.read_bytes())
    info = describe(SINE_INT8.read_bytes()).inputs[0]
    xs = np.linspace(0, 2 * np.pi, 100)
    q = np.clip(np.round(xs / info.scale) + info.zero_point, -128, 127).astype(np.int8)
    y = engines_agree(capsys, tmp_path, SINE_INT8, q.reshape(-1, *info.shape), engine)
    assert len(np.unique(y)) > 30


@pytest.mark.parametrize("engine", ["native", "viper"])
def test_float_model_equals_tflm(capsys, tmp_path, board, engine):
    x = np.linspace(0, 6.28, 40, dtype=np.float32).reshape(-1, 1, 1)
    y = engines_agree(capsys, tmp_path, SINE_FLOAT, x, engine, min_unique=30)
    assert y.dtype == np.float32 and np.abs(y.ravel() - np.sin(x.ravel())).max() < 0.2


@pytest.mark.parametrize("engine", ["native", "viper"])
def test_gesture_equals_tflm(capsys, tmp_path, board, engine):
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"} <= op_names(GESTURE.read_bytes())
    y = engines_agree(capsys, tmp_path, GESTURE, quantized_gesture_windows(24), engine)
    assert len(set(y.reshape(24, -1).argmax(axis=1).tolist())) >= 3, "windows of several classes"


@pytest.mark.parametrize("engine", ["native", "viper"])
def test_okay_nabu_stream_keeps_state_like_tflm(capsys, tmp_path, board, engine):
    # The logits carry the stream's state (VAR_HANDLE/READ_VARIABLE/ASSIGN_VARIABLE on the board).
    path = tmp_path / "okay_nabu_logits.tflite"
    path.write_bytes(with_logits_output(NABU.read_bytes()))
    x = wake_word_stream(30, seed=5)
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= op_names(path.read_bytes())
    kept = engines_agree(capsys, tmp_path, path, x, engine, min_unique=15)
    # Reset before every sample, the logits hardly move (a frame alone says little): what matters is
    # that the board resets exactly as TFLite Micro does.
    reset = engines_agree(capsys, tmp_path, path, x, engine, "--reset-each", min_unique=1)
    assert not np.array_equal(kept, reset), "state must matter on this stream"


def test_viper_refusal_from_the_engine_itself_is_one_line(capsys, tmp_path, monkeypatch):
    """With the host's operator check out of the way, VModel on the Unix port refuses the model and
    that comes back as one line naming the operator, exit 2."""
    import microtf_host.predict as predict

    run = predict.RUNNERS["viper"][1]
    monkeypatch.setitem(predict.RUNNERS, "viper", (lambda model: None, run))
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 1, 28, 28), dtype=np.int8))
    code, _, err = run_main(
        capsys, ["predict", LSTM, "--input", x, "--output", tmp_path / "y.npy", "--engine", "viper"]
    )
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("microtf: engine 'viper' (") and "ValueError: unsupported model: op " in line
    assert "operator UNIDIRECTIONAL_SEQUENCE_LSTM (code 44) version 1 is not supported" in line
    assert not (tmp_path / "y.npy").exists()


def test_native_model_over_the_board_arena_is_one_line(capsys, tmp_path, board, monkeypatch):
    from microtf_host import predict_board

    monkeypatch.delenv("MICROPYTHON", raising=False)  # the board's arena (96 KiB), not a Unix port's
    big = Path(__file__).resolve().parents[1] / "board" / "fixtures" / "big_arena_conv.tflite"
    if not big.exists():
        pytest.skip("tests/board/fixtures/big_arena_conv.tflite not there")
    info = describe(big.read_bytes()).inputs[0]
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, *info.shape), dtype=np.int8))
    code, _, err = run_main(
        capsys, ["predict", big, "--input", x, "--output", tmp_path / "y.npy", "--engine", "native"]
    )
    assert code == 2
    assert "MemoryError" in one_error_line(err) and "arena" in err
    assert predict_board.ERR_MARK not in err
