"""`make firmware` for real boards stops at once, in one line, when a toolchain is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from portskit import bin_dir, run_make

# Tools every case keeps, so the one named tool is what is missing.
BASE_TOOLS = ["git", "cmake", "cc", "gcc", "pkg-config", "sh", "bash"]


def _assert_one_clear_line(proc, build: Path, *needles: str) -> str:
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode != 0, out
    assert len(out.splitlines()) == 1, f"not one line:\n{out}"
    assert "Traceback" not in out
    for needle in needles:
        assert needle in out, f"{needle!r} not in: {out}"
    assert not build.exists(), f"make wrote {sorted(build.rglob('*'))[:5]}"
    return out


@pytest.mark.parametrize("board", ["esp32", "esp32s3"])
@pytest.mark.parametrize("goal", ["firmware", "flash"])
def test_esp_idf_missing(tmp_path, board, goal):
    path = bin_dir(tmp_path, BASE_TOOLS)
    build = tmp_path / "build"
    proc = run_make([goal, f"BOARD={board}", f"PORTS_BUILD={build}"], str(path))
    out = _assert_one_clear_line(proc, build, "ESP-IDF v5.4", "idf.py", "export.sh", f"install.sh {board}")
    assert f"BOARD={board}" in out


def test_esp_idf_wrong_version(tmp_path):
    path = bin_dir(tmp_path, BASE_TOOLS)
    fake = path / "idf.py"
    fake.write_text("#!/bin/sh\necho 'ESP-IDF v4.4.7'\n")
    fake.chmod(0o755)
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=esp32", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "ESP-IDF v4.4", "needs ESP-IDF v5.4")


def test_arm_gcc_missing(tmp_path):
    path = bin_dir(tmp_path, BASE_TOOLS)  # no arm-none-eabi-gcc
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=rp2", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "arm-none-eabi-gcc", "gcc-arm-none-eabi")


def test_pico_sdk_missing(tmp_path):
    path = bin_dir(tmp_path, [*BASE_TOOLS, "arm-none-eabi-gcc"])
    mpy = tmp_path / "micropython"
    (mpy / "py").mkdir(parents=True)
    (mpy / "py" / "mkenv.mk").write_text("")
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=rp2", f"MICROPY_DIR={mpy}", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "Pico SDK", "submodules")


def test_host_compiler_missing(tmp_path):
    path = bin_dir(tmp_path, ["git", "sh", "bash"])
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=unix", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "cc", "build-essential")


def test_git_missing_without_micropython_dir(tmp_path):
    path = bin_dir(tmp_path, [t for t in BASE_TOOLS if t != "git"])
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=unix", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "git", "MICROPY_DIR")


def test_micropython_dir_not_a_checkout(tmp_path):
    path = bin_dir(tmp_path, BASE_TOOLS)
    build = tmp_path / "build"
    proc = run_make(["firmware", "BOARD=unix", f"MICROPY_DIR={tmp_path}", f"PORTS_BUILD={build}"], str(path))
    _assert_one_clear_line(proc, build, "not a MicroPython checkout")


def test_serial_boards_need_a_port(tmp_path):
    path = bin_dir(tmp_path, BASE_TOOLS)
    proc = run_make(["deploy", "BOARD=esp32"], str(path))
    out = (proc.stdout + proc.stderr).strip()
    assert proc.returncode != 0 and len(out.splitlines()) == 1 and "PORT=<its serial port" in out, out
