"""``microtf predict --engine native|viper``: a whole stack of samples through MicroPython in one run.

native: the C engine as MicroPython's ``_microtf`` module, on the emulated Cortex-M4 board (qemu_m4),
or on the Unix port named by ``$MICROPYTHON`` when that one has ``_microtf``.
viper: the pure-MicroPython engine ``microtf.vengine`` (``VModel``) on the Unix port ($MICROPYTHON,
else the one installed beside this Python), with ``MICROPYPATH=firmware``.

One process per call: the host writes the model and every sample (raw bytes, sample after sample,
inputs in order) into a temporary directory; the script on the board reads them with ``open()``
straight into the model's input views, invokes, and appends the output views' bytes to a file the
host then splits. A model the engine refuses is one line (``MTFERR Type: message``), exit status 2.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import MicrotfError
from .paths import FIRMWARE
from .tflfile import Tensor, parse

VIPER_OPTABLE = FIRMWARE / "microtf" / "vengine" / "optable.py"
ERR_MARK = "MTFERR "
HEAPSIZE = "64M"  # the Unix port's heap for a predict run (a host tool: no board's limits apply)

# MicroPython source; {make} builds `m` from `data` (the model bytes).
_SCRIPT = """import sys
def _run():
    try:
        data = open('model.tflite', 'rb').read()
{make}
    except Exception as e:
        print('{mark}%s: %s' % (type(e).__name__, e))
        return 2
    ins = [m.input(i) for i in range({n_in})]
    outs = [m.output(j) for j in range({n_out})]
    f = open('inputs.bin', 'rb')
    o = open('outputs.bin', 'wb')
    for k in range({steps}):
        if {reset} and k:
            m.reset()
        for v in ins:
            f.readinto(v)
        try:
            m.invoke()
        except Exception as e:
            print('{mark}%s at sample %d: %s' % (type(e).__name__, k, e))
            return 3
        for v in outs:
            o.write(v)
    o.close()
    f.close()
    print('MTFDONE', {steps})
    return 0
sys.exit(_run())
"""

_MAKE = {
    "native": "        import _microtf\n        m = _microtf.Model(data)",
    "viper": "        from microtf.vengine.model import VModel\n        m = VModel(data)",
}


def _io(model: bytes) -> tuple[list[Tensor], list[Tensor]]:
    g = parse(model).subgraphs[0]
    return [g.tensors[i] for i in g.inputs], [g.tensors[i] for i in g.outputs]


def _dtype(t: Tensor) -> np.dtype:
    from .tflite_types import numpy_dtype, type_name

    try:
        return np.dtype(numpy_dtype(t.type))
    except ValueError:
        raise MicrotfError(
            f"tensor '{t.name}' has type {type_name(t.type)}, which predict cannot feed"
        ) from None


def _stage(
    folder: Path, engine: str, model: bytes, samples: Sequence[Sequence[np.ndarray]], reset_each: bool
):
    """Write model, inputs and script into ``folder``; the output tensors (to split the result by)."""
    ins, outs = _io(model)
    blob = bytearray()
    for k, sample in enumerate(samples):
        if len(sample) != len(ins):
            raise MicrotfError(f"sample {k} has {len(sample)} inputs, the model {len(ins)}")
        for x, t in zip(sample, ins, strict=True):
            want = _dtype(t)
            raw = np.ascontiguousarray(x, dtype=want).tobytes()
            size = int(np.prod([max(d, 1) for d in t.shape])) * want.itemsize
            if len(raw) != size:
                raise MicrotfError(f"sample {k}: input '{t.name}' needs {size} bytes, got {len(raw)}")
            blob += raw
    (folder / "model.tflite").write_bytes(model)
    (folder / "inputs.bin").write_bytes(bytes(blob))
    script = _SCRIPT.format(
        make=_MAKE[engine],
        mark=ERR_MARK,
        n_in=len(ins),
        n_out=len(outs),
        steps=len(samples),
        reset=reset_each,
    )
    (folder / "predict_main.py").write_text(script)
    return outs


def _collect(engine: str, where: str, folder: Path, outs: list[Tensor], steps: int, status: int, text: str):
    """Outputs from outputs.bin, or the board's one-line refusal as a MicrotfError."""
    for line in text.splitlines():
        if line.startswith(ERR_MARK):
            raise MicrotfError(f"engine '{engine}' ({where}): {line[len(ERR_MARK) :].strip()}")
    if status != 0 or f"MTFDONE {steps}" not in text:
        tail = [ln for ln in text.splitlines() if ln.strip()]
        raise MicrotfError(
            f"engine '{engine}' ({where}) failed with status {status}: {tail[-1] if tail else 'no output'}"
        )
    data = (folder / "outputs.bin").read_bytes()
    dtypes = [_dtype(t) for t in outs]
    shapes = [tuple(t.shape) for t in outs]
    sizes = [int(np.prod(s)) * d.itemsize for s, d in zip(shapes, dtypes, strict=True)]
    if len(data) != steps * sum(sizes):
        raise MicrotfError(
            f"engine '{engine}' ({where}): {len(data)} bytes of outputs, expected {steps * sum(sizes)}"
        )
    result = []
    at = 0
    for _ in range(steps):
        step = []
        for shape, dt, size in zip(shapes, dtypes, sizes, strict=True):
            step.append(np.frombuffer(data[at : at + size], dtype=dt).reshape(shape).copy())
            at += size
        result.append(step)
    return result


def _unix(micropython: str, folder: Path, timeout: float, path: str | None) -> tuple[int, str]:
    env = dict(os.environ)
    if path is not None:
        env["MICROPYPATH"] = path
    cmd = [micropython, "-X", f"heapsize={HEAPSIZE}", "predict_main.py"]
    try:
        proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MicrotfError(f"{Path(micropython).name}: no result after {timeout:.0f} s") from None
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


@functools.cache
def has_native(micropython: str) -> bool:
    """True when that MicroPython binary has the ``_microtf`` module."""
    try:
        proc = subprocess.run([micropython, "-c", "import _microtf"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _timeout(steps: int, per_step: float) -> float:
    return 120 + steps * per_step


def run_native(model: bytes, samples: Sequence[Sequence[np.ndarray]], reset_each: bool = False):
    """``outputs[k][j]`` of ``_microtf``: on $MICROPYTHON when it has the module, else on qemu_m4."""
    env = os.environ.get("MICROPYTHON")
    with tempfile.TemporaryDirectory(prefix="microtf-native-") as tmp:
        folder = Path(tmp)
        outs = _stage(folder, "native", model, samples, reset_each)
        if env:
            from .virtual import find_micropython

            exe = find_micropython()
            if has_native(exe):
                status, text = _unix(exe, folder, _timeout(len(samples), 1.0), None)
                return _collect("native", Path(exe).name, folder, outs, len(samples), status, text)
        from . import qemu

        try:
            status, text = qemu.run_script(
                folder / "predict_main.py", timeout=_timeout(len(samples), 2.0), cwd=folder
            )
        except qemu.QemuTimeout as exc:
            raise MicrotfError(f"engine 'native' (qemu_m4): {exc}") from None
        return _collect("native", "qemu_m4", folder, outs, len(samples), status, text)


def run_viper(model: bytes, samples: Sequence[Sequence[np.ndarray]], reset_each: bool = False):
    """``outputs[k][j]`` of the pure-MicroPython engine on the Unix port."""
    from .virtual import find_micropython

    exe = find_micropython()
    with tempfile.TemporaryDirectory(prefix="microtf-viper-") as tmp:
        folder = Path(tmp)
        outs = _stage(folder, "viper", model, samples, reset_each)
        status, text = _unix(exe, folder, _timeout(len(samples), 2.0), str(FIRMWARE))
        return _collect("viper", Path(exe).name, folder, outs, len(samples), status, text)


def viper_ops() -> dict[int, int]:
    """builtin code -> highest version the viper engine runs, read from vengine/optable.py's OPS."""
    try:
        tree = ast.parse(VIPER_OPTABLE.read_text())
    except (OSError, SyntaxError) as exc:
        raise MicrotfError(
            f"{VIPER_OPTABLE}: cannot read the viper engine's operator table ({exc})"
        ) from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "OPS" for t in node.targets
        ):
            return {int(code): int(version) for code, _name, version, _mod in ast.literal_eval(node.value)}
    raise MicrotfError(f"{VIPER_OPTABLE}: no OPS table")
