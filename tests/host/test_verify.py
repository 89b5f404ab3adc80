"""microtf verify: int8 under TFLite Micro against the float reference, thresholds, exit codes."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from hostkit import EXAMPLES, MICROTF, ROOT, WAKEWORD, one_error_line
from microtf_host.cli import main
from microtf_host.verify import verify


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_tiny_against_sibling_float(capsys, tiny_tflite, tiny_data):
    code, out, err = run(
        capsys,
        str(tiny_tflite["int8"]),
        "--data",
        str(tiny_data["x"]),
        "--labels",
        str(tiny_data["y"]),
        "--json",
        "--min-accuracy",
        "0.9",
        "--max-mse",
        "0.01",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["samples"] == 300
    assert 0 < report["mse"] < 1e-3 and 0 < report["max_abs_error"] < 0.1
    assert report["accuracy"] > 0.9 and report["reference_accuracy"] > 0.9
    assert report["saturated"] < 1.0


@pytest.mark.slow
def test_thresholds_fail_with_exit_1(capsys, tiny_tflite, tiny_data):
    code, _, err = run(capsys, str(tiny_tflite["int8"]), "--data", str(tiny_data["x"]), "--max-mse", "0")
    assert code == 1
    assert "MSE" in one_error_line(err) and "--max-mse" in err
    code, _, err = run(
        capsys,
        str(tiny_tflite["int8"]),
        "--data",
        str(tiny_data["x"]),
        "--labels",
        str(tiny_data["y"]),
        "--min-accuracy",
        "1.01",
    )
    assert code == 1 and "accuracy" in one_error_line(err)


@pytest.mark.slow
def test_keras_reference(capsys, tiny_keras, tiny_tflite, tiny_data):
    x = np.load(tiny_data["x"])
    via_tflite = verify(tiny_tflite["int8"].read_bytes(), x, str(tiny_tflite["float"]))
    via_keras = verify(tiny_tflite["int8"].read_bytes(), x, str(tiny_keras))
    assert via_keras.mse == pytest.approx(via_tflite.mse, rel=1e-3)


@pytest.mark.slow
def test_console_script_threshold(tiny_tflite, tiny_data):
    proc = subprocess.run(
        [str(MICROTF), "verify", str(tiny_tflite["int8"]), "--data", str(tiny_data["csv"]), "--max-mse", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    one_error_line(proc.stderr)
    assert "MSE (dequantized)" in proc.stdout


def test_stateful_wakeword_against_itself(capsys, tmp_path):
    """Resource variables carry state from step to step: one process, identical outputs."""
    path = next(p for p in WAKEWORD if p.stem == "okay_nabu")
    rng = np.random.default_rng(3)
    np.save(tmp_path / "feat.npy", rng.uniform(0, 26, (30, 3, 40)).astype(np.float32))
    code, out, err = run(
        capsys,
        str(path),
        "--data",
        str(tmp_path / "feat.npy"),
        "--reference",
        str(path),
        "--max-mse",
        "0",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["mse"] == 0.0 and report["samples"] == 30


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_match_their_manifest(capsys, name):
    folder = ROOT / "models" / name
    manifest = json.loads((folder / "manifest.json").read_text())
    argv = [str(folder / f"{name}_int8.tflite"), "--data", str(folder / manifest["test_set"]["x"]), "--json"]
    if manifest["test_set"].get("y"):
        argv += ["--labels", str(folder / manifest["test_set"]["y"])]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    report = json.loads(out)
    assert report["reference"].endswith(f"{name}_float.tflite")
    assert report["saturated"] < 1.0
    acc = manifest.get("accuracy", {})
    if acc.get("metric") == "accuracy":
        assert report["accuracy"] == pytest.approx(acc["int8"], abs=0.02)
        assert report["agreement"] > 0.95
    if "int8_vs_float" in acc:
        assert report["mse"] == pytest.approx(acc["int8_vs_float"], rel=0.05)
    assert report["max_abs_error"] > 0  # quantization leaves some error: the comparison is real
