"""``make demo``: inspect, arena, verify and embed each example model in models/, then the gesture app
on a virtual board: package, app, model and traces deployed with mpremote, the app run on every trace.

Run as ``python -m microtf_host.demo``. Writes the embedded forms under build/demo/.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .arena import format_report as format_arena
from .arena import tflm_arena
from .dataio import load_array, manifest_normalisation, normalise
from .embed import c_name, read_labels, write_c, write_py
from .errors import MicrotfError
from .modelinfo import describe, format_info
from .paths import BUILD, FIRMWARE, MODELS
from .tflfile import read_model
from .verify import format_report as format_verify
from .verify import verify

EXAMPLES = ("sine", "gesture")
GESTURE_APP = FIRMWARE / "apps" / "gesture" / "main.py"
GESTURE_MODEL = MODELS / "gesture" / "gesture_int8.tflite"
BOARD_DIR = BUILD / "demo" / "board"  # the virtual board's filesystem, kept: `microtf run --virtual-dir` it
APP_WINDOWS = 3  # windows classified per trace in the demo (a trace holds 12)


@dataclass
class AppRun:
    """The gesture app on a virtual board: per trace, the labels it printed (with confidences)."""

    deployed_files: int = 0
    deployed_bytes: int = 0
    engine: str = "?"
    predictions: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def correct(self) -> int:
        return sum(label == trace for trace, got in self.predictions.items() for label, _ in got)

    @property
    def total(self) -> int:
        return sum(len(got) for got in self.predictions.values())


@dataclass
class Row:
    name: str
    float_bytes: int | None = None
    int8_bytes: int = 0
    macs: int = 0
    tflm_arena: int | None = None
    engine_arena: int | None = None
    mse: float | None = None
    accuracy: float | None = None
    label_mse: float | None = None
    supported: bool = False
    micropython: str = "-"


def _find_data(folder: Path, name: str) -> tuple[Path | None, Path | None]:
    """Test inputs and labels shipped with the model (test_x.npy / test_y.npy, else any *x*.npy)."""
    x = folder / "test_x.npy"
    if not x.exists():
        found = sorted(p for p in folder.glob("*.npy") if "x" in p.stem.lower())
        x = found[0] if found else None
    y = folder / "test_y.npy"
    return x, (y if y.exists() else None)


def _micropython_check(py_file: Path) -> str:
    """Import the generated module (and its .mpy) under the MicroPython Unix port, when installed."""
    exe = shutil.which("micropython") or str(Path(sys.executable).with_name("micropython"))
    if not Path(exe).exists():
        return "not installed"
    code = f"import sys; sys.path.insert(0, {str(py_file.parent)!r}); import {py_file.stem} as m; print(len(m.MODEL))"
    proc = subprocess.run([exe, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    return f"imports ({proc.stdout.strip()} bytes)" if proc.returncode == 0 else "FAILED to import"


def demo_model(name: str, out_root: Path) -> Row | None:
    folder = MODELS / name
    int8_path = folder / f"{name}_int8.tflite"
    if not int8_path.exists():
        print(f"models/{name}: {int8_path.name} missing, skipped (make models trains it)\n")
        return None
    print(f"=== {name} " + "=" * (70 - len(name)))
    row = Row(name)
    model = read_model(int8_path)
    float_path = folder / f"{name}_float.tflite"
    row.float_bytes = float_path.stat().st_size if float_path.exists() else None
    row.int8_bytes = len(model)
    info = describe(model, str(int8_path))
    row.macs, row.supported = info.total_macs, info.all_supported
    print(f"\n$ microtf inspect models/{name}/{int8_path.name}")
    print(format_info(info, str(int8_path.relative_to(MODELS.parent)), tensors=False))

    print(f"\n$ microtf arena models/{name}/{int8_path.name}")
    arena = tflm_arena(model, progress=True)
    row.tflm_arena, row.engine_arena = arena.smallest, arena.engine
    print(format_arena(arena, len(model)))

    x_path, y_path = _find_data(folder, name)
    if x_path is None:
        print(f"\nmodels/{name}: no test data (*.npy) shipped, verify skipped")
    else:
        print(
            f"\n$ microtf verify models/{name}/{int8_path.name} --data {x_path.name}"
            + (f" --labels {y_path.name}" if y_path else "")
        )
        x = load_array(x_path, "data")
        norm = manifest_normalisation(int8_path)
        if norm is not None and x.dtype.kind in "iu":
            x = normalise(x, *norm)
            print(f"  (raw integers normalised as (x - {norm[0]:g}) / {norm[1]:g}, from manifest.json)")
        labels = load_array(y_path, "labels") if y_path else None
        reference = str(float_path) if float_path.exists() else None
        report = verify(model, x, reference, labels, progress=True)
        row.mse, row.accuracy, row.label_mse = report.mse, report.accuracy, report.label_mse
        print(format_verify(report))

    out = out_root / name
    ident = c_name(f"{name}_model")
    labels_txt = folder / "labels.txt"
    names = read_labels(labels_txt) if labels_txt.exists() else None
    print(
        f"\n$ microtf embed models/{name}/{int8_path.name} --c build/demo/{name}/{ident}.c "
        f"--py build/demo/{name}/{ident}.py --mpy"
    )
    written = write_c(model, out / f"{ident}.c", ident, int8_path.name)
    written += write_py(model, out / f"{ident}.py", names, int8_path.name, mpy=True)
    for path in written:
        print(f"  wrote {path.relative_to(BUILD.parent)} ({path.stat().st_size:,} bytes)")
    row.micropython = _micropython_check(out / f"{ident}.py")
    print(f"  MicroPython Unix port: {row.micropython}")
    print()
    return row


def parse_app_output(text: str) -> dict[str, list[tuple[str, float]]]:
    """The app's lines (``# trace NAME: ...`` then ``label confidence`` per window) by trace."""
    out: dict[str, list[tuple[str, float]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if line.startswith("# trace ") and len(words) >= 3:
            current = words[2].rstrip(":")
            out[current] = []
        elif current is not None and len(words) == 2 and not line.startswith("#"):
            try:
                out[current].append((words[0], float(words[1])))
            except ValueError:
                continue
    return out


def gesture_app(windows: int = APP_WINDOWS, echo: bool = True) -> AppRun:
    """Deploy package + gesture app + model + traces onto a fresh virtual board, run the app on each
    trace (``--trace NAME --windows N``) and collect what it prints."""
    from .deploy import Device, deploy, run_script
    from .virtual import VirtualBoard

    start = time.monotonic()
    result = AppRun()
    traces = sorted(p.stem for p in (GESTURE_MODEL.parent / "traces").glob("*.npy"))
    app, model = (p.relative_to(FIRMWARE.parent) for p in (GESTURE_APP, GESTURE_MODEL))
    where = f"--virtual-dir {BOARD_DIR.relative_to(BUILD.parent)}"
    with VirtualBoard(root=BOARD_DIR) as board:
        dev = Device(board.port, virtual=True)
        if echo:
            print(f"$ microtf deploy {model} --app {app} --traces {where}")
        done = deploy(dev, model=GESTURE_MODEL, app=GESTURE_APP, traces=True)
        result.deployed_files, result.deployed_bytes = len(done.items), done.bytes
        if echo:
            print(
                f"  {len(done.copied)} of {len(done.items)} files copied ({done.bytes:,} bytes in all), "
                f"SHA-256 checked on the device: {'yes' if done.checked else 'no'}"
            )
        engine = dev.exec(
            "import microtf\nm = microtf.Model('models/gesture/gesture_int8.tflite')\nprint(m.engine)"
        )
        result.engine = engine.strip().splitlines()[-1] if engine.strip() else "?"
        if echo:
            print(f"  engine on the board: {result.engine}")
        for name in traces:
            args = ["--trace", name, "--windows", str(windows)]
            if echo:
                print(f"\n$ microtf run {where} {app} -- {' '.join(args)}")
            buf = io.StringIO()
            status = run_script(dev, GESTURE_APP, out=buf, args=args)
            text = buf.getvalue()
            if echo:
                print("  " + text.rstrip().replace("\n", "\n  "))
            if status != 0:
                raise MicrotfError(
                    f"gesture app on trace {name}: exit status {status}: {text.strip()[-300:]}"
                )
            result.predictions.update(parse_app_output(text))
    result.seconds = time.monotonic() - start
    return result


def _fmt(v, spec: str = ",") -> str:
    return "n/a" if v is None else format(v, spec)


def main() -> int:
    start = time.monotonic()
    out_root = BUILD / "demo"
    rows = []
    try:
        for name in EXAMPLES:
            row = demo_model(name, out_root)
            if row is not None:
                rows.append(row)
    except MicrotfError as exc:
        print(f"microtf demo: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("no example models found in models/: run `make models` first")
        return 1
    app: AppRun | None = None
    if GESTURE_MODEL.exists() and GESTURE_APP.exists():
        print(
            "=== gesture app on a virtual board (MicroPython Unix port behind a pty, via mpremote) " + "=" * 4
        )
        try:
            app = gesture_app()
        except MicrotfError as exc:
            print(f"microtf demo: gesture app: {exc}", file=sys.stderr)
            return 2
        print()
    print("=== summary " + "=" * 62)
    head = (
        f"{'model':<10} {'float B':>8} {'int8 B':>8} {'MACs':>9} {'TFLM arena':>10} {'microtf arena':>13} "
        f"{'MSE':>9} {'vs labels':>11}  microtf ops"
    )
    print(head)
    for r in rows:
        acc = f"{r.accuracy:.1%}" if r.accuracy is not None else "n/a"
        if r.accuracy is None and r.label_mse is not None:
            acc = f"mse {r.label_mse:.1e}"
        mse = f"{r.mse:.2e}" if r.mse is not None else "n/a"
        print(
            f"{r.name:<10} {_fmt(r.float_bytes):>8} {r.int8_bytes:>8,} {r.macs:>9,} {_fmt(r.tflm_arena):>10} "
            f"{_fmt(r.engine_arena):>13} {mse:>9} {acc:>11}  {'all supported' if r.supported else 'SOME MISSING'}"
        )
    if app is not None:
        print(
            f"\ngesture app ({app.engine} engine, virtual board): {app.correct}/{app.total} windows labelled "
            f"as their trace, over {len(app.predictions)} traces ({app.seconds:.1f} s with the deploy)"
        )
    print(
        f"\nembedded models in {out_root.relative_to(BUILD.parent)}/ ; demo took {time.monotonic() - start:.1f} s"
    )
    if app is not None and app.correct != app.total:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
