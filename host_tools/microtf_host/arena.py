"""Arena sizes: TFLite Micro's recorded total, its smallest working arena, and the engine's own figure.

TFLite Micro can segfault on a too-small arena, so every probe runs in a
subprocess (``tflm_worker --bisect``). One worker bisects many sizes in a row
and announces each size before trying it; when it crashes, the parent marks
that size as failing and starts a new worker on the rest of the range. The
answer is confirmed at the end with ``tflm.probe`` in fresh processes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import tflm
from .errors import MicrotfError
from .progress import bar
from .tflfile import micro_incompatibility, parse

STEP = 16  # granularity of the bisection (TFLite Micro aligns its arena allocations to 16)
_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


@dataclass
class ArenaReport:
    recorded: int | None  # TFLite Micro's RecordingMicroAllocator total
    smallest: int  # smallest arena (multiple of 16) in which TFLite Micro initialises and invokes
    engine: int | None = None  # the microtf engine's arena_needed, None when the engine is not built
    probes: int = 0


def _worker(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "microtf_host.tflm_worker", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _up(n: int) -> int:
    return -(-n // STEP) * STEP


def recorded_total(model_path: str, arena: int, timeout: float = 120.0) -> tuple[bool, int | None, str]:
    """(worked, recorded total, error text) for one run of the model in ``arena`` bytes."""
    proc = _worker(["--record", model_path, str(arena)], timeout)
    match = _TOTAL.search(proc.stderr or "")
    if proc.returncode == 0 and "ok" in proc.stdout:
        return True, int(match.group(1)) if match else None, ""
    return False, None, tflm._describe(proc)


def _bisect(model_path: str, lo: int, hi: int, guesses: list[int], progress) -> tuple[int, int]:
    """Narrow (failing lo, working hi) to within STEP, surviving worker crashes."""
    probes = 0
    while hi - lo > STEP:
        proc = _worker(["--bisect", model_path, str(lo), str(hi), *map(str, guesses)], timeout=600.0)
        trying = None
        for line in proc.stdout.splitlines():
            word, _, value = line.partition(" ")
            if word == "try":
                trying = int(value)
                continue
            size = int(value)
            probes += 1
            progress.update(1)
            progress.set_postfix_str(f"{size} B {word}")
            if word == "ok":
                hi = min(hi, size)
            else:
                lo = max(lo, size)
            trying = None
        if proc.returncode != 0:
            if trying is None:
                raise MicrotfError(f"TFLite Micro probe failed: {tflm._describe(proc)}")
            # The process died while trying this size: it does not work.
            probes += 1
            progress.update(1)
            lo = max(lo, trying)
        guesses = [g for g in guesses if lo < g < hi]
    return hi, probes


def tflm_arena(model: bytes, progress: bool = False) -> ArenaReport:
    """TFLite Micro's recorded arena total and its smallest working arena (found by bisection)."""
    parsed = parse(model)
    with tempfile.TemporaryDirectory(prefix="microtf-arena-") as tmp:
        path = str(Path(tmp) / "model.tflite")
        Path(path).write_bytes(model)
        # Grow from ten times the model (TFLite Micro's own default) until it works.
        hi = _up(max(10 * len(model), 16 * 1024))
        ok, recorded, error = recorded_total(path, hi)
        tries = 1
        while not ok and "arena" in error.lower() and tries < 4:
            hi *= 4
            ok, recorded, error = recorded_total(path, hi)
            tries += 1
        if not ok:
            hint = micro_incompatibility(parsed)
            raise MicrotfError(f"TFLite Micro cannot run this model: {hint or error}")
        # The recorded total is usually a little below the smallest working arena.
        guesses = []
        if recorded:
            guesses = [_up(int(recorded * f)) for f in (1.0, 1.1, 1.25, 1.5)]
        with bar(progress, desc="arena bisection", unit="probe") as pbar:
            smallest, probes = _bisect(path, 0, hi, guesses, pbar)
            # Confirm in fresh processes: a failed probe must not have spoiled later ones.
            pbar.set_postfix_str("confirming")
            if not tflm.probe(model, smallest):
                smallest, more = _bisect(path, smallest, hi, [], pbar)
                probes += more
    return ArenaReport(recorded=recorded, smallest=smallest, engine=engine_arena(model), probes=probes)


def engine_arena(model: bytes) -> int | None:
    """The microtf engine's exact arena for the model, or None when the engine is not built or refuses."""
    try:
        from . import engine  # written by the engine work; may be absent or unbuilt
    except Exception:  # noqa: BLE001 - absent, unbuilt or broken engine: the column shows n/a
        return None
    arena_needed = getattr(engine, "arena_needed", None)
    if arena_needed is None:
        return None
    try:
        return int(arena_needed(model))
    except Exception:  # noqa: BLE001 - the engine refusing the model also means "no figure"
        return None


def format_report(report: ArenaReport, model_size: int | None = None) -> str:
    lines = [f"  {'arena':<40} {'bytes':>10}"]
    rec = f"{report.recorded:,}" if report.recorded is not None else "n/a"
    lines.append(f"  {'TFLite Micro recorded total':<40} {rec:>10}")
    lines.append(f"  {'TFLite Micro smallest working (bisected)':<40} {report.smallest:>10,}")
    eng = f"{report.engine:,}" if report.engine is not None else "n/a"
    lines.append(f"  {'microtf engine (arena_needed)':<40} {eng:>10}")
    if model_size is not None:
        lines.append(f"  {'model (flash, read in place)':<40} {model_size:>10,}")
    return "\n".join(lines)
