"""Fixtures of the emulated-board tests: the firmware, built once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from boardkit import PERSON
from microtf_host import qemu


@pytest.fixture(scope="session")
def firmware() -> Path:
    """Build the firmware once per session (fetches MicroPython's source on first use)."""
    elf = qemu.build()
    size = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True)
    assert size.returncode == 0 and "firmware.elf" in size.stdout
    return elf


@pytest.fixture(scope="session")
def frozen_firmware() -> Path:
    """A variant with person_detect (300 KB, more than the GC heap) linked into flash."""
    return qemu.build((PERSON,), "firmware-person")
