"""Runs several models in one MicroPython process (one boot of the emulated
board). argv[1] is a manifest: "model inputs" per line; each inputs file
holds, per step, the raw bytes of every input. Prints "R <line> <step>
<hex of all outputs>" per step, invoke() under heap_lock."""

import sys

import micropython
from microtf.vengine.model import VModel

with open(sys.argv[1]) as f:
    jobs = [line.split() for line in f.read().split("\n") if line.strip()]
for j, (model_path, data_path) in enumerate(jobs):
    with open(model_path, "rb") as f:
        m = VModel(f.read())
    with open(data_path, "rb") as f:
        data = f.read()
    ins = [m.input(i) for i in range(m.input_count())]
    outs = [m.output(i) for i in range(m.output_count())]
    step = sum(len(b) for b in ins)
    pos = 0
    k = 0
    while pos + step <= len(data):
        for b in ins:
            for i in range(len(b)):
                b[i] = data[pos + i]
            pos += len(b)
        micropython.heap_lock()
        try:
            m.invoke()
        finally:
            micropython.heap_unlock()
        print("R", j, k, "".join(bytes(b).hex() for b in outs))
        k += 1
    m = None
