"""Put microtf on a board with ``mpremote``: the device package, an app and a model, checked by SHA-256.

    from microtf_host.deploy import Device, deploy, run_script
    from microtf_host.virtual import VirtualBoard
    with VirtualBoard() as board:
        dev = Device(board.port, virtual=True)
        deploy(dev, model=Path("models/gesture/gesture_int8.tflite"), app=Path("app.py"))
        status = run_script(dev, Path("app.py"))

Layout on the device (paths relative to its working directory, which is ``/`` on a board):

    microtf/...                  the device package (firmware/microtf/**.py, no tests or caches)
    APP.py (or main.py)          the app
    models/NAME/FILE.tflite      the model, under its own file name (the manifest refers to it),
    models/NAME/manifest.json    with its manifest and labels when they sit beside it
    models/NAME/labels.txt
    models/NAME/traces/...       with ``traces``: the recorded sensor traces the manifest lists

NAME is the manifest's "name", else the file name without ``_int8``/``_float``. After copying, the
device hashes every copied file itself (``hashlib.sha256``; on ports without hashlib the package's
pure-Python SHA-256) and any difference from the host's hash is a MicrotfError.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import MicrotfError
from .paths import FIRMWARE

PACKAGE = FIRMWARE / "microtf"
MODELS_DIR = "models"
SIDE_FILES = ("manifest.json", "labels.txt")
EXIT_MARK = "\x1e__microtf_exit__ "  # starts with ASCII RS: no script prints that
MPREMOTE_TIMEOUT = 600.0


def find_mpremote() -> str:
    beside = Path(sys.executable).parent / "mpremote"
    if beside.exists():
        return str(beside)
    path = shutil.which("mpremote")
    if path is None:
        raise MicrotfError("mpremote not found: pip install mpremote")
    return path


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


class Device:
    """A board reached through ``mpremote connect PORT``. ``virtual``: the Unix port behind a pty, which
    must never be soft-reset (mpremote's reset would end it), so every command goes with ``resume``."""

    def __init__(self, port: str, virtual: bool = False) -> None:
        if not port:
            raise MicrotfError("no port given")
        # A path must exist; mpremote's own short names (a0, u0, c0, auto, id:..., port:...) pass through.
        if "/" in port and not port.startswith(("id:", "port:")) and not os.path.exists(port):
            raise MicrotfError(f"{port}: no such port")
        self.port = port
        self.virtual = virtual
        self.mpremote = find_mpremote()
        # What messages call it: the pty of a virtual board is a temporary path nobody typed.
        self.label = "virtual board" if virtual else port

    def command(self, *args: str) -> list[str]:
        cmd = [self.mpremote, "connect", self.port]
        if self.virtual:
            cmd.append("resume")
        return cmd + list(args)

    def call(self, *args: str, timeout: float = MPREMOTE_TIMEOUT) -> str:
        """Run one mpremote command line (``+`` chains several); its stdout, or MicrotfError."""
        try:
            proc = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise MicrotfError(f"{self.label}: mpremote did not finish in {timeout:g} s") from None
        if proc.returncode != 0:
            raise self.failure(proc.stdout, proc.stderr)
        return proc.stdout

    def failure(self, out: str, err: str) -> MicrotfError:
        why = _last_line(err) or _last_line(out) or "mpremote failed"
        why = why.removeprefix("mpremote: ")
        if "failed to access" in why or "no device found" in why:
            return MicrotfError(f"{self.label}: cannot open the port (no board there, or it is in use)")
        return MicrotfError(f"{self.label}: {why}")

    def exec(self, code: str, timeout: float = MPREMOTE_TIMEOUT) -> str:
        """Run MicroPython code on the device; its printed output."""
        return self.call("exec", code, timeout=timeout)


# --- what goes where -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    local: Path
    remote: str  # relative to the device's working directory, "/"-separated


def package_files(package: Path = PACKAGE) -> list[Item]:
    """The device package's .py files (no tests, no caches), under ``<package name>/`` on the device."""
    if not package.is_dir():
        raise MicrotfError(f"{package}: no such package directory")
    items = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if any(p in ("tests", "test", "__pycache__") or p.startswith(".") for p in rel.parts[:-1]):
            continue
        if rel.name.startswith("test_") or rel.name == "conftest.py":
            continue
        items.append(Item(path, f"{package.name}/{rel.as_posix()}"))
    if not items:
        raise MicrotfError(f"{package}: no .py files to deploy")
    return items


def model_name(model: Path) -> str:
    manifest = model.parent / "manifest.json"
    if manifest.exists():
        try:
            name = json.loads(manifest.read_text()).get("name")
        except (ValueError, OSError, AttributeError):
            name = None
        if isinstance(name, str) and name and "/" not in name and not name.startswith("."):
            return name
    stem = model.stem
    for suffix in ("_int8", "_float", "_quant", "_quantized"):
        stem = stem.removesuffix(suffix)
    return stem or "model"


def model_files(model: Path, name: str | None = None, traces: bool = False) -> list[Item]:
    """The .tflite and, when beside it, manifest.json and labels.txt, under ``models/NAME/``; with
    ``traces``, also the recorded sensor traces the manifest lists (inputs for simulated sensors)."""
    if not model.is_file():
        raise MicrotfError(f"{model}: no such file (model)")
    if model.read_bytes()[4:8] != b"TFL3":
        raise MicrotfError(f"{model}: not a .tflite model (no TFL3 identifier)")
    folder = f"{MODELS_DIR}/{name or model_name(model)}"
    items = [Item(model, f"{folder}/{model.name}")]
    items += [Item(model.parent / s, f"{folder}/{s}") for s in SIDE_FILES if (model.parent / s).is_file()]
    if traces:
        for rel in _manifest_traces(model.parent):
            items.append(Item(model.parent / rel, f"{folder}/{rel}"))
    return items


def _manifest_traces(folder: Path) -> list[str]:
    try:
        listed = json.loads((folder / "manifest.json").read_text()).get("traces") or []
    except (OSError, ValueError, AttributeError):
        raise MicrotfError(
            f"{folder / 'manifest.json'}: no manifest listing traces beside the model"
        ) from None
    out = []
    for entry in listed:
        rel = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/"):
            raise MicrotfError(f"{folder / 'manifest.json'}: bad trace path {rel!r}")
        if not (folder / rel).is_file():
            raise MicrotfError(f"{folder / rel}: no such file (trace listed in the manifest)")
        out.append(rel)
    return out


def plan(
    model: Path | None = None,
    app: Path | None = None,
    package: Path | None = PACKAGE,
    app_name: str | None = None,
    name: str | None = None,
    traces: bool = False,
) -> list[Item]:
    items: list[Item] = []
    if package is not None:
        items += package_files(package)
    if app is not None:
        if not app.is_file():
            raise MicrotfError(f"{app}: no such file (app)")
        items.append(Item(app, app_name or app.name))
    if model is not None:
        items += model_files(model, name, traces)
    elif traces:
        raise MicrotfError("traces come with a model: give the model too")
    if not items:
        raise MicrotfError("nothing to deploy: give a model and/or an app")
    return items


def _dirs(remotes: list[str]) -> list[str]:
    out: list[str] = []
    for r in remotes:
        parts = r.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in out:
                out.append(d)
    return out


# --- device-side code ------------------------------------------------------------------------------

_MKDIRS = """import os
for d in {dirs!r}:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""

# Hashes files on the device. hashlib where the port has it, else the package's pure-Python SHA-256.
_SHA = """try:
    from hashlib import sha256 as _H
except ImportError:
    try:
        from microtf._hash import PySHA256 as _H
    except ImportError:
        _H = None
def _hex(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return '-'
    h = _H()
    b = bytearray(512)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(memoryview(b)[:n])
    f.close()
    return ''.join('%02x' % x for x in h.digest())
if _H is None:
    print('MTFSHA none')
else:
    for p in {paths!r}:
        print('MTFSHA', _hex(p), p)
"""


def device_sha256(dev: Device | _Session, remotes: list[str]) -> dict[str, str] | None:
    """SHA-256 hex of each file as the device computes it ('-' for a missing file); None when the
    device cannot hash (no hashlib and no microtf package)."""
    out = dev.exec(_SHA.format(paths=list(remotes)))
    result: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.strip().split(" ", 2)
        if parts[:2] == ["MTFSHA", "none"]:
            return None
        if len(parts) == 3 and parts[0] == "MTFSHA":
            result[parts[2]] = parts[1]
    missing = [r for r in remotes if r not in result]
    if missing:
        raise MicrotfError(f"{dev.label}: no hash for {missing[0]} (device said: {_last_line(out)!r})")
    return result


def check(dev: Device | _Session, items: list[Item], expected: dict[str, str] | None = None) -> bool:
    """Compare the device's SHA-256 of each item with the host's (``expected[remote]``, else the host
    file's now). True when checked, False when the device cannot hash; MicrotfError naming the first
    file that differs."""
    got = device_sha256(dev, [i.remote for i in items])
    if got is None:
        return False
    for item in items:
        want = expected[item.remote] if expected else _host_sha(item.local)
        have = got[item.remote]
        if have == "-":
            raise MicrotfError(f"{dev.label}: {item.remote} is missing on the device after the copy")
        if have != want:
            raise MicrotfError(
                f"{dev.label}: {item.remote} differs on the device (sha256 {have[:16]}..., host {want[:16]}...)"
            )
    return True


@dataclass
class Deployed:
    items: list[Item]
    copied: list[Item]  # the others were already on the device, unchanged (same SHA-256)
    checked: bool  # False: the device could not compute SHA-256

    @property
    def bytes(self) -> int:
        return sum(i.local.stat().st_size for i in self.items)


def deploy(
    dev: Device,
    model: Path | None = None,
    app: Path | None = None,
    package: Path | None = PACKAGE,
    app_name: str | None = None,
    name: str | None = None,
    progress: bool = False,
    traces: bool = False,
) -> Deployed:
    """Copy package, app and model to the device with mpremote, then check every file's SHA-256 there.

    Files the device already holds with the same SHA-256 are not copied again."""
    items = plan(model, app, package, app_name, name, traces)
    # One snapshot of every file: what is copied is what is hashed, even if a file changes meanwhile.
    data = {i.remote: i.local.read_bytes() for i in items}
    want = {r: hashlib.sha256(b).hexdigest() for r, b in data.items()}
    with _Session.open(dev) as session:
        session.exec(_MKDIRS.format(dirs=_dirs([i.remote for i in items])))
        before = device_sha256(session, [i.remote for i in items])
        todo = [i for i in items if before is None or before[i.remote] != want[i.remote]]
        session.copy(todo, data, progress)
        return Deployed(items, todo, check(session, items, want))


def _host_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Session:
    """One mpremote connection for a whole deploy: mpremote's own transport (raw REPL, raw-paste flow
    control) used in-process, with bigger write chunks than ``mpremote cp``'s 256 bytes. Ports that only
    mpremote's command line knows how to find (``auto``, ``id:...``) go through ``mpremote cp`` instead."""

    def __init__(self, dev: Device, transport) -> None:
        self.dev = dev
        self.port = dev.port
        self.label = dev.label
        self.transport = transport
        # Each chunk is compiled as a bytes literal on the device: modest on boards with little RAM.
        self.chunk = 8192 if dev.virtual else 2048

    @classmethod
    def open(cls, dev: Device) -> _Session:
        device = _device_path(dev.port)
        if device is None:
            return cls(dev, None)
        try:
            from mpremote.transport import TransportError
            from mpremote.transport_serial import SerialTransport
        except ImportError:
            return cls(dev, None)
        try:
            transport = SerialTransport(device, baudrate=115200)
        except TransportError:
            raise MicrotfError(
                f"{dev.label}: cannot open the port (no board there, or it is in use)"
            ) from None
        session = cls(dev, transport)
        try:
            # Never a soft reset: it would end the virtual board, and a board needs none to take files.
            transport.enter_raw_repl(soft_reset=False)
        except Exception as exc:  # noqa: BLE001 - mpremote raises several kinds for a silent port
            session.close()
            raise MicrotfError(
                f"{dev.label}: no MicroPython REPL answers there ({_last_line(str(exc))})"
            ) from None
        return session

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        t, self.transport = self.transport, None
        if t is not None:
            try:
                t.exit_raw_repl()
            except Exception:  # noqa: BLE001 - the board may be gone already
                pass
            t.close()

    def exec(self, code: str, timeout: float = MPREMOTE_TIMEOUT) -> str:
        if self.transport is None:
            return self.dev.exec(code, timeout)
        from mpremote.transport import TransportError

        try:
            out, err = self.transport.exec_raw(code, timeout=timeout)
        except TransportError as exc:
            raise MicrotfError(
                f"{self.label}: {_last_line(str(exc)) or 'the board stopped answering'}"
            ) from None
        if err:
            raise MicrotfError(f"{self.label}: {_last_line(err.decode(errors='replace'))}")
        return out.decode(errors="replace").replace("\r\n", "\n")

    def copy(self, items: list[Item], data: dict[str, bytes], progress: bool) -> None:
        from .progress import bar

        if not items:
            return
        if self.transport is None:
            with tempfile.TemporaryDirectory(prefix="microtf-deploy-") as tmp:
                args: list[str] = []
                for k, item in enumerate(items):
                    snap = Path(tmp) / f"{k}{item.local.suffix}"  # the snapshot, not the file as it is now
                    snap.write_bytes(data[item.remote])
                    args += (["+"] if args else []) + ["cp", str(snap), ":" + item.remote]
                _copy_cli(self.dev, args, len(items), progress)
            return
        total = sum(len(data[i.remote]) for i in items)
        with bar(progress, total=total, desc="deploy", unit="B") as pb:
            for item in items:
                blob = data[item.remote]
                self.exec(f"f=open({item.remote!r},'wb')\nw=f.write")
                for i in range(0, len(blob), self.chunk):
                    chunk = blob[i : i + self.chunk]
                    self.exec(f"w({chunk!r})")
                    pb.update(len(chunk))
                self.exec("f.close()")


def _device_path(port: str) -> str | None:
    """The serial device mpremote's short names stand for; None for names only its CLI resolves."""
    if os.path.exists(port):
        return port
    for short, prefix in (("a", "/dev/ttyACM"), ("u", "/dev/ttyUSB")):
        if len(port) > 1 and port[0] == short and port[1:].isdigit():
            return prefix + port[1:]
    if len(port) > 1 and port[0] == "c" and port[1:].isdigit():
        return "COM" + port[1:]
    return None


def _copy_cli(dev: Device, args: list[str], count: int, progress: bool) -> None:
    """``mpremote cp`` for all files in one process (one connection); a bar driven by its "cp" lines."""
    from .progress import bar

    proc = subprocess.Popen(dev.command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_lines: list[str] = []
    with bar(progress, total=count, desc="deploy", unit="file") as pb:
        assert proc.stdout is not None
        for line in proc.stdout:
            out_lines.append(line)
            if line.startswith("cp "):
                pb.update(1)
    err = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise dev.failure("".join(out_lines), err)


# --- run and repl ----------------------------------------------------------------------------------

# Runs the script's text with __name__ == "__main__" and turns sys.exit(n) into a marker line: on the
# virtual board a SystemExit would end the Unix port, and mpremote reports no exit status of its own.
_RUN = """import sys
_mtf_src = {src!r}
_mtf_argv = getattr(sys, 'argv', None)
if _mtf_argv is not None:
    while _mtf_argv:
        _mtf_argv.pop()
    _mtf_argv.extend({argv!r})
try:
    exec(_mtf_src, {{'__name__': '__main__', '__file__': {name!r}}})
except SystemExit as _e:
    _c = _e.args[0] if _e.args else 0
    if _c is not None and not isinstance(_c, int):
        print(_c)
        _c = 1
    print({mark!r} + str(_c or 0))
"""


def run_script(dev: Device, script: Path, out=None, args: list[str] | None = None) -> int:
    """Run a host script on the device, streaming its output; the exit status: 0, n from sys.exit(n),
    1 after an uncaught exception (its traceback is printed). ``sys.argv`` there is [name, *args]."""
    try:
        source = script.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise MicrotfError(f"{script}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="microtf-run-") as tmp:
        wrapper = Path(tmp) / "run.py"
        wrapper.write_text(
            _RUN.format(src=source, name=script.name, mark=EXIT_MARK, argv=[script.name, *(args or [])])
        )
        proc = subprocess.Popen(
            dev.command("run", str(wrapper)), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        status = _stream(proc, out)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        code = proc.wait()
    if status is not None:
        return status
    if code != 0 and err.strip():
        # mpremote's own failure (port gone, raw REPL refused), not the script's.
        raise dev.failure("", err)
    return 1 if code else 0


def _stream(proc: subprocess.Popen, out) -> int | None:
    """Copy the process's output to ``out`` as it comes (CRLF as LF), taking out the exit marker line.

    Only text that could be the start of the marker (it begins with an ASCII record separator, which
    scripts do not print) or a lone CR waiting for its LF is held back, so lines appear as printed."""
    import codecs

    assert proc.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    status: int | None = None
    pending = ""
    while True:
        chunk = os.read(proc.stdout.fileno(), 4096)
        pending += decoder.decode(chunk, final=not chunk).replace("\r\n", "\n")
        while True:
            cut = pending.find(EXIT_MARK)
            end = pending.find("\n", cut) if cut >= 0 else -1
            if end < 0:
                break
            out.write(pending[:cut])
            try:
                status = int(pending[cut + len(EXIT_MARK) : end].strip())
            except ValueError:
                status = 1
            pending = pending[end + 1 :]
        keep = len(pending)
        if chunk:
            sep = pending.rfind(EXIT_MARK[0])
            if sep >= 0 and (EXIT_MARK.startswith(pending[sep:]) or pending.startswith(EXIT_MARK, sep)):
                keep = sep
            elif pending.endswith("\r"):
                keep -= 1
        out.write(pending[:keep])
        out.flush()
        pending = pending[keep:]
        if not chunk:
            break
    return status


def repl(dev: Device) -> int:
    """mpremote's interactive REPL on this terminal (Ctrl-] or Ctrl-X leaves it)."""
    return subprocess.call(dev.command("repl"))
