"""The manifest of an example model: what a device needs to feed it, and what it was measured at.

One ``manifest.json`` per model directory, written by that model's training script through
``build_manifest`` + ``write_manifest`` and read back by tests, the demo and the device sampler.
It carries, for each .tflite file (``files[kind]``, kind "float" or "int8"): path (relative to
the model directory), size, SHA-256, operators (name, version, count), input/output tensors
(shape, dtype, scale, zero point) and arena figures; plus the labels, the preprocessing contract
and the accuracy of each file on the held-out test set. ``input`` repeats the int8 input's
scale and zero point at the top level, where the device sampler (microtf.sampler) reads them.

No timestamps and sorted keys: retraining with the same seed rewrites the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
FORMAT = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tensor_entry(t: Any) -> dict[str, Any]:
    """A modelinfo TensorDesc as a manifest entry; scale and zero_point are null when not quantized."""
    return {
        "name": t.name,
        "shape": [int(d) for d in t.shape],
        "dtype": str(t.dtype),
        "scale": None if t.scale is None else float(t.scale),
        "zero_point": None if t.zero_point is None else int(t.zero_point),
    }


def operators(info: Any) -> list[dict[str, Any]]:
    """Operators of a modelinfo.ModelInfo, sorted by name and version (stable across runs)."""
    ops = [
        {
            "name": op.name,
            "version": int(op.version),
            "count": int(op.count),
            "macs": int(op.macs),
        }
        for op in info.ops
    ]
    return sorted(ops, key=lambda o: (o["name"], o["version"]))


def describe_file(model_dir: Path, path: Path, arena: bool = True) -> dict[str, Any]:
    """Size, hash, operators, tensors and arena figures of one .tflite file."""
    from .modelinfo import describe

    data = path.read_bytes()
    info = describe(data)
    entry: dict[str, Any] = {
        "path": path.relative_to(model_dir).as_posix(),
        "size": len(data),
        "sha256": sha256(data),
        "operators": operators(info),
        "inputs": [tensor_entry(t) for t in info.inputs],
        "outputs": [tensor_entry(t) for t in info.outputs],
    }
    if arena:
        from .arena import tflm_arena

        report = tflm_arena(data)
        entry["arena"] = {
            "tflm_recorded": int(report.recorded),
            "tflm_smallest": int(report.smallest),
            "microtf": report.engine,  # None when the engine is not built or refuses the model
        }
    return entry


def build_manifest(
    model_dir: str | Path,
    *,
    name: str,
    version: str,
    description: str,
    files: Mapping[str, str | Path],
    accuracy: Mapping[str, Any],
    preprocessing: Mapping[str, Any],
    labels: Sequence[str] | None = None,
    training: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    arena: bool = True,
) -> dict[str, Any]:
    """Assemble the manifest of the model in ``model_dir``.

    ``files`` maps a kind ("float", "int8") to a .tflite path (absolute or relative to
    ``model_dir``). ``accuracy`` holds the measured figures (metric, runtime, per-kind values);
    ``preprocessing`` the contract from raw sensor data to the float input; ``extra`` any
    further top-level keys (e.g. the gesture traces and their labels).
    """
    model_dir = Path(model_dir).resolve()
    entries = {}
    for kind, path in files.items():
        full = Path(path) if Path(path).is_absolute() else model_dir / path
        entries[kind] = describe_file(model_dir, full.resolve(), arena=arena)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "description": description,
        "files": entries,
        "labels": list(labels) if labels is not None else None,
        "preprocessing": dict(preprocessing),
        "accuracy": dict(accuracy),
    }
    _set_input(manifest)
    if training is not None:
        manifest["training"] = dict(training)
    for key, value in (extra or {}).items():
        if key in manifest:
            raise ValueError(f"manifest key {key!r} given twice")
        manifest[key] = value
    return manifest


def _set_input(manifest: dict[str, Any]) -> None:
    """The int8 input's quantization where a device sampler looks for it (manifest["input"])."""
    if "int8" in manifest["files"]:
        tin = manifest["files"]["int8"]["inputs"][0]
        manifest["input"] = {"scale": tin["scale"], "zero_point": tin["zero_point"], "dtype": tin["dtype"]}


def write_manifest(model_dir: str | Path, manifest: Mapping[str, Any]) -> Path:
    path = Path(model_dir) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / MANIFEST_NAME).read_text())


def quantize(x: Any, tensor: Mapping[str, Any]) -> Any:
    """Float input to what the tensor described by a manifest entry takes (int8 models: affine, clipped)."""
    import numpy as np

    dtype = np.dtype(tensor["dtype"])
    x = np.asarray(x, dtype=np.float32).reshape(tensor["shape"])
    if dtype.kind == "f":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    # Half away from zero, as TFLite's QUANTIZE op (std::round) does; numpy's round is half-to-even.
    v = x / np.float32(tensor["scale"])
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + tensor["zero_point"]
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: Any, tensor: Mapping[str, Any]) -> Any:
    """A tensor's raw output values as floats."""
    import numpy as np

    q = np.asarray(q)
    if q.dtype.kind == "f":
        return q.astype(np.float32)
    return (q.astype(np.float32) - tensor["zero_point"]) * np.float32(tensor["scale"])


def refresh_manifest(model_dir: str | Path, arena: bool = True) -> dict[str, Any]:
    """Recompute the per-file entries (hash, operators, tensors, arena) of an existing manifest.

    For when the engine's arena figure changes: no retraining, the measured accuracy stays.
    """
    model_dir = Path(model_dir).resolve()
    manifest = read_manifest(model_dir)
    for kind, entry in manifest["files"].items():
        manifest["files"][kind] = describe_file(model_dir, model_dir / entry["path"], arena=arena)
    _set_input(manifest)
    write_manifest(model_dir, manifest)
    return manifest


if __name__ == "__main__":
    import sys

    for folder in sys.argv[1:]:
        refresh_manifest(folder)
        print(f"refreshed {Path(folder) / MANIFEST_NAME}")
