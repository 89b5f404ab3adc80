"""The viper engine on the engine's small operator fixtures (tests/fixtures/ops/),
bit for bit against TFLite Micro: every fixture whose operators the viper
engine supports (strides, dilations, groups, depth multipliers, padding,
activations, per-tensor weights, QUANTIZE/DEQUANTIZE of float32 and uint8)."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from microtf_host import tflm
from microtf_host.engine import Engine, list_ops
from vhelpers import FIRMWARE, ROOT, run_vengine

FIXTURES = ROOT / "tests" / "fixtures" / "ops"
# Refused by design: float32 SOFTMAX (expf cannot be reproduced bit for bit without floats).
REFUSED = {"float_softmax"}


def _supported() -> set[str]:
    tree = ast.parse((FIRMWARE / "microtf" / "vengine" / "optable.py").read_text())
    ops = next(
        ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "OPS"
    )
    return {name for _, name, _, _ in ops}


def _fixtures() -> list:
    sup = _supported()
    out = []
    for path in sorted(FIXTURES.glob("*/*.tflite")):
        names = {op.name for op in list_ops(path.read_bytes())}
        if names <= sup and path.stem not in REFUSED:
            out.append(pytest.param(path, id=f"{path.parent.name}/{path.stem}"))
    return out


CASES = _fixtures()


def test_fixture_selection_is_broad() -> None:
    ids = " ".join(p.id for p in CASES)
    for needle in ("conv_", "dw_", "maxpool", "avgpool", "fc_float_io", "fc_uint8_io", "conv_grouped"):
        assert needle in ids, needle


@pytest.mark.parametrize("path", CASES)
def test_fixture_bit_exact(path, tmp_path) -> None:
    model = path.read_bytes()
    eng = Engine(model)
    rng = np.random.default_rng(5)
    samples = []
    for _ in range(24):
        s = []
        for info in eng.inputs:
            if info.dtype == np.float32:
                s.append(rng.uniform(-3.0, 3.0, info.shape).astype(np.float32))
            else:
                lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
                s.append(rng.integers(lo, hi + 1, info.shape).astype(info.dtype))
        samples.append(s)
    # Float inputs also at the rounding edges of the input quantization.
    expected = tflm.run(model, samples)
    # Every fixture runs integer-only (float I/O included): invoke() under heap_lock.
    got, line = run_vengine(path, samples, [(o.shape, o.dtype) for o in eng.outputs], tmp_path, "heaplock")
    assert line.startswith("ok 24 "), line
    for k, (a, b) in enumerate(zip(got, expected, strict=True)):
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            assert np.array_equal(x, y), f"step {k} output {j}: {x.ravel()[:8]} vs {y.ravel()[:8]}"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_fixtures_raise_value_error(name: str, tmp_path) -> None:
    from vhelpers import run_micropython

    path = next(FIXTURES.glob(f"*/{name}.tflite"))
    script = tmp_path / "load.py"
    script.write_text(
        "from microtf.vengine.model import VModel\n"
        f"try:\n    VModel(open({str(path)!r}, 'rb').read())\n    print('loaded')\n"
        "except ValueError as e:\n    print('ValueError', e)\n"
    )
    out = run_micropython([str(script)])
    assert out.startswith("ValueError") and "SOFTMAX" in out, out


def test_fixture_plans_equal_c_engine() -> None:
    """Head size and every planned tensor's offset, for every supported fixture, in one MicroPython run."""
    from vhelpers import HERE, plan_of_c_engine, run_micropython

    paths = [p.values[0] for p in CASES]
    out = run_micropython([str(HERE / "vplan.py"), *map(str, paths)])
    blocks = out.split("head ")[1:]
    assert len(blocks) == len(paths)
    for path, block in zip(paths, blocks, strict=True):
        lines = block.strip().split("\n")
        _, head, offsets = plan_of_c_engine(path)
        assert int(lines[0]) == head, path.name
        assert {int(a): int(b) for a, b in (line.split() for line in lines[1:])} == offsets, path.name
