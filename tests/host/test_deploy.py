"""deploy / run / repl on the virtual board: the Unix port behind socat's pty, through real mpremote.

Each test starts a fresh board (imports are cached for a whole Unix-port session).
"""

from __future__ import annotations

import hashlib
import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hostkit import MICROTF, ROOT, one_error_line
from microtf_host.deploy import PACKAGE, Device, check, deploy, package_files, run_script
from microtf_host.errors import MicrotfError
from microtf_host.virtual import VirtualBoard, _alive, _children

SINE = ROOT / "models" / "sine" / "sine_int8.tflite"
GESTURE = ROOT / "models" / "gesture" / "gesture_int8.tflite"

pytestmark = pytest.mark.timeout(60)

APP = """\
import microtf
f = open('models/sine/sine_int8.tflite', 'rb')
data = f.read()
f.close()
print('app', microtf.__version__, len(data), data[4:8])
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _small_package(tmp_path: Path) -> Path:
    """A stand-in device package with the things deploy must leave behind (tests, caches)."""
    pkg = tmp_path / "microtf"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "tests").mkdir()
    (pkg / "__pycache__").mkdir()
    (pkg / "__init__.py").write_text("__version__ = 'small'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("X = 42\n")
    (pkg / "tests" / "test_a.py").write_text("raise SystemExit\n")
    (pkg / "test_b.py").write_text("raise SystemExit\n")
    (pkg / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0" * 8)
    return pkg


def _stream_of(dev: Device, script: Path, args: list[str] | None = None) -> tuple[int, str]:
    import io

    out = io.StringIO()
    status = run_script(dev, script, out=out, args=args)
    return status, out.getvalue()


@pytest.mark.slow
def test_deploy_virtual_package_app_model_and_corruption(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    # A copy of the real device package: others may be editing it while this test runs.
    pkg = Path(shutil.copytree(PACKAGE, tmp_path / "microtf", ignore=shutil.ignore_patterns("__pycache__")))
    with VirtualBoard() as board:
        dev = Device(board.port, virtual=True)
        done = deploy(dev, model=SINE, app=app, package=pkg)
        assert done.checked and done.copied == done.items
        remotes = {i.remote for i in done.items}
        # The whole device package, the app, the model with its manifest (sine has no labels.txt).
        assert {
            "microtf/__init__.py",
            "microtf/store.py",
            "app.py",
            "models/sine/sine_int8.tflite",
        } <= remotes
        assert "models/sine/manifest.json" in remotes
        assert len(package_files(pkg)) + 3 == len(done.items) > 10
        for item in done.items:
            assert _sha(board.root / item.remote) == _sha(item.local), item.remote
        # The app runs there against what was deployed.
        status, out = _stream_of(dev, app)
        assert status == 0, out
        assert f"app 0.1.0 {SINE.stat().st_size} b'TFL3'" in out
        # Corrupt the model ON the device (one byte, same length): the check must see it.
        dev.exec(
            "f = open('models/sine/sine_int8.tflite', 'r+b')\nf.seek(100)\nb = f.read(1)\n"
            "f.seek(100)\nf.write(bytes([b[0] ^ 1]))\nf.close()"
        )
        with pytest.raises(MicrotfError, match=r"models/sine/sine_int8.tflite differs on the device"):
            check(dev, done.items)
        # Deploying again copies only what differs, and repairs it.
        again = deploy(dev, model=SINE, app=app, package=pkg)
        assert [i.remote for i in again.copied] == ["models/sine/sine_int8.tflite"]
        assert again.checked and _sha(board.root / "models/sine/sine_int8.tflite") == _sha(SINE)
        # A port without hashlib: the check falls back to the package's pure-Python SHA-256 (and still
        # catches a change); without that too, it says it could not check.
        small = [i for i in again.items if i.remote.startswith("models/") or i.remote == "app.py"]
        dev.exec("import sys\nsys.modules['hashlib'] = None")
        assert check(dev, small) is True
        dev.exec("f = open('app.py', 'a')\nf.write('#')\nf.close()")
        with pytest.raises(MicrotfError, match="app.py differs on the device"):
            check(dev, small)
        dev.exec("import sys\nsys.modules['microtf._hash'] = None")
        assert check(dev, small) is False
        # A file removed on the device is reported as missing.
        dev.exec("import sys\nsys.modules.pop('hashlib')")
        dev.exec("import os\nos.remove('app.py')")
        with pytest.raises(MicrotfError, match="app.py is missing"):
            check(dev, [i for i in done.items if i.remote == "app.py"])


@pytest.mark.slow
def test_deploy_cli_virtual_dir(tmp_path):
    pkg = _small_package(tmp_path)
    app = tmp_path / "blink.py"
    app.write_text("print('blink')\n")
    fs = tmp_path / "fs"
    proc = subprocess.run(
        [
            str(MICROTF),
            "deploy",
            str(GESTURE),
            "--app",
            str(app),
            "--main",
            "--package",
            str(pkg),
            "--traces",
            "--virtual-dir",
            str(fs),
        ],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SHA-256 checked on the device: all files match" in proc.stdout
    files = sorted(p.relative_to(fs).as_posix() for p in fs.rglob("*") if p.is_file())
    assert files == [
        "main.py",
        "microtf/__init__.py",
        "microtf/sub/__init__.py",
        "microtf/sub/mod.py",
        "models/gesture/gesture_int8.tflite",
        "models/gesture/labels.txt",
        "models/gesture/manifest.json",
        "models/gesture/traces/circle.npy",
        "models/gesture/traces/idle.npy",
        "models/gesture/traces/punch.npy",
        "models/gesture/traces/wave.npy",
    ]
    assert (fs / "main.py").read_text() == "print('blink')\n"
    assert _sha(fs / "models/gesture/gesture_int8.tflite") == _sha(GESTURE)
    # The board is gone afterwards, its files stay: a second board on the same directory runs them.
    script = tmp_path / "use.py"
    script.write_text(
        "import microtf.sub.mod as m\nprint('mod', m.X, open('models/gesture/labels.txt').read().split())\n"
    )
    proc = subprocess.run(
        [str(MICROTF), "run", str(script), "--virtual-dir", str(fs)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mod 42 ['idle', 'wave', 'punch', 'circle']" in proc.stdout


def test_run_output_and_exit_status(tmp_path):
    scripts = {
        "ok": "for i in range(3):\n    print('line', i * 7)\nprint('no newline', end='')\n",
        "boom": "print('before')\nraise ValueError('boom here')\n",
        "exit": "import sys\nprint('bye')\nsys.exit(3)\n",
        "marker": "print('__microtf_exit__ 5 is just text')\n",
        "argv": "import sys\nprint(sys.argv)\n",
    }
    paths = {}
    for name, text in scripts.items():
        paths[name] = tmp_path / f"{name}.py"
        paths[name].write_text(text)
    with VirtualBoard() as board:
        dev = Device(board.port, virtual=True)
        status, out = _stream_of(dev, paths["ok"])
        assert (status, out) == (0, "line 0\nline 7\nline 14\nno newline")
        status, out = _stream_of(dev, paths["boom"])
        assert status == 1
        assert out.startswith("before\n") and "ValueError: boom here" in out
        status, out = _stream_of(dev, paths["exit"])
        assert (status, out) == (3, "bye\n")
        # sys.exit did not end the Unix port: the board still answers.
        assert board.alive()
        status, out = _stream_of(dev, paths["marker"])
        assert (status, out) == (0, "__microtf_exit__ 5 is just text\n")
        status, out = _stream_of(dev, paths["argv"], ["--trace", "wave"])
        assert (status, out) == (0, "['argv.py', '--trace', 'wave']\n")
    # Through the command: the script's status is microtf's; arguments after -- are the script's.
    proc = subprocess.run(
        [str(MICROTF), "run", str(paths["argv"]), "x", "--virtual", "--", "--flag", "y"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "['argv.py', 'x', '--flag', 'y']\n", "")
    proc = subprocess.run(
        [str(MICROTF), "run", str(paths["exit"]), "--virtual"], capture_output=True, text=True, timeout=30
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "bye\n", "")


def _read_until(fd: int, needle: bytes, timeout: float = 10.0) -> bytes:
    """Read until ``needle`` shows up (line ends compared without their CRs)."""
    got = b""
    deadline = time.monotonic() + timeout
    while needle not in got.replace(b"\r", b""):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} in {got!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            got += chunk
    assert needle in got.replace(b"\r", b""), got
    return got


def test_repl_typed_through_the_pty_and_no_stray_process():
    with VirtualBoard() as board:
        kids = _children(board._socat.pid)  # the Unix port (socat's child)
        assert kids
        fd = os.open(board.port, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\r")
            _read_until(fd, b">>> ")
            os.write(fd, b"1+2\r")
            got = _read_until(fd, b"3\n>>> ")
            assert b"1+2" in got  # echoed as typed
            os.write(fd, b"x = [i*i for i in range(5)]\rprint(sum(x))\r")
            _read_until(fd, b"30\n>>> ")
        finally:
            os.close(fd)
    deadline = time.monotonic() + 3
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(k) for k in kids)
    assert not Path(board.port or "/nonexistent").exists()


def test_repl_command_on_a_terminal():
    """``microtf repl --virtual`` with a pty as its terminal: type at >>>, read back, leave with Ctrl-]."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(MICROTF), "repl", "--virtual"], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    try:
        _read_until(master, b"Ctrl-]")
        os.write(master, b"\r")
        _read_until(master, b">>> ")
        os.write(master, b"6*7\r")
        _read_until(master, b"42\n>>> ")
        os.write(master, b"\x1d")  # Ctrl-]: leave mpremote's REPL
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "{script}", "--port", "/dev/no-such-tty"],
        ["deploy", "--app", "{script}", "--port", "/dev/no-such-tty"],
        ["repl", "--port", "/dev/no-such-tty"],
        ["run", "{script}", "--port", "/dev/null"],
        ["run", "{script}"],
        ["run", "{script}", "--board", "esp32"],
        ["deploy", "{script}", "--virtual"],
        ["run", "{script}", "--board", "virtual", "--port", "/dev/null"],
    ],
)
def test_bad_port_or_target_is_one_line(tmp_path, argv):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    argv = [a.replace("{script}", str(script)) for a in argv]
    proc = subprocess.run([str(MICROTF), *argv], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert proc.stdout == ""
    if "/dev/no-such-tty" in argv:
        assert "/dev/no-such-tty: no such port" in line


def test_missing_socat_or_micropython(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print(1)\n")
    venv_bin = str(Path(MICROTF).parent)
    # No socat on PATH (the venv's tools stay reachable by their full paths).
    env = dict(os.environ, PATH=venv_bin)
    proc = subprocess.run(
        [str(MICROTF), "run", str(script), "--virtual"], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode == 2
    assert "socat" in one_error_line(proc.stderr)
    env = dict(os.environ, MICROPYTHON=str(tmp_path / "no-micropython"))
    proc = subprocess.run(
        [str(MICROTF), "run", str(script), "--virtual"], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode == 2
    assert "no-micropython: no such program" in one_error_line(proc.stderr)


def test_deploy_through_mpremote_cp_for_ports_only_mpremote_resolves(tmp_path, monkeypatch):
    """Ports like ``auto`` or ``id:...`` go through ``mpremote cp`` (one process, chained) instead."""
    import microtf_host.deploy as deploy_module

    monkeypatch.setattr(deploy_module, "_device_path", lambda port: None)
    pkg = _small_package(tmp_path)
    with VirtualBoard() as board:
        dev = Device(board.port, virtual=True)
        done = deploy(dev, model=SINE, package=pkg)
        assert done.checked and len(done.copied) == 5
        for item in done.items:
            assert _sha(board.root / item.remote) == _sha(item.local), item.remote


def test_run_on_the_unix_port_directly(tmp_path):
    script = tmp_path / "u.py"
    script.write_text("import sys\nprint('unix', 6 * 7)\nsys.exit(4)\n")
    proc = subprocess.run(
        [str(MICROTF), "run", str(script), "--board", "unix"], capture_output=True, text=True, timeout=30
    )
    assert (proc.returncode, proc.stdout) == (4, "unix 42\n")


def _descendants(pid: int) -> list[int]:
    out = []
    for kid in _children(pid):
        out += [kid, *_descendants(kid)]
    return out


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_killed_command_leaves_no_board_behind(tmp_path, how):
    """socat, the Unix port and mpremote all go when ``microtf run --virtual`` is stopped mid-script."""
    import signal

    script = tmp_path / "long.py"
    script.write_text("import time\nprint('started')\nwhile True:\n    time.sleep(0.05)\n")
    # A killed command cannot remove its temporary directory: keep it in the test's.
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        [str(MICROTF), "run", str(script), "--virtual"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"started\n"
        family = _descendants(proc.pid)
        names = {open(f"/proc/{p}/comm").read().strip() for p in family if _alive(p)}
        assert {"socat", "micropython", "mpremote"} <= names, names
        proc.send_signal(getattr(signal, how))
        code = proc.wait(timeout=10)
        assert code == (143 if how == "SIGTERM" else -9)
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in family if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
