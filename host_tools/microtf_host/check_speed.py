"""Speed for ``microtf check``: instructions per inference on the emulated Cortex-M4 (bare metal, and
through MicroPython on the emulated board), latency estimates at a board's clock, host timing.

The estimates state their assumption (``ASSUMPTION``): a Cortex-M4 instruction count times a
cycles-per-instruction figure at the board's clock; for the Xtensa boards also a figure calibrated to
person_detect's published TFLite Micro latencies.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import MicrotfError
from .paths import BUILD

M4_STEPS = 4  # invokes on the emulated M4: the first (CALL_ONCE, caches) is left out of the mean
M4_SET = BUILD / "qemu_engine" / "check"
# Board clocks for latency estimates (the figures; board.json may give "clock_hz").
CLOCK_HZ = {"esp32": 240e6, "esp32s3": 240e6, "rp2": 125e6}
CPI = 1.25  # cycles per Cortex-M4 instruction: 1 for ALU, 2 for loads and taken branches
# person_detect under TFLite Micro's reference kernels (no esp-nn), published: ms per inference.
PUBLISHED_PERSON_DETECT_MS = {"esp32": 4084.0, "esp32s3": 2300.0}
# Calibration to those figures. microtf's C engine runs person_detect in this many instructions on the
# emulated Cortex-M4 (-O2, measured 2026-11-24 by `make bench`), and about this many times faster than
# TFLite Micro on the host (median of bench's interleaved timing: 1.8x to 2.7x on this shared machine).
# Assuming microtf keeps that edge on the Xtensa boards, its cycles per M4 instruction there are
#     published ms x clock / speed-up / person_detect's M4 instructions,
# which folds in the Xtensa ISA and the flash cache the weights are read through.
PERSON_DETECT_M4_INSTRUCTIONS = 35_939_920
HOST_SPEEDUP_OVER_TFLM = 2.2


def m4_run(model_path: Path, stateful: bool) -> dict:
    """Instructions per invoke, arena (32-bit pointers) and bit-exactness of the C engine on the
    emulated Cortex-M4F (QEMU mps2-an386, -O2, -icount shift=0)."""
    import fcntl

    from . import qemu_vectors as qv

    M4_SET.parent.mkdir(parents=True, exist_ok=True)
    with open(M4_SET.parent / "check.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        vm = qv.VectorModel("checked", model_path, M4_STEPS, stateful)
        qv.generate([vm], M4_SET)
        out = qv.run_runner(qv.build_runner(M4_SET, "-O2", strict=False))
    run = out.models.get("checked")
    if run is None or run.error:
        raise MicrotfError(f"emulated M4 run failed: {run.error if run else out.text[-300:]}")
    return {
        "instructions": run.instructions_per_invoke,
        "arena": run.arena,
        "stack": run.stack,
        "steps": run.steps,
        "bit_exact": run.steps - run.mismatches if run.canary == "ok" else 0,
    }


def board_micropython(model_path: Path) -> dict:
    """Instructions per inference through MicroPython on the emulated board (board_bench): the C engine
    built in (``native``) and the pure-MicroPython engine (``viper``); ``E_note`` says why one is missing."""
    try:
        from .board_bench import measure
    except ImportError:
        why = "n/a: board_bench (MicroPython on qemu_m4) not available"
        return {"native_note": why, "viper_note": why}
    try:
        row = measure([model_path])[0]
    except (MicrotfError, OSError, IndexError, subprocess.SubprocessError) as exc:
        why = f"n/a: {gist(exc)}"
        return {"native_note": why, "viper_note": why}
    out: dict = {}
    for engine in ("native", "viper"):
        value = row.get(f"{engine}_instructions")
        out[engine] = float(value) if value is not None else None
        out[f"{engine}_note"] = (
            "" if value is not None else f"n/a: {row.get(f'{engine}_reason') or 'no figure'}"
        )
    out["viper_matches_native"] = row.get("viper_matches_native")
    return out


def calibrated_cpi(board: str) -> float | None:
    """Cycles per Cortex-M4 instruction on a board with a published person_detect figure, else None."""
    ms, clock = PUBLISHED_PERSON_DETECT_MS.get(board), CLOCK_HZ.get(board)
    if ms is None or clock is None:
        return None
    return ms * 1e-3 * clock / HOST_SPEEDUP_OVER_TFLM / PERSON_DETECT_M4_INSTRUCTIONS


def estimates(instructions: float | None, board=None) -> list[dict]:
    """Latency estimates for ``board`` (a check.Board), else for every board with a known clock."""
    names = [board.name] if board is not None else list(CLOCK_HZ)
    rows = []
    for name in names:
        clock = board.clock_hz if board is not None and board.name == name else CLOCK_HZ.get(name)
        row: dict = {"board": name, "clock_mhz": clock / 1e6 if clock else None}
        if clock is None or instructions is None:
            row["note"] = "n/a: " + ("no clock known for this board" if clock is None else "no M4 count")
            rows.append(row)
            continue
        row["ms"] = instructions * CPI / clock * 1e3
        cpi = calibrated_cpi(name)
        if cpi is not None:
            row["calibrated_ms"] = instructions * cpi / clock * 1e3
            row["calibrated_cpi"] = round(cpi, 2)
        rows.append(row)
    return rows


ASSUMPTION = (
    f"estimate = Cortex-M4 instructions x {CPI} cycles/instruction / board clock: what a Cortex-M4 at that "
    "clock would take, a lower bound elsewhere. The RP2040's Cortex-M0+ has no 32x32->64 multiply and no DSP "
    "instructions; the ESP32's Xtensa LX6 (and the S3's LX7) is another ISA and reads the weights from flash "
    "through a cache. 'calibrated' therefore scales by person_detect's published figures (TFLite Micro "
    "without esp-nn: about 4084 ms on an ESP32, 2300 ms on an ESP32-S3) divided by microtf's speed-up over "
    f"TFLite Micro on the host ({HOST_SPEEDUP_OVER_TFLM}x): "
    + ", ".join(f"{b} {calibrated_cpi(b):.1f}" for b in PUBLISHED_PERSON_DETECT_MS)
    + " cycles per M4 instruction. Expect the real figure between the two."
)


def gist(exc: BaseException, width: int = 160) -> str:
    """One line out of a long failure (a compiler's output, say): its first error line, else its first."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    errors = [ln for ln in lines[1:] if "error" in ln.lower()]
    line = f"{lines[0]} {errors[0]}" if errors else lines[0]
    return line[:width]


def host_timing(model_path: Path, inputs: list) -> dict:
    """microtf's and TFLite Micro's host latency (us), timed by bench's one-worker harness."""
    from .bench import host_latency

    lat = host_latency(model_path, inputs, 0.6)
    return {"host_us": lat["microtf"] * 1e6, "tflm_host_us": lat["tflm"] * 1e6}
