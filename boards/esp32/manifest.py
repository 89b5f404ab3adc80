# Frozen manifest for BOARD=esp32 (MicroPython's manifest.py format), given to the port as
# FROZEN_MANIFEST by `make firmware BOARD=esp32`. Relative paths are relative to this file.

# What the port freezes by itself (asyncio, the upip/mip helpers, ...).
include("$(PORT_DIR)/boards/manifest.py")

# The device package, as it is in the repository.
package("microtf", base_path="../../firmware")

# Written by `python -m microtf_host.boards prepare esp32` (run by `make firmware`) into
# build/esp32/frozen/: microtf_board (pins, arena size, operators) and one module per model of
# board.json, made by microtf embed (keep this list equal to board.json "models": checked in CI).
module("microtf_board.py", base_path="../../build/esp32/frozen")
module("gesture_int8.py", base_path="../../build/esp32/frozen")
module("sine_int8.py", base_path="../../build/esp32/frozen")
