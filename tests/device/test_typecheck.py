"""firmware/microtf type-checks against MicroPython's stubs for each port (mypy).

Each stub package goes into its own folder under build/typings/ (they write the
same top-level files). The test installs a missing set with pip and skips only
when that install fails (no network and no cached wheel).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mpkit import ROOT

TYPINGS = ROOT / "build" / "typings"
PINS = {
    line.split("==")[0]: line.strip()
    for line in (ROOT / "requirements-stubs.txt").read_text().splitlines()
    if "==" in line and not line.startswith("#")
}
PORTS = {"esp32": "micropython-esp32-stubs", "unix": "micropython-unix-stubs"}
BOARD_USAGE = Path(__file__).parent / "typecheck" / "board_usage.py"


def stubs(port: str) -> Path:
    folder = TYPINGS / port
    if not (folder / "machine.pyi").exists():
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--target",
                str(folder),
                PINS[PORTS[port]],
                PINS["micropython-stdlib-stubs"],
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0 or not (folder / "machine.pyi").exists():
            pytest.skip(f"MicroPython stubs could not be installed: {proc.stderr.strip()[-300:]}")
    return folder


def mypy(port: str, *paths: Path) -> subprocess.CompletedProcess:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is not installed: .venv/bin/pip install " + PINS["mypy"])
    folder = stubs(port)
    env = dict(os.environ, MYPYPATH=f"{folder}")
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "firmware" / "mypy.ini"),
        "--custom-typeshed-dir",
        str(folder),
        "--cache-dir",
        str(ROOT / "build" / f"mypy_cache_{port}"),
        *map(str, paths),
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("port", sorted(PORTS))
def test_device_package_type_checks(port):
    proc = mypy(port, ROOT / "firmware" / "microtf")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout


def test_drivers_accept_a_real_machine_i2c():
    # Under the esp32 stubs, the drivers must take machine.I2C / machine.ADC.
    # mypy follows the imports into the modules used (not the whole package).
    proc = mypy("esp32", BOARD_USAGE)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        "from machine import I2C\n\ni2c = I2C(0)\ni2c.readfrom_mem_intoo(0x68, 0x3B, bytearray(14))\n"
    )
    proc = mypy("esp32", bad)
    assert proc.returncode != 0 and "readfrom_mem_intoo" in proc.stdout
    # ...and a "bus" without the methods the drivers call is refused by the drivers' signature.
    bad.write_text(
        "from microtf.drivers.mpu6050 import MPU6050\n\n\n"
        "class NotABus:\n    def scan(self) -> list[int]: ...\n\n\nMPU6050(NotABus())\n"
    )
    proc = mypy("esp32", ROOT / "firmware" / "microtf", bad)
    assert proc.returncode != 0 and "NotABus" in proc.stdout
