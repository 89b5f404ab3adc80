"""Subprocess side of ``microtf_host.tflm``: run TFLite Micro on an .npz of inputs."""

from __future__ import annotations

import sys

import numpy as np


def main(src: str, dst: str) -> None:
    from tflite_micro.python.tflite_micro import runtime

    with np.load(src) as data:
        model = data["model"].tobytes()
        steps, arena, reset_each = (int(v) for v in data["meta"])
        inputs = {k: data[k] for k in data.files if k.startswith("in_")}
    interp = runtime.Interpreter.from_bytes(model, arena_size=arena or None)
    results: dict[str, np.ndarray] = {}
    n_out = 0
    for k in range(steps):
        if reset_each and k:
            interp.reset()
        i = 0
        while f"in_{k}_{i}" in inputs:
            interp.set_input(inputs[f"in_{k}_{i}"], i)
            i += 1
        interp.invoke()
        j = 0
        while True:
            try:
                value = interp.get_output(j)
            except (IndexError, RuntimeError, ValueError):
                break
            results[f"out_{k}_{j}"] = np.array(value)
            j += 1
        n_out = j
    results["n_out"] = np.array(n_out)
    np.savez(dst, **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
