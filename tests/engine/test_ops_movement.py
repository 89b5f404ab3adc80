"""Shape and data-movement operators (CONCATENATION, STRIDED_SLICE, SPLIT, SPLIT_V, PACK, SHAPE,
RESHAPE, EXPAND_DIMS, SQUEEZE) of the C engine, bit for bit against TFLite Micro.

Fixtures: tests/fixtures/ops/movement/*.tflite and manifest.json, made by
tests/fixtures/make_movement_models.py. Every fixture runs on seeded random inputs (int8;
float32 for float_mix) with the model bytes placed 0-3 bytes off alignment (the
begin/end/strides/axis constants are then unaligned). Models patched to be invalid must be
refused at init with a message naming the problem, and refused by TFLite Micro too where it
refuses them.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
import tflite
from microtf_host import tflm
from microtf_host.paths import ROOT
from model_tools import model_and_graph, op_codes, seeded_inputs

engine = pytest.importorskip("microtf_host.engine")

FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ops" / "movement"
MANIFEST = json.loads((FIXTURE_DIR / "manifest.json").read_text())
SAMPLES_PER_MODEL = 24

CONCATENATION, RESHAPE, SQUEEZE, STRIDED_SLICE, SPLIT = 2, 22, 43, 45, 49
EXPAND_DIMS, SHAPE, PACK, SPLIT_V = 70, 77, 83, 102
FAMILY = {
    "CONCATENATION": CONCATENATION,
    "RESHAPE": RESHAPE,
    "SQUEEZE": SQUEEZE,
    "STRIDED_SLICE": STRIDED_SLICE,
    "SPLIT": SPLIT,
    "EXPAND_DIMS": EXPAND_DIMS,
    "SHAPE": SHAPE,
    "PACK": PACK,
    "SPLIT_V": SPLIT_V,
}
# Fixtures both TFLite Micro and the engine must refuse, with words the engine's message holds.
REFUSED_FIXTURES = {"concat_mixed_scales": "quantized differently"}
RUNNABLE = sorted(name for name in MANIFEST if name not in REFUSED_FIXTURES)


def _fixture(name: str) -> bytes:
    return (FIXTURE_DIR / f"{name}.tflite").read_bytes()


def _assert_bit_exact(
    data: bytes, samples: list[list[np.ndarray]], model_offset: int
) -> list[list[np.ndarray]]:
    expected = tflm.run(data, samples)
    got = engine.Engine(data, model_offset=model_offset).run(samples)
    assert len(got) == len(expected)
    for k, (g_step, e_step) in enumerate(zip(got, expected, strict=False)):
        assert len(g_step) == len(e_step) > 0
        for j, (g, e) in enumerate(zip(g_step, e_step, strict=False)):
            assert g.dtype == e.dtype and g.shape == e.shape, (
                f"step {k} output {j}: {g.dtype}{g.shape} vs {e.shape}"
            )
            if not np.array_equal(g, e):
                diff = np.abs(g.astype(np.int64) - e.astype(np.int64))
                raise AssertionError(
                    f"step {k} output {j}: {int((diff > 0).sum())} of {diff.size} values differ, "
                    f"max by {int(diff.max())}"
                )
    return expected


def _assert_not_saturated(outputs: list[list[np.ndarray]]) -> None:
    """Outputs must vary: int8 ones not pinned at -128/127, float ones not constant."""
    for j in range(len(outputs[0])):
        values = np.concatenate([step[j].ravel() for step in outputs])
        if values.dtype == np.int8:
            saturated = np.mean((values == -128) | (values == 127))
            assert saturated < 0.5, f"output {j}: {saturated:.0%} saturated: the comparison proves little"
        if values.dtype in (np.int8, np.float32):
            assert len(np.unique(values)) > 16, f"output {j} (nearly) constant"


def test_manifest_matches_fixtures() -> None:
    on_disk = {p.stem for p in FIXTURE_DIR.glob("*.tflite")}
    assert on_disk == set(MANIFEST), "run tests/fixtures/make_movement_models.py"
    covered: set[str] = set()
    for name, entry in MANIFEST.items():
        codes = set(op_codes(_fixture(name)))
        for op in entry["covers"]:
            assert FAMILY[op] in codes, f"{name} claims {op} but does not contain it"
        covered |= set(entry["covers"])
    assert covered == set(FAMILY)


@pytest.mark.parametrize("name", RUNNABLE)
def test_fixture_bit_exact(name: str) -> None:
    data = _fixture(name)
    seed = zlib.crc32(name.encode())
    expected = _assert_bit_exact(data, seeded_inputs(data, SAMPLES_PER_MODEL, seed), model_offset=seed % 4)
    _assert_not_saturated(expected)


def test_shape_output_is_the_input_shape() -> None:
    data = _fixture("shape_dynamic")
    eng = engine.Engine(data)
    (out,) = eng.run(seeded_inputs(data, 1, 5))
    assert out[1].dtype == np.int32 and out[1].tolist() == list(eng.inputs[0].shape)


def test_ignored_strided_slice_options_change_nothing() -> None:
    """offset, ellipsis_mask and new_axis_mask are ignored by TFLite Micro and so by the engine."""
    samples = seeded_inputs(_fixture("strided_slice_2d"), 4, 9)
    plain = engine.Engine(_fixture("strided_slice_2d")).run(samples)
    patched = engine.Engine(_fixture("strided_slice_ignored_options")).run(samples)
    assert all(
        np.array_equal(a, b)
        for pa, pb in zip(plain, patched, strict=False)
        for a, b in zip(pa, pb, strict=False)
    )


# ---- refusals: models patched to be invalid ----


def _write(buf: bytearray, pos: int, fmt: str, value: int) -> None:
    buf[pos : pos + struct.calcsize(fmt)] = struct.pack(fmt, value)


def _options(buf: bytearray, code: int, options_cls: type):  # type: ignore[no-untyped-def]
    _, graph = model_and_graph(buf)
    table = graph.Operators(op_codes(bytes(buf)).index(code)).BuiltinOptions()
    opts = options_cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _patch_option(data: bytes, code: int, options_cls: type, field: int, value: int) -> bytes:
    """Overwrite int32 field (0-based, as in schema.fbs) of the first `code` operator's options."""
    buf = bytearray(data)
    opts = _options(buf, code, options_cls)
    offset = opts._tab.Offset(4 + 2 * field)
    assert offset, "field absent from the flatbuffer: cannot patch in place"
    _write(buf, opts._tab.Pos + offset, "<i", value)
    return bytes(buf)


def _patch_option_vector(
    data: bytes, code: int, options_cls: type, field: int, index: int, value: int
) -> bytes:
    buf = bytearray(data)
    opts = _options(buf, code, options_cls)
    offset = opts._tab.Offset(4 + 2 * field)
    assert offset, "vector absent from the flatbuffer: cannot patch in place"
    _write(buf, opts._tab.Vector(offset) + 4 * index, "<i", value)
    return bytes(buf)


def _patch_const_input(
    data: bytes, code: int, input_index: int, index: int, value: int, op: int = 0
) -> bytes:
    """Overwrite int32 element `index` of a constant input of the op-th `code` operator."""
    buf = bytearray(data)
    model, graph = model_and_graph(buf)
    position = [i for i, c in enumerate(op_codes(data)) if c == code][op]
    tensor = graph.Tensors(graph.Operators(position).Inputs(input_index))
    buffer = model.Buffers(tensor.Buffer())
    assert buffer.DataLength() > 4 * index, "not a constant input"
    _write(buf, buffer._tab.Vector(buffer._tab.Offset(4)) + 4 * index, "<i", value)
    return bytes(buf)


def _patch_output_dim(data: bytes, code: int, dim: int, value: int) -> bytes:
    """Overwrite one dim of the stored shape of the first `code` operator's output."""
    buf = bytearray(data)
    _, graph = model_and_graph(buf)
    tensor = graph.Tensors(graph.Operators(op_codes(data).index(code)).Outputs(0))
    _write(buf, tensor._tab.Vector(tensor._tab.Offset(4)) + 4 * dim, "<i", value)
    return bytes(buf)


# (id, patched model, words the engine's message holds, whether TFLite Micro refuses it too)
REFUSALS: list[tuple[str, Callable[[], bytes], str, bool]] = [
    (
        "concat_mixed_scales",
        lambda: _fixture("concat_mixed_scales"),
        "quantized differently",
        True,
    ),
    (
        "concat_axis_out_of_range",
        lambda: _patch_option(
            _fixture("concat_slices_axis1"),
            CONCATENATION,
            tflite.ConcatenationOptions,
            0,
            3,
        ),
        "axis",
        False,  # TFLite Micro only DCHECKs the axis
    ),
    (
        "strided_slice_stride_zero",
        lambda: _patch_const_input(_fixture("strided_slice_2d"), STRIDED_SLICE, 3, 1, 0),
        "stride",
        True,
    ),
    (
        "strided_slice_output_shape",
        lambda: _patch_const_input(_fixture("strided_slice_2d"), STRIDED_SLICE, 2, 1, 7),
        "output dim",
        True,
    ),
    (
        # TFLite Micro accepts this, then its eval loop writes nothing for the shrunk axis.
        "strided_slice_shrink_negative_stride",
        lambda: _patch_const_input(_fixture("strided_slice_shrink"), STRIDED_SLICE, 3, 1, -1),
        "shrunk axis",
        False,
    ),
    (
        "split_axis_out_of_range",
        lambda: _patch_const_input(_fixture("split_last"), SPLIT, 0, 0, 3),
        "axis",
        True,
    ),
    (
        "split_v_sizes_disagree",
        lambda: _patch_const_input(_fixture("split_v_last"), SPLIT_V, 1, 0, 2),
        "size_splits",
        False,  # TFLite Micro never reads size_splits
    ),
    (
        "split_v_axis_out_of_range",
        lambda: _patch_const_input(_fixture("split_v_uneven"), SPLIT_V, 2, 0, -4),
        "axis",
        True,
    ),
    (
        "pack_values_count",
        lambda: _patch_option(_fixture("pack_axes"), PACK, tflite.PackOptions, 0, 2),
        "values_count",
        False,  # TFLite Micro trusts values_count
    ),
    (
        "expand_dims_axis_out_of_range",
        lambda: _patch_const_input(_fixture("expand_dims_axes"), EXPAND_DIMS, 1, 0, 4),
        "axis",
        True,
    ),
    (
        "squeeze_dim_not_one",
        lambda: _patch_option_vector(_fixture("squeeze_dims"), SQUEEZE, tflite.SqueezeOptions, 0, 0, 1),
        "cannot squeeze",
        True,
    ),
    (
        "reshape_element_count",
        lambda: _patch_output_dim(_fixture("shape_dynamic"), RESHAPE, 2, 3),
        "elements",
        True,
    ),
]


@pytest.mark.parametrize(
    ("make", "words", "tflm_refuses"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refused(make: Callable[[], bytes], words: str, tflm_refuses: bool) -> None:
    data = make()
    with pytest.raises(engine.EngineError) as info:
        engine.Engine(data)
    assert words in info.value.message, info.value.message
    if tflm_refuses:
        with pytest.raises(tflm.TflmFailure):
            tflm.run(data, seeded_inputs(data, 1, 0))
