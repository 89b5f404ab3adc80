"""The pure-MicroPython (viper) engine's speed on the MicroPython Unix port, for ``make bench``.

One micropython process per model runs vbench_mp.py: VModel over the model, warm-up, then N
invokes timed with time.ticks_us, then the same N invokes operator by operator (each eval()
timed alone) for the time per operator type. MACs come from modelinfo, as for the C engine.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .paths import ROOT

DEVICE_SCRIPT = Path(__file__).with_name("vbench_mp.py")
FIRMWARE = ROOT / "firmware"
TARGET_MACS_PER_S = 20e6  # CONV_2D and FULLY_CONNECTED on the Unix port
TARGET_OPS = ("CONV_2D", "FULLY_CONNECTED")


def micropython_bin() -> str:
    return os.environ.get("MICROPYTHON", str(ROOT / ".venv" / "bin" / "micropython"))


@dataclass
class VResult:
    ok: bool
    why: str = ""
    invokes: int = 0
    us: float = 0.0  # mean per invoke
    ops: dict[str, tuple[int, float]] = field(default_factory=dict)  # name -> (calls, us) per invoke

    @property
    def per_s(self) -> float:
        return 1e6 / self.us if self.us else 0.0

    def macs_per_s(self, macs: int, op: str | None = None) -> float | None:
        """MAC/s of the whole invoke (op None) or of one operator type; None without MACs or time."""
        us = self.us if op is None else self.ops.get(op, (0, 0.0))[1]
        return macs / us * 1e6 if macs and us > 0 else None


def run_viper(model: Path, budget_ms: int, timeout: float = 120) -> VResult:
    """Time the viper engine on ``model`` in a fresh micropython process (about budget_ms of invokes)."""
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{FIRMWARE}:.frozen"
    try:
        proc = subprocess.run(
            [micropython_bin(), str(DEVICE_SCRIPT), str(model), str(budget_ms)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except FileNotFoundError:
        return VResult(False, "no micropython (set MICROPYTHON)")
    except subprocess.TimeoutExpired:
        return VResult(False, f"timed out after {timeout:.0f} s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}, no output"])[-1]
        return VResult(False, tail[:80])
    got = json.loads(lines[-1])
    if not got["ok"]:
        return VResult(False, got["why"])
    ops = {k: (int(v[0]), float(v[1])) for k, v in got["ops"].items()}
    return VResult(True, invokes=int(got["n"]), us=float(got["us"]), ops=ops)


def short(why: str, width: int = 60) -> str:
    """A refusal reason cut to fit a table cell."""
    why = " ".join(why.split())
    return why if len(why) <= width else why[: width - 3] + "..."
