# Frozen manifest for BOARD=unix (MicroPython's manifest.py format), given to the port as
# FROZEN_MANIFEST by `make firmware BOARD=unix`. Relative paths are relative to this file.

# What the standard variant freezes by itself (its manifest is replaced by this one).
include("$(PORT_DIR)/variants/manifest.py")
include("$(MPY_DIR)/extmod/asyncio")

# The device package, as it is in the repository.
package("microtf", base_path="../../firmware")

# Written by `python -m microtf_host.boards prepare unix` (run by `make firmware`) into
# build/unix/frozen/: microtf_board (pins, arena size, operators) and one module per model of
# board.json, made by microtf embed (keep this list equal to board.json "models": checked in CI).
module("microtf_board.py", base_path="../../build/unix/frozen")
module("gesture_int8.py", base_path="../../build/unix/frozen")
module("sine_int8.py", base_path="../../build/unix/frozen")
