"""The emulated board: MicroPython with ``_microtf`` on a Cortex-M4F under QEMU (``mps2-an386``).

    from microtf_host import qemu
    status, out = qemu.run_script("print(1 + 1)")            # source text
    status, out = qemu.run_script(Path("app.py"), timeout=60)  # a host file

The board reads files (imports, ``open``) from the host through semihosting; paths are the host's,
relative to ``cwd``. A script's exit status is QEMU's: 0, ``sys.exit(n)``'s n, 1 after an uncaught
exception, 2 when the script cannot be opened, 98 when a memory canary was overwritten, 99 on a CPU
fault. The firmware is built once per process (``make firmware BOARD=qemu_m4``, incremental).

As a command (what ``make run/repl BOARD=qemu_m4`` call):
    python -m microtf_host.qemu run [--icount] [--timeout S] [-p DIR]... SCRIPT [ARGS...]
    python -m microtf_host.qemu repl
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import MicrotfError
from .paths import BUILD, ROOT

ELF = BUILD / "qemu_m4" / "firmware.elf"
EXIT_CANARY = 98
EXIT_FAULT = 99


class QemuTimeout(MicrotfError):
    """The emulated board did not finish in time (its output so far is in ``output``)."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


@functools.cache
def build(models: tuple[Path, ...] = (), name: str = "firmware") -> Path:
    """Build (or bring up to date) build/qemu_m4/NAME.elf; once per process and arguments.

    ``models`` are .tflite files linked into flash (the ``frozen_models`` module); variants
    with other models (another ``name``) share every other object. Builds are serialised with a
    lock file, so parallel test workers never run make in one tree at once.
    """
    cmd = ["make", "-j2", "-C", str(ROOT), "firmware", "BOARD=qemu_m4", f"FIRMWARE={name}"]
    cmd.append("MODELS=" + " ".join(str(Path(m).resolve()) for m in models))
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / "qemu_m4.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise MicrotfError(f"qemu_m4 firmware build failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return BUILD / "qemu_m4" / f"{name}.elf"


def command(args: list[str], icount: bool = False, elf: Path = ELF) -> list[str]:
    """QEMU's command line: console on the UART (stdio), files and exit status over semihosting."""
    if any(" " in a or "," in a for a in args):
        raise MicrotfError(f"qemu_m4: paths and arguments must not contain spaces or commas: {args}")
    semi = ",".join(["enable=on", "target=native", "arg=firmware"] + [f"arg={a}" for a in args])
    cmd = ["qemu-system-arm", "-machine", "mps2-an386", "-display", "none", "-monitor", "none"]
    cmd += ["-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con"]
    cmd += ["-semihosting-config", semi, "-kernel", str(elf)]
    if icount:
        # One instruction = 1 ns of virtual time, and idle time (WFI) skipped instead of
        # following the host clock: tick counts repeat exactly run to run.
        cmd += ["-icount", "shift=0,sleep=off"]
    return cmd


def run_script(
    script: str | Path,
    timeout: float = 60,
    icount: bool = False,
    path: list[str | Path] | None = None,
    args: list[str] | None = None,
    cwd: str | Path | None = None,
    elf: Path | None = None,
) -> tuple[int, str]:
    """Run a script on the emulated board; return (exit status, console output with \\n line ends).

    ``script`` is a host file when a Path, else MicroPython source text. ``path`` entries go
    before the script's directory on ``sys.path``. ``elf`` defaults to the standard build.
    Raises QemuTimeout after ``timeout`` seconds.
    """
    elf = elf or build()
    with tempfile.TemporaryDirectory(dir=elf.parent, prefix="run-") as tmp:
        if isinstance(script, Path):
            script_path = script
        else:
            script_path = Path(tmp) / "main.py"
            script_path.write_text(script)
        argv = [a for p in (path or []) for a in ("-p", str(p))] + [str(script_path)] + list(args or [])
        # An outer `timeout` as well, so QEMU cannot outlive a killed Python.
        cmd = ["timeout", "--kill-after=2", str(timeout)] + command(argv, icount, elf)
        try:
            proc = subprocess.run(
                cmd, stdin=subprocess.DEVNULL, capture_output=True, cwd=cwd, timeout=timeout + 10
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace")
            raise QemuTimeout(f"qemu_m4: no exit after {timeout} s", out) from None
        out = proc.stdout.decode(errors="replace").replace("\r\n", "\n")
        if proc.returncode in (124, 137):
            raise QemuTimeout(f"qemu_m4: no exit after {timeout} s", out)
        return proc.returncode, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m microtf_host.qemu", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    run = sub.add_parser("run", help="run a script and exit with its status")
    run.add_argument("--icount", action="store_true", help="deterministic virtual time")
    run.add_argument("--timeout", type=float, default=600)
    run.add_argument("-p", dest="path", action="append", default=[], help="prepend to sys.path")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("repl", help="the REPL on this terminal (Ctrl-D on an empty line exits)")
    opts = parser.parse_args(argv)
    try:
        build()
        if opts.what == "repl":
            print("qemu_m4: REPL on this terminal; Ctrl-D on an empty line exits", file=sys.stderr)
            return subprocess.call(command([]))
        argv_board = [a for p in opts.path for a in ("-p", p)] + [opts.script] + opts.args
        cmd = ["timeout", "--foreground", str(opts.timeout)] + command(argv_board, opts.icount)
        return subprocess.call(cmd, stdin=None if os.isatty(0) else subprocess.DEVNULL)
    except MicrotfError as exc:
        print(f"microtf: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
