"""TFLite Micro (PyPI ``tflite-micro``) as the oracle, always in a subprocess.

A too-small arena or a hostile model can segfault TFLite Micro, so it never
runs inside the calling process: ``run`` hands the model and inputs to
``python -m microtf_host.tflm_worker`` through temporary .npz files.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import MicrotfError


class TflmFailure(MicrotfError):
    """TFLite Micro refused the model or crashed on it."""


def run(
    model: bytes,
    samples: Sequence[Sequence[np.ndarray]],
    arena_size: int | None = None,
    reset_each: bool = False,
    timeout: float = 600.0,
) -> list[list[np.ndarray]]:
    """Invoke TFLite Micro once per sample; ``samples[k][i]`` feeds input i at step k.

    State (resource variables) carries from one step to the next unless
    ``reset_each``. Returns ``outputs[k][j]`` for output j at step k.
    """
    with tempfile.TemporaryDirectory(prefix="microtf-tflm-") as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        arrays: dict[str, np.ndarray] = {"model": np.frombuffer(model, dtype=np.uint8)}
        arrays["meta"] = np.array([len(samples), arena_size or 0, int(reset_each)], dtype=np.int64)
        for k, sample in enumerate(samples):
            for i, value in enumerate(sample):
                arrays[f"in_{k}_{i}"] = np.asarray(value)
        np.savez(src, **arrays)
        proc = subprocess.run(
            [sys.executable, "-m", "microtf_host.tflm_worker", str(src), str(dst)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise TflmFailure(_describe(proc))
        with np.load(dst) as out:
            n_out = int(out["n_out"])
            return [[out[f"out_{k}_{j}"] for j in range(n_out)] for k in range(len(samples))]


def probe(model: bytes, arena_size: int, timeout: float = 120.0) -> bool:
    """True when TFLite Micro initialises the model in ``arena_size`` bytes and invokes it once."""
    details = input_details(model)
    zeros = [np.zeros(d["shape"], dtype=d["dtype"]) for d in details]
    try:
        run(model, [zeros], arena_size=arena_size, timeout=timeout)
    except TflmFailure:
        return False
    return True


def input_details(model: bytes) -> list[dict]:
    """Shape and numpy dtype of each input, read with the ``tflite`` package."""
    import tflite

    from .tflite_types import numpy_dtype

    graph = tflite.Model.GetRootAsModel(model, 0).Subgraphs(0)
    details = []
    for i in range(graph.InputsLength()):
        tensor = graph.Tensors(graph.Inputs(i))
        details.append({"shape": tuple(tensor.ShapeAsNumpy()), "dtype": numpy_dtype(tensor.Type())})
    return details


def _describe(proc: subprocess.CompletedProcess) -> str:
    if proc.returncode < 0:
        return f"TFLite Micro crashed (signal {-proc.returncode})"
    lines = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.strip()]
    return "TFLite Micro failed: " + (lines[-1] if lines else f"exit {proc.returncode}")
