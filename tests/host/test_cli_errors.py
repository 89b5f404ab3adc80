"""Every bad input: exit code 2 and exactly one line on stderr, never a traceback."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hostkit import MICROTF, WAKEWORD, one_error_line
from microtf_host.cli import main

NABU = next(p for p in WAKEWORD if p.stem == "okay_nabu")


@pytest.fixture()
def bad_files(tmp_path: Path) -> dict[str, Path]:
    model = NABU.read_bytes()
    files = {
        "missing": tmp_path / "missing.tflite",
        "garbage": tmp_path / "garbage.tflite",
        "text": tmp_path / "readme.tflite",
        "truncated": tmp_path / "truncated.tflite",
        "truncated_tail": tmp_path / "truncated_tail.tflite",
        "empty": tmp_path / "empty.tflite",
    }
    files["garbage"].write_bytes(bytes(range(256)) * 4)
    files["text"].write_text("this is not a model at all, just some text\n" * 3)
    files["truncated"].write_bytes(model[: len(model) // 2])
    files["truncated_tail"].write_bytes(model[:-3])
    files["empty"].write_bytes(b"")
    return files


def run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["inspect", "arena", "embed"])
@pytest.mark.parametrize("kind", ["missing", "garbage", "text", "truncated", "truncated_tail", "empty"])
def test_bad_tflite(capsys, bad_files, tmp_path, command, kind):
    extra = ["--py", str(tmp_path / "m.py")] if command == "embed" else []
    code, _out, err = run_main(capsys, [command, str(bad_files[kind]), *extra])
    assert code == 2
    line = one_error_line(err)
    assert str(bad_files[kind]) in line
    assert not (tmp_path / "m.py").exists()


@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated"])
def test_verify_bad_model(capsys, bad_files, tmp_path, kind):
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((4, 3, 40), dtype=np.float32))
    code, _, err = run_main(
        capsys, ["verify", str(bad_files[kind]), "--data", str(data), "--reference", str(NABU)]
    )
    assert code == 2
    one_error_line(err)


def test_messages_say_what_is_wrong(capsys, bad_files):
    checks = {
        "missing": "no such file",
        "garbage": "not a TFLite flatbuffer",
        "truncated": "truncated",
        "empty": "too short",
    }
    for kind, words in checks.items():
        code, _, err = run_main(capsys, ["inspect", str(bad_files[kind])])
        assert code == 2 and words in one_error_line(err)


def test_directory_is_not_a_model(capsys, tmp_path):
    code, _, err = run_main(capsys, ["inspect", str(tmp_path)])
    assert code == 2 and "directory" in one_error_line(err)


def test_verify_data_of_wrong_shape(capsys, tmp_path):
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((4, 5, 40), dtype=np.float32))  # model takes [1, 3, 40]
    code, _, err = run_main(capsys, ["verify", str(NABU), "--data", str(data), "--reference", str(NABU)])
    assert code == 2
    line = one_error_line(err)
    assert "[5, 40]" in line and "[3, 40]" in line


def test_verify_bad_data_files(capsys, tmp_path):
    bad_npy = tmp_path / "bad.npy"
    bad_npy.write_bytes(b"not numpy")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("1,2,3\n4,five,6\n")
    strings = tmp_path / "s.npy"
    np.save(strings, np.array(["a", "b"]))
    for data in (bad_npy, bad_csv, strings, tmp_path / "absent.npy", tmp_path / "x.bin"):
        code, _, err = run_main(capsys, ["verify", str(NABU), "--data", str(data), "--reference", str(NABU)])
        assert code == 2, data
        one_error_line(err)


def test_verify_labels_count_mismatch(capsys, tmp_path):
    data, labels = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(data, np.zeros((4, 3, 40), dtype=np.float32))
    np.save(labels, np.zeros(5, dtype=np.int64))
    code, _, err = run_main(capsys, ["verify", str(NABU), "--data", str(data), "--labels", str(labels)])
    assert code == 2 and "labels" in one_error_line(err)


def test_verify_needs_reference_or_labels(capsys, tmp_path):
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((4, 3, 40), dtype=np.float32))
    code, _, err = run_main(capsys, ["verify", str(NABU), "--data", str(data)])
    assert code == 2 and "--reference" in one_error_line(err)


def test_usage_errors_are_one_line(capsys):
    for argv in (
        ["inspect"],
        ["frobnicate"],
        ["embed", str(NABU)],
        ["convert", "x.keras"],
        ["verify", str(NABU)],
        ["embed", str(NABU), "--mpy", "--c", "x.c"],
    ):
        code, _, err = run_main(capsys, argv)
        assert code == 2, argv
        one_error_line(err)


def test_int8_without_rep_data(capsys, tmp_path):
    # Refused before TensorFlow is even imported, so the file need not be a model.
    src = tmp_path / "m.keras"
    src.write_bytes(b"x")
    code, _, err = run_main(capsys, ["convert", str(src), "-o", str(tmp_path / "o.tflite"), "--mode", "int8"])
    assert code == 2 and "representative data" in one_error_line(err)
    assert not (tmp_path / "o.tflite").exists()


@pytest.mark.parametrize("kind", ["junk_keras", "zip_keras", "junk_h5", "tflite", "dir", "missing", "txt"])
def test_convert_not_a_keras_model(capsys, tmp_path, kind):
    paths = {
        "junk_keras": tmp_path / "m.keras",
        "zip_keras": tmp_path / "z.keras",
        "junk_h5": tmp_path / "m.h5",
        "tflite": NABU,
        "dir": tmp_path,
        "missing": tmp_path / "absent.keras",
        "txt": tmp_path / "m.txt",
    }
    paths["junk_keras"].write_text("not a zip")
    with zipfile.ZipFile(paths["zip_keras"], "w") as z:
        z.writestr("hello.txt", "no config here")
    paths["junk_h5"].write_bytes(b"\x00" * 64)
    paths["txt"].write_text("x")
    code, _, err = run_main(
        capsys, ["convert", str(paths[kind]), "-o", str(tmp_path / "o.tflite"), "--mode", "float32"]
    )
    assert code == 2
    one_error_line(err)


# --- the real console script, in a subprocess: nothing else may reach stderr ------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(MICROTF), *args], check=False, capture_output=True, text=True, timeout=300)


def test_console_script_bad_inputs(bad_files, tmp_path):
    for kind in ("missing", "garbage", "truncated"):
        proc = run_cli("inspect", str(bad_files[kind]))
        assert proc.returncode == 2
        one_error_line(proc.stderr)
    proc = run_cli("arena", str(bad_files["truncated_tail"]))
    assert proc.returncode == 2
    one_error_line(proc.stderr)
    proc = run_cli("convert", str(bad_files["garbage"]), "-o", str(tmp_path / "o.tflite"), "--mode", "int8")
    assert proc.returncode == 2 and "representative data" in one_error_line(proc.stderr)


@pytest.mark.slow
def test_console_script_keras_errors(tiny_keras, tiny_data, tmp_path):
    """Through TensorFlow's import and Keras' loader, still one line on stderr."""
    weights = tiny_keras.with_name("tiny.weights.h5")  # an HDF5 file of weights, not a model
    proc = run_cli("convert", str(weights), "-o", str(tmp_path / "o.tflite"), "--mode", "float32")
    assert proc.returncode == 2, proc.stderr
    assert "not a Keras model" in one_error_line(proc.stderr)
    proc = run_cli(
        "convert", str(tiny_keras), "-o", str(tmp_path / "o.tflite"), "--rep-data", str(tiny_data["bad"])
    )
    assert proc.returncode == 2, proc.stderr
    assert "shape" in one_error_line(proc.stderr)
    assert not (tmp_path / "o.tflite").exists()
