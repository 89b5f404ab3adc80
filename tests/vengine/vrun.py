"""Runs a model on the viper engine under MicroPython (driven by the tests).

    micropython vrun.py MODEL INPUTS OUTPUTS [heaplock] [reset_each] [reset_at=K]

INPUTS holds, for each step, the raw bytes of every input in order; OUTPUTS
receives, for each step, the raw bytes of every output. Prints one line
"ok steps arena ops" at the end. With heaplock, every invoke() runs under
micropython.heap_lock(). reset_at=K calls reset() before step K.
"""

import sys

import micropython
from microtf.vengine.model import VModel


def main():
    args = sys.argv[1:]
    with open(args[0], "rb") as f:
        model = f.read()
    with open(args[1], "rb") as f:
        data = f.read()
    heaplock = "heaplock" in args
    reset_each = "reset_each" in args
    reset_at = -1
    for a in args:
        if a.startswith("reset_at="):
            reset_at = int(a[9:])
    m = VModel(model)
    ins = [m.input(i) for i in range(m.input_count())]
    outs = [m.output(i) for i in range(m.output_count())]
    step = sum(len(b) for b in ins)
    steps = len(data) // step if step else 0
    res = bytearray(steps * sum(len(b) for b in outs))
    pos = 0
    src = memoryview(data)
    for k in range(steps):
        base = k * step
        for b in ins:
            n = len(b)
            b[0:n] = src[base : base + n]
            base += n
        if reset_each or k == reset_at:
            m.reset()
        if heaplock:
            micropython.heap_lock()
            try:
                m.invoke()
            finally:
                micropython.heap_unlock()
        else:
            m.invoke()
        for b in outs:
            n = len(b)
            res[pos : pos + n] = b
            pos += n
    with open(args[2], "wb") as f:
        f.write(res)
    print("ok", steps, m.arena_used, " ".join(f"{a}/{b}" for a, b in m.ops()))


main()
