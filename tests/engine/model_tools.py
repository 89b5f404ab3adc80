"""Shared helpers for the engine tests: model paths, the oracle comparison, flatbuffer patching."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from microtf_host import tflm
from microtf_host.engine import Engine, list_ops
from microtf_host.paths import ROOT, SHARED_MODELS

SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
SINE_FLOAT = SITE / "tflite_micro" / "python" / "tflite_micro" / "sine_float.tflite"
WAKE_WORDS = sorted((SITE / "pymicro_wakeword" / "models").glob("*.tflite"))
HELLO_WORLD = SHARED_MODELS / "hello_world_int8.tflite"
MICRO_SPEECH = SHARED_MODELS / "micro_speech_quantized.tflite"
PERSON_DETECT = SHARED_MODELS / "person_detect.tflite"
LSTM = SHARED_MODELS / "trained_lstm_int8.tflite"
SVDF = SHARED_MODELS / "keyword_scrambled_8bit.tflite"


def load(path: Path) -> bytes:
    return path.read_bytes()


def op_codes(model: bytes) -> list[int]:
    """Builtin code of each operator of subgraph 0, in order."""
    import tflite

    root = tflite.Model.GetRootAsModel(model, 0)
    graph = root.Subgraphs(0)
    codes = []
    for i in range(graph.OperatorsLength()):
        oc = root.OperatorCodes(graph.Operators(i).OpcodeIndex())
        codes.append(max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()))
    return codes


def op_names(model: bytes) -> set[str]:
    return {op.name for op in list_ops(model)}


def random_samples(eng: Engine, steps: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Random inputs of the right dtype and shape (floats in [-2, 2])."""
    samples = []
    for _ in range(steps):
        sample = []
        for info in eng.inputs:
            if info.dtype == np.float32:
                sample.append(rng.uniform(-2.0, 2.0, info.shape).astype(np.float32))
            else:
                lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
                sample.append(rng.integers(lo, hi + 1, info.shape).astype(info.dtype))
        samples.append(sample)
    return samples


def assert_bit_exact(
    model: bytes, samples: list[list[np.ndarray]], reset_each: bool = False, **engine_kw
) -> list:
    """Run the engine and TFLite Micro on the same samples; every output must match bit for bit."""
    ours = Engine(model, **engine_kw).run(samples, reset_each=reset_each)
    theirs = tflm.run(model, samples, reset_each=reset_each)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert len(a) == len(b), f"step {k}: {len(a)} outputs vs {len(b)}"
        for j, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x.dtype == y.dtype and x.shape == y.shape, (
                f"step {k} output {j}: {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
            )
            assert np.array_equal(x, y), f"step {k} output {j} differs: {x.ravel()[:8]} vs {y.ravel()[:8]}"
    return ours


def distinct_outputs(outputs: list[list[np.ndarray]], j: int = 0) -> int:
    return len({step[j].tobytes() for step in outputs})


def seeded_inputs(data: bytes, count: int, seed: int, float_scale: float = 1.0) -> list[list[np.ndarray]]:
    """Seeded random inputs for every input of a fixture: int8 uniform over the whole range,
    float32 normal with standard deviation float_scale."""
    rng = np.random.default_rng(seed)
    details = tflm.input_details(data)
    samples = []
    for _ in range(count):
        sample = []
        for d in details:
            if d["dtype"] == np.float32:
                sample.append(rng.normal(0.0, float_scale, size=d["shape"]).astype(np.float32))
            else:
                assert d["dtype"] == np.int8, "fixtures take int8 or float32 inputs"
                sample.append(rng.integers(-128, 128, size=d["shape"], dtype=np.int8))
        samples.append(sample)
    return samples


def model_and_graph(data: bytes, index: int = 0):
    """The tflite Model object and its subgraph index (for patching tests that need both)."""
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    return model, model.Subgraphs(index)


# ---- flatbuffer patching (positions found through the tflite package's tables) ----


def graph(model: bytes, index: int = 0):
    import tflite

    return tflite.Model.GetRootAsModel(model, 0).Subgraphs(index)


def vector_start(table, field: int) -> int:
    """Byte position of the first element of vector field `field` (0-based schema field index)."""
    off = table._tab.Offset(4 + 2 * field)
    assert off, f"field {field} absent"
    return table._tab.Vector(off)


def vector_length_pos(table, field: int) -> int:
    return vector_start(table, field) - 4


def scalar_pos(table, field: int) -> int:
    off = table._tab.Offset(4 + 2 * field)
    assert off, f"field {field} absent"
    return table._tab.Pos + off


def patch_u32(model: bytes, pos: int, value: int) -> bytes:
    return model[:pos] + struct.pack("<I", value & 0xFFFFFFFF) + model[pos + 4 :]


def patch_f32(model: bytes, pos: int, value: float) -> bytes:
    return model[:pos] + struct.pack("<f", value) + model[pos + 4 :]


def with_output(model: bytes, tensor: int) -> bytes:
    """The model with its first main-subgraph output replaced by tensor (to expose an inner tensor)."""
    return patch_u32(model, vector_start(graph(model), 2), tensor)


def op_tensor(model: bytes, op_name: str, which: str = "input", index: int = 0) -> int:
    """Tensor index of the first op named op_name in the main subgraph (its input or output `index`)."""
    import tflite

    m = tflite.Model.GetRootAsModel(model, 0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    g = m.Subgraphs(0)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        if names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode())) == op_name:
            return int(op.Inputs(index) if which == "input" else op.Outputs(index))
    raise LookupError(op_name)
