"""The mip package description matches the files, and the package imports lazily."""

import ast
import json
import re

from mpkit import FIRMWARE, run_mp

PKG = FIRMWARE / "microtf"


def test_package_json_lists_exactly_the_package_files():
    spec = json.loads((PKG / "package.json").read_text())
    on_disk = sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)
    listed = sorted(src for _dest, src in spec["urls"])
    assert listed == on_disk, "update firmware/microtf/package.json"
    for dest, src in spec["urls"]:
        assert dest == "microtf/" + src  # relative sources: mip resolves them next to package.json
    version = re.search(r'__version__ = "([^"]+)"', (PKG / "__init__.py").read_text()).group(1)
    assert spec["version"] == version


def test_init_imports_nothing_at_module_level():
    # The emulated board has only py/ modules: no os, time, machine, vfs, hashlib.
    tree = ast.parse((PKG / "__init__.py").read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert top == []


def test_import_is_lazy_on_the_unix_port():
    out = run_mp("""
import sys
import microtf
print(sorted(k for k in sys.modules))
print(microtf.__version__)
from microtf import sampler
assert microtf.sampler is sampler
print(sorted(k for k in sys.modules))
""")
    first, version, after = out.splitlines()[:3]
    assert first == "['microtf']" and version == "0.1.0"
    assert "microtf.sampler" in after


def test_sampler_and_drivers_import_only_py_modules():
    # What the sampling path needs at import time must exist without extmod/:
    # micropython.const and array are in py/; os/time/machine are imported lazily.
    for name in ("sampler.py", "sim.py", "drivers/mpu6050.py", "drivers/adxl345.py", "drivers/_bus.py"):
        tree = ast.parse((PKG / name).read_text())
        mods = set()
        for n in tree.body:
            if isinstance(n, ast.Import):
                mods |= {a.name for a in n.names}
            elif isinstance(n, ast.ImportFrom):
                mods.add(n.module or "")
        assert mods <= {"array", "micropython", "microtf.drivers"}, (name, mods)


def test_mpremote_mip_install_on_the_virtual_board(tmp_path):
    """`mpremote mip install firmware/microtf/package.json` onto the Unix port behind a pty."""
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    from mpkit import micropython_bin

    socat = shutil.which("socat")
    assert socat, "socat is missing (make setup installs it)"
    mpremote = [sys.executable, "-m", "mpremote"]
    tty = tmp_path / "tty"
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}  # only what mip installs
    bridge = subprocess.Popen(
        [socat, f"PTY,link={tty},rawer", f"EXEC:{micropython_bin()},pty,rawer,stderr,setsid,ctty"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            if tty.exists():
                break
            time.sleep(0.1)
        spec = str(PKG / "package.json")
        run = {"capture_output": True, "text": True, "timeout": 60, "cwd": tmp_path}
        proc = subprocess.run(
            [*mpremote, "connect", str(tty), "resume", "mip", "install", "--target", "lib", spec],
            check=False,
            **run,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        installed = sorted(
            p.relative_to(tmp_path / "lib").as_posix() for p in (tmp_path / "lib").rglob("*.py")
        )
        spec_urls = json.loads(Path(spec).read_text())["urls"]
        assert installed == sorted(dest for dest, _src in spec_urls)
        code = (
            "import sys; sys.path.insert(0, 'lib'); import microtf, microtf.store, microtf.sampler; "
            "print('V', microtf.__version__, microtf.__file__)"
        )
        proc = subprocess.run([*mpremote, "connect", str(tty), "resume", "exec", code], check=False, **run)
        assert "V 0.1.0 lib/microtf/__init__.py" in proc.stdout, proc.stdout + proc.stderr
    finally:
        bridge.kill()
        bridge.wait(timeout=10)
