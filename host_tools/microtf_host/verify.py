"""Run an int8 model under TFLite Micro and compare it with its float reference.

The int8 model always runs in TFLite Micro subprocesses (``microtf_host.tflm``).
A float .tflite reference runs there too (no TensorFlow import); a Keras
reference needs TensorFlow, imported only then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import tflm
from .dataio import as_samples
from .errors import MicrotfError
from .progress import bar
from .tflfile import Parsed, Tensor, micro_incompatibility, parse, quant_of
from .tflite_types import numpy_dtype, type_name

CHUNK = 250  # samples per TFLite Micro subprocess (progress moves once per chunk)


@dataclass
class VerifyReport:
    samples: int
    reference: str | None = None
    mse: float | None = None
    max_abs_error: float | None = None
    accuracy: float | None = None  # int8 model against labels
    reference_accuracy: float | None = None
    agreement: float | None = None  # share of samples where int8 and reference pick the same class
    label_mse: float | None = None  # int8 model against float labels (regression targets)
    reference_label_mse: float | None = None
    output_range: tuple[float, float] | None = None  # of the reference, to judge the MSE against
    saturated: float = 0.0  # share of int8 output values at the type's min or max
    notes: list[str] = field(default_factory=list)

    def failures(self, max_mse: float | None = None, min_accuracy: float | None = None) -> list[str]:
        out = []
        if max_mse is not None:
            if self.mse is None:
                out.append("--max-mse needs a reference model")
            elif not self.mse <= max_mse:
                out.append(f"MSE {self.mse:.6g} is above --max-mse {max_mse:g}")
        if min_accuracy is not None:
            if self.accuracy is None:
                out.append("--min-accuracy needs class --labels")
            elif not self.accuracy >= min_accuracy:  # also catches NaN
                out.append(f"accuracy {self.accuracy:.4f} is below --min-accuracy {min_accuracy:g}")
        return out

    def to_dict(self) -> dict:
        return asdict(self)


def _quantize(x: np.ndarray, t: Tensor) -> np.ndarray:
    dtype = numpy_dtype(t.type)
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    scale, zp = quant_of(t)
    if scale == 0.0:
        raise MicrotfError(f"input '{t.name}' is {type_name(t.type)} without quantization parameters")
    info = np.iinfo(dtype)
    v = x.astype(np.float64) / scale
    # Round half away from zero, as TFLite's quantize kernels do (np.round would round half to even).
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, t: Tensor) -> np.ndarray:
    scale, zp = quant_of(t)
    if np.issubdtype(y.dtype, np.integer) and scale:
        return (y.astype(np.float64) - zp) * scale
    return y.astype(np.float64)


def _has_state(parsed: Parsed) -> bool:
    return any(t.type == 13 for g in parsed.subgraphs for t in g.tensors)  # resource variables


def run_tflite_raw(
    model: bytes, x: np.ndarray, progress: bool = False, desc: str = "TFLite Micro"
) -> tuple[list[np.ndarray], list[Tensor]]:
    """Raw outputs (N, ...) of a .tflite model under TFLite Micro, and the output tensors."""
    parsed = parse(model)
    graph = parsed.subgraphs[0]
    if len(graph.inputs) != 1:
        raise MicrotfError(f"verify handles single-input models; this one has {len(graph.inputs)} inputs")
    tin = graph.tensors[graph.inputs[0]]
    xs = as_samples(np.asarray(x), tin.shape, "data")
    xq = _quantize(xs, tin).reshape((len(xs), *tin.shape))
    # Stateful (streaming) models carry state from sample to sample: one process for all of them.
    chunk = len(xq) if _has_state(parsed) else CHUNK
    outs: list[list[np.ndarray]] = []
    with bar(progress, total=len(xq), desc=desc, unit="sample") as pbar:
        for start in range(0, len(xq), chunk):
            part = xq[start : start + chunk]
            try:
                outs.extend(tflm.run(model, [[s] for s in part]))
            except tflm.TflmFailure as exc:
                hint = micro_incompatibility(parsed)
                raise MicrotfError(f"{desc}: {hint}" if hint else f"{desc}: {exc}") from None
            pbar.update(len(part))
    tout = [graph.tensors[i] for i in graph.outputs]
    return [np.stack([step[j] for step in outs]) for j in range(len(tout))], tout


def run_tflite(
    model: bytes, x: np.ndarray, progress: bool = False, desc: str = "TFLite Micro"
) -> list[np.ndarray]:
    """Float outputs (dequantized) of a .tflite model under TFLite Micro, one array (N, ...) per output."""
    raw, tout = run_tflite_raw(model, x, progress, desc)
    return [_dequantize(r, t) for r, t in zip(raw, tout, strict=False)]


def _run_keras(model, x: np.ndarray) -> list[np.ndarray]:
    shapes = [tuple(t.shape) for t in model.inputs]
    if len(shapes) != 1:
        raise MicrotfError(f"verify handles single-input models; the reference has {len(shapes)} inputs")
    xs = as_samples(np.asarray(x, dtype=np.float32), shapes[0], "data")
    y = model.predict(xs, batch_size=256, verbose=0)
    ys = y if isinstance(y, (list, tuple)) else [y]
    return [np.asarray(v, dtype=np.float64) for v in ys]


def reference_outputs(
    reference: str | Path | bytes | Any, x: np.ndarray, progress: bool = False
) -> list[np.ndarray]:
    """Outputs of the float reference: a .tflite (bytes or path, run in TFLite Micro) or a Keras model."""
    if isinstance(reference, (bytes, bytearray)):
        return run_tflite(bytes(reference), x, progress, desc="reference")
    if isinstance(reference, (str, Path)):
        path = Path(reference)
        if path.suffix.lower() == ".tflite":
            from .tflfile import read_model

            return run_tflite(read_model(path), x, progress, desc="reference")
        from .convert import check_source, load_keras

        if check_source(path) != "keras":
            raise MicrotfError(f"{path}: a reference must be a .tflite, .keras or .h5 file")
        return _run_keras(load_keras(path), x)
    return _run_keras(reference, x)


def _classes(y: np.ndarray) -> np.ndarray:
    flat = y.reshape(len(y), -1)
    if flat.shape[1] == 1:
        return (flat[:, 0] >= 0.5).astype(np.int64)  # one sigmoid output: a binary classifier
    return np.argmax(flat, axis=1)


def _labels(labels: np.ndarray, n: int) -> tuple[np.ndarray, bool]:
    """(labels, is_classification): class indices, or float regression targets."""
    y = np.asarray(labels)
    if len(y) != n:
        raise MicrotfError(f"labels: {len(y)} labels for {n} samples")
    if y.ndim == 2 and y.shape[1] > 1 and np.all((y == 0) | (y == 1)):
        return np.argmax(y, axis=1), True  # one-hot
    if y.dtype.kind in "biu" or (y.ndim == 1 and np.all(y == np.round(y))):
        return y.reshape(n).astype(np.int64), True
    return y.reshape(n, -1).astype(np.float64), False


def _target_mse(out: np.ndarray, targets: np.ndarray) -> float:
    flat = out.reshape(len(out), -1)
    if flat.shape != targets.shape:
        raise MicrotfError(f"labels: {targets.shape[1]} values per sample, the model outputs {flat.shape[1]}")
    return float(np.mean((flat - targets) ** 2))


def verify(
    model: bytes,
    data: np.ndarray,
    reference: str | Path | bytes | Any | None = None,
    labels: np.ndarray | None = None,
    progress: bool = False,
) -> VerifyReport:
    """Compare an int8 model under TFLite Micro with its float reference and/or labels."""
    parse(model)  # a bad model fails here, before the labels are looked at
    n = len(data)
    classify = True
    if labels is not None:
        y_true, classify = _labels(labels, n)
    raw, tout = run_tflite_raw(model, data, progress, desc="model")
    got = [_dequantize(r, t) for r, t in zip(raw, tout, strict=False)]
    report = VerifyReport(samples=n)
    if np.issubdtype(raw[0].dtype, np.integer):
        # Share of output values pinned at the type's limits: all of them means a scaling mistake.
        info = np.iinfo(raw[0].dtype)
        report.saturated = float(np.mean((raw[0] == info.min) | (raw[0] == info.max)))
    if reference is not None:
        ref = reference_outputs(reference, data, progress)
        if isinstance(reference, (str, Path)):
            report.reference = str(reference)
        elif isinstance(reference, (bytes, bytearray)):
            report.reference = f"(.tflite bytes, {len(reference)})"
        else:
            report.reference = f"(Keras model {getattr(reference, 'name', '')})"
        if len(ref) != len(got):
            raise MicrotfError(f"the reference has {len(ref)} outputs, the int8 model {len(got)}")
        a = np.concatenate([g.reshape(n, -1) for g in got], axis=1)
        try:
            b = np.concatenate([r.reshape(n, -1) for r in ref], axis=1)
        except ValueError:
            raise MicrotfError("the reference's outputs do not match the int8 model's in shape") from None
        if a.shape != b.shape:
            raise MicrotfError(f"output sizes differ: int8 {a.shape[1]} values, reference {b.shape[1]}")
        diff = a - b
        report.mse = float(np.mean(diff**2))
        report.max_abs_error = float(np.max(np.abs(diff)))
        report.output_range = (float(b.min()), float(b.max()))
        if classify and (a.shape[1] > 1 or labels is not None):
            report.agreement = float(np.mean(_classes(got[0]) == _classes(ref[0])))
        if labels is not None and classify:
            report.reference_accuracy = float(np.mean(_classes(ref[0]) == y_true))
        elif labels is not None:
            report.reference_label_mse = _target_mse(ref[0], y_true)
    if labels is not None and classify:
        report.accuracy = float(np.mean(_classes(got[0]) == y_true))
    elif labels is not None:
        report.label_mse = _target_mse(got[0], y_true)
    if report.saturated == 1.0:
        report.notes.append("every int8 output sits at the type's limits: check the input scaling")
    return report


def format_report(r: VerifyReport) -> str:
    lines = [f"  samples                 {r.samples}"]
    if r.reference:
        lines.append(f"  reference               {r.reference}")
    if r.mse is not None:
        lo, hi = r.output_range or (0.0, 0.0)
        lines.append(f"  MSE (dequantized)       {r.mse:.6g}")
        lines.append(
            f"  max abs error           {r.max_abs_error:.6g}   (reference outputs in [{lo:.4g}, {hi:.4g}])"
        )
    if r.agreement is not None:
        lines.append(f"  same class as reference {r.agreement:.2%}")
    if r.accuracy is not None:
        lines.append(f"  accuracy int8 (TFLM)    {r.accuracy:.2%}")
    if r.reference_accuracy is not None:
        lines.append(f"  accuracy reference      {r.reference_accuracy:.2%}")
    if r.label_mse is not None:
        lines.append(f"  MSE to labels, int8     {r.label_mse:.6g}")
    if r.reference_label_mse is not None:
        lines.append(f"  MSE to labels, float    {r.reference_label_mse:.6g}")
    lines.append(f"  outputs at type limits  {r.saturated:.1%}")
    lines.extend(f"  note: {n}" for n in r.notes)
    return "\n".join(lines)


def default_reference(path: Path) -> Path | None:
    """``name_float.tflite`` beside ``name_int8.tflite``, when it exists."""
    stem = path.stem
    if "int8" in stem:
        candidate = path.with_name(stem.replace("int8", "float") + path.suffix)
        if candidate.exists():
            return candidate
    return None
