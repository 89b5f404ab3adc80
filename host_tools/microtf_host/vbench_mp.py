"""Runs ON the MicroPython Unix port (not CPython): times the viper engine on one model.

    micropython vbench_mp.py MODEL BUDGET_MS

with firmware/ on MICROPYPATH. Prints one JSON line: {"ok": true, "n": invokes timed,
"us": microseconds per invoke, "ops": {name: [calls, us]} per invoke} (medians of 5 blocks),
or {"ok": false, "why": "..."} when the engine cannot load the model.
"""

# ruff: noqa: UP031 - %-formatting: this file runs on MicroPython

import gc
import json
import sys
import time

REPS = 5


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def fill(m):
    """Deterministic non-constant inputs, so no operator takes a shortcut on zeros."""
    x = 12345
    count = m.input_count
    for i in range(count() if callable(count) else count):
        buf = m.input(i)
        for k in range(len(buf)):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            v = (x >> 16) & 0xFF
            buf[k] = v - 256 if v > 127 else v


def main():
    path, budget_us = sys.argv[1], int(sys.argv[2]) * 1000
    with open(path, "rb") as f:
        data = f.read()
    try:
        from microtf.vengine.model import VModel

        m = VModel(data)
    except (ValueError, MemoryError, NotImplementedError, TypeError) as e:
        print(json.dumps({"ok": False, "why": str(e)}))
        return
    fill(m)
    names = [op[0] for op in m.ops()]
    ops = m._ops  # subgraph 0's operators, in node order (VModel.invoke runs exactly these)
    if len(ops) != len(names):
        print(json.dumps({"ok": False, "why": "operator list and names differ"}))
        return
    # Warm-up: CALL_ONCE, first-touch of the arena, viper code paths.
    m.invoke()
    m.invoke()
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(3):
        m.invoke()
    one = max(1, time.ticks_diff(time.ticks_us(), t0) // 3)
    # Half the budget to whole invokes, half to the per-operator pass; each as REPS blocks, and
    # the median block counts (the machine may be shared: a burst of other work hits one block).
    n = max(REPS, min(2000, budget_us // 2 // one)) // REPS * REPS
    per_block = n // REPS
    gc.collect()
    blocks = []
    for _ in range(REPS):
        t0 = time.ticks_us()
        for _ in range(per_block):
            m.invoke()
        blocks.append(time.ticks_diff(time.ticks_us(), t0) / per_block)
    total = median(blocks)
    # Per operator: each node's eval() run per_block times in a row, timed as one block, so the
    # clock's own cost (and its 1 us resolution) does not swamp small operators. The inputs stay
    # as the last invoke left them; stateful operators (variables, CALL_ONCE) redo their usual work.
    per = {}
    for name in names:
        per[name] = [0, 0.0]
    gc.collect()
    for k in range(len(ops)):
        ev = ops[k].eval
        blocks = []
        for _ in range(REPS):
            t = time.ticks_us()
            for _ in range(per_block):
                ev()
            blocks.append(time.ticks_diff(time.ticks_us(), t) / per_block)
        p = per[names[k]]
        p[0] += 1
        p[1] += median(blocks)
    print(json.dumps({"ok": True, "n": n, "us": total, "ops": per}))


if __name__ == "__main__":
    main()
