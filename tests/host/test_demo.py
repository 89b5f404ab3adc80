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
    if "gesture" in EXAMPLES:
        # The gesture app on a virtual board: every window it printed carries its trace's label.
        from microtf_host.demo import APP_WINDOWS, parse_app_output

        section = proc.stdout.split("=== gesture app on a virtual board")[1].split("=== summary")[0]
        found = parse_app_output(section)
        traces = sorted(p.stem for p in (ROOT / "models" / "gesture" / "traces").glob("*.npy"))
        assert sorted(found) == traces and traces, section
        for trace, got in found.items():
            assert len(got) == APP_WINDOWS and all(label == trace for label, _ in got), section
        total = APP_WINDOWS * len(traces)
        assert f"{total}/{total} windows labelled as their trace" in proc.stdout
