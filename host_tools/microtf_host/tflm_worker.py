"""Subprocess side of ``microtf_host.tflm``: run TFLite Micro on an .npz of inputs.

Also the arena probes of ``microtf_host.arena`` (``--record`` and ``--bisect``), which
report each step on stdout before taking it, so the parent can tell which size
crashed the process.
"""

from __future__ import annotations

import os
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


def _zeros_invoke(interp) -> None:
    i = 0
    while True:
        try:
            details = interp.get_input_details(i)
        except (IndexError, RuntimeError, ValueError):
            break
        interp.set_input(np.zeros(details["shape"], dtype=details["dtype"]), i)
        i += 1
    interp.invoke()


def _say(text: str) -> None:
    # Unbuffered, so the line is out before a crash in the next step.
    os.write(1, (text + "\n").encode())


def record(model_path: str, arena: int) -> None:
    """Initialise in ``arena`` bytes, invoke once, and let TFLite Micro print its allocations on fd 2."""
    from tflite_micro.python.tflite_micro import runtime

    with open(model_path, "rb") as f:
        model = f.read()
    interp = runtime.Interpreter.from_bytes(model, arena_size=arena)
    _zeros_invoke(interp)
    sys.stderr.flush()
    interp.print_allocations()
    _say("ok")


def bisect(model_path: str, lo: int, hi: int, guesses: list[int], step: int = 16) -> None:
    """Bisect between a failing ``lo`` and a working ``hi`` (multiples of ``step``), in this process.

    ``guesses`` are probed first (when still between lo and hi) to narrow the range
    cheaply. Prints ``try N`` before each probe and ``ok N`` or ``fail N`` after it.
    """
    from tflite_micro.python.tflite_micro import runtime

    with open(model_path, "rb") as f:
        model = f.read()
    pending = list(guesses)
    while hi - lo > step:
        mid = 0
        while pending and not lo < mid < hi:
            mid = pending.pop(0)
        if not lo < mid < hi:
            mid = max((lo + hi) // 2 // step * step, lo + step)
        _say(f"try {mid}")
        try:
            interp = runtime.Interpreter.from_bytes(model, arena_size=mid)
            _zeros_invoke(interp)
            del interp
            ok = True
        except Exception:  # noqa: BLE001 - any refusal at this size means "does not work"
            ok = False
        _say(f"{'ok' if ok else 'fail'} {mid}")
        if ok:
            hi = mid
        else:
            lo = mid


if __name__ == "__main__":
    if sys.argv[1] == "--record":
        record(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "--bisect":
        bisect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), [int(v) for v in sys.argv[5:]])
    else:
        main(sys.argv[1], sys.argv[2])
