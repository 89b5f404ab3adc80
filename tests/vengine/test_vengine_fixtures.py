"""The viper engine on the engine's small operator fixtures (tests/fixtures/ops/),
bit for bit against TFLite Micro: every fixture whose operators the viper
engine supports (strides, dilations, groups, depth multipliers, padding,
activations, per-tensor weights, QUANTIZE/DEQUANTIZE of float32 and uint8)."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from microtf_host import tflm
from microtf_host.engine import Engine, EngineError, list_ops
from vhelpers import FIRMWARE, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "ops"
# Refused by design: float32 arithmetic (SOFTMAX, LOGISTIC, TANH need expf/tanhf, which cannot be
# reproduced bit for bit without floats; the viper engine runs every arithmetic operator in int8).
# float32 data movement (float_mix, pad_float32), float32 RELU and RELU6 (comparisons only) and
# float32 I/O around int8 operators (fc_float_io) do run.
REFUSED = {
    "float_softmax": "SOFTMAX",
    "float_sigmoid": "LOGISTIC",
    "float_tanh": "TANH",
    "float_hswish": "HARD_SWISH",
    "float_add_const_channel": "ADD",
    "float_add_relu_bcast": "ADD",
    "float_sub": "SUB",
    "float_mul_bcast": "MUL",
    "float_mul_const_channel": "MUL",
}


# Fixtures the C engine refuses at load (so the viper engine must too): int8 CONCATENATION inputs
# quantized differently from the output, as TFLite Micro refuses them.
C_REFUSED_NAMES = {"concat_mixed_scales"}


def _supported() -> set[str]:
    tree = ast.parse((FIRMWARE / "microtf" / "vengine" / "optable.py").read_text())
    ops = next(
        ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "OPS"
    )
    return {name for _, name, _, _ in ops}


def _fixtures() -> tuple[list, list]:
    """(fixtures both engines run, fixtures the C engine refuses) among those of supported ops."""
    sup = _supported()
    out, refused = [], []
    for path in sorted(FIXTURES.glob("*/*.tflite")):
        names = {op.name for op in list_ops(path.read_bytes())}
        if names <= sup and path.stem not in REFUSED:
            param = pytest.param(path, id=f"{path.parent.name}/{path.stem}")
            (refused if path.stem in C_REFUSED_NAMES else out).append(param)
    return out, refused


CASES, C_REFUSED = _fixtures()


def test_fixture_selection_is_broad() -> None:
    ids = " ".join(p.id for p in CASES)
    for needle in ("conv_", "dw_", "maxpool", "avgpool", "fc_float_io", "fc_uint8_io", "conv_grouped"):
        assert needle in ids, needle


def _samples(eng: Engine, rng: np.random.Generator, nan_ok: bool) -> list[list[np.ndarray]]:
    """STEPS samples (fewer for large inputs, to keep the run short), the first an int8 sweep."""
    size = sum(int(np.prod(i.shape)) for i in eng.inputs)
    samples = []
    for k in range(max(3, min(STEPS, 100_000 // max(size, 1)))):
        s = []
        for info in eng.inputs:
            if info.dtype == np.float32:
                x = rng.uniform(-3.0, 3.0, info.shape).astype(np.float32)
                if k == 0:
                    # Signed zeros, a subnormal, values around RELU6's 6; without QUANTIZE also
                    # infinities, NaN and huge values (QUANTIZE of values beyond int32 is undefined
                    # behaviour in TFLite Micro, its result platform-dependent: not compared).
                    special = [0.0, -0.0, 6.0, 6.000001, -1e-45]
                    if nan_ok:
                        special += [np.inf, -np.inf, np.nan, 1e30, -1e30]
                    x.flat[: min(x.size, len(special))] = special[: x.size]
                s.append(x)
            elif k == 0 and info.dtype == np.int8:
                # All int8 values (the tables of LOGISTIC, TANH, HARD_SWISH, ADD, MUL see each).
                s.append(np.resize(np.arange(-128, 128, dtype=np.int8), info.shape))
            else:
                lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
                s.append(rng.integers(lo, hi + 1, info.shape).astype(info.dtype))
        samples.append(s)
    return samples


STEPS = 12
# TFLite Micro's default arena is too small for the 128 KiB tensors of some elementwise models.
TFLM_ARENA = 1 << 20
GROUPS = sorted({p.values[0].parent.name for p in CASES})


@pytest.mark.parametrize("group", GROUPS)
def test_fixtures_bit_exact(group: str, tmp_path) -> None:
    """Every supported fixture of one directory, in one MicroPython run (vmany.py), invoke()
    under heap_lock (every fixture runs integer-only, float I/O included)."""
    from vhelpers import HERE, run_micropython

    paths = [p.values[0] for p in CASES if p.values[0].parent.name == group]
    manifest, expected = [], []
    for j, path in enumerate(paths):
        model = path.read_bytes()
        nan_ok = "QUANTIZE" not in {op.name for op in list_ops(model)}
        samples = _samples(Engine(model), np.random.default_rng(5), nan_ok)
        data = tmp_path / f"in{j}.bin"
        data.write_bytes(b"".join(np.ascontiguousarray(x).tobytes() for s in samples for x in s))
        manifest.append(f"{path} {data}")
        outs = tflm.run(model, samples, arena_size=TFLM_ARENA)
        expected += [
            (path.stem, f"R {j} {k} " + "".join(y.tobytes().hex() for y in outs[k]))
            for k in range(len(samples))
        ]
    man = tmp_path / "manifest.txt"
    man.write_text("\n".join(manifest) + "\n")
    out = run_micropython([str(HERE / "vmany.py"), str(man)], timeout=600)
    got = [line for line in out.splitlines() if line.startswith("R ")]
    assert len(got) == len(expected), out[-2000:]
    bad = [(name, e, g) for (name, e), g in zip(expected, got, strict=True) if e != g]
    assert not bad, bad[:3]
    assert len(paths) >= 3


def _load_errors(paths: list, tmp_path) -> list[str]:
    """The ValueError message (or 'loaded') of VModel on each model, in one MicroPython run."""
    from vhelpers import run_micropython

    script = tmp_path / "load.py"
    script.write_text(
        "import sys\nfrom microtf.vengine.model import VModel\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n        VModel(open(p, 'rb').read())\n        print('loaded')\n"
        "    except ValueError as e:\n        print('ValueError', e)\n"
    )
    return run_micropython([str(script), *map(str, paths)]).strip().split("\n")


def test_refused_fixtures_raise_value_error(tmp_path) -> None:
    names = sorted(REFUSED)
    paths = [next(FIXTURES.glob(f"*/{n}.tflite")) for n in names]
    for name, line in zip(names, _load_errors(paths, tmp_path), strict=True):
        op = REFUSED[name]
        assert line.startswith("ValueError") and op in line, (name, line)


def test_fixtures_the_c_engine_refuses_are_refused(tmp_path) -> None:
    """Same checks at load as the C engine (e.g. CONCATENATION of int8 with mixed scales)."""
    paths = [p.values[0] for p in C_REFUSED]
    assert {p.stem for p in paths} == C_REFUSED_NAMES
    for path in paths:
        with pytest.raises(EngineError):
            Engine(path.read_bytes())
    for path, line in zip(paths, _load_errors(paths, tmp_path), strict=True):
        assert line.startswith("ValueError"), (path.name, line)


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
