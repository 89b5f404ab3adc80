"""Seeded random int8 architectures: the C engine bit for bit against TFLite Micro, in whole graphs.

Fixtures: tests/fixtures/ops/random/rand_NN.tflite and manifest.json, made by
tests/fixtures/make_random_models.py. Single-operator tests miss interactions (residual ADD,
squeeze-excite MUL against a broadcast, MEAN from global pooling, concatenated branches, PAD before
VALID convolutions, 1-D inputs reshaped to 2-D); these models mix them at random.

For every model: the operators it holds are the ones the manifest claims; 32 seeded int8 inputs
give the same outputs in the engine and in TFLite Micro (one oracle call per model, all samples);
the outputs are not degenerate; and the engine's arena is no larger than TFLite Micro's smallest
working arena (bisected when the fixtures were made, confirmed here: TFLite Micro runs the samples
in exactly that arena and fails 16 bytes below it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fixturekit import degenerate, op_names, seeded_inputs
from microtf_host import tflm
from microtf_host.paths import ROOT

engine = pytest.importorskip("microtf_host.engine")

FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ops" / "random"
MANIFEST = json.loads((FIXTURE_DIR / "manifest.json").read_text())
MODELS: dict[str, dict] = MANIFEST["models"]
NAMES = sorted(MODELS)
SAMPLES_PER_MODEL = 32


# The operator each feature needs (prefix match on the feature name).
FEATURE_OPS = {
    "conv_": "CONV_2D",
    "dw_": "DEPTHWISE_CONV_2D",
    "maxpool": "MAX_POOL_2D",
    "avgpool": "AVERAGE_POOL_2D",
    "residual_add": "ADD",
    "se_mul": "MUL",
    "concat": "CONCATENATION",
    "pad": "PAD",
    "gap": "MEAN",
    "hard_swish": "HARD_SWISH",
    "input_1d": "RESHAPE",
    "head_softmax": "SOFTMAX",
    "head_sigmoid": "LOGISTIC",
    "head_tanh": "TANH",
    "head_": "FULLY_CONNECTED",
}


def _data(name: str) -> bytes:
    return (FIXTURE_DIR / f"{name}.tflite").read_bytes()


def test_set_covers_required_ops_and_features() -> None:
    assert len(NAMES) >= 32, "run tests/fixtures/make_random_models.py"
    assert sorted(p.stem for p in FIXTURE_DIR.glob("*.tflite")) == NAMES, "manifest and files disagree"
    covered: set[str] = set()
    total = 0
    for name in NAMES:
        data = _data(name)
        total += len(data)
        ops = op_names(data)
        assert ops == MODELS[name]["ops"], f"{name}: holds {ops}, manifest says {MODELS[name]['ops']}"
        unsupported = [op.name for op in engine.list_ops(data) if not op.supported]
        assert not unsupported, f"{name}: engine build lacks {unsupported}"
        for feature in MODELS[name]["features"]:
            for prefix, op in FEATURE_OPS.items():
                if feature.startswith(prefix):
                    assert op in ops, f"{name}: claims {feature} but holds no {op}"
        covered |= set(ops)
    missing = set(MANIFEST["required_ops"]) - covered
    assert not missing, f"no random model holds {sorted(missing)}"
    tally = Counter(f for entry in MODELS.values() for f in entry["features"])
    rare = {f: tally[f] for f in MANIFEST["features"] if tally[f] < MANIFEST["min_feature_models"]}
    assert not rare, f"features in too few models: {rare}"
    assert total < 400 * 1024


@pytest.mark.parametrize("name", NAMES)
def test_bit_exact(name: str) -> None:
    data = _data(name)
    entry = MODELS[name]
    samples = seeded_inputs(tuple(entry["input_shape"]), zlib.crc32(name.encode()), SAMPLES_PER_MODEL)
    smallest = entry["tflm_arena"]["smallest"]
    # TFLite Micro in exactly its recorded smallest arena: the run itself confirms that figure works.
    expected = tflm.run(data, samples, arena_size=smallest)
    got = engine.Engine(data).run(samples)
    assert len(got) == len(expected)
    for k, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        assert len(g_step) == len(e_step), f"step {k}: {len(g_step)} outputs vs {len(e_step)}"
        for j, (g, e) in enumerate(zip(g_step, e_step, strict=True)):
            assert g.dtype == e.dtype and g.shape == e.shape, f"step {k} output {j}: {g.dtype}{g.shape}"
            if not np.array_equal(g, e):
                diff = np.abs(g.astype(np.int32) - e.astype(np.int32))
                raise AssertionError(
                    f"{name} step {k} output {j}: {int((diff > 0).sum())} of {diff.size} values differ "
                    f"(max by {diff.max()}): engine {g.ravel()[:8]} vs TFLite Micro {e.ravel()[:8]}"
                )
    why = degenerate(expected)
    assert why is None, f"{name}: {why}: fix the generator, the comparison proves little"


@pytest.mark.parametrize("name", NAMES)
def test_arena_not_larger_than_tflm(name: str) -> None:
    needed = engine.arena_needed(_data(name))
    smallest = MODELS[name]["tflm_arena"]["smallest"]
    assert needed <= smallest, (
        f"{name}: engine arena {needed} B > TFLite Micro's smallest working {smallest} B"
    )


_PROBE = """
import sys
from tflite_micro.python.tflite_micro import runtime
import numpy as np
for line in sys.stdin:
    path, size = line.split()
    print("try", path, flush=True)
    try:
        interp = runtime.Interpreter.from_bytes(open(path, "rb").read(), arena_size=int(size))
        for i in range(64):
            try:
                d = interp.get_input_details(i)
            except (IndexError, RuntimeError, ValueError):
                break
            interp.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
        interp.invoke()
        print("ok", path, flush=True)
    except Exception:
        print("fail", path, flush=True)
"""


def _tflm_works(jobs: list[tuple[Path, int]]) -> dict[Path, bool]:
    """Whether TFLite Micro initialises and invokes each model in the given arena, in few processes.

    A too-small arena may crash TFLite Micro: the crash counts as "does not work" and a new process
    takes the remaining jobs.
    """
    results: dict[Path, bool] = {}
    pending = list(jobs)
    while pending:
        stdin = "".join(f"{path} {size}\n" for path, size in pending)
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], input=stdin, capture_output=True, text=True, timeout=120
        )
        trying = None
        for line in proc.stdout.splitlines():
            word, _, path = line.partition(" ")
            if word == "try":
                trying = Path(path)
            else:
                results[Path(path)] = word == "ok"
                trying = None
        if proc.returncode != 0:
            assert trying is not None, f"TFLite Micro probe process failed: {proc.stderr[-400:]}"
            results[trying] = False
        pending = [(p, s) for p, s in pending if p not in results]
    return results


def test_tflm_smallest_arena_is_tight() -> None:
    """16 bytes below the recorded smallest arena, TFLite Micro must fail (else the figure is stale)."""
    jobs = [(FIXTURE_DIR / f"{n}.tflite", MODELS[n]["tflm_arena"]["smallest"] - 16) for n in NAMES]
    works = _tflm_works(jobs)
    loose = [p.stem for p, ok in works.items() if ok]
    assert not loose, f"TFLite Micro works below the manifest's smallest arena for {loose}: regenerate"
