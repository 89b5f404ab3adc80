"""Benchmark tables (``make bench``): the microtf C engine against TFLite Micro.

    python -m microtf_host.bench [--models NAME,...] [--quick] [--viper-only]

1. Emulated Cortex-M4F (QEMU mps2-an386, -O2, ``-icount shift=0``): bit-exactness against TFLite
   Micro (strict build: unaligned word accesses trap), instructions per invoke, and instructions per
   MAC of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED (per-operator build; MACs from modelinfo).
2. Arena bytes: the engine's (host and M4) beside TFLite Micro's smallest working arena (bisected,
   cached in build/bench/arena_cache.json) and its recorded total.
3. Engine code size for Cortex-M4F at -Os and -O2 (every operator; arm-none-eabi-size).
4. Host latency: the engine (ctypes) and TFLite Micro (its Python interpreter), timed by one
   worker process with the same loop (N invokes on fixed inputs, no I/O copies; median of
   interleaved repeats).
5. The pure-MicroPython (viper) engine on the MicroPython Unix port: inferences/s, MAC/s, and MAC/s
   of CONV_2D and FULLY_CONNECTED (each operator timed inside the engine), beside the C engine's host
   inferences/s; one micropython process per model (vbench.py). ``--viper-only``: tables 4 and 5 alone.

Targets (PASS/FAIL): arena <= TFLite Micro's smallest for every model; .text <= 24 KB at -Os;
<= 4 instructions/MAC in CONV_2D and FULLY_CONNECTED at -O2; host faster than TFLite Micro;
>= 20 M MAC/s in CONV_2D and FULLY_CONNECTED for the viper engine on the Unix port.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import qemu_vectors as qv
from .errors import MicrotfError
from .paths import BUILD, ENGINE, ROOT

CACHE = BUILD / "bench"
VECTORS = BUILD / "qemu_engine" / "bench"
VECTORS_ALIGNED = BUILD / "qemu_engine" / "bench_aligned"
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
TARGET_OPS = ("CONV_2D", "FULLY_CONNECTED")
TARGET_INSTR_PER_MAC = 4.0
TARGET_TEXT = 24 * 1024


# ---- output: rich when installed, else plain aligned text ----


def table(
    title: str, headers: list[str], rows: list[list[str]], notes: list[str] | None = None, left: int = 1
) -> None:
    """Print a table; the first ``left`` columns are left-aligned, the others right-aligned."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None  # noqa: N806
    if Console is not None and sys.stdout.isatty():
        t = Table(title=title, title_justify="left")
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i < left else "right")
        for r in rows:
            t.add_row(*r)
        Console().print(t)
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        print(f"\n{title}")
        line = "  ".join(
            h.ljust(w) if i < left else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        ).rstrip()
        print(line)
        print("-" * len(line))
        for r in rows:
            print(
                "  ".join(
                    c.ljust(w) if i < left else c.rjust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                ).rstrip()
            )
    for n in notes or []:
        print(f"  {n}")
    sys.stdout.flush()


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def fmt(v: float | int | None, spec: str = ",.0f") -> str:
    return "n/a" if v is None else format(v, spec)


# ---- 1. emulated Cortex-M4F ----


@dataclass
class M4Result:
    bit_exact: dict[str, bool]
    plain: qv.RunnerOutput
    profile: qv.RunnerOutput


def run_m4(models: list[qv.VectorModel]) -> M4Result:
    # Correctness at the worst placement (odd address, unaligned words trap); speed where
    # `microtf embed` and the firmware put models (16-aligned), on a core that allows unaligned
    # words, as a real Cortex-M4 does.
    qv.generate(models, VECTORS)
    qv.generate(models, VECTORS_ALIGNED, model_offset=0)
    strict = qv.run_runner(qv.build_runner(VECTORS, "-O2", strict=True))
    plain = qv.run_runner(qv.build_runner(VECTORS_ALIGNED, "-O2", strict=False))
    profile = qv.run_runner(qv.build_runner(VECTORS_ALIGNED, "-O2", strict=False, profile=True))
    for out in (strict, plain, profile):
        if out.ticks_per_400k != 400_000 // qv.INSTRUCTIONS_PER_TICK:
            raise MicrotfError(f"timer calibration off: {out.ticks_per_400k} ticks for 400,000 instructions")
    exact = {
        n: all(
            run.models.get(n) is not None
            and run.models[n].mismatches == 0
            and not run.models[n].error
            and run.models[n].canary == "ok"
            for run in (strict, plain)
        )
        for n in strict.models
    }
    return M4Result(exact, plain, profile)


def macs_by_op(model: bytes) -> tuple[dict[str, int], int]:
    from .modelinfo import describe

    info = describe(model)
    per: dict[str, int] = {}
    for u in info.ops:
        per[u.name] = per.get(u.name, 0) + u.macs
    return per, info.total_macs


def instr_per_mac(run: qv.ModelRun, op: str, macs: dict[str, int]) -> float | None:
    if not run.ops or op not in run.ops or not macs.get(op):
        return None
    # The first invoke is counted too here (it does the same work plus CALL_ONCE, which is its own op).
    _, ticks = run.ops[op]
    return ticks * qv.INSTRUCTIONS_PER_TICK / run.steps / macs[op]


# ---- 2. arena ----


def tflm_arena_cached(name: str, model: bytes) -> tuple[int | None, int]:
    """(recorded total, smallest working arena) of TFLite Micro, cached by the model's hash."""
    from .arena import tflm_arena

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "arena_cache.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    key = hashlib.sha256(model).hexdigest()
    if key not in cache:
        print(f"  bisecting TFLite Micro's arena for {name} (cached afterwards)...", flush=True)
        rep = tflm_arena(model)
        cache[key] = {"name": name, "recorded": rep.recorded, "smallest": rep.smallest}
        path.write_text(json.dumps(cache, indent=1))
    return cache[key]["recorded"], cache[key]["smallest"]


# ---- 3. code size ----


def code_size(opt: str) -> dict[str, int]:
    """Sizes summed over every engine object compiled for Cortex-M4F at ``opt``."""
    proc = subprocess.run(
        ["make", "-s", "-j2", "-C", str(ENGINE / "qemu"), "size", f"OPT={opt}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise MicrotfError(f"engine size build failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    lib = BUILD / "qemu_engine" / "size" / opt.lstrip("-") / "libmicrotf.a"
    sysv = subprocess.run(["arm-none-eabi-size", "-A", str(lib)], capture_output=True, text=True, check=True)
    sizes = {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    for line in sysv.stdout.splitlines():
        m = re.match(r"^\.(text|rodata|data|bss)\S*\s+(\d+)", line)
        if m:
            sizes[m.group(1)] += int(m.group(2))
    return sizes


# ---- 4. host latency ----


def _timing_worker(model_path: str, inputs_path: str, budget: float) -> None:
    """Runs in a subprocess: times TFLite Micro and the engine with the same loop, interleaved."""
    from tflite_micro.python.tflite_micro import runtime

    from .engine import Engine, _Error

    model = Path(model_path).read_bytes()
    with np.load(inputs_path) as data:
        inputs = [data[f"in_{i}"] for i in range(len(data.files))]
    interp = runtime.Interpreter.from_bytes(model)
    eng = Engine(model)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
        eng.set_input(i, x)
    # The engine's C call with its arguments made once: Engine.invoke builds an error struct per
    # call, which would add Python work TFLite Micro's bound invoke does not do.
    c_invoke, handle, err = eng._lib.mtf_invoke, eng._handle, ctypes.byref(_Error())
    engines = {"tflm": interp.invoke, "microtf": lambda: c_invoke(handle, err)}
    for f in engines.values():  # warm up (CALL_ONCE, caches)
        f()
        f()
    t0 = time.perf_counter()
    interp.invoke()
    one = max(time.perf_counter() - t0, 1e-6)
    n = max(1, min(2000, int(0.02 / one)))  # ~20 ms of TFLite Micro per timed loop
    reps = max(3, min(15, int(budget / (2 * n * one))))
    times: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(reps):
        for name, invoke in engines.items():
            t0 = time.perf_counter()
            for _ in range(n):
                invoke()
            times[name].append((time.perf_counter() - t0) / n)
    result = {k: statistics.median(v) for k, v in times.items()}
    result.update({f"{k}_min": min(v) for k, v in times.items()})
    result["n"], result["reps"] = n, reps
    print(json.dumps(result))


def host_latency(path: Path, inputs: list[np.ndarray], budget: float) -> dict[str, float]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="microtf-bench-") as tmp:
        npz = Path(tmp) / "in.npz"
        np.savez(npz, **{f"in_{i}": x for i, x in enumerate(inputs)})
        proc = subprocess.run(
            [sys.executable, "-m", "microtf_host.bench", "--timing-worker", str(path), str(npz), str(budget)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
        )
    if proc.returncode != 0:
        raise MicrotfError(f"timing worker failed for {path.name}: {proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _first_inputs(model: bytes, vm: qv.VectorModel) -> list[np.ndarray]:
    from . import tflm

    rng = np.random.default_rng(1)
    out = []
    for d in tflm.input_details(model):
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            out.append(rng.uniform(0, 2 * np.pi, size=d["shape"]).astype(dt))
        else:
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, info.max, size=d["shape"], endpoint=True, dtype=dt))
    return out


# ---- 4. host latency, table ----


def host_latency_table(
    models: list[qv.VectorModel], blobs: dict[str, bytes], quick: bool, failures: list[str]
) -> dict[str, dict[str, float]]:
    """Table 4; returns each model's timings (seconds per invoke) for table 5."""
    rows = []
    budget = 0.6 if quick else 2.0
    lats: dict[str, dict[str, float]] = {}
    for vm in models:
        lat = host_latency(vm.path, _first_inputs(blobs[vm.name], vm), budget)
        lats[vm.name] = lat
        ok = lat["microtf"] < lat["tflm"]
        if not ok:
            failures.append(f"{vm.name}: host latency")
        rows.append(
            [
                vm.name,
                fmt(lat["microtf"] * 1e6, ",.1f"),
                fmt(lat["tflm"] * 1e6, ",.1f"),
                f"{lat['tflm'] / lat['microtf']:.2f}x",
                fmt(lat["microtf_min"] * 1e6, ",.1f"),
                fmt(lat["tflm_min"] * 1e6, ",.1f"),
                f"{int(lat['n'])}x{int(lat['reps'])}",
                verdict(ok),
            ]
        )
    table(
        "Host latency per invoke, x86-64 (microtf -O2 through ctypes, TFLite Micro's Python interpreter)",
        ["model", "microtf us", "TFLM us", "speed-up", "microtf min", "TFLM min", "loop", "faster"],
        rows,
        [
            "Median (and min) of interleaved repeats, both timed in one worker process with the same loop",
            "  (N invokes on fixed inputs, no copies; each includes its binding's call overhead, about",
            "  0.2 us for ctypes). The machine is shared, so sub-microsecond models are noisy.",
        ],
    )
    return lats


# ---- 5. the viper engine on the MicroPython Unix port ----


def viper_table(
    models: list[qv.VectorModel],
    blobs: dict[str, bytes],
    lat: dict[str, dict[str, float]],
    quick: bool,
    failures: list[str],
) -> None:
    from . import vbench
    from .modelinfo import describe

    budget_ms = 600 if quick else 1500
    rows = []
    sums = {op: [0, 0.0] for op in vbench.TARGET_OPS}  # MACs and us per invoke, over the models
    for vm in models:
        res = vbench.run_viper(vm.path, budget_ms)
        macs, total = macs_by_op(blobs[vm.name])
        c = lat.get(vm.name, {}).get("microtf")
        c_cell = fmt(1 / c if c else None, ",.0f")
        if not res.ok:
            rows.append(
                [vm.name, "n/a: " + vbench.short(res.why), "", "", fmt(total), "", "", "", c_cell, "", "n/a"]
            )
            continue
        per_op = {}
        float_ops = set(describe(blobs[vm.name]).float_ops)
        for op in vbench.TARGET_OPS:
            per_op[op] = res.macs_per_s(macs.get(op, 0), op)
            if per_op[op] is not None and op not in float_ops:
                sums[op][0] += macs[op]
                sums[op][1] += res.ops[op][1]
        checked = [v for v in per_op.values() if v is not None]
        ok = all(v >= vbench.TARGET_MACS_PER_S for v in checked) if checked else None
        if ok is False:
            failures.append(f"{vm.name}: viper MAC/s on the Unix port")
        rows.append(
            [
                vm.name,
                "ok",
                fmt(res.per_s, ",.0f"),
                fmt(res.us, ",.1f"),
                fmt(total),
                fmt(_mega(res.macs_per_s(total)), ",.1f"),
                *(
                    fmt(_mega(per_op[op]), ",.1f") + (" f" if op in float_ops and per_op[op] else "")
                    for op in vbench.TARGET_OPS
                ),
                c_cell,
                f"{res.us * 1e-6 / c:,.0f}x" if c else "n/a",
                verdict(ok),
            ]
        )
    agg = [sums[op][0] / sums[op][1] * 1e6 if sums[op][1] else None for op in vbench.TARGET_OPS]
    got = [v for v in agg if v is not None]
    rows.append(
        [
            "int8, all models",
            "",
            "",
            "",
            "",
            "",
            *(fmt(_mega(v), ",.1f") for v in agg),
            "",
            "",
            verdict(all(v >= vbench.TARGET_MACS_PER_S for v in got) if got else None),
        ]
    )
    table(
        "Viper engine (pure MicroPython) on the MicroPython Unix port, x86-64, beside the C engine on the host",
        [
            "model",
            "viper",
            "inf/s",
            "us/inf",
            "MACs",
            "M MAC/s",
            "CONV_2D",
            "FC",
            "C inf/s",
            "C faster",
            ">=20M",
        ],
        rows,
        [
            "One micropython process per model: VModel, warm-up, N invokes timed with time.ticks_us (about",
            f"  {budget_ms // 2} ms), then each node's eval() N times in a row; medians of 5 blocks each. CONV_2D /",
            "  FC: M MAC/s of that operator type (MACs from modelinfo; 'f': float32, computed on float objects).",
            "  'int8, all models': the int8 operators' MACs over their time, summed over the models. C inf/s:",
            "  the C engine through ctypes on the host (table above). Target >= 20 M MAC/s applies to CONV_2D",
            "  and FC. The machine is shared: the numbers are noisy.",
        ],
        left=2,
    )


def _mega(v: float | None) -> float | None:
    return None if v is None else v / 1e6


# ---- main ----


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="microtf benchmark tables")
    ap.add_argument("--models", help="comma-separated subset of model names")
    ap.add_argument("--quick", action="store_true", help="shorter host timing")
    ap.add_argument(
        "--viper-only", action="store_true", help="only host latency and the viper engine on the Unix port"
    )
    ap.add_argument("--timing-worker", nargs=3, metavar=("MODEL", "INPUTS", "BUDGET"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.timing_worker:
        _timing_worker(args.timing_worker[0], args.timing_worker[1], float(args.timing_worker[2]))
        return 0
    start = time.time()
    models = qv.all_models()
    if args.models:
        wanted = set(args.models.split(","))
        models = [m for m in models if m.name in wanted]
    blobs = {m.name: m.path.read_bytes() for m in models}
    failures: list[str] = []

    if args.viper_only:
        lat = host_latency_table(models, blobs, args.quick, failures)
        viper_table(models, blobs, lat, args.quick, failures)
        print(f"\nbench finished in {time.time() - start:.0f} s; targets missed: {len(failures)}")
        for f in failures:
            print(f"  - {f}")
        return 0

    print("microtf benchmark: emulated Cortex-M4F (QEMU mps2-an386, -icount shift=0), host", flush=True)
    m4 = run_m4(models)
    rows = []
    for vm in models:
        run, prof = m4.plain.models[vm.name], m4.profile.models[vm.name]
        macs, total = macs_by_op(blobs[vm.name])
        ipm = {op: instr_per_mac(prof, op, macs) for op in MAC_OPS}
        checked = [ipm[op] for op in TARGET_OPS if ipm[op] is not None]
        ok = all(v <= TARGET_INSTR_PER_MAC for v in checked) if checked else None
        if ok is False:
            failures.append(f"{vm.name}: instructions/MAC")
        if not m4.bit_exact.get(vm.name):
            failures.append(f"{vm.name}: not bit-exact on M4")
        ipi = run.instructions_per_invoke
        rows.append(
            [
                vm.name,
                "yes" if m4.bit_exact.get(vm.name) else "NO",
                str(run.steps),
                fmt(ipi),
                fmt(total),
                fmt(ipi / total if total else None, ".2f"),
                *(fmt(ipm[op], ".2f") for op in MAC_OPS),
                fmt(run.stack),
                verdict(ok),
            ]
        )
    table(
        "Emulated Cortex-M4F, -O2: instructions (1 instruction = 1 ns under -icount shift=0)",
        [
            "model",
            "bit-exact",
            "invokes",
            "instr/invoke",
            "MACs",
            "instr/MAC",
            "CONV_2D",
            "DW_CONV",
            "FC",
            "stack B",
            "<=4/MAC",
        ],
        rows,
        [
            "bit-exact: every output byte of every invoke equals TFLite Micro's in two builds: strict (unaligned",
            "  word accesses trap, model at an odd address) and the timed one (unaligned words allowed as on a",
            "  real M4, model 16-aligned as `microtf embed` and the firmware place it); canary after the arena.",
            "  instr/invoke: mean of the invokes after the first, timed build. CONV_2D/DW_CONV/FC: instructions",
            "  per MAC of that operator type (per-operator build). Target <= 4 applies to CONV_2D and FC.",
            "  stack: deepest use, runner included.",
        ],
    )

    rows = []
    for vm in models:
        prof = m4.profile.models[vm.name]
        total_ticks = sum(t for _, t in (prof.ops or {}).values()) or 1
        top = sorted((prof.ops or {}).items(), key=lambda kv: -kv[1][1])[:4]
        per_call = [
            f"{op} {100 * t / total_ticks:.0f}% ({t * qv.INSTRUCTIONS_PER_TICK / c:,.0f}/call)"
            for op, (c, t) in top
        ]
        rows.append([vm.name, "; ".join(per_call)])
    table(
        "Where the M4 instructions go (per-operator build; share of operator time, instructions per call)",
        ["model", "top operators"],
        rows,
        left=2,
    )

    rows = []
    for vm in models:
        from .engine import arena_needed

        recorded, smallest = tflm_arena_cached(vm.name, blobs[vm.name])
        host = arena_needed(blobs[vm.name])
        m4_arena = m4.plain.models[vm.name].arena
        ok = max(host, m4_arena) <= smallest
        if not ok:
            failures.append(f"{vm.name}: arena")
        rows.append(
            [
                vm.name,
                fmt(m4_arena),
                fmt(host),
                fmt(smallest),
                fmt(recorded),
                f"{100 * host / smallest:.0f}%",
                verdict(ok),
            ]
        )
    table(
        "Arena bytes",
        ["model", "microtf M4", "microtf host", "TFLM smallest", "TFLM recorded", "host/smallest", "<=TFLM"],
        rows,
        [
            "microtf: mtf_arena_needed (M4: 32-bit pointers, from the runner; host: 64-bit). TFLM smallest:",
            "  smallest arena (16-byte steps) in which TFLite Micro (x86-64) initialises and invokes.",
        ],
    )

    rows = []
    for opt in ("-Os", "-O2"):
        s = code_size(opt)
        ok = s["text"] <= TARGET_TEXT if opt == "-Os" else None
        if ok is False:
            failures.append(f".text at {opt}")
        rows.append(
            [
                opt,
                fmt(s["text"]),
                fmt(s["rodata"]),
                fmt(s["text"] + s["rodata"]),
                fmt(s["data"] + s["bss"]),
                verdict(ok),
            ]
        )
    table(
        "Engine code size, Cortex-M4F (arm-none-eabi-gcc 12, every operator, all engine objects)",
        ["opt", ".text", ".rodata", "flash", "data+bss", "<=24KB"],
        rows,
    )

    board_table(models)
    lat = host_latency_table(models, blobs, args.quick, failures)
    viper_table(models, blobs, lat, args.quick, failures)
    check_table(models, m4)
    print(f"\nbench finished in {time.time() - start:.0f} s; targets missed: {len(failures)}")
    for f in failures:
        print(f"  - {f}")
    return 0


def board_table(models: list[qv.VectorModel]) -> None:
    """Instructions per inference through MicroPython on the emulated board: _microtf beside viper."""
    from . import board_bench

    print(
        "\nMicroPython on the emulated board qemu_m4 (-icount shift=0): instructions per inference",
        flush=True,
    )
    print(board_bench.format_table(board_bench.measure([vm.path for vm in models])))
    print(
        "  measured as N x m.invoke() minus an empty loop, so the MicroPython call is included;"
        " models over 120 KB are read from flash."
    )


# ---- 5. microtf check, every model ----

CHECK_BOARDS = ("esp32", "esp32s3", "rp2")


def check_table(models: list[qv.VectorModel], m4: M4Result) -> None:
    """``microtf check`` for every model (host agreement, arena, flash), with the M4 counts measured above:
    whether each fits the boards' configured arena and flash, and its latency estimate there."""
    from . import check as chk
    from . import check_speed

    boards = [chk.load_board(b) for b in CHECK_BOARDS]
    rows = []
    for vm in models:
        rep = chk.check(vm.path, quick=True)
        run = m4.plain.models[vm.name]
        rep.memory["microtf_m4"] = run.arena
        ins = run.instructions_per_invoke
        c = next((e for e in rep.engines if e.engine == "c"), None)
        exact = f"{c.bit_exact}/{c.samples}" if c is not None and c.samples else "n/a"
        cells = []
        for board in boards:
            assert board is not None
            why = [p.split(":")[0] for p in rep.problems if not p.startswith(("arena", "flash"))][:1]
            if board.arena is not None and run.arena > board.arena:
                why.append("arena")
            if board.flash is not None and rep.size > board.flash:
                why.append("flash")
            est = check_speed.estimates(ins, board)[0]
            span = "n/a" if "ms" not in est else chk._ms(est["ms"])
            if "calibrated_ms" in est:
                span += "-" + chk._ms(est["calibrated_ms"])
            cells.append(f"ok {span} ms" if not why else "NO: " + "+".join(why))
        rows.append(
            [
                vm.name,
                "yes" if all(o.supported for o in rep.ops) else "NO",
                fmt(rep.size),
                fmt(run.arena),
                fmt(rep.memory.get("tflm_smallest")),
                exact,
                fmt(ins),
                *cells,
            ]
        )
    table(
        "microtf check: every model against the boards' configured arena and flash (boards/*/board.json)",
        ["model", "ops", "flash B", "arena M4", "TFLM arena", "c bit-exact", "M4 instr", *CHECK_BOARDS],
        rows,
        [
            "c bit-exact: host C engine against TFLite Micro on 100 seeded random inputs (streams for",
            "  stateful models). Board cells: 'ok' with the estimated latency (M4 rule - calibrated),",
            "  else what does not fit.",
            *("  " + ln for ln in chk._wrap(check_speed.ASSUMPTION, 96)),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
