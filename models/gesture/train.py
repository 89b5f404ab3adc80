"""Train the gesture classifier and write its .tflite files, test set, traces and manifest.

    python models/gesture/train.py        (or: make models)

Deterministic for a given seed: same data, same weights, same bytes. Input [1, 64, 1, 3]:
64 samples at 50 Hz, one column, the x/y/z axes as channels - the MPU6050's interleaved
x, y, z order, so a device copies its ring buffer in as it is. Layers: Conv2D,
DepthwiseConv2D, max/average pooling, Dense and softmax.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _load_dataset():
    """dataset.py beside this file, also when this file is itself loaded by path (as the tests do)."""
    spec = importlib.util.spec_from_file_location("gesture_dataset", HERE / "dataset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dataset = _load_dataset()

SEED = 20261124
VERSION = "1.0.0"
EPOCHS = 40
TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 250
LABEL_SMOOTHING = 0.1
COMMITTED_TEST_PER_CLASS = 25  # windows per class kept in test_x.npy (int16 counts, small)
TRACE_SECONDS = 5.0
STREAM_RECORDINGS = 25  # per class, for the streaming accuracy
MIN_ACCURACY = 0.90


def build(keras, batch_size: int | None, layers: list | None = None):
    """The network (``keras`` is the module); pass ``layers`` of a trained model to rebuild it with
    another batch size, sharing its weights."""
    if layers is None:
        layers = [
            keras.layers.Conv2D(12, (5, 1), padding="same", activation="relu", name="conv"),
            keras.layers.MaxPooling2D((2, 1), name="pool1"),
            keras.layers.DepthwiseConv2D((5, 1), padding="same", activation="relu", name="dwconv1"),
            keras.layers.Conv2D(24, (1, 1), activation="relu", name="pointwise"),
            keras.layers.MaxPooling2D((2, 1), name="pool2"),
            keras.layers.DepthwiseConv2D((3, 1), padding="same", activation="relu", name="dwconv2"),
            keras.layers.AveragePooling2D((4, 1), name="avgpool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(24, activation="relu", name="dense"),
            keras.layers.Dense(len(dataset.LABELS), activation="softmax", name="probabilities"),
        ]
    inp = keras.Input((dataset.WINDOW, 1, 3), batch_size=batch_size, name="accel")
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x, name="gesture"), layers


def to_input(counts: np.ndarray) -> np.ndarray:
    """int16 counts (N, WINDOW, 3) to the float model input (N, WINDOW, 1, 3)."""
    return dataset.normalise(counts)[:, :, None, :]


def make_traces(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {label: dataset.recording(label, TRACE_SECONDS, rng) for label in dataset.LABELS}


def stream_set(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All streaming windows of ``per_class`` trace-length recordings per label."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, label in enumerate(dataset.LABELS):
        for _ in range(per_class):
            w = dataset.stream_windows(dataset.recording(label, TRACE_SECONDS, rng))
            xs.append(w)
            ys.append(np.full(len(w), k))
    return np.concatenate(xs), np.concatenate(ys)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from microtf_host import manifest as mf
    from microtf_host import tflm
    from microtf_host.convert import convert_model

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()

    x_train, y_train = dataset.windows(TRAIN_PER_CLASS, SEED)
    x_test, y_test = dataset.windows(TEST_PER_CLASS, SEED + 1)
    traces = make_traces(SEED + 2)

    model, layers = build(keras, None)
    # Label smoothing keeps the softmax off its rails: the int8 scores stay graded (a device can
    # threshold them) instead of sitting at -128/127 for every window.
    model.compile(
        optimizer=keras.optimizers.Adam(0.003),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),
        metrics=["accuracy"],
    )
    onehot = np.eye(len(dataset.LABELS), dtype=np.float32)[y_train]
    model.fit(
        to_input(x_train),
        onehot,
        epochs=EPOCHS,
        batch_size=32,
        shuffle=True,
        verbose=2,
        validation_split=0.1,
    )
    infer, _ = build(keras, 1, layers)  # same weights, batch fixed at 1: no dynamic shapes

    rep = to_input(x_train[:300])
    files = {
        "float": HERE / "gesture_float.tflite",
        "int8": HERE / "gesture_int8.tflite",
    }
    files["float"].write_bytes(convert_model(infer, "float32"))
    files["int8"].write_bytes(convert_model(infer, "int8", rep_data=rep))

    accuracy: dict = {
        "metric": "accuracy",
        "runtime": "TFLite Micro",
        "test_windows": len(y_test),
    }
    for kind, path in files.items():
        pred = classify(path.read_bytes(), to_input(x_test), tflm, mf)
        accuracy[kind] = round(float(np.mean(pred == y_test)), 4)
    # Streaming, as the device does: every HOP-th window of fresh continuous recordings.
    stream_x, stream_y = stream_set(STREAM_RECORDINGS, SEED + 3)
    pred = classify(files["int8"].read_bytes(), to_input(stream_x), tflm, mf)
    accuracy["int8_streaming"] = round(float(np.mean(pred == stream_y)), 4)
    accuracy["streaming_windows"] = len(stream_y)
    accuracy["keras"] = round(
        float(np.mean(np.argmax(model.predict(to_input(x_test), verbose=0), -1) == y_test)),
        4,
    )
    print("accuracy", accuracy)

    trace_entries = []
    (HERE / "traces").mkdir(exist_ok=True)
    int8 = files["int8"].read_bytes()
    for k, (label, counts) in enumerate(traces.items()):
        path = HERE / "traces" / f"{label}.npy"
        np.save(path, counts)
        pred = classify(int8, to_input(dataset.stream_windows(counts)), tflm, mf)
        correct = float(np.mean(pred == k))
        print(f"trace {label}: {correct:.2f} of windows correct, predicted {pred.tolist()}")
        trace_entries.append(
            {
                "path": path.relative_to(HERE).as_posix(),
                "label": label,
                "samples": int(counts.shape[0]),
                "int8_windows_correct": round(correct, 4),
            }
        )

    # A balanced slice of the test set, kept as int16 counts (exact and half the size of float32).
    keep = np.concatenate(
        [np.flatnonzero(y_test == k)[:COMMITTED_TEST_PER_CLASS] for k in range(len(dataset.LABELS))]
    )
    keep.sort()
    np.save(HERE / "test_x.npy", x_test[keep])
    np.save(HERE / "test_y.npy", y_test[keep].astype(np.int8))
    (HERE / "labels.txt").write_text("\n".join(dataset.LABELS) + "\n")

    manifest = mf.build_manifest(
        HERE,
        name="gesture",
        version=VERSION,
        description="Accelerometer gesture classifier (MPU6050-like 3-axis windows, synthetic data)",
        files=files,
        labels=dataset.LABELS,
        accuracy=accuracy,
        preprocessing=preprocessing(),
        training={
            "seed": SEED,
            "epochs": EPOCHS,
            "train_windows": len(y_train),
            "label_smoothing": LABEL_SMOOTHING,
            "parameters": int(infer.count_params()),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "data": "models/gesture/dataset.py",
        },
        extra={
            "traces": trace_entries,
            "test_set": {
                "x": "test_x.npy",
                "y": "test_y.npy",
                "x_format": "int16 counts (N, window, 3)",
            },
        },
    )
    mf.write_manifest(HERE, manifest)
    if min(accuracy["float"], accuracy["int8"]) < MIN_ACCURACY:
        sys.exit(f"gesture: accuracy below {MIN_ACCURACY}: {accuracy}")
    if any(t["int8_windows_correct"] < 1.0 for t in trace_entries):
        sys.exit("gesture: a trace window is misclassified")


def preprocessing() -> dict:
    """The contract from raw sensor counts to the float input; keys read by microtf.sampler too."""
    divide_by = dataset.LSB_PER_G * dataset.RANGE_G
    return {
        "sensor": "MPU6050 accelerometer, full scale +-2 g (AFS_SEL=0)",
        "sample_rate": dataset.SAMPLE_RATE_HZ,  # Hz; the name microtf.sampler reads
        "sample_rate_hz": dataset.SAMPLE_RATE_HZ,
        "window": dataset.WINDOW,
        "hop": dataset.HOP,
        "axis_order": [f"a{axis}" for axis in dataset.AXES],  # MPU6050 driver channel names
        "layout": "time_major",  # input[0, t, 0, i] = sample t (oldest first) of axis_order[i]
        "raw_units": "int16 register counts",
        "lsb_per_g": dataset.LSB_PER_G,
        "range_g": dataset.RANGE_G,
        # x = value_in_units * scale + offset (the sampler's form) ...
        "units": "g",
        "scale": 1.0 / dataset.RANGE_G,
        "offset": 0.0,
        # ... which is x = (counts - subtract) / divide_by from raw counts (the host tools' form).
        "normalisation": {"subtract": 0.0, "divide_by": divide_by},
        "quantization": "int8 file: q = round_half_away(x / input.scale) + input.zero_point, clipped",
        "orientation": "sensor flat, face up: +1 g on z at rest",
    }


def classify(model: bytes, x: np.ndarray, tflm, mf) -> np.ndarray:
    """Class index of each float input window, through TFLite Micro."""
    from microtf_host.modelinfo import describe

    tin = mf.tensor_entry(describe(model).inputs[0])
    outs = tflm.run(model, [[mf.quantize(w[None], tin)] for w in x])
    return np.array([int(np.argmax(o[0])) for o in outs])


if __name__ == "__main__":
    main()
