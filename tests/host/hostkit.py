"""Constants and helpers of the host CLI tests (a module name of its own: ``conftest`` is taken twice)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MICROTF = VENV_BIN / "microtf"
MICROPYTHON = VENV_BIN / "micropython"
SITE = Path(np.__file__).resolve().parents[1]
WAKEWORD_DIR = SITE / "pymicro_wakeword" / "models"
WAKEWORD = sorted(WAKEWORD_DIR.glob("*.tflite"))
EXAMPLES = sorted(p.parent.name for p in (ROOT / "models").glob("*/*_int8.tflite"))
SHARED = ROOT.parent / "shared" / "models"


def tiny_dataset(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Three separable clusters; deterministic."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, n)
    centres = np.array([[0.2, 0.8, 0.1, 0.5], [0.8, 0.2, 0.5, 0.1], [0.5, 0.5, 0.9, 0.9]], dtype=np.float32)
    x = centres[y] + rng.normal(0, 0.08, (n, 4)).astype(np.float32)
    return x.astype(np.float32), y


def one_error_line(err: str) -> str:
    """The single stderr line of a failed command (and proof there is exactly one, without a traceback)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith("microtf: "), err
    return lines[0]
