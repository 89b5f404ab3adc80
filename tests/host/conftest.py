"""Shared fixtures of the host CLI tests: one tiny Keras model per session, the shipped models."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hostkit import tiny_dataset


@pytest.fixture(scope="session")
def tiny_keras(tmp_path_factory) -> Path:
    """A small Keras classifier (4 features -> 3 classes), saved once as .keras and .h5."""
    from microtf_host.convert import quiet_tensorflow

    quiet_tensorflow()
    import keras

    keras.utils.set_random_seed(1234)
    model = keras.Sequential(
        [
            keras.Input((4,), name="features"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    x, y = tiny_dataset()
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    folder = tmp_path_factory.mktemp("tiny")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Keras' own numpy 2 deprecation notes
        model.fit(x, y, epochs=20, batch_size=64, verbose=0)
        model.save(folder / "tiny.keras")
        model.save(folder / "tiny.h5")  # legacy HDF5, on purpose: convert accepts it
        model.save_weights(folder / "tiny.weights.h5")
    return folder / "tiny.keras"


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tinydata")
    x, y = tiny_dataset()
    paths = {"x": folder / "x.npy", "y": folder / "y.npy", "csv": folder / "x.csv", "bad": folder / "bad.npy"}
    np.save(paths["x"], x)
    np.save(paths["y"], y)
    np.savetxt(paths["csv"], x[:120], delimiter=",", header="a,b,c,d", comments="")
    np.save(paths["bad"], np.zeros((50, 5), dtype=np.float32))
    return paths


@pytest.fixture(scope="session")
def tiny_tflite(tiny_keras, tmp_path_factory) -> dict[str, Path]:
    """The tiny model converted once: tiny_int8.tflite beside tiny_float.tflite."""
    from microtf_host.convert import convert_model

    x, _ = tiny_dataset()
    folder = tmp_path_factory.mktemp("tinytfl")
    out = {"int8": folder / "tiny_int8.tflite", "float": folder / "tiny_float.tflite"}
    out["int8"].write_bytes(convert_model(tiny_keras, "int8", x[:200]))
    out["float"].write_bytes(convert_model(tiny_keras, "float32"))
    return out
