"""microtf arena: TFLite Micro's recorded total and the smallest arena that works (bisection)."""

from __future__ import annotations

import json
import subprocess

import pytest
from hostkit import EXAMPLES, MICROTF, ROOT, SHARED, WAKEWORD
from microtf_host import tflm
from microtf_host.arena import STEP, tflm_arena
from microtf_host.cli import main


def check_bisection(model: bytes, smallest: int) -> None:
    """The answer works and one step below does not (each in a fresh TFLite Micro process)."""
    assert smallest % STEP == 0
    assert tflm.probe(model, smallest)
    assert not tflm.probe(model, smallest - STEP)


def test_sine_like_known_figures():
    # Measured on this machine (notes/machines.md): hello_world int8 records 1504 bytes, needs 1936.
    model = (SHARED / "hello_world_int8.tflite").read_bytes()
    report = tflm_arena(model)
    assert report.recorded == 1504
    assert report.smallest == 1936
    check_bisection(model, report.smallest)


def test_okay_nabu(capsys):
    path = next(p for p in WAKEWORD if p.stem == "okay_nabu")
    assert main(["arena", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tflm_recorded"] == 25904 and data["tflm_smallest"] == 27872
    check_bisection(path.read_bytes(), data["tflm_smallest"])


@pytest.mark.parametrize("path", [p for p in WAKEWORD if p.stem != "okay_nabu"], ids=lambda p: p.stem)
def test_other_wakeword_models(capsys, path):
    assert main(["arena", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 0 < data["tflm_recorded"] <= data["tflm_smallest"] < 10 * len(path.read_bytes())


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples(capsys, name):
    path = ROOT / "models" / name / f"{name}_int8.tflite"
    proc = subprocess.run(
        [str(MICROTF), "arena", "--json", str(path)], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    check_bisection(path.read_bytes(), data["tflm_smallest"])
    assert data["tflm_recorded"] <= data["tflm_smallest"]


def test_engine_column_falls_back(capsys):
    path = SHARED / "hello_world_int8.tflite"
    assert main(["arena", str(path)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "microtf engine" in ln)
    try:
        from microtf_host.engine import arena_needed

        expected = f"{arena_needed(path.read_bytes()):,}"
    except Exception:  # noqa: BLE001 - no engine built yet
        expected = "n/a"
    assert line.split()[-1] == expected
