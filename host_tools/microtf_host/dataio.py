"""Loading sample arrays (.npy, .csv) and fitting them to a model's input shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import MicrotfError


def load_array(path: str | Path, what: str = "data") -> np.ndarray:
    """An array from .npy (any dtype, no pickles) or .csv (numbers; one header line allowed)."""
    p = Path(path)
    if not p.exists():
        raise MicrotfError(f"{p}: no such file ({what})")
    if p.is_dir():
        raise MicrotfError(f"{p}: is a directory, expected a .npy or .csv file ({what})")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise MicrotfError(f"{p}: not a readable .npy file ({_short(exc)})") from None
        if not isinstance(arr, np.ndarray):
            raise MicrotfError(f"{p}: expected one array in the .npy file")
    elif suffix in (".csv", ".txt"):
        arr = _load_csv(p)
    else:
        raise MicrotfError(f"{p}: {what} must be a .npy or .csv file")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise MicrotfError(f"{p}: {what} must be numeric, found dtype {arr.dtype}")
    if arr.ndim == 0 or len(arr) == 0:
        raise MicrotfError(f"{p}: {what} holds no samples")
    return arr


def _load_csv(p: Path) -> np.ndarray:
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise MicrotfError(f"{p}: cannot read as text ({_short(exc)})") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and not _numeric_row(lines[0]):
        lines = lines[1:]  # a header row
    try:
        rows = [[float(v) for v in ln.split(",")] for ln in lines]
    except ValueError as exc:
        raise MicrotfError(f"{p}: not a CSV of numbers ({_short(exc)})") from None
    if not rows:
        raise MicrotfError(f"{p}: holds no samples")
    if len({len(r) for r in rows}) != 1:
        raise MicrotfError(f"{p}: rows have different numbers of columns")
    arr = np.array(rows, dtype=np.float32)
    return arr[:, 0] if arr.shape[1] == 1 else arr


def _numeric_row(line: str) -> bool:
    try:
        [float(v) for v in line.split(",")]
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else type(exc).__name__


def sample_shape(input_shape: tuple) -> tuple:
    """Shape of one sample: the model's input without its batch axis (which must be 1 or unknown)."""
    if input_shape and (input_shape[0] in (1, -1, None)):
        return tuple(input_shape[1:])
    return tuple(input_shape)


def _matches(got: tuple, want: tuple) -> bool:
    return len(got) == len(want) and all(w in (None, -1) or w == g for g, w in zip(got, want, strict=False))


def as_samples(x: np.ndarray, input_shape: tuple, name: str = "data") -> np.ndarray:
    """View ``x`` as (N, *sample shape) for a model input of ``input_shape``, or a clear error.

    Accepted: (N, *sample), (N, *input_shape) with batch 1, the same with axes of length 1
    left out, and flat rows (N, prod(sample)) as a CSV gives them.
    """
    want = sample_shape(input_shape)
    if x.ndim >= 1 and _matches(x.shape[1:], want):
        return x
    if x.ndim >= 1 and len(input_shape) and _matches(x.shape[1:], tuple(input_shape)):
        return x.reshape((len(x), *x.shape[2:]))
    squeezed = tuple(d for d in want if d != 1)
    if (
        x.ndim >= 1
        and all(d not in (None, -1) for d in want)
        and tuple(d for d in x.shape[1:] if d != 1) == squeezed
    ):
        # Same sizes apart from axes of length 1, e.g. (N, 64, 3) for an input [1, 64, 1, 3].
        return x.reshape((len(x), *want))
    known = all(d not in (None, -1) for d in want)
    size = int(np.prod(want)) if known else -1
    if known and x.ndim == 2 and x.shape[1] == size:
        return x.reshape((len(x), *want))
    if known and size == 1 and x.ndim == 1:
        return x.reshape((len(x), *want))
    shown = ["?" if d in (None, -1) else d for d in want]
    raise MicrotfError(
        f"{name}: samples have shape {list(x.shape[1:])} (array {list(x.shape)}), "
        f"the model input takes samples of shape {shown}"
    )


def manifest_normalisation(model_path: str | Path) -> tuple[float, float] | None:
    """(subtract, divide_by) from a manifest.json beside the model, when it declares them."""
    import json

    path = Path(model_path).with_name("manifest.json")
    try:
        norm = json.loads(path.read_text())["preprocessing"]["normalisation"]
        return float(norm.get("subtract", 0.0)), float(norm["divide_by"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def normalise(x: np.ndarray, subtract: float, divide_by: float) -> np.ndarray:
    return ((x.astype(np.float64) - subtract) / divide_by).astype(np.float32)
