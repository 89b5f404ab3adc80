"""Train the hello-world regression (x to sin x) and write its .tflite files, test set and manifest.

    python models/sine/train.py        (or: make models)

Deterministic for a given seed. Input [1, 1] float x in [0, 2 pi]; output [1, 1] ~ sin x.
Two hidden Dense layers of 16 (ReLU), as in TensorFlow Lite Micro's hello_world example.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

SEED = 20261124
VERSION = "1.0.0"
EPOCHS = 300
TRAIN_SAMPLES = 1000
TEST_SAMPLES = 200
NOISE = 0.1  # added to the training targets, as in the original example
MAX_MSE = 0.02  # against the clean sine, for both files


def data(n: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0.0, 2 * math.pi, n).astype(np.float32)
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x, y.astype(np.float32)


def predict(model: bytes, x: np.ndarray, tflm, mf) -> np.ndarray:
    """sin estimates for each x, through TFLite Micro, dequantized for int8 files."""
    from microtf_host.modelinfo import describe

    info = describe(model)
    tin, tout = mf.tensor_entry(info.inputs[0]), mf.tensor_entry(info.outputs[0])
    outs = tflm.run(model, [[mf.quantize(v, tin)] for v in x])
    return np.array(
        [float(mf.dequantize(o[0], tout).reshape(-1)[0]) for o in outs],
        dtype=np.float32,
    )


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

    rng = np.random.default_rng(SEED)
    x_train, y_train = data(TRAIN_SAMPLES, rng, NOISE)
    x_test, y_test = data(TEST_SAMPLES, rng, 0.0)

    layers = [
        keras.layers.Dense(16, activation="relu", name="hidden1"),
        keras.layers.Dense(16, activation="relu", name="hidden2"),
        keras.layers.Dense(1, name="sine"),
    ]

    def build(batch_size: int | None):
        inp = keras.Input((1,), batch_size=batch_size, name="x")
        out = inp
        for layer in layers:
            out = layer(out)
        return keras.Model(inp, out, name="sine")

    model = build(None)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x_train[:, None], y_train, epochs=EPOCHS, batch_size=64, shuffle=True, verbose=0)
    infer = build(1)  # same layers and weights, batch fixed at 1: no dynamic shapes

    files = {"float": HERE / "sine_float.tflite", "int8": HERE / "sine_int8.tflite"}
    files["float"].write_bytes(convert_model(infer, "float32"))
    files["int8"].write_bytes(convert_model(infer, "int8", rep_data=x_train[:300, None]))

    preds = {kind: predict(path.read_bytes(), x_test, tflm, mf) for kind, path in files.items()}
    accuracy = {
        "metric": "mse",
        "runtime": "TFLite Micro",
        "reference": "sin(x), noise-free",
        "test_samples": len(x_test),
        "float": round(float(np.mean((preds["float"] - y_test) ** 2)), 6),
        "int8": round(float(np.mean((preds["int8"] - y_test) ** 2)), 6),
        "int8_vs_float": round(float(np.mean((preds["int8"] - preds["float"]) ** 2)), 6),
    }
    print("accuracy", accuracy)

    np.save(HERE / "test_x.npy", x_test)
    np.save(HERE / "test_y.npy", y_test)
    manifest = mf.build_manifest(
        HERE,
        name="sine",
        version=VERSION,
        description="Hello-world regression: x in [0, 2 pi] to sin x",
        files=files,
        accuracy=accuracy,
        preprocessing={
            "input": "x in radians, float, range [0, 2 pi]",
            "normalisation": {"divide_by": 1.0, "subtract": 0.0},
            "quantization": "int8 file: q = round_half_away(x / input.scale) + input.zero_point, clipped",
            "output": "sin x estimate; int8 file: y = (q - output.zero_point) * output.scale",
        },
        training={
            "seed": SEED,
            "epochs": EPOCHS,
            "train_samples": TRAIN_SAMPLES,
            "target_noise": NOISE,
            "parameters": int(infer.count_params()),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        extra={
            "test_set": {
                "x": "test_x.npy",
                "y": "test_y.npy",
                "x_format": "float32 (N,) radians",
            }
        },
    )
    mf.write_manifest(HERE, manifest)
    if max(accuracy["float"], accuracy["int8"]) > MAX_MSE:
        sys.exit(f"sine: MSE above {MAX_MSE}: {accuracy}")


if __name__ == "__main__":
    main()
