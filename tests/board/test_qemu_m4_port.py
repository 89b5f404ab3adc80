"""The emulated board (qemu_m4) as a MicroPython port: a 32-bit Cortex-M4F under QEMU.

Boot, exit status, viper's 32-bit ints, .mpy loading, host files and imports, the REPL, ticks,
and the traps that make silent faults loud: canaries and the unaligned-access fault.
"""

from __future__ import annotations

import subprocess

import pytest
from boardkit import MPY_CROSS, ROOT, run
from microtf_host import qemu

pytestmark = pytest.mark.timeout(300)


def test_boots_runs_a_script_and_returns_its_status(firmware):
    status, out = run("import sys\nprint(1 + 1)\nsys.exit(5)\n")
    assert (status, out) == (5, "2\n")
    status, out = run("print('ok')\n")
    assert (status, out) == (0, "ok\n")


def test_uncaught_exception_gives_nonzero_status(firmware):
    status, out = run("def f():\n    raise ValueError('boom')\nf()\n")
    assert status == 1
    assert "ValueError: boom" in out and "Traceback" in out


def test_real_mcu_number_formats(firmware):
    src = (
        "import sys\n"
        "print(sys.implementation._mpy >> 10, sys.platform)\n"  # native arch 7 = armv7emsp
        "print(2 ** 100)\n"  # MPZ long ints
        "print(1.0 / 3)\n"  # single-precision float
    )
    status, out = run(src)
    assert status == 0, out
    assert out.split("\n")[:3] == ["7 qemu_m4", str(2**100), "0.33333334"]


def test_viper_wraps_at_32_bits(firmware):
    src = (
        "@micropython.viper\n"
        "def mulhi(a: int, b: int) -> int:\n"
        "    return (a * b) >> 31\n"
        "@micropython.viper\n"
        "def inc(a: int) -> int:\n"
        "    return a + 1\n"
        "print(mulhi(1 << 20, 1 << 20), inc(0x7fffffff))\n"
    )
    status, out = run(src)
    # 2^40 wraps to 0 in 32 bits (a 64-bit int would give 512); INT32_MAX + 1 wraps negative.
    assert (status, out) == (0, "0 -2147483648\n")


def test_mpy_from_mpy_cross_loads(firmware, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (tmp_path / "vmod.py").write_text(
        "@micropython.viper\ndef mulhi(a: int, b: int) -> int:\n    return (a * b) >> 31\n"
    )
    subprocess.run(
        [str(MPY_CROSS), "-march=armv7emsp", "-o", str(lib / "vmod.mpy"), str(tmp_path / "vmod.py")],
        check=True,
    )
    (tmp_path / "vmod.py").unlink()  # only the .mpy can be imported
    status, out = run(
        # (3 << 29) * 4 wraps to INT32_MIN
        "import vmod\nprint(vmod.__file__, vmod.mulhi(1 << 20, 1 << 20), vmod.mulhi(3 << 29, 4))\n",
        cwd=tmp_path,
        path=[lib],
    )
    assert (status, out) == (0, f"{lib}/vmod.mpy 0 -1\n")


def test_host_files_packages_and_open(firmware, tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("NAME = 'pkg'\n")
    (pkg / "inner.py").write_text("def f():\n    return 42\n")
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 4)
    src = (
        "import pkg, pkg.inner\n"
        "print(pkg.NAME, pkg.inner.f())\n"
        "with open('data.bin', 'rb') as f:\n"
        "    b = f.read()\n"
        "print(len(b), b[255], type(b).__name__)\n"
        "with open('pkg/__init__.py') as f:\n"
        "    print(repr(f.readline()))\n"
        "try:\n"
        "    open('missing.bin')\n"
        "except OSError as e:\n"
        "    print('OSError', e.errno)\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert (status, out) == (0, "pkg 42\n1024 255 bytes\n\"NAME = 'pkg'\\n\"\nOSError 2\n")


def test_repl_on_the_console(firmware):
    # What `make repl BOARD=qemu_m4` runs; keys arrive on the UART, Ctrl-D leaves.
    proc = subprocess.run(
        ["timeout", "30"] + qemu.command([]),
        input=b"x = 6 * 7\rx\r\x04",
        capture_output=True,
        timeout=40,
    )
    out = proc.stdout.decode().replace("\r\n", "\n")
    assert proc.returncode == 0, out
    assert ">>> x = 6 * 7\n>>> x\n42\n" in out


def test_device_package_imports_unchanged_from_the_host(firmware):
    version = (ROOT / "firmware" / "microtf" / "__init__.py").read_text().split('__version__ = "')[1]
    src = "import microtf\nprint(microtf.__version__, microtf.__file__)\n"
    status, out = run(src, path=[ROOT / "firmware"])
    assert (status, out) == (0, f"{version.split(chr(34))[0]} {ROOT}/firmware/microtf/__init__.py\n")


def test_ticks_repeat_with_icount(firmware):
    src = (
        "import time\n"
        "t0 = time.ticks_cpu()\n"
        "s = 0\n"
        "for i in range(2000):\n"
        "    s += i\n"
        "t1 = time.ticks_cpu()\n"
        "a = time.ticks_ms(); time.sleep_ms(3); b = time.ticks_ms()\n"
        "print(time.ticks_diff(t1, t0), time.ticks_diff(b, a), time.ticks_cpu())\n"
    )
    results = [run(src, icount=True) for _ in range(3)]
    assert all(status == 0 for status, _ in results), results
    counts = [[int(v) for v in out.split()] for _, out in results]
    loops = [c[0] for c in counts]
    # Instruction counts repeat (the final ticks_cpu agrees), but QEMU's SysTick reads jitter
    # by a few 25 MHz ticks (40 instructions each): measured spread 0-3 ticks in ~26800.
    assert max(loops) - min(loops) <= 5 and min(loops) > 1000, counts
    assert len({c[2] for c in counts}) <= 2, counts
    assert all(c[1] >= 2 for c in counts), counts


def test_canary_above_ram_limit_is_checked(firmware):
    # A write just past the chip's RAM lands in QEMU's larger RAM without a fault:
    # the canary there turns it into exit status 98 with a message.
    src = "@micropython.viper\ndef poke():\n    p = ptr32(0x20050000)\n    p[0] = 0\npoke()\nprint('poked')\n"
    status, out = run(src)
    assert status == qemu.EXIT_CANARY, out
    assert "poked" in out and "canary above the RAM limit overwritten" in out


def test_unaligned_word_load_faults_like_m0(firmware):
    src = (
        "b = bytearray(8)\n"
        "@micropython.viper\n"
        "def load(buf) -> int:\n"
        "    p = ptr32(uint(ptr8(buf)) + 1)\n"
        "    return p[0]\n"
        "print(load(b))\n"
    )
    status, out = run(src)
    assert status == qemu.EXIT_FAULT, out
    assert "HardFault" in out


# --- the _microtf binding --------------------------------------------------------------------------


@pytest.mark.parametrize(("opt", "engine_flag"), [(None, "-O2"), ("-O3", "-O3"), ("", None)])
def test_engine_gets_microtf_opt_on_top_of_the_ports_flags(firmware, tmp_path, opt, engine_flag):
    """micropython.mk compiles the engine with MICROTF_OPT (default -O2) after the port's -Os."""
    cmd = ["make", "-n", "-C", str(ROOT / "boards" / "qemu_m4"), f"BUILD={tmp_path}"]
    if opt is not None:
        cmd.append(f"MICROTF_OPT={opt}")
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout.splitlines()

    def flags(source: str) -> list[str]:
        line = next(x for x in lines if " -c " in x and f"{source} " in x)
        return [w for w in line.split() if w.startswith("-O")]

    assert flags("binding/modmicrotf.c") == ["-Os"]
    assert flags("engine/ops/conv_2d.c") == (["-Os", engine_flag] if engine_flag else ["-Os"])
