"""The native firmware of a real board (unix, or esp32/rp2 behind a wrapper) named by MICROPYTHON.

MICROPYTHON is a program that runs a script file, as the Unix port does (`micropython app.py`);
`make firmware BOARD=unix` leaves one in build/unix/micropython (used when MICROPYTHON is unset).
The outputs of _microtf on it must equal the host engine's bit for bit; when the firmware has the
board's frozen modules, they must match board.json and the model files. Without _microtf (e.g. the
PyPI Unix port) the tests skip with the reason tests/allowed_skips.txt allows.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from microtf_host import boards
from microtf_host.embed import sha256
from microtf_host.engine import Engine
from microtf_host.paths import BUILD
from portskit import GESTURE, SINE

SKIP_REASON = "MICROPYTHON binary has no _microtf"


def _command() -> list[str] | None:
    env = os.environ.get("MICROPYTHON")
    if env:
        return shlex.split(env)
    built = BUILD / "unix" / "micropython"
    if built.exists():
        return [str(built)]
    beside = Path(sys.executable).parent / "micropython"  # the PyPI Unix port of the venv
    found = str(beside) if beside.exists() else shutil.which("micropython")
    return [found] if found else None


def _run(cmd: list[str], script: str, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / "check.py"
    path.write_text(script)
    return subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def micropython(tmp_path_factory) -> list[str]:
    cmd = _command()
    if cmd is None:
        pytest.skip(f"{SKIP_REASON} (no MICROPYTHON set and no micropython on PATH)")
    proc = _run(
        cmd, "import _microtf\nprint('ARENA', _microtf.ARENA_SIZE)\n", tmp_path_factory.mktemp("probe")
    )
    if "ARENA" not in proc.stdout:
        last = ((proc.stderr or proc.stdout).strip().splitlines() or [""])[-1][:120]
        pytest.skip(f"{SKIP_REASON}: {' '.join(cmd)} ({last})")
    return cmd


@pytest.mark.parametrize("model_path", [GESTURE, SINE], ids=["gesture", "sine"])
def test_outputs_equal_host_engine(micropython, model_path, tmp_path):
    model = model_path.read_bytes()
    eng = Engine(model)
    shape = eng.inputs[0].shape
    rng = np.random.default_rng(7)
    samples = [[rng.integers(-128, 128, size=shape, dtype=np.int8)] for _ in range(4)]
    expected = [out[0].reshape(-1).tolist() for out in eng.run(samples)]
    rows = ",\n".join(repr(bytes(s[0].astype(np.int8).tobytes())) for s in samples)
    script = (
        "import _microtf\n"
        f"f = open({str(model_path)!r}, 'rb')\nmodel = f.read()\nf.close()\n"
        "m = _microtf.Model(model)\n"
        f"for raw in ({rows},):\n"
        "    view = m.input(0)\n"
        "    for i in range(len(view)):\n"
        "        view[i] = raw[i] - 256 if raw[i] > 127 else raw[i]\n"
        "    m.invoke()\n"
        "    print('OUT', list(m.output(0)))\n"
    )
    proc = _run(micropython, script, tmp_path)
    got = [eval(line[4:]) for line in proc.stdout.splitlines() if line.startswith("OUT ")]  # noqa: S307
    assert got == expected, proc.stdout + proc.stderr
    flat = [v for row in expected for v in row]
    assert len(set(flat)) > 1 and not all(v in (-128, 127) for v in flat)  # not a saturated answer


def test_frozen_board_modules(micropython, tmp_path):
    script = (
        "try:\n    import microtf_board\nexcept ImportError:\n    print('NOFROZEN')\n    raise SystemExit\n"
        "import _microtf, microtf, gesture_int8, sine_int8\n"
        "print('BOARD', microtf_board.BOARD, microtf_board.ARENA_SIZE, _microtf.ARENA_SIZE)\n"
        "print('SIZES', gesture_int8.SIZE, len(gesture_int8.MODEL), sine_int8.SIZE, gesture_int8.SHA256)\n"
    )
    proc = _run(micropython, script, tmp_path)
    if "NOFROZEN" in proc.stdout:
        pytest.skip(f"{SKIP_REASON}-built board modules (microtf_board etc.: not made by make firmware)")
    words = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    name, arena, binding_arena = words["BOARD"].split()
    board = boards.load(name)
    assert int(arena) == int(binding_arena) == board.arena_size
    size, length, sine_size, digest = words["SIZES"].split()
    assert int(size) == int(length) == len(GESTURE.read_bytes()) and int(sine_size) == len(SINE.read_bytes())
    assert digest == sha256(GESTURE.read_bytes())
