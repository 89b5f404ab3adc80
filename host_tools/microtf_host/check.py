"""``microtf check MODEL.tflite``: will this model run on the board, and run right, before flashing it?

    python -m microtf_host.check MODEL.tflite [--board esp32] [--data X.npy] [--json] [--plot DIR]

One report in four parts: operators (each supported or not, with the reason and a hint), memory (flash
bytes; microtf's arena beside TFLite Micro's smallest working arena; whether they fit the board),
agreement (every available engine against TFLite Micro on the data, or on 100 seeded random inputs;
stateful models as one stream) and speed (instructions per inference on the emulated Cortex-M4, turned
into a latency estimate at the board's clock, the assumption stated; host latency beside TFLite
Micro's). Exit status: 0 when the model would run on the board, 1 when not (the reasons are printed),
2 on bad input (a file that is not a model, a bad option).

``add_args``/``run`` plug into cli.py's command table; ``check`` is the Python API.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .check_speed import ASSUMPTION, CLOCK_HZ
from .errors import MicrotfError
from .paths import BUILD, ROOT

EXIT_WOULD_NOT_RUN = 1
BAD_MODEL = 2  # MTF_ERR_BAD_MODEL
RANDOM_SAMPLES = 100
SEED = 20261124
ARENA_CACHE = BUILD / "bench" / "arena_cache.json"  # shared with `make bench`

CHECK_HELP = "will the model run on the board? operators, memory, agreement with TFLite Micro, speed"
HINTS = {
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "microtf has no LSTM: use Conv1D/DepthwiseConv2D over the window, "
    "or a GRU-free streaming model (microWakeWord-style stateful convolutions)",
    "BIDIRECTIONAL_SEQUENCE_LSTM": "microtf has no LSTM: use convolutions over the window",
    "LSTM": "microtf has no LSTM: use convolutions over the window",
    "SVDF": "SVDF needs int16 state (not in microtf): use stateful convolutions (STRIDED_SLICE/CONCATENATION)",
    "CUSTOM": "custom operators only exist in the converter that made them: rebuild with builtin layers",
    "TRANSPOSE": "fold the transpose into the model (Keras Permute before Dense) or change the data layout",
}
DYNAMIC_HINT = "a dynamic dimension: build the model with keras.Input(shape, batch_size=1) and convert again"


@dataclass
class Board:
    name: str
    arena: int | None  # bytes the firmware reserves for the model's arena
    flash: int | None  # bytes of flash for models
    clock_hz: float | None
    source: str


@dataclass
class OpRow:
    name: str
    version: int
    count: int
    macs: int
    supported: bool
    reason: str = ""
    hint: str = ""


@dataclass
class EngineRow:
    engine: str
    samples: int | None = None
    bit_exact: int | None = None
    largest_diff: int | None = None  # in output steps (int) or output units (float)
    note: str = ""  # "n/a: why" when it did not run


@dataclass
class CheckReport:
    model: str
    size: int
    board: Board | None
    ops: list[OpRow] = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    data: str = ""
    engines: list[EngineRow] = field(default_factory=list)
    speed: dict = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why it would not run on the board
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return out


# ---- board -------------------------------------------------------------------------------------------


def load_board(spec: str | None, arena: int | None = None, flash: int | None = None) -> Board | None:
    """A board from boards/<name>/board.json (or a path to such a file), with --arena/--flash overrides."""
    if spec is None and arena is None and flash is None:
        return None
    data: dict = {}
    name, source = spec or "custom", "--arena/--flash"
    if spec is not None:
        path = Path(spec)
        if not (path.suffix == ".json" or path.is_file()):
            path = ROOT / "boards" / spec / "board.json"
            if not path.is_file():
                known = sorted(p.parent.name for p in (ROOT / "boards").glob("*/board.json"))
                raise MicrotfError(
                    f"unknown board '{spec}' (known: {', '.join(known)}; or a board.json path)"
                )
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise MicrotfError(f"{path}: not a readable board.json ({exc})") from None
        if not isinstance(data, dict):
            raise MicrotfError(f"{path}: a board.json holds one object")
        if path == ROOT / "boards" / spec / "board.json" and "model_flash_budget" in data:
            # A real board: boards.load validates it (fields, types) the way the firmware build does.
            from . import boards

            real = boards.load(spec)
            data = {**data, "arena_size": real.arena_size, "model_flash_budget": real.model_flash_budget}
        name, source = (
            str(data.get("board", path.parent.name)),
            str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        )
    board_arena = data.get("arena_size", data.get("arena_bytes"))
    board_flash = data.get("model_flash_budget", data.get("flash_bytes"))
    clock = data.get("clock_hz", CLOCK_HZ.get(name))
    return Board(
        name=name,
        arena=arena if arena is not None else (int(board_arena) if board_arena is not None else None),
        flash=flash if flash is not None else (int(board_flash) if board_flash is not None else None),
        clock_hz=float(clock) if clock else None,
        source=source + (" (overridden)" if arena is not None or flash is not None else ""),
    )


# ---- operators ---------------------------------------------------------------------------------------


def _op_reason(name: str, code: int, version: int, custom: bool) -> str:
    from . import optable

    entry = optable.load().get(code)
    if custom:
        return "custom operator"
    if entry is None:
        return "not in microtf's operator table"
    if version > entry.max_version:
        return f"version {version} (microtf runs up to {entry.max_version})"
    return "not in this engine build"


def check_operators(model: bytes, report: CheckReport) -> None:
    from .engine import EngineError, arena_needed
    from .modelinfo import describe

    info = describe(model, report.model)
    for u in info.ops:
        row = OpRow(u.name, u.version, u.count, u.macs, u.supported)
        if not u.supported:
            row.reason = _op_reason(u.name, u.code, u.version, u.name.startswith("CUSTOM"))
            row.hint = HINTS.get("CUSTOM" if u.name.startswith("CUSTOM") else u.name, "")
            report.problems.append(f"operator {u.name} v{u.version} is not supported: {row.reason}")
        report.ops.append(row)
    if info.micro_note:
        report.problems.append(f"this is {info.micro_note}")
    if info.float_ops:
        report.notes.append(
            "float32 computation in " + ", ".join(info.float_ops) + ": int8 (microtf convert --mode int8) "
            "is smaller and faster on a microcontroller"
        )
    dynamic = [t for t in info.tensors if any(d < 0 for d in t.shape)]
    if dynamic:
        t = dynamic[0]
        report.problems.append(
            f"tensor '{t.name}' has shape {list(t.shape)} ({len(dynamic)} such tensors): {DYNAMIC_HINT}"
        )
    try:
        report.memory["microtf_host"] = arena_needed(model)
    except EngineError as exc:
        if exc.status == BAD_MODEL and not dynamic:
            # A file the reader accepted but the engine's bounds checks refuse: bad input, not a verdict.
            raise MicrotfError(f"{report.model}: corrupt .tflite ({exc.message})") from None
        report.memory["microtf_host"] = None
        if dynamic:
            return  # the engine's "negative dim" is the dynamic dimension reported above
        msg = exc.message
        named = next((r for r in report.ops if re.search(rf"\b{re.escape(r.name)}\b", msg)), None)
        if named is not None and not named.supported:
            return  # already reported with its reason
        if named is not None:
            named.supported, named.reason = False, msg
        report.problems.append(f"the engine refuses the model: {msg}")


# ---- inputs ------------------------------------------------------------------------------------------


def _stateful(model: bytes) -> bool:
    from .tflfile import parse

    return any(t.type == 13 or t.is_variable for g in parse(model).subgraphs for t in g.tensors)


def random_samples(model: bytes, n: int = RANDOM_SAMPLES, seed: int = SEED) -> list[list[np.ndarray]]:
    """Seeded random inputs: uniform over the int8 range, smooth random walks for streaming models."""
    from . import qemu_vectors as qv
    from . import tflm

    rng = np.random.default_rng(seed)
    details = [
        (tuple(max(int(v), 1) for v in d["shape"]), np.dtype(d["dtype"])) for d in tflm.input_details(model)
    ]
    if _stateful(model) and all(dt.kind == "i" for _, dt in details):
        streams = [qv._walk(rng, shape, dt, n, 16, 30) for shape, dt in details]
        return [[s[k] for s in streams] for k in range(n)]
    out: list[list[np.ndarray]] = [[] for _ in range(n)]
    for shape, dt in details:
        for k in range(n):
            if dt.kind == "f":
                out[k].append(rng.uniform(-1.0, 1.0, size=shape).astype(dt))
            else:
                info = np.iinfo(dt)
                out[k].append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt))
    return out


def data_samples(
    model: bytes, path: Path, model_path: Path | None
) -> tuple[list[list[np.ndarray]], np.ndarray, str]:
    """(samples, float data, description) from --data: float values (quantized here) or raw input values."""
    from .dataio import as_samples, load_array, manifest_normalisation, normalise
    from .tflfile import parse
    from .verify import _quantize

    graph = parse(model).subgraphs[0]
    if len(graph.inputs) != 1:
        raise MicrotfError(f"--data feeds single-input models; this one has {len(graph.inputs)} inputs")
    tin = graph.tensors[graph.inputs[0]]
    x = load_array(path, "data")
    what = f"{path} ({len(x)} samples)"
    norm = manifest_normalisation(model_path) if model_path else None
    if norm is not None and x.dtype.kind in "iu":
        x = normalise(x, *norm)
        what += f", normalised as (x - {norm[0]:g}) / {norm[1]:g} (manifest.json)"
    xs = as_samples(np.asarray(x), tin.shape, "data")
    shape = tuple(max(d, 1) for d in tin.shape)
    q = _quantize(xs.astype(np.float64), tin).reshape((len(xs), *shape))
    return [[np.ascontiguousarray(s)] for s in q], xs.astype(np.float32), what


# ---- agreement ---------------------------------------------------------------------------------------


def compare(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> tuple[int, float]:
    """(samples whose every output is identical, largest absolute difference of any output value)."""
    exact, largest = 0, 0.0
    for x, y in zip(a, b, strict=True):
        same = all(np.array_equal(u, v) for u, v in zip(x, y, strict=True))
        exact += same
        for u, v in zip(x, y, strict=True):
            if u.size:
                d = np.max(np.abs(u.astype(np.float64) - v.astype(np.float64)))
                largest = max(largest, float(d))
    return exact, largest


def check_agreement(model: bytes, samples: list, report: CheckReport, stream: bool, progress) -> list | None:
    """TFLite Micro's outputs (or None), and a row per engine compared with them."""
    from . import tflm
    from .predict import ENGINES, RUNNERS

    progress("TFLite Micro")
    try:
        expected = tflm.run(model, samples, reset_each=not stream)
    except MicrotfError as exc:
        report.engines.append(EngineRow("tflm", note=f"n/a: {str(exc).splitlines()[-1]}"))
        report.notes.append("no agreement figures: TFLite Micro, the reference, does not run this model")
        return None
    report.engines.append(EngineRow("tflm", len(samples), len(samples), 0, "the reference"))
    for name in ENGINES:
        if name == "tflm":
            continue
        spec = RUNNERS.get(name)
        if spec is None:
            report.engines.append(EngineRow(name, note="n/a: engine not available yet"))
            continue
        progress(f"engine {name}")
        try:
            spec[0](model)
            got = spec[1](model, samples, not stream)
        except MicrotfError as exc:
            report.engines.append(EngineRow(name, note=f"n/a: {exc}"))
            continue
        exact, largest = compare(got, expected)
        report.engines.append(EngineRow(name, len(samples), exact, _num(largest)))
        if exact < len(samples):
            report.problems.append(
                f"engine '{name}' differs from TFLite Micro on {len(samples) - exact} of {len(samples)} samples"
            )
    return expected


def _num(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


# ---- memory ------------------------------------------------------------------------------------------


def tflm_arena_figures(model: bytes, quick: bool, name: str) -> tuple[int | None, int | None, str]:
    """(recorded, smallest working, note) of TFLite Micro's arena; bisection results are cached."""
    import hashlib

    key = hashlib.sha256(model).hexdigest()
    cache = {}
    if ARENA_CACHE.exists():
        try:
            cache = json.loads(ARENA_CACHE.read_text())
        except ValueError:
            cache = {}
    if key in cache:
        return cache[key]["recorded"], cache[key]["smallest"], "cached"
    if quick:
        return None, None, "n/a: bisection skipped (--quick)"
    from .arena import tflm_arena

    try:
        rep = tflm_arena(model)
    except MicrotfError as exc:
        return None, None, f"n/a: {exc}"
    ARENA_CACHE.parent.mkdir(parents=True, exist_ok=True)
    cache[key] = {"name": name, "recorded": rep.recorded, "smallest": rep.smallest}
    ARENA_CACHE.write_text(json.dumps(cache, indent=1))
    return rep.recorded, rep.smallest, "bisected"


def check_memory(model: bytes, report: CheckReport, quick: bool) -> None:
    mem = report.memory
    mem["flash"] = len(model)
    mem["tflm_recorded"], mem["tflm_smallest"], mem["tflm_note"] = tflm_arena_figures(
        model, quick, Path(report.model).stem
    )
    board = report.board
    if board is None:
        mem["fit"] = "n/a: no --board"
        return
    ours = mem.get("microtf_m4") or mem.get("microtf_host")
    if board.arena is not None and ours is not None:
        mem["microtf_fits"] = ours <= board.arena
        if not mem["microtf_fits"]:
            report.problems.append(
                f"arena: microtf needs {ours:,} bytes, board '{board.name}' reserves {board.arena:,} "
                f"(arena_size in {board.source}, or a smaller model)"
            )
    if board.arena is not None and mem.get("tflm_smallest") is not None:
        mem["tflm_fits"] = mem["tflm_smallest"] <= board.arena
    if board.flash is not None:
        mem["flash_fits"] = len(model) <= board.flash
        if not mem["flash_fits"]:
            report.problems.append(
                f"flash: the model is {len(model):,} bytes, board '{board.name}' has {board.flash:,} for models"
            )


# ---- speed -------------------------------------------------------------------------------------------


def check_speed(
    model: bytes, model_path: Path, report: CheckReport, samples: list, quick: bool, progress
) -> None:
    from . import check_speed as speed
    from .modelinfo import describe

    sp = report.speed
    sp["macs"] = describe(model).total_macs
    if report.memory.get("microtf_host") is None:
        sp["note"] = "n/a: the C engine does not run this model"
        return
    if quick:
        sp["note"] = "n/a: emulated-board and host timing skipped (--quick)"
        return
    progress("emulated Cortex-M4")
    try:
        m4 = speed.m4_run(model_path, _stateful(model))
        sp["m4_instructions"] = m4["instructions"]
        report.memory["microtf_m4"] = m4["arena"]
        report.engines.append(
            EngineRow("c on Cortex-M4 (QEMU)", m4["steps"], m4["bit_exact"], note="own seeded stream")
        )
        if m4["bit_exact"] < m4["steps"]:
            report.problems.append("the C engine on the emulated Cortex-M4 differs from TFLite Micro")
    except (MicrotfError, OSError) as exc:
        sp["m4_note"] = f"n/a: {speed.gist(exc)}"
    progress("MicroPython on the emulated board")
    sp["micropython"] = speed.board_micropython(model_path)
    sp["estimates"] = speed.estimates(sp.get("m4_instructions"), report.board)
    progress("host timing")
    try:
        sp.update(speed.host_timing(model_path, samples[0]))
    except (MicrotfError, OSError, ValueError, KeyError) as exc:
        sp["host_note"] = f"n/a: {speed.gist(exc)}"


# ---- the check ---------------------------------------------------------------------------------------


def check(
    model_path: Path,
    board: Board | None = None,
    data: Path | None = None,
    plot: Path | None = None,
    reference: Path | None = None,
    labels: Path | None = None,
    quick: bool = False,
    progress: bool = False,
    samples: int = RANDOM_SAMPLES,
) -> CheckReport:
    """Everything ``microtf check`` reports about one model; MicrotfError when it is not a model."""
    from .progress import bar
    from .tflfile import read_model
    from .verify import default_reference

    model = read_model(model_path)
    report = CheckReport(str(model_path), len(model), board)
    with bar(progress, total=6, desc="check", unit="step") as pbar:

        def stage(text: str) -> None:
            pbar.set_postfix_str(text)
            pbar.refresh()

        stage("operators")
        check_operators(model, report)
        pbar.update(1)
        runs = report.memory.get("microtf_host") is not None or not report.problems
        stream = _stateful(model)
        floats = None
        n_random = samples
        if data is not None:
            samples, floats, report.data = data_samples(model, data, model_path)
        else:
            samples = random_samples(model, n_random)
            report.data = f"{len(samples)} seeded random inputs" + (" (one stream)" if stream else "")
        stage("agreement")
        expected = check_agreement(model, samples, report, stream, stage) if runs else None
        if not runs:
            report.engines.append(EngineRow("c", note="n/a: the engine refuses the model (see operators)"))
        pbar.update(1)
        check_speed(model, model_path, report, samples, quick, stage)
        pbar.update(1)
        stage("arena")
        check_memory(model, report, quick)
        pbar.update(1)
        if plot is not None:
            stage("plots")
            if reference is None:
                reference = default_reference(model_path)
            from .plots import check_plots

            check_plots(model, model_path, report, plot, expected, floats, reference, labels)
        pbar.update(1)
    return report


# ---- rendering ---------------------------------------------------------------------------------------


def _b(v: int | None) -> str:
    return "n/a" if v is None else f"{v:,}"


def _ms(v: float) -> str:
    return f"{v:,.1f}" if v >= 10 else f"{v:.3g}"


def _yes(v: bool | None) -> str:
    return "n/a" if v is None else ("yes" if v else "NO")


def render(r: CheckReport) -> str:
    lines = [f"{r.model}: {r.size:,} bytes"]
    if r.board is not None:
        b = r.board
        lines.append(f"board {b.name} ({b.source}): arena {_b(b.arena)} B, flash for models {_b(b.flash)} B")
    lines.append("operators:")
    w = max([20, *(len(o.name) for o in r.ops)])
    for o in r.ops:
        state = "ok" if o.supported else "NOT SUPPORTED"
        lines.append(f"  {o.name:<{w}} v{o.version:<2} x{o.count:<3} {o.macs:>12,} MACs  {state}")
        if o.reason:
            lines.append(f"  {'':<{w}}   why: {o.reason}")
        if o.hint:
            lines.append(f"  {'':<{w}}   hint: {o.hint}")
    m = r.memory
    lines.append("memory (bytes):")
    lines.append(
        f"  model (flash, read in place)        {_b(m.get('flash')):>10}   fits: {_yes(m.get('flash_fits'))}"
    )
    lines.append(f"  microtf arena, Cortex-M4 (32-bit)   {_b(m.get('microtf_m4')):>10}")
    lines.append(
        f"  microtf arena, host (64-bit)        {_b(m.get('microtf_host')):>10}   fits: {_yes(m.get('microtf_fits'))}"
    )
    tnote = m.get("tflm_note", "")
    lines.append(
        f"  TFLite Micro smallest working arena {_b(m.get('tflm_smallest')):>10}   fits: {_yes(m.get('tflm_fits'))}"
        + (f"   ({tnote})" if tnote.startswith("n/a") else "")
    )
    if m.get("plan_head") is not None:
        lines.append(
            f"  of microtf's: planned activations   {_b(m['plan_head']):>10}   (the rest: engine structs, op data)"
        )
    if r.board is None:
        lines.append("  fit: n/a (no --board)")
    lines.append(f"agreement with TFLite Micro ({r.data}):")
    for e in r.engines:
        if e.note.startswith("n/a"):
            lines.append(f"  {e.engine:<24} {e.note}")
        else:
            diff = "" if e.largest_diff is None else f", largest difference {e.largest_diff}"
            lines.append(
                f"  {e.engine:<24} bit-exact {e.bit_exact}/{e.samples}{diff}"
                + (f"  ({e.note})" if e.note else "")
            )
    sp = r.speed
    lines.append(f"speed ({sp.get('macs', 0):,} MACs per inference):")
    if "note" in sp:
        lines.append(f"  {sp['note']}")
    else:
        ins = sp.get("m4_instructions")
        lines.append(
            "  C engine, bare-metal Cortex-M4F (QEMU)      "
            + (f"{ins:>14,.0f} instructions/inference" if ins is not None else sp.get("m4_note", "n/a"))
        )
        mp = sp.get("micropython", {})
        for engine, label in (("native", "C engine (_microtf)"), ("viper", "viper engine")):
            v = mp.get(engine)
            text = f"{v:>14,.0f} instructions/inference" if v is not None else mp.get(f"{engine}_note", "n/a")
            lines.append(f"  MicroPython on qemu_m4, {label:<20} {text}"[:200])
        if mp.get("viper_matches_native") is not None:
            lines.append(f"    viper outputs equal native's on the board: {_yes(mp['viper_matches_native'])}")
        for e in sp.get("estimates", []):
            if "ms" in e:
                cal = f"   calibrated {_ms(e['calibrated_ms'])} ms" if "calibrated_ms" in e else ""
                lines.append(
                    f"  estimate on {e['board']:<8} {e['clock_mhz']:>4.0f} MHz   {_ms(e['ms']):>10} ms (M4 rule){cal}"
                )
            else:
                lines.append(f"  estimate on {e['board']:<8} {e.get('note', '')}")
        if "host_us" in sp:
            lines.append(
                f"  host x86-64: microtf {sp['host_us']:,.1f} us, TFLite Micro {sp['tflm_host_us']:,.1f} us"
                f" ({sp['tflm_host_us'] / sp['host_us']:.1f}x)"
            )
        elif "host_note" in sp:
            lines.append(f"  host: {sp['host_note']}")
        if sp.get("estimates"):
            lines.extend("  " + ln for ln in _wrap("assumption: " + ASSUMPTION, 100))
    for p in r.plots:
        lines.append(f"wrote {p}")
    lines.extend(f"note: {n}" for n in r.notes)
    if r.ok:
        where = f"board {r.board.name}" if r.board else "a board (no --board: fit not checked)"
        lines.append(f"verdict: OK - the model runs on {where}")
    else:
        lines.append("verdict: WOULD NOT RUN - " + "; ".join(r.problems))
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


# ---- command line ------------------------------------------------------------------------------------


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)i?[bB]?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size in bytes: {text!r} (e.g. 65536, 64K, 1M)")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, help="the .tflite model")
    p.add_argument(
        "--board", help="board name (boards/NAME/board.json: esp32, esp32s3, rp2, ...) or a board.json"
    )
    p.add_argument("--arena", type=_size, help="override the board's arena bytes (e.g. 64K)")
    p.add_argument("--flash", type=_size, help="override the board's flash bytes for models")
    p.add_argument("--data", type=Path, help="input samples (.npy/.csv, float values; default: 100 random)")
    p.add_argument(
        "--samples", type=int, default=RANDOM_SAMPLES, help=f"random inputs without --data ({RANDOM_SAMPLES})"
    )
    p.add_argument(
        "--reference", type=Path, help="float model for the confusion matrix (default: NAME_float)"
    )
    p.add_argument("--labels", type=Path, help="true classes of --data, for a confusion matrix")
    p.add_argument("--plot", type=Path, metavar="DIR", help="write PNG plots (arena plan, confusion matrix)")
    p.add_argument("--quick", action="store_true", help="skip arena bisection (unless cached) and timing")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("check", help=CHECK_HELP, description=CHECK_HELP)
    add_args(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    board = load_board(args.board, args.arena, args.flash)
    if args.samples < 1:
        raise MicrotfError(f"--samples {args.samples}: give at least 1")
    for path, what in ((args.data, "data"), (args.reference, "reference"), (args.labels, "labels")):
        if path is not None and not path.exists():
            raise MicrotfError(f"{path}: no such file ({what})")
    report = check(
        args.model,
        board,
        args.data,
        args.plot,
        args.reference,
        args.labels,
        quick=args.quick,
        progress=not args.json,
        samples=args.samples,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str), flush=True)
    else:
        print(render(report), flush=True)
    if not report.ok:
        print(
            "microtf: check: the model would not run: " + "; ".join(report.problems),
            file=sys.stderr,
            flush=True,
        )
        return EXIT_WOULD_NOT_RUN
    return 0


def main(argv: list[str] | None = None) -> int:
    from .cli import _Parser

    parser = _Parser(prog="microtf check", description=CHECK_HELP)
    add_args(parser)
    try:
        return run(parser.parse_args(argv))
    except MicrotfError as exc:
        print(f"microtf: {exc}", file=sys.stderr, flush=True)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("microtf: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
