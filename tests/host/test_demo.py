"""make demo (python -m microtf_host.demo): every example model through inspect, arena, verify, embed."""

from __future__ import annotations

import subprocess
import sys

from hostkit import EXAMPLES, ROOT


def test_demo_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "microtf_host.demo"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == (0 if EXAMPLES else 1), proc.stderr
    assert "Traceback" not in proc.stderr
    for name in EXAMPLES:
        assert f"=== {name} " in proc.stdout
        summary = proc.stdout.split("=== summary")[1]
        assert name in summary
        for suffix in (".h", ".c", ".py", ".mpy"):
            assert (ROOT / "build" / "demo" / name / f"{name}_model{suffix}").exists()
        assert "MicroPython Unix port: imports" in proc.stdout
