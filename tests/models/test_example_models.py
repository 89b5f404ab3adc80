"""The committed example models (models/sine, models/gesture): manifests, accuracy, traces.

No training here: everything runs on the committed artifacts, with TFLite Micro as the runtime.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import tflite
from microtf_host import manifest as mf
from microtf_host import tflm
from microtf_host.modelinfo import describe
from microtf_host.paths import MODELS

NAMES = ("sine", "gesture")
KINDS = ("float", "int8")
MAX_DIR_BYTES = 100 * 1024


def load(name: str) -> dict:
    return mf.read_manifest(MODELS / name)


def model_bytes(name: str, kind: str) -> bytes:
    return (MODELS / name / load(name)["files"][kind]["path"]).read_bytes()


def module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def gesture_dataset():
    return module(MODELS / "gesture" / "dataset.py", "gesture_dataset")


def run(name: str, kind: str, x: np.ndarray) -> tuple[list[np.ndarray], dict, dict]:
    """Float inputs (one per sample, any shape with the input's size) through TFLite Micro."""
    entry = load(name)["files"][kind]
    tin, tout = entry["inputs"][0], entry["outputs"][0]
    outs = tflm.run(model_bytes(name, kind), [[mf.quantize(v, tin)] for v in x])
    return [o[0] for o in outs], tin, tout


def gesture_input(counts: np.ndarray, man: dict, form: str = "host") -> np.ndarray:
    """int16 counts (N, window, 3) to float input following the manifest's preprocessing only.

    ``form`` "host": (counts - subtract) / divide_by; "sampler": counts / lsb_per_g * scale + offset.
    """
    pre = man["preprocessing"]
    counts = np.asarray(counts, dtype=np.float64)
    if form == "host":
        x = (counts - pre["normalisation"]["subtract"]) / pre["normalisation"]["divide_by"]
    else:
        x = counts / pre["lsb_per_g"] * pre["scale"] + pre["offset"]
    return x.astype(np.float32).reshape(len(x), pre["window"], 1, len(pre["axis_order"]))


@pytest.mark.parametrize("name", NAMES)
def test_manifest_matches_files(name):
    man = load(name)
    assert man["name"] == name and man["version"]
    assert set(man["files"]) == set(KINDS)
    for kind, entry in man["files"].items():
        data = (MODELS / name / entry["path"]).read_bytes()
        assert entry["size"] == len(data), kind
        assert entry["sha256"] == mf.sha256(data), kind


@pytest.mark.parametrize("name", NAMES)
def test_manifest_is_canonical(name):
    """Written sorted and indented, so retraining with the same seed gives the same bytes."""
    text = (MODELS / name / mf.MANIFEST_NAME).read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_manifest_operators_and_tensors_match_model(name, kind):
    entry = load(name)["files"][kind]
    info = describe(model_bytes(name, kind))
    assert entry["operators"] == mf.operators(info)
    assert entry["inputs"] == [mf.tensor_entry(t) for t in info.inputs]
    assert entry["outputs"] == [mf.tensor_entry(t) for t in info.outputs]
    if kind == "int8":
        # microtf's target: every operator of the int8 files is in its op table.
        assert all(op.supported for op in info.ops), info.unsupported
        assert entry["inputs"][0]["dtype"] == "int8" and entry["outputs"][0]["dtype"] == "int8"
        assert entry["inputs"][0]["scale"] > 0
    else:
        assert entry["inputs"][0]["dtype"] == "float32"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_static_shapes_batch_one(name, kind):
    """Batch 1 and no dynamic dimension anywhere (shape_signature without -1)."""
    graph = tflite.Model.GetRootAsModel(model_bytes(name, kind), 0).Subgraphs(0)
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        if t.ShapeSignatureLength():
            assert -1 not in t.ShapeSignatureAsNumpy().tolist(), t.Name()
    for i in list(graph.InputsAsNumpy()) + list(graph.OutputsAsNumpy()):
        assert graph.Tensors(i).ShapeAsNumpy()[0] == 1


def test_expected_operators():
    ops = {kind: {o["name"] for o in load("gesture")["files"][kind]["operators"]} for kind in KINDS}
    for kind in KINDS:
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops[kind]
        assert ops[kind] & {"MAX_POOL_2D", "AVERAGE_POOL_2D"}
        # The int8 file must be fully integer: no float fallbacks at the edges.
    assert not ops["int8"] & {"QUANTIZE", "DEQUANTIZE"}
    sine = {o["name"] for o in load("sine")["files"]["int8"]["operators"]}
    assert sine == {"FULLY_CONNECTED"}


@pytest.mark.parametrize("name", NAMES)
def test_arena_and_size_small(name):
    man = load(name)
    for kind, entry in man["files"].items():
        arena = entry["arena"]
        assert 0 < arena["tflm_recorded"] <= arena["tflm_smallest"] <= 16 * 1024, kind
        assert arena["microtf"] is None or 0 < arena["microtf"] <= 16 * 1024, kind
    assert man["files"]["int8"]["size"] <= 16 * 1024
    total = sum(
        p.stat().st_size for p in (MODELS / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    assert total < MAX_DIR_BYTES


def test_gesture_labels():
    man = load("gesture")
    labels = (MODELS / "gesture" / "labels.txt").read_text().split()
    assert labels == man["labels"]
    assert "idle" in labels and len(labels) >= 4
    for kind in KINDS:
        assert man["files"][kind]["outputs"][0]["shape"] == [1, len(labels)]


def test_gesture_preprocessing_contract(gesture_dataset):
    man = load("gesture")
    pre = man["preprocessing"]
    shape = man["files"]["int8"]["inputs"][0]["shape"]
    assert shape == [1, pre["window"], 1, len(pre["axis_order"])]
    assert pre["axis_order"] == ["ax", "ay", "az"] and pre["layout"] == "time_major"
    assert pre["sample_rate"] == pre["sample_rate_hz"] > 0
    assert 0 < pre["hop"] <= pre["window"]
    # The sampler's form (g * scale + offset) and the host's form ((counts - subtract) / divide_by) agree.
    counts = np.array([-32768, -16384, -1, 0, 1, 12345, 32767], dtype=np.float64)
    sampler_form = counts / pre["lsb_per_g"] * pre["scale"] + pre["offset"]
    norm = pre["normalisation"]
    assert pre["units"] == "g"
    assert np.allclose(sampler_form, (counts - norm["subtract"]) / norm["divide_by"], rtol=0, atol=1e-12)
    tin = man["files"]["int8"]["inputs"][0]
    assert man["input"] == {"scale": tin["scale"], "zero_point": tin["zero_point"], "dtype": "int8"}
    # The generator and the manifest agree (the device reads the manifest, training used the generator).
    assert (
        pre["sample_rate_hz"],
        pre["window"],
        pre["hop"],
        pre["lsb_per_g"],
        pre["range_g"],
    ) == (
        gesture_dataset.SAMPLE_RATE_HZ,
        gesture_dataset.WINDOW,
        gesture_dataset.HOP,
        gesture_dataset.LSB_PER_G,
        gesture_dataset.RANGE_G,
    )
    assert list(gesture_dataset.LABELS) == man["labels"]


def test_gesture_accuracy_float_and_int8_under_tflm():
    man = load("gesture")
    x_counts = np.load(MODELS / "gesture" / man["test_set"]["x"])
    y = np.load(MODELS / "gesture" / man["test_set"]["y"]).astype(np.int64)
    assert x_counts.dtype == np.int16 and len(x_counts) == len(y) >= 100
    assert set(y.tolist()) == set(range(len(man["labels"])))
    x = gesture_input(x_counts, man)
    acc = {}
    for kind in KINDS:
        outs, _, tout = run("gesture", kind, x)
        probs = np.array([mf.dequantize(o, tout).reshape(-1) for o in outs])
        acc[kind] = float(np.mean(np.argmax(probs, 1) == y))
        assert np.allclose(probs.sum(1), 1.0, atol=0.03), kind  # a softmax, dequantized
    raw = np.array([o.reshape(-1) for o in outs])
    # Not a test on saturated outputs: the int8 scores take many values, and not only the rails.
    assert len(np.unique(raw)) > 20 and np.mean((raw > -128) & (raw < 127)) > 0.05
    assert acc["int8"] >= 0.90, acc
    assert abs(acc["float"] - acc["int8"]) <= 0.03, acc
    assert acc["float"] >= man["accuracy"]["float"] - 0.05, (acc, man["accuracy"])


def test_gesture_traces_classify_to_their_label(gesture_dataset):
    """Stream each raw trace as the device will: windows every hop, manifest preprocessing, int8 model."""
    man = load("gesture")
    pre = man["preprocessing"]
    assert len(man["traces"]) >= len(man["labels"])
    assert {t["label"] for t in man["traces"]} == set(man["labels"])
    for trace in man["traces"]:
        counts = np.load(MODELS / "gesture" / trace["path"])
        assert counts.dtype == np.int16 and counts.shape == (
            trace["samples"],
            len(pre["axis_order"]),
        )
        assert counts.shape[0] >= 3 * pre["window"]  # seconds, not one window
        # Raw counts as the MPU6050 reports them: +1 g (lsb_per_g) on z at rest, within +-2 g.
        assert abs(np.median(counts[:, 2]) / pre["lsb_per_g"] - 1.0) < 0.3
        starts = range(0, counts.shape[0] - pre["window"] + 1, pre["hop"])
        windows = np.stack([counts[s : s + pre["window"]] for s in starts])
        outs, _, _ = run("gesture", "int8", gesture_input(windows, man, form="sampler"))
        pred = [man["labels"][int(np.argmax(o))] for o in outs]
        assert pred == [trace["label"]] * len(pred), (trace["path"], pred)


def test_gesture_traces_regenerate_from_the_seed(gesture_dataset):
    """The committed traces are exactly what the seeded generator makes (no hand-picked data)."""
    train = module(MODELS / "gesture" / "train.py", "gesture_train")
    traces = train.make_traces(train.SEED + 2)
    man_traces = load("gesture")["traces"]
    for trace in man_traces:
        assert np.array_equal(np.load(MODELS / "gesture" / trace["path"]), traces[trace["label"]])
    counts = np.load(MODELS / "gesture" / man_traces[0]["path"])
    frames = gesture_dataset.mpu6050_frames(counts)
    assert np.array_equal(frames[:, :3], counts) and not frames[:, 4:].any()
    assert abs(frames[0, 3] / 340 + 36.53 - 25.0) < 0.01
    a = gesture_dataset.windows(3, seed=5)
    b = gesture_dataset.windows(3, seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a[0], gesture_dataset.windows(3, seed=6)[0])


def test_sine_mse_under_tflm():
    man = load("sine")
    x = np.load(MODELS / "sine" / man["test_set"]["x"])
    y = np.load(MODELS / "sine" / man["test_set"]["y"])
    assert np.allclose(y, np.sin(x), atol=1e-6) and len(x) >= 100
    pred = {}
    for kind in KINDS:
        outs, _, tout = run("sine", kind, x)
        pred[kind] = np.array([float(mf.dequantize(o, tout).reshape(-1)[0]) for o in outs])
        mse = float(np.mean((pred[kind] - y) ** 2))
        assert mse < 0.02, (kind, mse)
        assert mse == pytest.approx(man["accuracy"][kind], abs=2e-6), kind
    raw = np.array([o.reshape(-1)[0] for o in run("sine", "int8", x)[0]])
    # Not saturated: many distinct output values, few on the rails.
    assert len(np.unique(raw)) > 50 and np.mean((raw == -128) | (raw == 127)) < 0.05
    assert float(np.mean((pred["int8"] - pred["float"]) ** 2)) < 0.005
