"""Helpers of the real-board tests: run make on boards/ports.mk with a chosen PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from microtf_host.paths import ROOT

MAKE = "/usr/bin/make"
GESTURE = ROOT / "models" / "gesture" / "gesture_int8.tflite"
SINE = ROOT / "models" / "sine" / "sine_int8.tflite"
GESTURE_OPS = [
    "average_pool_2d", "conv_2d", "depthwise_conv_2d", "fully_connected", "max_pool_2d", "reshape", "softmax",
]  # fmt: skip


def makefile_args() -> list[str]:
    """Through the top-level Makefile once boards.mk includes ports.mk, else ports.mk alone."""
    boards_mk = (ROOT / "boards" / "boards.mk").read_text()
    if "ports.mk" in boards_mk:
        return []
    return ["-f", "boards/ports.mk"]


def bin_dir(tmp: Path, tools: list[str]) -> Path:
    """A directory holding only ``tools`` (symlinks to the real ones): a PATH without the rest."""
    d = tmp / "bin"
    d.mkdir(exist_ok=True)
    for tool in tools:
        for base in ("/usr/bin", "/bin", "/usr/local/bin"):
            if Path(base, tool).exists():
                (d / tool).symlink_to(Path(base, tool))
                break
    return d


def run_make(args: list[str], path: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env["PATH"] = path
    return subprocess.run(
        [MAKE, "--no-print-directory", *makefile_args(), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
