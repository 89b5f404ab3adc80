# microtf - top-level commands. `make demo` and `make test` do all set-up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Debian packages the tests need (cross compilers, QEMU, the pty bridge).
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi \
                qemu-system-arm socat gcc-xtensa-lx106 picolibc-xtensa-lx106-elf cmake
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup apt venv engine test demo models bench lint clean

help:
	@echo "make demo    convert, inspect, verify and embed the example models"
	@echo "make test    the full test suite (what CI runs)"
	@echo "make bench   benchmark tables"
	@echo "make models  retrain the example models"

setup: apt venv

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt host_tools/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e host_tools
	touch $@

engine: setup
	$(MAKE) -C firmware/engine host

test: setup engine
	$(BIN)/pytest

demo: setup engine
	$(PY) -m microtf_host.demo

models: setup
	$(PY) models/sine/train.py
	$(PY) models/gesture/train.py

bench: setup engine
	$(PY) -m microtf_host.bench

lint: setup
	$(BIN)/ruff check host_tools tests models

clean:
	rm -rf build

# Boards: firmware, flash, run, repl (BOARD=qemu_m4|esp32|esp32s3|rp2|unix).
-include boards/boards.mk
