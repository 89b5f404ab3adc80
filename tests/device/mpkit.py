"""Helpers of the device tests: run code on the real MicroPython Unix port with firmware/ on its path.

(A module of its own, not conftest.py: tests/host has a conftest too, and ``from conftest
import`` would depend on which one was imported first.)
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
MP_DIR = Path(__file__).resolve().parent / "mp"


def micropython_bin() -> str:
    return os.environ.get("MICROPYTHON", str(ROOT / ".venv" / "bin" / "micropython"))


def mp_env() -> dict:
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{FIRMWARE}:{MP_DIR}:.frozen"
    return env


def mp_popen(args: list, cwd=None) -> subprocess.Popen:
    return subprocess.Popen(
        [micropython_bin(), *args],
        env=mp_env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_mp(
    code: str | None = None,
    script: Path | None = None,
    args: tuple = (),
    timeout: float = 60,
    check: bool = True,
) -> str:
    """Run code (-c) or a script on the Unix port; return stdout. Fails the test on a non-zero exit."""
    cmd = [micropython_bin()]
    cmd += ["-c", code] if code is not None else [str(script)]
    proc = subprocess.run(
        cmd + list(args), env=mp_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        pytest.fail(f"micropython exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout
