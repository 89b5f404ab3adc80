"""Runs a model from byte offsets 0..3 of a larger buffer (models are read in
place, at any alignment) and prints the outputs of a few inputs for each."""

import sys

from microtf.vengine.model import VModel

with open(sys.argv[1], "rb") as f:
    raw = f.read()
for shift in range(4):
    buf = bytearray(shift) + raw
    m = VModel(memoryview(buf)[shift:])
    inp = m.input(0)
    res = []
    for k in range(8):
        for i in range(len(inp)):
            inp[i] = (i * 7 + k * 13) & 0xFF
        m.invoke()
        res.append(bytes(m.output(0)).hex())
    print(shift, " ".join(res))
