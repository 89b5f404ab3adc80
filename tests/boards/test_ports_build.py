"""`make firmware` for real boards drives MicroPython's documented build interfaces.

ESP-IDF, the Pico SDK and GitHub are out of reach here, so MicroPython is a stand-in tree whose
port Makefiles, idf.py and cmake record how they were called: the test checks that the board's
MicroPython board, USER_C_MODULES (absolute), the frozen manifest, MICROTF_OPS and the arena
reach the port, and that the firmware lands in build/<board>/.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from microtf_host.paths import ROOT
from portskit import GESTURE_OPS, run_make

RECORD = (
    'echo "$(notdir $(CURDIR)) $@ BOARD=$(BOARD) VARIANT=$(VARIANT) BUILD=$(BUILD) '
    "USER_C_MODULES=$(USER_C_MODULES) FROZEN_MANIFEST=$(FROZEN_MANIFEST) "
    'MICROTF_OPS=$(MICROTF_OPS) MICROTF_ARENA_SIZE=$(MICROTF_ARENA_SIZE) MICROTF_OPT=$(MICROTF_OPT)" >> $(LOG)'
)


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)


def _fake_micropython(tmp: Path) -> tuple[Path, Path, Path]:
    """(MicroPython tree, bin directory for PATH, log of calls)."""
    mpy, fakebin, log = tmp / "micropython", tmp / "fakebin", tmp / "calls.log"
    for d in ("py", "mpy-cross", "ports/unix", "ports/esp32", "ports/rp2", "lib/pico-sdk"):
        (mpy / d).mkdir(parents=True)
    fakebin.mkdir()
    (mpy / "py" / "mkenv.mk").write_text("")
    (mpy / "lib" / "pico-sdk" / "pico_sdk_init.cmake").write_text("")
    recipe = f"LOG := {log}\nall submodules:\n\t@{RECORD}\n"
    (mpy / "mpy-cross" / "Makefile").write_text(recipe)
    (mpy / "ports" / "esp32" / "Makefile").write_text(recipe)
    (mpy / "ports" / "rp2" / "Makefile").write_text(recipe)
    (mpy / "ports" / "unix" / "Makefile").write_text(
        f"LOG := {log}\nall:\n\t@{RECORD}\n\t@mkdir -p $(BUILD) && echo ELF > $(BUILD)/micropython\n"
        f"submodules:\n\t@{RECORD}\n"
    )
    _script(
        fakebin / "idf.py",
        f'if [ "$1" = --version ]; then echo "ESP-IDF v5.4.1"; exit 0; fi\n'
        f'echo "idf.py $PWD $*" >> {log}\n'
        'while [ $# -gt 0 ]; do [ "$1" = -B ] && out=$2; shift; done\n'
        'mkdir -p "$out" && echo BIN > "$out/firmware.bin" && echo ELF > "$out/micropython.elf"\n',
    )
    _script(
        fakebin / "cmake",
        f'echo "cmake $*" >> {log}\n'
        'if [ "$1" = --build ]; then echo UF2 > "$2/firmware.uf2"; echo ELF > "$2/firmware.elf"; fi\n'
        'while [ $# -gt 0 ]; do [ "$1" = -B ] && mkdir -p "$2"; shift; done\n',
    )
    return mpy, fakebin, log


def _build(tmp_path: Path, board: str, ops: str, *extra: str) -> tuple[list[str], Path, str]:
    mpy, fakebin, log = _fake_micropython(tmp_path)
    build = tmp_path / "build"
    proc = run_make(
        [
            "firmware",
            f"BOARD={board}",
            f"MICROPY_DIR={mpy}",
            f"PORTS_BUILD={build}",
            f"MICROTF_OPS={ops}",
            *extra,
        ],
        f"{fakebin}:/usr/bin:/bin",
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    return log.read_text().splitlines(), build, out


def _ops_value(line: str, key: str) -> str:
    for word in shlex.split(line):
        if word.startswith(key + "="):
            return word.split("=", 1)[1]
    raise AssertionError(f"{key} not in {line}")


def test_unix_port_build(tmp_path):
    calls, build, out = _build(tmp_path, "unix", "auto")
    assert "mpy-cross all" in "\n".join(calls)
    assert any(c.startswith("unix submodules") for c in calls)
    (port,) = [c for c in calls if c.startswith("unix all")]
    assert f"USER_C_MODULES={ROOT}/firmware " in port  # absolute, the directory holding binding/
    assert f"FROZEN_MANIFEST={ROOT}/boards/unix/manifest.py" in port
    assert "VARIANT=standard" in port and "MICROTF_ARENA_SIZE=1048576" in port
    assert _ops_value(port, "MICROTF_OPT") == "-O2"  # the engine's optimisation on top of -Os
    assert _ops_value(port, "MICROTF_OPS") == ",".join(GESTURE_OPS)
    assert (build / "unix" / "micropython").exists()
    frozen = ROOT / "build" / "unix" / "frozen"
    assert {p.name for p in frozen.glob("*.py")} >= {"microtf_board.py", "gesture_int8.py", "sine_int8.py"}
    assert "saved" in out  # the engine size saved by MICROTF_OPS is reported


@pytest.mark.parametrize(("board", "mp_board"), [("esp32", "ESP32_GENERIC"), ("esp32s3", "ESP32_GENERIC_S3")])
def test_esp32_build_with_idf(tmp_path, board, mp_board):
    calls, build, _ = _build(tmp_path, board, "")
    (idf,) = [c for c in calls if c.startswith("idf.py")]
    assert idf.split()[1].endswith("/ports/esp32")
    assert f"-D MICROPY_BOARD={mp_board}" in idf
    assert f"-D USER_C_MODULES={ROOT}/firmware/micropython.cmake" in idf
    assert f"-D MICROPY_FROZEN_MANIFEST={ROOT}/boards/{board}/manifest.py" in idf
    assert "-D MICROTF_OPS= " in idf  # empty: every operator (the default)
    assert "-D MICROTF_OPT=-O2 " in idf
    assert idf.endswith(" build")
    assert (build / board / "firmware.bin").exists()


def test_rp2_build_with_cmake(tmp_path):
    calls, build, _ = _build(tmp_path, "rp2", "fully_connected", "PORTS_SIZE_REPORT=0", "MICROTF_OPT=-O3")
    (configure,) = [c for c in calls if c.startswith("cmake -S")]
    assert configure.endswith("-DMICROTF_OPT=-O3")
    assert "-DMICROPY_BOARD=RPI_PICO" in configure
    assert f"-DUSER_C_MODULES={ROOT}/firmware/micropython.cmake" in configure
    assert "-DMICROTF_OPS=fully_connected" in configure and "-DMICROTF_ARENA_SIZE=65536" in configure
    assert any(c.startswith("cmake --build") for c in calls)
    assert (build / "rp2" / "firmware.uf2").exists()
