"""Keras / SavedModel -> .tflite, in the four modes TFLite's converter offers.

TensorFlow is imported only inside the functions that need it. Its chatter on
stdout/stderr (C++ logs, "Saved artifact" notes) goes to a scratch file during
conversion, and only a one-line reason reaches the user when it fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dataio import as_samples
from .errors import MicrotfError

MODES = ("float32", "float16", "dynamic", "int8")
MIN_REP_SAMPLES = 100
# Modes whose models TFLite Micro (and so a microcontroller) cannot run.
NOT_FOR_MICRO = {
    "float16": "float16 models do not run on TFLite Micro or on microcontrollers (use --mode int8)",
    "dynamic": "dynamic-range models do not run on TFLite Micro or on microcontrollers (use --mode int8)",
}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass
class Converted:
    data: bytes
    source_bytes: int  # size of the Keras file or SavedModel directory (0 for an in-memory model)
    float_bytes: int  # size of the same model converted as float32 .tflite


def quiet_tensorflow() -> None:
    """Ask TensorFlow's C++ side to keep its info and warning logs to itself (before import)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def check_source(path: Path) -> str:
    """'keras' or 'saved_model' for a usable source, else a MicrotfError naming the problem."""
    if not path.exists():
        raise MicrotfError(f"{path}: no such file or directory")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise MicrotfError(f"{path}: directory is not a SavedModel (no saved_model.pb)")
        return "saved_model"
    suffix = path.suffix.lower()
    head = path.read_bytes()[:8]
    if suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise MicrotfError(f"{path}: not a Keras model file (a .keras file is a zip archive)")
        with zipfile.ZipFile(path) as z:
            if "config.json" not in z.namelist():
                raise MicrotfError(f"{path}: not a Keras model (no config.json in the archive)")
        return "keras"
    if suffix in (".h5", ".hdf5"):
        if head != _HDF5_SIGNATURE:
            raise MicrotfError(f"{path}: not a Keras model file (not HDF5)")
        return "keras"
    if suffix == ".tflite":
        raise MicrotfError(
            f"{path}: already a .tflite model; convert takes a .keras/.h5 file or a SavedModel"
        )
    raise MicrotfError(f"{path}: expected a .keras or .h5 file or a SavedModel directory")


def _source_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


@contextlib.contextmanager
def _captured_output() -> Iterator[tuple[Any, Path]]:
    """Send fds 1 and 2 to a scratch file; yield a handle on the real stderr (for progress)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    real_err = os.fdopen(os.dup(saved[1]), "w")
    with tempfile.NamedTemporaryFile(prefix="microtf-tf-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield real_err, log_path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)
        real_err.close()
        log_path.unlink(missing_ok=True)


def load_keras(path: Path):
    """A keras.Model from a .keras/.h5 file, or a MicrotfError when it is not one."""
    quiet_tensorflow()
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a file that is not a model
        raise MicrotfError(f"{path}: not a Keras model ({_first_line(exc)})") from None
    if not isinstance(model, keras.Model):
        raise MicrotfError(f"{path}: holds a {type(model).__name__}, not a Keras model")
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _input_shapes(model) -> list[tuple]:
    try:
        return [tuple(t.shape) for t in model.inputs]
    except (AttributeError, TypeError, ValueError):
        return []


def _signature_shapes(tf, path: Path) -> list[tuple]:
    """Input shape of a single-input SavedModel's serving signature ([] when unknown or several)."""
    try:
        sig = tf.saved_model.load(str(path)).signatures["serving_default"]
        specs = list(sig.structured_input_signature[1].values())
    except Exception:  # noqa: BLE001 - without a readable signature the converter checks shapes itself
        return []
    return [tuple(specs[0].shape)] if len(specs) == 1 else []


def _rep_arrays(rep_data, shapes: list[tuple]) -> list[np.ndarray]:
    arrays = list(rep_data) if isinstance(rep_data, (list, tuple)) else [rep_data]
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    if shapes and len(arrays) != len(shapes):
        raise MicrotfError(
            f"representative data has {len(arrays)} array(s), the model has {len(shapes)} input(s)"
        )
    if shapes:
        arrays = [
            as_samples(a, shape, "representative data") for a, shape in zip(arrays, shapes, strict=False)
        ]
    n = len(arrays[0])
    if n == 0 or any(len(a) != n for a in arrays):
        raise MicrotfError("representative data: no samples, or arrays with different sample counts")
    return arrays


def convert_model(
    model: str | Path | Any,
    mode: str,
    rep_data: np.ndarray | Sequence[np.ndarray] | None = None,
    float_io: bool = False,
    progress: bool = False,
) -> bytes:
    """Convert a Keras model (object, .keras/.h5 path) or SavedModel directory to .tflite bytes.

    ``int8`` is full-integer quantization calibrated on ``rep_data`` (samples on
    axis 0; at least 100 advised), with int8 input and output unless ``float_io``.
    """
    return _convert(model, mode, rep_data, float_io, progress, with_float=False).data


def convert_file(
    model: str | Path | Any,
    mode: str,
    rep_data: np.ndarray | Sequence[np.ndarray] | None = None,
    float_io: bool = False,
    progress: bool = False,
) -> Converted:
    """Like ``convert_model``, also giving the source size and the float32 .tflite size."""
    return _convert(model, mode, rep_data, float_io, progress, with_float=True)


def _convert(model, mode, rep_data, float_io, progress, with_float) -> Converted:
    if mode not in MODES:
        raise MicrotfError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "int8" and rep_data is None:
        raise MicrotfError("int8 conversion needs representative data (--rep-data X.npy or .csv)")
    source_bytes = 0
    kind = "keras_object"
    if isinstance(model, (str, Path)):
        path = Path(model)
        kind = check_source(path)
        source_bytes = _source_size(path)
    quiet_tensorflow()
    import tensorflow as tf

    if kind == "keras":
        model = load_keras(path)
    shapes = _input_shapes(model) if kind != "saved_model" else _signature_shapes(tf, path)
    arrays = _rep_arrays(rep_data, shapes) if (mode == "int8" and rep_data is not None) else None

    def make_converter():
        if kind == "saved_model":
            return tf.lite.TFLiteConverter.from_saved_model(str(path))
        return tf.lite.TFLiteConverter.from_keras_model(model)

    with _captured_output() as (real_err, log_path):
        try:
            float_bytes = 0
            if with_float or mode == "float32":
                float_data = make_converter().convert()
                float_bytes = len(float_data)
            if mode == "float32":
                return Converted(float_data, source_bytes, float_bytes)
            conv = make_converter()
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            if mode == "float16":
                conv.target_spec.supported_types = [tf.float16]
            elif mode == "int8":
                conv.representative_dataset = _calibration(arrays, progress, real_err)
                conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                if not float_io:
                    conv.inference_input_type = tf.int8
                    conv.inference_output_type = tf.int8
            data = conv.convert()
        except MicrotfError:
            raise
        except Exception as exc:  # noqa: BLE001 - the converter's failures have no common type
            raise MicrotfError(f"conversion failed: {_reason(exc, log_path)}") from None
    return Converted(data, source_bytes, float_bytes)


def _calibration(arrays: list[np.ndarray], progress: bool, stream):
    n = len(arrays[0])

    def gen():
        from tqdm import tqdm

        # The converter runs this generator while fd 2 goes to the scratch log: draw on the real stderr.
        with tqdm(
            total=n,
            desc="calibrating",
            unit="sample",
            file=stream,
            leave=False,
            disable=None if progress else True,
        ) as pbar:
            for i in range(n):
                yield [a[i : i + 1] for a in arrays]
                pbar.update(1)

    return gen


def _reason(exc: BaseException, log_path: Path) -> str:
    first = _first_line(exc)
    try:
        log = log_path.read_text(errors="replace").splitlines()
    except OSError:
        log = []
    errors = [ln.strip() for ln in log if "error" in ln.lower()]
    return first if not errors else f"{first} ({errors[-1][:200]})"
