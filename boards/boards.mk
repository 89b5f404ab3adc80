# Board targets, included by the top-level Makefile.
#   make firmware BOARD=qemu_m4             build build/qemu_m4/firmware.elf (with _microtf)
#        [MICROTF_OPS=conv_2d,...] [MODELS="a.tflite ..." FIRMWARE=name] (see boards/qemu_m4/Makefile)
#   make flash|repl BOARD=qemu_m4           boot it under qemu-system-arm, REPL on this terminal
#   make run BOARD=qemu_m4 SCRIPT=app.py    run a script there; exits with the script's status
# Paths on the emulated board are the host's, relative to the directory make runs in.
BOARD ?= qemu_m4
MICROTF_OPS ?=
QEMU_TIMEOUT ?= 600

.PHONY: firmware flash repl run

ifeq ($(BOARD),qemu_m4)
firmware:
	@boards/qemu_m4/fetch_micropython.sh $(CURDIR)/build >/dev/null
	$(MAKE) -C boards/qemu_m4 MICROTF_OPS=$(MICROTF_OPS)

# Both go through microtf_host.qemu, the one place that knows QEMU's command line.
flash repl: firmware
	@$(PY) -m microtf_host.qemu repl

run: firmware
	@test -n "$(SCRIPT)" || { echo "usage: make run BOARD=qemu_m4 SCRIPT=app.py"; exit 2; }
	@$(PY) -m microtf_host.qemu run --timeout $(QEMU_TIMEOUT) $(SCRIPT)
else ifeq ($(filter $(BOARD),esp32 esp32s3 rp2 unix),)
firmware flash repl run:
	@echo "unknown BOARD=$(BOARD) (known: qemu_m4, esp32, esp32s3, rp2, unix)"; exit 2
endif

# Real boards (esp32, esp32s3, rp2, unix): MicroPython's own ports with _microtf.
include boards/ports.mk
