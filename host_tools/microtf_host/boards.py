"""Real-board configurations (boards/<name>/board.json): load, validate, operators, frozen files.

One board.json per board says which MicroPython board it builds on, the tensor arena compiled
into _microtf, the models frozen into the firmware, the default sensor pins and how to flash.
``validate`` checks it with the engine's own figures (every frozen model fits the arena by
``engine.arena_needed``; the models fit the flash budget; pins are set), ``ops_for`` turns the
models' operators (as ``microtf inspect`` lists them) into MICROTF_OPS, and ``prepare`` writes
what the board's frozen manifest freezes. boards/ports.mk calls these through the command line:

    python -m microtf_host.boards check [BOARD...]       validate (all real boards by default)
    python -m microtf_host.boards toolchain BOARD        exit 2 with one line naming what to install
    python -m microtf_host.boards ops MODEL...           MICROTF_OPS for these models
    python -m microtf_host.boards board-ops BOARD        MICROTF_OPS for the board's frozen models
    python -m microtf_host.boards prepare BOARD          write build/BOARD/frozen/ (models, microtf_board)
    python -m microtf_host.boards get BOARD FIELD...     plain fields, for the Makefile
    python -m microtf_host.boards size [--ops A,B] [--cpu cortex-m4]   engine .text, all ops vs some
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import optable
from .engine_size import BOARD_CPU, CPUS, all_ops, engine_text_size, object_text_sizes
from .errors import MicrotfError
from .paths import BUILD, ENGINE, ROOT

BOARDS_DIR = ROOT / "boards"
REAL_BOARDS = ("esp32", "esp32s3", "rp2", "unix")
PORTS = ("esp32", "rp2", "unix")
_REQUIRED = (
    "board", "port", "micropython_board", "micropython_version", "toolchain", "mpy_arch",
    "arena_size", "model_flash_budget", "models", "pins", "flash",
)  # fmt: skip
_TAG = re.compile(r"^v1\.(\d+)\.\d+$")


@dataclass
class Board:
    name: str
    port: str
    micropython_board: str
    micropython_version: str
    toolchain: dict
    mpy_arch: str
    arena_size: int
    model_flash_budget: int
    models: list[Path]
    pins: dict | None
    flash: dict
    sensors: str = ""
    directory: Path = field(default_factory=Path)

    @property
    def manifest(self) -> Path:
        return self.directory / "manifest.py"

    @property
    def frozen_dir(self) -> Path:
        return BUILD / self.name / "frozen"


def load(name: str, boards_dir: Path = BOARDS_DIR) -> Board:
    """The board's configuration; MicrotfError naming the file and field when it is malformed."""
    path = boards_dir / name / "board.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        known = ", ".join(sorted(p.parent.name for p in boards_dir.glob("*/board.json")))
        raise MicrotfError(f"unknown board '{name}' (known: {known})") from None
    except (OSError, ValueError) as exc:
        raise MicrotfError(f"{path}: cannot read ({exc})") from None
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise MicrotfError(f"{path}: missing {', '.join(missing)}")
    for key in ("arena_size", "model_flash_budget"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] <= 0:
            raise MicrotfError(f"{path}: {key} must be a positive integer of bytes, not {data[key]!r}")
    if data["port"] not in PORTS:
        raise MicrotfError(f"{path}: port must be one of {', '.join(PORTS)}, not {data['port']!r}")
    if not _TAG.match(str(data["micropython_version"])):
        raise MicrotfError(f"{path}: micropython_version must be a release tag like v1.26.0")
    models = [ROOT / m for m in data["models"]]
    return Board(
        name=name,
        port=data["port"],
        micropython_board=data["micropython_board"],
        micropython_version=data["micropython_version"],
        toolchain=data["toolchain"],
        mpy_arch=data["mpy_arch"],
        arena_size=data["arena_size"],
        model_flash_budget=data["model_flash_budget"],
        models=models,
        pins=data["pins"],
        flash=data["flash"],
        sensors=data.get("sensors", ""),
        directory=boards_dir / name,
    )


# --- the frozen manifest -----------------------------------------------------------------------------


@dataclass
class ManifestEntry:
    kind: str  # "include", "package", "module"
    name: str
    base_path: Path | None


def manifest_entries(path: Path) -> list[ManifestEntry]:
    """What a MicroPython manifest.py asks for, read by running it with recording stand-ins.

    Only this file's own calls are recorded (include() is not followed: the port's manifests live
    in MicroPython). Relative paths resolve against the manifest's directory, as MicroPython does.
    """
    entries: list[ManifestEntry] = []
    here = path.parent

    def _base(base_path: str) -> Path:
        return (here / base_path).resolve()

    def include(manifest_path: str, **_: object) -> None:
        entries.append(ManifestEntry("include", manifest_path, None))

    def package(name: str, files: object = None, base_path: str = ".", opt: object = None) -> None:
        entries.append(ManifestEntry("package", name, _base(base_path)))

    def module(name: str, base_path: str = ".", opt: object = None) -> None:
        entries.append(ManifestEntry("module", name, _base(base_path)))

    def _ignored(*_: object, **__: object) -> None:
        return None

    scope = {
        "include": include, "package": package, "module": module, "require": _ignored,
        "freeze": _ignored, "metadata": _ignored, "options": _ignored,
    }  # fmt: skip
    try:
        exec(compile(path.read_text(), str(path), "exec"), scope)  # noqa: S102 - our own manifest files
    except OSError as exc:
        raise MicrotfError(f"{path}: cannot read ({exc.strerror})") from None
    except Exception as exc:  # noqa: BLE001 - a broken manifest is a configuration error
        raise MicrotfError(f"{path}: {type(exc).__name__}: {exc}") from None
    return entries


# --- operators ---------------------------------------------------------------------------------------


def ops_for(models: list[bytes], names: list[str] | None = None) -> list[str]:
    """Kernel names (ops/<kernel>.c) that ``models`` need, sorted: what MICROTF_OPS lists.

    Read from the same operator list ``microtf inspect`` prints; an operator or version the
    engine cannot run is an error naming the model, so a board never ships a model it refuses.
    """
    from .modelinfo import describe

    table = optable.load()
    kernels: set[str] = set()
    for i, model in enumerate(models):
        label = names[i] if names else f"model {i}"
        info = describe(model, label)
        for use in info.ops:
            entry = table.get(use.code)
            if entry is None or use.name.startswith("CUSTOM") or use.version > entry.max_version:
                raise MicrotfError(f"{label}: {use.name} v{use.version} is not supported by the engine")
            kernels.add(entry.kernel)
    for kernel in kernels:
        if not (ENGINE / "ops" / f"{kernel}.c").exists():
            raise MicrotfError(f"no operator file firmware/engine/ops/{kernel}.c for MICROTF_OPS")
    return sorted(kernels)


def board_ops(board: Board) -> list[str]:
    return ops_for([_read(p) for p in board.models], [_rel(p) for p in board.models])


# --- validation --------------------------------------------------------------------------------------


@dataclass
class ModelFit:
    path: Path
    size: int
    arena_needed: int


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MicrotfError(f"{_rel(path)}: cannot read ({exc.strerror})") from None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _check_pins(board: Board) -> list[str]:
    if board.pins is None:
        return [] if board.sensors == "simulated" else ["pins: null, but sensors are not 'simulated'"]
    problems = []
    i2c = board.pins.get("i2c")
    if not isinstance(i2c, dict):
        problems.append("pins.i2c must give sda and scl")
    else:
        for key in ("sda", "scl"):
            value = i2c.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(f"pins.i2c.{key} must be a GPIO number, not {value!r}")
        if i2c.get("sda") is not None and i2c.get("sda") == i2c.get("scl"):
            problems.append("pins.i2c.sda and scl are the same pin")
    adc = board.pins.get("adc")
    if not isinstance(adc, int) or isinstance(adc, bool) or adc < 0:
        problems.append(f"pins.adc must be a GPIO number, not {adc!r}")
    return problems


def _check_manifest(board: Board) -> list[str]:
    if not board.manifest.exists():
        return [f"{_rel(board.manifest)} is missing"]
    entries = manifest_entries(board.manifest)
    problems = []
    packages = [e for e in entries if e.kind == "package" and e.name == "microtf"]
    if not packages:
        problems.append("manifest.py does not freeze package('microtf')")
    elif not (packages[0].base_path / "microtf" / "__init__.py").exists():
        problems.append(f"manifest.py: package('microtf') base_path {packages[0].base_path} has no microtf/")
    modules = {e.name for e in entries if e.kind == "module"}
    wanted = {f"{p.stem}.py" for p in board.models} | {"microtf_board.py"}
    if modules != wanted:
        problems.append(f"manifest.py freezes {sorted(modules)} but board.json models need {sorted(wanted)}")
    for e in entries:
        if e.kind == "module" and e.base_path != board.frozen_dir.resolve():
            problems.append(f"manifest.py: module {e.name} is not read from build/{board.name}/frozen")
    return problems


def validate(board: Board) -> list[ModelFit]:
    """Check the board; MicrotfError listing every problem, else the models' sizes and arenas."""
    from .engine import EngineError, arena_needed

    problems: list[str] = []
    fits: list[ModelFit] = []
    if not board.models:
        problems.append("models: no frozen model")
    for path in board.models:
        if not path.exists():
            problems.append(f"model {_rel(path)} does not exist")
            continue
        model = path.read_bytes()
        try:
            need = arena_needed(model)
        except EngineError as exc:
            problems.append(f"model {_rel(path)}: the engine refuses it ({exc.message})")
            continue
        fits.append(ModelFit(path, len(model), need))
        if need > board.arena_size:
            problems.append(
                f"model {_rel(path)} needs {need:,} bytes of arena, arena_size is {board.arena_size:,}"
            )
    total = sum(f.size for f in fits)
    if total > board.model_flash_budget:
        problems.append(
            f"models take {total:,} bytes of flash, model_flash_budget is {board.model_flash_budget:,}"
        )
    problems += _check_pins(board)
    problems += _check_manifest(board)
    if problems:
        raise MicrotfError(f"board {board.name}: " + "; ".join(problems))
    return fits


# --- frozen files ------------------------------------------------------------------------------------


def board_module(board: Board, ops: list[str]) -> str:
    """Text of microtf_board.py: what the firmware was built with, for the device package."""
    return "\n".join([
        f"# Generated from boards/{board.name}/board.json by microtf_host.boards; do not edit.",
        f"BOARD = {board.name!r}",
        f"MICROPYTHON_BOARD = {board.micropython_board!r}",
        f"ARENA_SIZE = {board.arena_size}",
        f"PINS = {board.pins!r}",
        f"MODELS = {tuple(p.stem for p in board.models)!r}",
        f"OPS = {tuple(ops)!r}",
        "",
    ])  # fmt: skip


def prepare(board: Board, ops: list[str] | None = None, out: Path | None = None) -> list[Path]:
    """Write what the board's manifest freezes: one module per model (microtf embed) and microtf_board."""
    from .embed import read_labels, write_py

    validate(board)
    out = out or board.frozen_dir
    written: list[Path] = []
    for path in board.models:
        labels_file = path.parent / "labels.txt"
        labels = read_labels(labels_file) if labels_file.exists() else None
        written += write_py(path.read_bytes(), out / f"{path.stem}.py", labels, path.name)
    target = out / "microtf_board.py"
    target.write_text(board_module(board, ops if ops is not None else all_ops()))
    written.append(target)
    return written


# --- toolchains --------------------------------------------------------------------------------------


def _idf_version() -> str | None:
    try:
        proc = subprocess.run(
            ["idf.py", "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"v(\d+\.\d+)", proc.stdout + proc.stderr)
    return f"v{match.group(1)}" if match else None


def toolchain_problem(board: Board, micropython_dir: str = "") -> str | None:
    """One line naming what to install (and which version) when the board's toolchain is missing."""
    tc = board.toolchain
    mp = f"MicroPython {board.micropython_version}"
    if board.port == "esp32":
        want = tc.get("version", "")
        if shutil.which("idf.py") is None:
            return (
                f"BOARD={board.name} needs ESP-IDF {want} (idf.py is not on PATH): install ESP-IDF {want} "
                f"(git clone -b {want} --recursive https://github.com/espressif/esp-idf.git; "
                f"./install.sh {board.name}) and run "
                f"'. esp-idf/export.sh' before make; {mp} supports ESP-IDF {', '.join(tc.get('supported', []))}"
            )
        have = _idf_version()
        if have is not None and have not in tc.get("supported", [want]):
            return f"BOARD={board.name}: idf.py is ESP-IDF {have}, {mp} needs ESP-IDF {want}: install ESP-IDF {want}"
        return None
    if board.port == "rp2":
        if shutil.which("arm-none-eabi-gcc") is None:
            return (
                f"BOARD={board.name} needs arm-none-eabi-gcc (GNU Arm Embedded, 10 or newer) on PATH: "
                "install it (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
            )
        if shutil.which("cmake") is None:
            return f"BOARD={board.name} needs CMake 3.13 or newer: install it (Debian: apt-get install cmake)"
        if micropython_dir:
            sdk = Path(micropython_dir) / "lib" / "pico-sdk" / "pico_sdk_init.cmake"
            if not sdk.exists():
                return (
                    f"BOARD={board.name} needs the Pico SDK in {sdk.parent}: run "
                    f"'make -C {micropython_dir}/ports/rp2 submodules' (the SDK version {mp} pins)"
                )
        return None
    for tool in ("cc", "pkg-config"):
        if shutil.which(tool) is None:
            return f"BOARD={board.name} needs {tool}: install build-essential pkg-config libffi-dev (Debian)"
    proc = subprocess.run(["pkg-config", "--exists", "libffi"], check=False)
    if proc.returncode != 0:
        return f"BOARD={board.name} needs libffi's headers: install libffi-dev (Debian: apt-get install libffi-dev)"
    return None


def git_problem(micropython_dir: str) -> str | None:
    if not micropython_dir and shutil.which("git") is None:
        return "fetching MicroPython needs git: install git, or give MICROPY_DIR=<a MicroPython checkout>"
    if micropython_dir and not (Path(micropython_dir) / "py" / "mkenv.mk").exists():
        return f"MICROPY_DIR={micropython_dir} is not a MicroPython checkout (no py/mkenv.mk)"
    return None


# --- command line ------------------------------------------------------------------------------------


def _cmd_check(args: list[str]) -> int:
    for name in args or REAL_BOARDS:
        board = load(name)
        fits = validate(board)
        detail = ", ".join(f"{f.path.stem} {f.arena_needed:,} B arena / {f.size:,} B" for f in fits)
        print(f"{name}: ok (arena {board.arena_size:,} B; {detail})")
    return 0


def _cmd_size(args: list[str]) -> int:
    ops, cpu, models = None, "cortex-m4", []
    it = iter(args)
    for arg in it:
        if arg == "--ops":
            ops = [o for o in next(it, "").split(",") if o]
        elif arg == "--cpu":
            cpu = next(it, "cortex-m4")
        else:
            models.append(Path(arg))
    if models:
        ops = ops_for([_read(p) for p in models], [str(p) for p in models])
    if cpu in BOARD_CPU:
        cpu = BOARD_CPU[cpu]
    if cpu not in CPUS:
        raise MicrotfError(f"--cpu must be a board or one of {', '.join(CPUS)}")
    sizes = object_text_sizes(cpu)
    full = engine_text_size(None, cpu, sizes)
    some = engine_text_size(ops, cpu, sizes)
    print(f"engine .text ({cpu}, -Os): all {len(all_ops())} ops {full:,} B; "
          f"{len(ops or all_ops())} ops ({','.join(ops or all_ops())}) {some:,} B; saved {full - some:,} B")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m microtf_host.boards check|toolchain|ops|board-ops|prepare|get|size ..."
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "check":
            return _cmd_check(args)
        if cmd == "ops":
            print(",".join(ops_for([_read(Path(a)) for a in args], args)))
            return 0
        if cmd == "size":
            return _cmd_size(args)
        if len(args) < 1:
            raise MicrotfError(f"{cmd} needs a board name")
        board = load(args[0])
        if cmd == "toolchain":
            mpdir = args[1] if len(args) > 1 else ""
            problem = git_problem(mpdir) or toolchain_problem(board, mpdir)
            if problem:
                print(f"microtf: {problem}", file=sys.stderr)
                return 2
            return 0
        if cmd == "board-ops":
            print(",".join(board_ops(board)))
            return 0
        if cmd == "prepare":
            ops = args[1].split(",") if len(args) > 1 and args[1] else None
            for path in prepare(board, ops):
                print(f"  wrote {_rel(path)}")
            return 0
        if cmd == "get":
            values = [getattr(board, f, None) for f in args[1:]]
            if not values or any(v is None or isinstance(v, (dict, list)) for v in values):
                raise MicrotfError(
                    f"get {args[0]}: give plain fields (port, micropython_board, arena_size, ...)"
                )
            print(" ".join(str(v) for v in values))
            return 0
        print(usage, file=sys.stderr)
        return 2
    except MicrotfError as exc:
        print(f"microtf: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
