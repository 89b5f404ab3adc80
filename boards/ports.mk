# Real boards: MicroPython's own ports with _microtf and the board's frozen manifest.
#
#   make firmware BOARD=esp32|esp32s3|rp2|unix [MICROPY_DIR=...] [MICROTF_OPS=auto|a,b,...]
#   make flash    BOARD=esp32|esp32s3 [PORT=/dev/ttyUSB0] [ERASE=1]     (builds first)
#   make flash    BOARD=rp2 [UF2_DIR=/media/$USER/RPI-RP2]               (builds first)
#   make deploy   BOARD=esp32|esp32s3|rp2 PORT=... [MODEL=m.tflite] [APP=app.py]
#   make repl     BOARD=... [PORT=...]
#   make run      BOARD=... [PORT=...] SCRIPT=app.py
#   make boards-check                                  validate every board.json (CI)
#
# MicroPython comes from MICROPY_DIR when given, else it is cloned at MICROPY_TAG into
# build/micropython-<tag> (with the submodules the port needs). MICROTF_OPS: empty = every
# operator; "auto" = only those the board's frozen models use (from `microtf inspect`); or a
# comma list of ops/<kernel>.c names. Board settings live in boards/<board>/board.json and are
# read through microtf_host.boards (the same code that validates them).
# A missing toolchain stops make before anything is written, with one line naming what to install.

PORTS_BOARDS := esp32 esp32s3 rp2 unix
MICROPY_TAG ?= v1.26.0
MICROPY_REPO ?= https://github.com/micropython/micropython.git
MICROPY_DIR ?=
MICROTF_OPS ?=
# Optimisation of the engine files on top of the port's -Os (firmware/binding/micropython.mk).
MICROTF_OPT ?= -O2
PORTS_BUILD ?= $(CURDIR)/build
PORT ?=
MODEL ?=
APP ?=
SCRIPT ?=
ERASE ?=
UF2_DIR ?=
# With MICROTF_OPS set, `make firmware` also prints the engine's flash size saved (0: do not).
PORTS_SIZE_REPORT ?= 1
PORTS_PY ?= $(CURDIR)/.venv/bin/python
PORTS_REPO := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PORTS_BOARDS_PY := $(PORTS_PY) -m microtf_host.boards

.PHONY: boards-check
boards-check:
	@$(PORTS_BOARDS_PY) check

ifneq ($(filter $(BOARD),$(PORTS_BOARDS)),)

# Stop at parse time, before any file is written, when the toolchain is missing: one line.
ifneq ($(filter firmware flash,$(MAKECMDGOALS)),)
ifeq ($(wildcard $(PORTS_PY)),)
$(error microtf: $(PORTS_PY) is missing: run 'make setup' first)
endif
PORTS_PROBLEM := $(shell $(PORTS_BOARDS_PY) toolchain $(BOARD) $(MICROPY_DIR) 2>&1 >/dev/null)
ifneq ($(PORTS_PROBLEM),)
$(error $(PORTS_PROBLEM))
endif
endif

PORTS_MPY := $(if $(MICROPY_DIR),$(abspath $(MICROPY_DIR)),$(PORTS_BUILD)/micropython-$(MICROPY_TAG))
PORTS_OUT := $(PORTS_BUILD)/$(BOARD)
# port, MicroPython board and arena from board.json, read once (only for the goals that need them)
PORTS_INFO = $(or $(PORTS_INFO_CACHE),$(eval PORTS_INFO_CACHE := $(shell $(PORTS_BOARDS_PY) get $(BOARD) port micropython_board arena_size))$(PORTS_INFO_CACHE))
PORTS_PORT = $(word 1,$(PORTS_INFO))
PORTS_MP_BOARD = $(word 2,$(PORTS_INFO))
PORTS_ARENA = $(word 3,$(PORTS_INFO))
PORTS_MANIFEST := $(PORTS_REPO)/boards/$(BOARD)/manifest.py
# The operator list, worked out in the recipe's shell so a failure stops the build.
PORTS_OPS_SH = $(if $(filter auto,$(MICROTF_OPS)),$$($(PORTS_BOARDS_PY) board-ops $(BOARD)),$(MICROTF_OPS))

.PHONY: firmware flash deploy repl run ports-micropython

# Clone into a .partial directory and rename only when complete: never a half-fetched tree.
$(PORTS_BUILD)/micropython-$(MICROPY_TAG)/.fetched:
	@echo "firmware: fetching MicroPython $(MICROPY_TAG) into $(@D)"
	@rm -rf $(@D).partial
	@git clone -q --depth 1 --branch $(MICROPY_TAG) $(MICROPY_REPO) $(@D).partial \
	  || { rm -rf $(@D).partial; echo "firmware: cannot clone $(MICROPY_REPO) at $(MICROPY_TAG) (network?); give MICROPY_DIR=<a MicroPython checkout>"; exit 2; }
	@mv $(@D).partial $(@D) && touch $@

ports-micropython: $(if $(MICROPY_DIR),,$(PORTS_BUILD)/micropython-$(MICROPY_TAG)/.fetched)
	@echo "firmware: submodules of ports/$(PORTS_PORT) and mpy-cross in $(PORTS_MPY)"
	@$(MAKE) -s -C $(PORTS_MPY)/ports/$(PORTS_PORT) BOARD=$(PORTS_MP_BOARD) submodules
	@$(MAKE) -s -C $(PORTS_MPY)/mpy-cross

firmware: ports-micropython
	@set -e; \
	ops="$(PORTS_OPS_SH)"; \
	echo "firmware: BOARD=$(BOARD) ($(PORTS_MP_BOARD), MicroPython $(MICROPY_TAG)), arena $(PORTS_ARENA) B, ops: $${ops:-all}"; \
	$(PORTS_BOARDS_PY) prepare $(BOARD) "$$ops"; \
	mkdir -p $(PORTS_OUT); \
	case "$(PORTS_PORT)" in \
	esp32) \
	  cd $(PORTS_MPY)/ports/esp32 && idf.py -B $(PORTS_OUT)/build \
	    -D MICROPY_BOARD=$(PORTS_MP_BOARD) \
	    -D USER_C_MODULES=$(PORTS_REPO)/firmware/micropython.cmake \
	    -D MICROPY_FROZEN_MANIFEST=$(PORTS_MANIFEST) \
	    -D MICROTF_OPS="$$ops" -D MICROTF_ARENA_SIZE=$(PORTS_ARENA) -D MICROTF_OPT="$(MICROTF_OPT)" build; \
	  cp $(PORTS_OUT)/build/firmware.bin $(PORTS_OUT)/firmware.bin; \
	  elf=$(PORTS_OUT)/build/micropython.elf; size=xtensa-$(BOARD)-elf-size;; \
	rp2) \
	  cmake -S $(PORTS_MPY)/ports/rp2 -B $(PORTS_OUT)/build -DPICO_BUILD_DOCS=0 \
	    -DMICROPY_BOARD=$(PORTS_MP_BOARD) \
	    -DUSER_C_MODULES=$(PORTS_REPO)/firmware/micropython.cmake \
	    -DMICROPY_FROZEN_MANIFEST=$(PORTS_MANIFEST) \
	    -DMICROTF_OPS="$$ops" -DMICROTF_ARENA_SIZE=$(PORTS_ARENA) -DMICROTF_OPT="$(MICROTF_OPT)"; \
	  cmake --build $(PORTS_OUT)/build -j; \
	  cp $(PORTS_OUT)/build/firmware.uf2 $(PORTS_OUT)/firmware.uf2; \
	  elf=$(PORTS_OUT)/build/firmware.elf; size=arm-none-eabi-size;; \
	unix) \
	  $(MAKE) -C $(PORTS_MPY)/ports/unix VARIANT=standard BUILD=$(PORTS_OUT)/build \
	    USER_C_MODULES=$(PORTS_REPO)/firmware FROZEN_MANIFEST=$(PORTS_MANIFEST) \
	    MICROTF_OPS="$$ops" MICROTF_ARENA_SIZE=$(PORTS_ARENA) MICROTF_OPT="$(MICROTF_OPT)"; \
	  cp $(PORTS_OUT)/build/micropython $(PORTS_OUT)/micropython; \
	  elf=$(PORTS_OUT)/micropython; size=size;; \
	esac; \
	echo "firmware: $$elf"; if command -v $$size >/dev/null; then $$size $$elf || true; else wc -c $$elf; fi; \
	if [ -n "$$ops" ] && [ "$(PORTS_SIZE_REPORT)" != 0 ]; then $(PORTS_BOARDS_PY) size --cpu $(BOARD) --ops "$$ops" || true; fi

ifneq ($(filter esp32 esp32s3,$(BOARD)),)
flash: firmware
	@set -e; cd $(PORTS_MPY)/ports/esp32; \
	if [ -n "$(ERASE)" ]; then idf.py -B $(PORTS_OUT)/build $(if $(PORT),-p $(PORT)) erase-flash; fi; \
	idf.py -B $(PORTS_OUT)/build $(if $(PORT),-p $(PORT)) -b 460800 flash
else ifeq ($(BOARD),rp2)
flash: firmware
	@set -e; uf2=$(PORTS_OUT)/firmware.uf2; \
	dir="$(UF2_DIR)"; [ -n "$$dir" ] || for d in /media/$$USER/RPI-RP2 /run/media/$$USER/RPI-RP2; do [ -d "$$d" ] && dir=$$d; done; \
	if [ -n "$$dir" ]; then cp $$uf2 "$$dir"/ && sync && echo "flash: copied $$uf2 to $$dir"; \
	elif command -v picotool >/dev/null; then picotool load -x -f $$uf2; \
	else echo "flash: no RPI-RP2 drive: hold BOOTSEL while plugging the Pico in (or give UF2_DIR=..., or install picotool)"; exit 2; fi
else
flash: firmware
	@echo "flash: BOARD=unix has nothing to flash: $(PORTS_OUT)/micropython is the program (make repl BOARD=unix)"
endif

# deploy, repl and run go through the microtf CLI, the one place that talks to boards.
PORTS_CLI := $(PORTS_PY) -m microtf_host.cli
ifeq ($(BOARD),unix)
PORTS_WHERE := --board unix
PORTS_ENV := MICROPYTHON=$(PORTS_OUT)/micropython
else
PORTS_WHERE = $(if $(PORT),--port $(PORT),$(error BOARD=$(BOARD) needs PORT=<its serial port: /dev/ttyUSB0, /dev/ttyACM0, ...>)) --board $(BOARD)
PORTS_ENV :=
endif

deploy:
	@$(if $(filter unix,$(BOARD)),echo "deploy: BOARD=unix has the package and models frozen in; make repl BOARD=unix" && exit 2)
	@$(PORTS_CLI) deploy $(MODEL) $(if $(APP),--app $(APP)) $(PORTS_WHERE)

repl:
	@$(PORTS_ENV) $(PORTS_CLI) repl $(PORTS_WHERE)

run:
	@test -n "$(SCRIPT)" || { echo "usage: make run BOARD=$(BOARD) SCRIPT=app.py"; exit 2; }
	@$(PORTS_ENV) $(PORTS_CLI) run $(SCRIPT) $(PORTS_WHERE)

endif
