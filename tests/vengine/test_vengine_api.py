"""VModel's surface against the C engine's view of the same models, the
operator table against ops.def, heap_lock really catching allocation, and
the kernels' speed on the Unix port."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from microtf_host import optable
from microtf_host.engine import Engine
from vhelpers import FIRMWARE, HERE, MODELS, run_micropython


def _lines(out: str) -> dict[str, str]:
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in out.splitlines() if " " in line}


@pytest.mark.parametrize("name", ["sine_int8", "gesture_int8", "sine_float"])
def test_surface_matches_c_engine(name: str) -> None:
    eng = Engine(MODELS[name].read_bytes())
    got = _lines(run_micropython([str(HERE / "vapi.py"), str(MODELS[name])]))
    for key, info in (("in", eng.inputs[0]), ("out", eng.outputs[0])):
        count, rest = got[key].split(" ", 1)
        shape, dtype, scale, zp = ast.literal_eval(rest)
        assert int(count) == 1
        assert tuple(shape) == tuple(info.shape) and np.dtype(dtype) == info.dtype
        assert np.float32(scale) == np.float32(info.scale) and zp == info.zero_point
    arena, n_in, n_out = (int(v) for v in got["arena"].split())
    assert n_in == eng.inputs[0].dtype.itemsize * int(np.prod(eng.inputs[0].shape))
    assert n_out == eng.outputs[0].dtype.itemsize * int(np.prod(eng.outputs[0].shape))
    assert 0 < arena < eng.arena_used
    # heap_lock is a real check: the float model allocates (boxed floats), the int8 ones do not.
    assert got["lock"] == ("alloc" if name == "sine_float" else "noalloc")


def test_optable_agrees_with_ops_def() -> None:
    src = (FIRMWARE / "microtf" / "vengine" / "optable.py").read_text()
    tree = ast.parse(src)
    ops = next(
        ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "OPS"
    )
    table = {e.name: e for e in optable.load().values()}
    for code, name, max_version, module in ops:
        assert table[name].code == code and table[name].max_version == max_version, name
        assert (FIRMWARE / "microtf" / "vengine" / f"{module}.py").exists()
        assert (
            f"def prepare_{name.lower()}(" in (FIRMWARE / "microtf" / "vengine" / f"{module}.py").read_text()
        )


def test_kernel_speed_on_unix_port() -> None:
    got = _lines(run_micropython([str(HERE / "vbench.py")]))
    conv, fc = int(got["conv"]), int(got["fc"])
    print(f"CONV_2D {conv / 1e6:.0f} M MAC/s, FULLY_CONNECTED {fc / 1e6:.0f} M MAC/s")
    assert conv >= 20_000_000 and fc >= 20_000_000


def test_model_at_any_alignment() -> None:
    out = run_micropython([str(HERE / "valign.py"), str(MODELS["gesture_int8"])]).split("\n")
    rows = [line.split(" ", 1)[1] for line in out if line]
    assert len(rows) == 4 and len(set(rows)) == 1
    assert len(set(rows[0].split())) > 1
