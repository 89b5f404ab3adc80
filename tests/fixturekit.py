"""Helpers shared by the fixture scripts (tests/fixtures/make_*.py) and the tests that run their models.

The host engine (tests/engine/test_random_models.py) and the emulated board
(tests/board/test_qemu_m4_random.py) feed the random models the same kind of inputs and reject the
same degenerate outputs; the fixture scripts check operators with the same op_names. tests/ is on
sys.path for every test (pytest puts the directory of tests/conftest.py there); the fixture
scripts put it there themselves.
"""

from __future__ import annotations

import numpy as np
import tflite

MAX_SATURATED = 0.9  # outputs more often at -128/127 than this say little about the arithmetic


def op_names(data: bytes) -> list[str]:
    """Builtin operator names of subgraph 0, in execution order."""
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    result = []
    for i in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(i).OpcodeIndex())
        result.append(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    return result


def seeded_inputs(shape: tuple[int, ...], seed: int, count: int) -> list[list[np.ndarray]]:
    """Seeded int8 inputs: even steps uniform over the whole range, odd ones with a random offset
    and amplitude (so heads that average over the whole input still see different values)."""
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(count):
        if k % 2 == 0:
            x = rng.integers(-128, 128, size=shape)
        else:
            x = rng.uniform(-90, 90) + rng.uniform(12, 76) * rng.uniform(-1.0, 1.0, size=shape)
        samples.append([np.clip(np.round(x), -128, 127).astype(np.int8)])
    return samples


def degenerate(outputs: list[list[np.ndarray]]) -> str | None:
    """Why these outputs (one list of arrays per input) cannot tell a right engine from a wrong one."""
    values = np.concatenate([o.ravel() for step in outputs for o in step])
    saturated = float(np.mean((values == -128) | (values == 127)))
    if saturated > MAX_SATURATED:
        return f"{saturated:.0%} of output values at -128/127"
    if len({b"".join(o.tobytes() for o in step) for step in outputs}) < 2:
        return "outputs identical for every input"
    if len(np.unique(values)) < 3:
        return f"outputs take only {len(np.unique(values))} distinct values"
    return None
