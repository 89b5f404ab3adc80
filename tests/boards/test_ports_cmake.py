"""The esp32/rp2 path of the binding: firmware/micropython.cmake in a stub CMake project.

ESP-IDF and the Pico SDK are not here, so tests/boards/stub_cmake/ stands in for the port: it
defines `usermod` as an INTERFACE library, includes firmware/micropython.cmake as USER_C_MODULES
and compiles everything it adds (the binding against MicroPython's py/ headers, the engine and the
chosen operators) into a static library with the host compiler, -Wall -Werror. The binding's qstrs
are generated the way MicroPython's build does (makeqstrdefs.py / makeqstrdata.py from the pinned
MicroPython source of boards/qemu_m4/fetch_micropython.sh).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from microtf_host.boards import all_ops
from microtf_host.paths import BUILD, ENGINE, FIRMWARE, ROOT
from portskit import GESTURE_OPS

STUB = Path(__file__).with_name("stub_cmake")
BINDING = FIRMWARE / "binding"


@pytest.fixture(scope="module")
def micropython() -> Path:
    proc = subprocess.run(
        [str(ROOT / "boards" / "qemu_m4" / "fetch_micropython.sh"), str(BUILD)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def _includes(mpy: Path) -> list[str]:
    dirs = [STUB, mpy, BINDING, ENGINE / "include", ENGINE / "src", ENGINE]
    return [f"-I{d}" for d in dirs] + ["-DMICROTF_ARENA_SIZE=65536"]


@pytest.fixture(scope="module")
def genhdr(micropython, tmp_path_factory) -> Path:
    """genhdr/qstrdefs.generated.h (core qstrs + the binding's) and an empty root_pointers.h."""
    out = tmp_path_factory.mktemp("genhdr")
    (out / "genhdr").mkdir()
    py = micropython / "py"
    pre = subprocess.run(
        ["gcc", "-E", "-DNO_QSTR", *_includes(micropython), str(BINDING / "modmicrotf.c")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (out / "qstr.i").write_text(pre.stdout)
    tool = [sys.executable, str(py / "makeqstrdefs.py")]
    subprocess.run([*tool, "split", "qstr", str(out / "qstr.i"), str(out / "qstr"), "_"], check=True)
    subprocess.run([*tool, "cat", "qstr", "_", str(out / "qstr"), str(out / "collected.h")], check=True)
    text = (py / "qstrdefs.h").read_text() + (out / "collected.h").read_text()
    wrapped = re.sub(r"^Q\(.*\)", lambda m: f'"{m.group(0)}"', text, flags=re.M)
    cpp = subprocess.run(
        ["gcc", "-E", *_includes(micropython), "-"], input=wrapped, capture_output=True, text=True, check=True
    )
    unwrapped = re.sub(r'^"(Q\(.*\))"', r"\1", cpp.stdout, flags=re.M)
    (out / "preprocessed.h").write_text(unwrapped)
    data = subprocess.run(
        [sys.executable, str(py / "makeqstrdata.py"), str(out / "preprocessed.h")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (out / "genhdr" / "qstrdefs.generated.h").write_text(data.stdout)
    (out / "genhdr" / "root_pointers.h").write_text("// no root pointers in the stub\n")
    assert "MP_QSTR_arena_used," in data.stdout  # the binding's own qstrs were collected
    return out


def _cmake(build: Path, micropython: Path, genhdr: Path, *defs: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["cmake", "-S", str(STUB), "-B", str(build), "-G", "Ninja",
         f"-DUSER_C_MODULES={FIRMWARE / 'micropython.cmake'}", f"-DMICROPY_DIR={micropython}",
         f"-DSTUB_GENHDR={genhdr}", *defs],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _members(build: Path) -> set[str]:
    lib = build / "libmicrotf_stub.a"
    names = subprocess.run(["ar", "t", str(lib)], capture_output=True, text=True, check=True).stdout.split()
    return {n.removesuffix(".o").removesuffix(".c") for n in names}


def _defined(build: Path) -> set[str]:
    nm = subprocess.run(["nm", "-g", "--defined-only", str(build / "libmicrotf_stub.a")],
                        capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {line.split()[-1] for line in nm.splitlines() if len(line.split()) == 3}


def _build(build: Path, micropython: Path, genhdr: Path, *defs: str) -> None:
    proc = _cmake(build, micropython, genhdr, *defs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(
        ["cmake", "--build", str(build)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_all_ops_configure_and_compile(micropython, genhdr, tmp_path):
    _build(tmp_path / "b", micropython, genhdr)
    members = _members(tmp_path / "b")
    core = {p.stem for p in (ENGINE / "src").glob("*.c")}
    assert {"modmicrotf", "stub", *core, *all_ops()} <= members
    defined = _defined(tmp_path / "b")
    assert "microtf_user_cmodule" in defined  # the module object, compiled against py/
    assert {f"mtf_kernel_{op}" for op in all_ops()} <= defined


def test_gesture_ops_only(micropython, genhdr, tmp_path):
    _build(
        tmp_path / "b",
        micropython,
        genhdr,
        f"-DMICROTF_OPS={','.join(GESTURE_OPS)}",
        "-DMICROTF_ARENA_SIZE=4096",
    )
    members = _members(tmp_path / "b")
    assert set(GESTURE_OPS) <= members
    assert not (set(all_ops()) - set(GESTURE_OPS)) & members
    defined = _defined(tmp_path / "b")
    assert "mtf_kernel_conv_2d" in defined and "mtf_kernel_logistic" not in defined
    flags = (tmp_path / "b" / "build.ninja").read_text()
    assert "-DMICROTF_ARENA_SIZE=4096" in flags and "-ffp-contract=off" in flags


def test_unknown_operator_stops_configure(micropython, genhdr, tmp_path):
    proc = _cmake(tmp_path / "b", micropython, genhdr, "-DMICROTF_OPS=conv_2d,lstm")
    assert proc.returncode != 0
    assert "MICROTF_OPS: no operator file" in proc.stderr and "lstm.c" in proc.stderr


def _command_of(build: Path, source: str) -> str:
    cmds = subprocess.run(
        ["ninja", "-C", str(build), "-t", "commands"], capture_output=True, text=True, check=True
    )
    return next(line for line in cmds.stdout.splitlines() if line.rstrip().endswith(source))


@pytest.mark.parametrize(
    ("defs", "engine_flag"), [((), "-O2"), (("-DMICROTF_OPT=-O3",), "-O3"), (("-DMICROTF_OPT=",), None)]
)
def test_engine_optimisation_flag(micropython, genhdr, tmp_path, defs, engine_flag):
    """The engine files get MICROTF_OPT (default -O2) on top of the port's flags; the binding does not."""
    proc = _cmake(tmp_path / "b", micropython, genhdr, "-DMICROTF_OPS=conv_2d", *defs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    engine = _command_of(tmp_path / "b", "ops/conv_2d.c").split()
    binding = _command_of(tmp_path / "b", "modmicrotf.c").split()
    assert not {"-O2", "-O3"} & set(binding)
    if engine_flag is None:
        assert not {"-O2", "-O3"} & set(engine)
    else:
        assert engine_flag in engine
