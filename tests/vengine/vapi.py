"""Prints the VModel surface for a model: infos, ops, arena; and whether an
invoke under heap_lock allocates (for the float model it must)."""

import sys

import micropython
from microtf.vengine.model import VModel

with open(sys.argv[1], "rb") as f:
    m = VModel(f.read())
print("in", m.input_count(), m.input_info(0))
print("out", m.output_count(), m.output_info(0))
print("ops", m.ops())
print("arena", m.arena_used, len(m.input(0)), len(m.output(0)))
m.reset()
micropython.heap_lock()
try:
    m.invoke()
    r = "noalloc"
except MemoryError:
    r = "alloc"
micropython.heap_unlock()
print("lock", r)
