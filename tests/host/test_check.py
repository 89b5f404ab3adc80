"""`microtf check` (python -m microtf_host.check): verdicts, exit codes, JSON and plots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostkit import ROOT, SHARED, one_error_line

pytestmark = pytest.mark.timeout(300)

GESTURE = ROOT / "models" / "gesture" / "gesture_int8.tflite"
SINE = ROOT / "models" / "sine" / "sine_int8.tflite"
LSTM = SHARED / "trained_lstm_int8.tflite"
PERSON = SHARED / "person_detect.tflite"


def check(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microtf_host.check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=ROOT,
    )


def test_good_model_is_bit_exact_and_fits():
    proc = check(GESTURE, "--board", "esp32", "--quick", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and report["problems"] == []
    assert {o["name"] for o in report["ops"]} >= {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "SOFTMAX",
    }
    assert all(o["supported"] for o in report["ops"])
    engines = {e["engine"]: e for e in report["engines"]}
    assert engines["c"]["samples"] == 100 and engines["c"]["bit_exact"] == 100
    assert engines["c"]["largest_diff"] == 0
    for name in ("viper", "native"):  # engines on MicroPython: bit-exact too when they run here
        e = engines[name]
        assert e["note"].startswith("n/a") or e["bit_exact"] == e["samples"] == 100, e
    mem = report["memory"]
    assert mem["flash"] == GESTURE.stat().st_size
    assert 0 < mem["microtf_host"] <= 65536 and mem["microtf_fits"] is True and mem["flash_fits"] is True


def test_terminal_report_names_sections():
    proc = check(GESTURE, "--quick")
    assert proc.returncode == 0, proc.stderr
    for word in ("operators:", "memory (bytes):", "agreement with TFLite Micro", "speed", "verdict: OK"):
        assert word in proc.stdout
    assert "bit-exact 100/100" in proc.stdout


@pytest.mark.skipif(not LSTM.exists(), reason="shared LSTM model missing")
def test_unsupported_operator_is_named():
    proc = check(LSTM, "--quick")
    assert proc.returncode == 1, proc.stderr
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in proc.stdout and "NOT SUPPORTED" in proc.stdout
    assert "hint:" in proc.stdout
    line = one_error_line(proc.stderr)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in line


@pytest.mark.skipif(not PERSON.exists(), reason="shared person_detect model missing")
def test_too_big_for_the_board(tmp_path):
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"board": "tiny", "arena_size": 32768, "model_flash_budget": 1 << 20}))
    proc = check(PERSON, "--board", board, "--quick", "--samples", "3")
    assert proc.returncode == 1, proc.stderr
    line = one_error_line(proc.stderr)
    assert "arena" in line and "32,768" in line and "flash" not in line
    # The same through --arena on a named board; and flash too small on the esp32's budget.
    proc = check(PERSON, "--board", "esp32", "--quick", "--json", "--samples", "3")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["memory"]["flash_fits"] is False and report["memory"]["microtf_fits"] is False
    assert any(p.startswith("flash:") for p in report["problems"])


def test_arena_override_turns_a_fit_into_a_failure():
    proc = check(SINE, "--board", "esp32", "--arena", "256", "--quick")
    assert proc.returncode == 1
    assert "reserves 256" in one_error_line(proc.stderr)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model at all", bytes(range(256)) * 8, b"\x10\x00\x00\x00TFL3" + b"\xff" * 64],
)
def test_hostile_file_is_one_line_exit_2(tmp_path, content):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    proc = check(bad)
    assert proc.returncode == 2
    assert "bad.tflite" in one_error_line(proc.stderr)
    assert proc.stdout == ""


def test_truncated_model_is_exit_2(tmp_path):
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(GESTURE.read_bytes()[:3000])
    proc = check(bad, "--quick")
    assert proc.returncode == 2, proc.stdout
    one_error_line(proc.stderr)


def test_unknown_board_is_exit_2():
    proc = check(SINE, "--board", "nosuchboard")
    assert proc.returncode == 2
    assert "nosuchboard" in one_error_line(proc.stderr)


def test_plots_are_written(tmp_path):
    out = tmp_path / "plots"
    data = ROOT / "models" / "gesture" / "test_x.npy"
    labels = ROOT / "models" / "gesture" / "test_y.npy"
    proc = check(GESTURE, "--quick", "--data", data, "--labels", labels, "--plot", out, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    names = sorted(Path(p).name for p in report["plots"])
    assert names == [
        "gesture_int8_arena.png",
        "gesture_int8_confusion_float_vs_int8.png",
        "gesture_int8_confusion_labels_vs_int8.png",
    ]
    for p in report["plots"]:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and Path(p).stat().st_size > 5000
    assert not any("differ from the engine" in n for n in report["notes"]), report["notes"]
    assert report["engines"][1]["bit_exact"] == len(np.load(data))


def test_python_plan_matches_the_engine():
    """The planner spec in Python gives the engine's offsets for a real model (state included)."""
    from microtf_host import plots

    models = [GESTURE, SINE, *sorted((SHARED).glob("micro_speech*.tflite"))]
    site = Path(np.__file__).resolve().parents[1] / "pymicro_wakeword" / "models" / "okay_nabu.tflite"
    if site.exists():
        models.append(site)  # CALL_ONCE, VAR_HANDLE: the timeline's subgraph rule
    for path in models:
        model = path.read_bytes()
        plan = plots.plan_arena(model)
        assert plan.head > 0 and len(plan.buffers) >= 3
        assert plots.compare_with_engine(model, plan) == [], path.name
    # And the check can fail: a planted offset is reported.
    plan = plots.plan_arena(GESTURE.read_bytes())
    plan.buffers[0].offset += 16
    assert len(plots.compare_with_engine(GESTURE.read_bytes(), plan)) == 1


def test_full_check_measures_speed():
    """Without --quick: the emulated Cortex-M4 count, a latency estimate with its assumption, host timing."""
    proc = check(SINE, "--board", "rp2", "--json")
    assert proc.returncode == 0, proc.stderr
    sp = json.loads(proc.stdout)["speed"]
    assert sp["m4_instructions"] > 100, sp
    est = sp["estimates"][0]
    assert est["board"] == "rp2" and est["clock_mhz"] == 125 and est["ms"] > 0
    assert sp["host_us"] > 0 and sp["tflm_host_us"] > 0
    report = json.loads(proc.stdout)
    assert report["memory"]["microtf_m4"] <= report["memory"]["microtf_host"]
    assert any(
        e["engine"].startswith("c on Cortex-M4") and e["bit_exact"] == e["samples"] for e in report["engines"]
    )


def test_dynamic_batch_gets_the_keras_hint(tmp_path):
    """An input of shape [-1, ...] (written into a copy of the gesture model) is refused with the hint."""
    import tflite

    model = bytearray(GESTURE.read_bytes())
    graph = tflite.Model.GetRootAsModel(model, 0).Subgraphs(0)
    tensor = graph.Tensors(graph.Inputs(0))
    assert list(tensor.ShapeAsNumpy()) == [1, 64, 1, 3]
    at = tensor._tab.Vector(tensor._tab.Offset(4))  # field 0 of Tensor: shape
    model[at : at + 4] = (-1).to_bytes(4, "little", signed=True)
    path = tmp_path / "dynamic.tflite"
    path.write_bytes(bytes(model))
    proc = check(path, "--quick")
    assert proc.returncode == 1, proc.stderr
    line = one_error_line(proc.stderr)
    assert "[-1, 64, 1, 3]" in line and "keras.Input(shape, batch_size=1)" in line
