"""FULLY_CONNECTED (per-channel, no bias, 3-D), QUANTIZE and DEQUANTIZE of the C engine, bit for bit
against TFLite Micro. Fixtures: tests/fixtures/ops/core/*.tflite, made by
tests/fixtures/make_core_models.py."""

from __future__ import annotations

import numpy as np
import pytest
import tflite
from microtf_host.engine import Engine, EngineError
from microtf_host.paths import ROOT
from model_tools import assert_bit_exact, distinct_outputs, graph, op_names, patch_u32, vector_start

FIXTURES = ROOT / "tests" / "fixtures" / "ops" / "core"
NAMES = ["fc_per_channel", "fc_no_bias_3d", "fc_float_io", "fc_uint8_io"]


def _load(name: str) -> bytes:
    return (FIXTURES / f"{name}.tflite").read_bytes()


def _samples(eng: Engine, n: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        sample = []
        for info in eng.inputs:
            if info.dtype == np.float32:
                # mostly in range, some far out (saturation), one exact zero sample
                scale = 3.0 if k % 4 else 40.0
                sample.append((rng.uniform(-scale, scale, info.shape) * (k > 0)).astype(np.float32))
            else:
                ii = np.iinfo(info.dtype)
                sample.append(rng.integers(ii.min, ii.max + 1, info.shape).astype(info.dtype))
        out.append(sample)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_fixture_bit_exact(name: str) -> None:
    model = _load(name)
    assert "FULLY_CONNECTED" in op_names(model)
    outputs = assert_bit_exact(model, _samples(Engine(model), 120, 1))
    assert distinct_outputs(outputs) > 60
    flat = np.concatenate([o[0].ravel().astype(np.float64) for o in outputs])
    if outputs[0][0].dtype != np.float32:
        ii = np.iinfo(outputs[0][0].dtype)
        assert np.mean((flat == ii.min) | (flat == ii.max)) < 0.7, "outputs mostly saturated"


def test_fixture_ops_are_what_they_claim() -> None:
    assert op_names(_load("fc_float_io")) == {"QUANTIZE", "FULLY_CONNECTED", "DEQUANTIZE"}
    assert op_names(_load("fc_uint8_io")) == {"QUANTIZE", "FULLY_CONNECTED"}
    g = graph(_load("fc_per_channel"))
    weights = [g.Tensors(g.Operators(i).Inputs(1)) for i in range(g.OperatorsLength())]
    assert weights[0].Quantization().ScaleLength() == 12  # per channel
    g = graph(_load("fc_no_bias_3d"))
    assert g.Operators(0).InputsLength() == 2 or g.Operators(0).Inputs(2) == -1


def test_per_tensor_weights_with_offset_bit_exact() -> None:
    """The legacy path: one weight scale and a non-zero weight zero point (TFLite Micro adds it)."""
    model = bytearray(_load("fc_uint8_io"))
    g = graph(bytes(model))
    fc = next(g.Operators(i) for i in range(g.OperatorsLength()) if g.Operators(i).InputsLength() >= 2)
    q = g.Tensors(fc.Inputs(1)).Quantization()
    model = patch_u32(bytes(model), vector_start(q, 2) - 4, 1)  # keep only the first scale
    zp = vector_start(q, 3)
    model = patch_u32(model, zp - 4, 1)  # and one zero point, 3
    model = model[:zp] + (3).to_bytes(8, "little", signed=True) + model[zp + 8 :]
    patched = tflite.Model.GetRootAsModel(model, 0).Subgraphs(0).Tensors(fc.Inputs(1)).Quantization()
    assert patched.ScaleLength() == 1 and patched.ZeroPoint(0) == 3
    outputs = assert_bit_exact(model, _samples(Engine(model), 60, 2))
    assert distinct_outputs(outputs) > 30


def test_bad_fully_connected_shapes_refused() -> None:
    model = _load("fc_per_channel")
    g = graph(model)
    weights = g.Tensors(g.Operators(0).Inputs(1))
    with pytest.raises(EngineError, match="FULLY_CONNECTED: 12 outputs but 11 weight rows"):
        Engine(patch_u32(model, vector_start(weights, 0), 11))
