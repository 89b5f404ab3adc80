"""The gesture app end to end on a virtual board, through the real mpremote command line.

A fresh virtual board (the Unix port behind a pty), microtf's deploy (package, app, model, traces,
SHA-256 checked on the device), then the app copy ON THE DEVICE run by ``mpremote exec`` on every
recorded trace in models/gesture/traces/: every window must come out with the trace's label.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from hostkit import ROOT
from microtf_host.deploy import Device, deploy, find_mpremote
from microtf_host.virtual import VirtualBoard

GESTURE = ROOT / "models" / "gesture"
MODEL = GESTURE / "gesture_int8.tflite"
APP = ROOT / "firmware" / "apps" / "gesture" / "main.py"
TRACES = sorted((GESTURE / "traces").glob("*.npy"))

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not (MODEL.exists() and APP.exists() and TRACES), reason="gesture model/app/traces"),
]


def trace_labels() -> dict[str, str]:
    """trace file stem -> its label, from the manifest (every trace file must be listed there)."""
    listed = json.loads((GESTURE / "manifest.json").read_text())["traces"]
    by_path = {t["path"]: t["label"] for t in listed}
    labels = {}
    for path in TRACES:
        rel = f"traces/{path.name}"
        assert rel in by_path, f"{rel} is not listed in the manifest"
        labels[path.stem] = by_path[rel]
    return labels


def windows_in(path) -> int:
    pre = json.loads((GESTURE / "manifest.json").read_text())["preprocessing"]
    rows = np.load(path).shape[0]
    return (rows - pre["window"]) // pre.get("hop", pre["window"]) + 1


def mpremote(port: str, *args: str, timeout: float = 60) -> str:
    """The mpremote command line itself; ``resume``: no soft reset, which would end the Unix port."""
    proc = subprocess.run(
        [find_mpremote(), "connect", port, "resume", *args], capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc.stdout.replace("\r\n", "\n")


@pytest.fixture(scope="module")
def board():
    with VirtualBoard() as vb:
        yield vb


def test_deploy_then_app_on_every_trace_prints_its_label(board):
    labels = trace_labels()
    assert len(set(labels.values())) >= 3, "traces of several gestures, or the test proves little"

    done = deploy(Device(board.port, virtual=True), model=MODEL, app=APP, traces=True)
    assert done.checked and len(done.copied) == len(done.items)
    listing = mpremote(board.port, "fs", "ls", ":models/gesture/traces")
    for path in TRACES:
        assert path.name in listing
        assert (board.root / "models" / "gesture" / "traces" / path.name).read_bytes() == path.read_bytes()

    for stem, label in labels.items():
        # The deployed main.py (not the host's), imported and called: sys.exit would end the Unix port.
        code = f"import main\nprint('EXIT', main.main(['--trace', {stem!r}]))"
        out = mpremote(board.port, "exec", code)
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        assert lines[-1] == "EXIT 0", out
        assert lines[0].startswith(f"# trace {stem}: "), out
        predictions = [ln.split() for ln in lines[1:-1]]
        assert len(predictions) == windows_in(GESTURE / "traces" / f"{stem}.npy"), out
        for words in predictions:
            assert len(words) == 2, out
            assert words[0] == label, f"trace {stem}: got {words[0]}\n{out}"
            assert 1 / len(labels) < float(words[1]) <= 1.0, out
