"""``make demo``: inspect, arena, verify and embed each example model in models/.

Run as ``python -m microtf_host.demo``. Writes the embedded forms under build/demo/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .arena import format_report as format_arena
from .arena import tflm_arena
from .dataio import load_array, manifest_normalisation, normalise
from .embed import c_name, read_labels, write_c, write_py
from .errors import MicrotfError
from .modelinfo import describe, format_info
from .paths import BUILD, MODELS
from .tflfile import read_model
from .verify import format_report as format_verify
from .verify import verify

EXAMPLES = ("sine", "gesture")


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
    print(
        f"\nembedded models in {out_root.relative_to(BUILD.parent)}/ ; demo took {time.monotonic() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
