"""Prints the viper engine's plan of each model given: "head N" then "tensor offset" lines."""

import sys

from microtf.vengine.model import VModel

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        m = VModel(f.read())
    print("head", m.head_size)
    p = m.plan
    for k in range(0, len(p), 2):
        print(p[k], p[k + 1])
