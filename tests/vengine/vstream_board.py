"""Board side of test_vengine_wakeword_board.py: for each "name steps again" line of the
manifest, loads frozen model `name` (read in place from flash), streams `steps` steps of
name.bin through it, calls reset(), streams the first `again` steps again, and prints
"R name k hex" per step, and "H name resident free arena" after each load (resident: heap
bytes the loaded model keeps). invoke() runs under heap_lock."""

import gc
import sys

import frozen_models
import micropython
from microtf.vengine import ops_act, ops_conv, ops_fc, ops_move, ops_simple, ops_state  # noqa: F401
from microtf.vengine.model import VModel

# The operator modules are imported above, so "H" reports what a model itself keeps.


def run(name, steps, again, path):
    # The inputs first: after the model, the heap may hold no contiguous block for them.
    with open(path, "rb") as f:
        data = f.read()
    gc.collect()
    before = gc.mem_alloc()
    print("B", name, gc.mem_free())
    m = VModel(frozen_models.get(name))
    gc.collect()
    print("H", name, gc.mem_alloc() - before, gc.mem_free(), m.arena_used)
    inp = m.input(0)
    out = m.output(0)
    n = len(inp)
    for k in range(steps + again):
        if k == steps:
            m.reset()
        j = k if k < steps else k - steps
        for i in range(n):
            inp[i] = data[j * n + i]
        micropython.heap_lock()
        try:
            m.invoke()
        finally:
            micropython.heap_unlock()
        print("R", name, k, bytes(out).hex())


for line in open(sys.argv[1]).read().split("\n"):
    if line:
        name, steps, again, path = line.split()
        run(name, int(steps), int(again), path)
        gc.collect()
print("done")
