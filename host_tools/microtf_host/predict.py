"""Run a model on the host over a stack of samples, with one of the engines, before flashing anything.

    from microtf_host.predict import load_inputs, predict, save_outputs
    samples = load_inputs(model, [Path("x.npy")])      # samples[k][i]: input i at step k
    outputs = predict(model, samples, engine="c")      # outputs[k][j]: output j at step k
    save_outputs(outputs, [Path("y.npy")])

Input files hold the samples stacked on a new first axis, each of the model's input shape and dtype
(int8/uint8 raw values for quantized inputs, float32 for float inputs). A model with several inputs
takes one file per input (in input order) or one .npz: keys are the input tensors' names, or
``input_0``, ``input_1``... (``arr_0``... as ``np.savez`` names them). Outputs are written the same
way (``output_0``... in a .npz). State (resource variables) carries over from sample to sample, as on
a device running a stream, unless ``reset_each``.

Engines are (check, run) pairs in ``RUNNERS``: check(model bytes) refuses what the engine cannot run,
run(model bytes, samples, reset_each) -> outputs. ``native`` and ``viper`` run MicroPython (the
emulated Cortex-M4 board or the Unix port) once per call over all samples: see predict_board.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import MicrotfError
from .tflfile import Tensor, parse

Samples = Sequence[Sequence[np.ndarray]]
Outputs = list[list[np.ndarray]]
Runner = Callable[[bytes, Samples, bool], Outputs]

ENGINES = ("c", "tflm", "viper", "native")


def _check_c(model: bytes, name: str = "c") -> None:
    from .modelinfo import describe

    info = describe(model)
    if info.micro_note:
        raise MicrotfError(f"engine '{name}' cannot run {info.micro_note}")
    if info.unsupported:
        raise MicrotfError(f"engine '{name}' does not support: " + ", ".join(info.unsupported))


def _run_c(model: bytes, samples: Samples, reset_each: bool) -> Outputs:
    from .engine import Engine, EngineError

    try:
        return Engine(model).run(samples, reset_each=reset_each)
    except EngineError as exc:
        raise MicrotfError(f"engine 'c': {exc}") from None


def _check_tflm(model: bytes) -> None:
    from .modelinfo import describe

    note = describe(model).micro_note
    if note:
        raise MicrotfError(f"engine 'tflm' (TFLite Micro) cannot run {note}")


def _run_tflm(model: bytes, samples: Samples, reset_each: bool) -> Outputs:
    from . import tflm

    try:
        return tflm.run(model, samples, reset_each=reset_each)
    except tflm.TflmFailure as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        raise MicrotfError("engine 'tflm' (TFLite Micro) failed: " + (lines[-1] if lines else "")) from None


def _check_native(model: bytes) -> None:
    # The same C engine as 'c', inside MicroPython: the same operators (the arena limit of the
    # firmware is the board's to report, as MemoryError).
    _check_c(model, "native")


def _run_native(model: bytes, samples: Samples, reset_each: bool) -> Outputs:
    from . import predict_board

    return predict_board.run_native(model, samples, reset_each)


def _check_viper(model: bytes) -> None:
    from . import predict_board
    from .modelinfo import describe

    info = describe(model)
    if info.micro_note:
        raise MicrotfError(f"engine 'viper' cannot run {info.micro_note}")
    table = predict_board.viper_ops()
    missing = [f"{u.name} v{u.version}" for u in info.ops if not 1 <= u.version <= table.get(u.code, 0)]
    if missing:
        raise MicrotfError("engine 'viper' does not support: " + ", ".join(missing))


def _run_viper(model: bytes, samples: Samples, reset_each: bool) -> Outputs:
    from . import predict_board

    return predict_board.run_viper(model, samples, reset_each)


# native: the C engine built into MicroPython as _microtf (the emulated Cortex-M4 board, or the Unix
# port named by $MICROPYTHON when it has _microtf); viper: the pure-MicroPython engine on the Unix port.
RUNNERS: dict[str, tuple[Callable[[bytes], None], Runner]] = {
    "c": (_check_c, _run_c),
    "tflm": (_check_tflm, _run_tflm),
    "native": (_check_native, _run_native),
    "viper": (_check_viper, _run_viper),
}


def _spec(engine: str) -> tuple[Callable[[bytes], None], Runner]:
    if engine not in ENGINES:
        raise MicrotfError(f"unknown engine '{engine}' (known: {', '.join(ENGINES)})")
    spec = RUNNERS.get(engine)
    if spec is None:
        raise MicrotfError(f"engine '{engine}' is not available yet")
    return spec


def check_model(model: bytes, engine: str = "c") -> None:
    """Refuse, naming the reason (operators with versions), a model the engine cannot run."""
    _spec(engine)[0](model)


def runner(engine: str) -> Runner:
    """The engine's run function; MicrotfError when the engine is unknown or not available yet."""
    return _spec(engine)[1]


def _io(model: bytes, which: str) -> list[Tensor]:
    parsed = parse(model)
    main = parsed.subgraphs[0]
    return [main.tensors[i] for i in (main.inputs if which == "inputs" else main.outputs)]


def _dtype_of(t: Tensor) -> np.dtype:
    from .tflite_types import numpy_dtype, type_name

    try:
        return np.dtype(numpy_dtype(t.type))
    except ValueError:
        raise MicrotfError(
            f"tensor '{t.name}' has type {type_name(t.type)}, which predict cannot feed"
        ) from None


def _read(path: Path, what: str) -> np.ndarray | dict[str, np.ndarray]:
    if not path.is_file():
        raise MicrotfError(f"{path}: no such file ({what})")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises many kinds for a bad file
        first = str(exc).strip().splitlines()
        raise MicrotfError(
            f"{path}: not a .npy/.npz file ({first[0][:120] if first else type(exc).__name__})"
        ) from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        return {k: loaded[k] for k in loaded.files}


def _from_npz(arrays: dict[str, np.ndarray], tensors: list[Tensor], path: Path) -> list[np.ndarray]:
    names = [t.name for t in tensors]
    if all(n in arrays for n in names):
        return [arrays[n] for n in names]
    for prefix in ("input_", "arr_"):
        keys = [f"{prefix}{i}" for i in range(len(tensors))]
        if all(k in arrays for k in keys):
            return [arrays[k] for k in keys]
    if len(arrays) == 1 and len(tensors) == 1:
        return list(arrays.values())
    raise MicrotfError(
        f"{path}: keys {sorted(arrays)} do not name the model's {len(tensors)} inputs "
        f"(use {names} or input_0..input_{len(tensors) - 1})"
    )


def load_inputs(model: bytes, paths: Sequence[Path]) -> list[list[np.ndarray]]:
    """``samples[k][i]`` from the input files, checked against the model's inputs (shape, dtype)."""
    from .dataio import as_samples

    tensors = _io(model, "inputs")
    if len(paths) == 1:
        data = _read(paths[0], "input")
        arrays = _from_npz(data, tensors, paths[0]) if isinstance(data, dict) else [data]
        sources = [str(paths[0])] * len(arrays)
    else:
        arrays = []
        for p in paths:
            data = _read(p, "input")
            if isinstance(data, dict):
                raise MicrotfError(f"{p}: a .npz holds all inputs; give it alone as --input")
            arrays.append(data)
        sources = [str(p) for p in paths]
    if len(arrays) != len(tensors):
        raise MicrotfError(
            f"the model has {len(tensors)} inputs, got {len(arrays)} "
            f"(give one --input per input, or one .npz)"
        )
    stacks = []
    for i, (x, t, src) in enumerate(zip(arrays, tensors, sources, strict=True)):
        want = _dtype_of(t)
        label = f"{src} (input {i} '{t.name}')"
        if x.dtype != want:
            hint = ""
            if want.kind in "iu" and x.dtype.kind == "f" and t.scales and t.zero_points:
                hint = f"; quantize floats first: q = round(x / {t.scales[0]:g}) + {t.zero_points[0]}"
            raise MicrotfError(f"{label}: samples are {x.dtype}, the model input takes {want}{hint}")
        if x.ndim == 0:
            raise MicrotfError(f"{label}: a scalar, not samples stacked on a first axis")
        shape = tuple(max(d, 1) for d in t.shape)
        samples = as_samples(x, t.shape, label)
        stacks.append(samples.reshape((len(samples), *shape)))
    counts = {len(s) for s in stacks}
    if len(counts) > 1:
        raise MicrotfError(f"the inputs hold different numbers of samples: {[len(s) for s in stacks]}")
    n = counts.pop()
    if n == 0:
        raise MicrotfError(f"{sources[0]}: no samples")
    return [[np.ascontiguousarray(s[k]) for s in stacks] for k in range(n)]


def predict(model: bytes, samples: Samples, engine: str = "c", reset_each: bool = False) -> Outputs:
    """``outputs[k][j]`` of ``engine`` on ``samples`` (state kept across samples unless ``reset_each``)."""
    check, run = _spec(engine)
    check(model)
    return run(model, samples, reset_each)


def save_outputs(outputs: Outputs, paths: Sequence[Path]) -> list[Path]:
    """Write outputs stacked on a new first axis: one .npy per output, or one .npz for all."""
    count = len(outputs[0]) if outputs else 0
    stacks = [np.stack([step[j] for step in outputs]) for j in range(count)]
    if len(paths) == 1 and paths[0].suffix == ".npz":
        targets: list[tuple[Path, dict[str, np.ndarray] | np.ndarray]] = [
            (paths[0], {f"output_{j}": s for j, s in enumerate(stacks)})
        ]
    else:
        if len(paths) != count:
            raise MicrotfError(
                f"the model has {count} outputs, got {len(paths)} --output "
                f"(give one .npy per output, or one .npz)"
            )
        for p in paths:
            if p.suffix == ".npz":
                raise MicrotfError(f"{p}: a .npz takes all outputs; give it alone as --output")
        targets = list(zip(paths, stacks, strict=True))
    for path, value in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                if isinstance(value, dict):
                    np.savez(f, **value)
                else:
                    np.save(f, value)
        except OSError as exc:
            raise MicrotfError(f"{path}: cannot write ({exc.strerror})") from None
    return [p for p, _ in targets]


def check_output_paths(paths: Sequence[Path], model: bytes) -> None:
    """Refuse a wrong number of --output before running anything."""
    count = len(_io(model, "outputs"))
    if len(paths) == 1 and paths[0].suffix == ".npz":
        return
    if len(paths) != count:
        raise MicrotfError(
            f"the model has {count} outputs, got {len(paths)} --output (give one .npy per output, or one .npz)"
        )
