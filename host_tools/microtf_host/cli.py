"""The ``microtf`` command: a table of subcommands, each a thin wrapper over a plain function.

Faults a user caused (missing file, bad model, bad data) are ``MicrotfError``;
``main`` catches them once and prints one line ``microtf: message`` on stderr
with exit code 2. ``verify`` exits 1 when the model misses a threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .errors import MicrotfError

EXIT_BAD_INPUT = 2
EXIT_THRESHOLD = 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line through the same path as every other bad input."""

    def error(self, message: str):  # type: ignore[override]
        raise MicrotfError(f"{message} (see {self.prog} --help)")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(f"microtf: warning: {text}", file=sys.stderr, flush=True)


def _model_arg(p: argparse.ArgumentParser, help_text: str = "a .tflite model") -> None:
    p.add_argument("model", type=Path, help=help_text)


# --- convert -----------------------------------------------------------------------------------------


def _convert_args(p: argparse.ArgumentParser) -> None:
    _model_arg(p, "a .keras or .h5 file, or a SavedModel directory")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .tflite to write")
    p.add_argument(
        "--mode",
        choices=("float32", "float16", "dynamic", "int8"),
        default="int8",
        help="quantization (default int8: full-integer, what microcontrollers run)",
    )
    p.add_argument(
        "--rep-data", type=Path, help="representative samples for int8 (.npy or .csv, 100+ advised)"
    )
    p.add_argument("--float-io", action="store_true", help="int8: keep float32 input and output")


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import MIN_REP_SAMPLES, NOT_FOR_MICRO, convert_file
    from .dataio import load_array

    rep = None
    if args.mode == "int8":
        if args.rep_data is None:
            raise MicrotfError("int8 conversion needs representative data: add --rep-data X.npy (or .csv)")
        rep = load_array(args.rep_data, "representative data")
    elif args.rep_data is not None:
        _warn(f"--rep-data is only used by --mode int8; ignored for {args.mode}")
    if args.mode in NOT_FOR_MICRO:
        _warn(NOT_FOR_MICRO[args.mode])
    result = convert_file(args.model, args.mode, rep, float_io=args.float_io, progress=True)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(result.data)
    except OSError as exc:
        raise MicrotfError(f"{args.output}: cannot write ({exc.strerror})") from None
    out = len(result.data)
    if rep is not None and len(rep) < MIN_REP_SAMPLES:
        _warn(f"calibrated on {len(rep)} samples only; at least {MIN_REP_SAMPLES} are advised")
    _say(f"{args.model}: {result.source_bytes:,} bytes")
    if args.mode != "float32":
        _say(f"float32 .tflite: {result.float_bytes:,} bytes")
    _say(f"{args.mode} .tflite: {out:,} bytes -> {args.output}")
    _say(
        f"ratio: {_ratio(out, result.float_bytes)} the float32 .tflite, {_ratio(out, result.source_bytes)} the source"
    )
    return 0


def _ratio(new: int, old: int) -> str:
    if not old or not new:
        return "n/a against"
    if new <= old:
        return f"{old / new:.2f}x smaller than"
    return f"{new / old:.2f}x larger than"


# --- inspect -----------------------------------------------------------------------------------------


def _inspect_args(p: argparse.ArgumentParser) -> None:
    _model_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all-tensors", action="store_true", help="list constant tensors too")


def cmd_inspect(args: argparse.Namespace) -> int:
    from .modelinfo import describe, format_info
    from .tflfile import read_model

    info = describe(read_model(args.model), str(args.model))
    if args.json:
        _say(json.dumps(info.to_dict(), indent=1))
    else:
        _say(format_info(info, str(args.model), all_tensors=args.all_tensors))
    return 0


# --- verify ------------------------------------------------------------------------------------------


def _verify_args(p: argparse.ArgumentParser) -> None:
    _model_arg(p, "the int8 .tflite model")
    p.add_argument("--data", type=Path, required=True, help="input samples (.npy or .csv), float values")
    p.add_argument(
        "--reference",
        type=Path,
        help="float reference (.tflite or .keras/.h5); default: NAME_float.tflite beside NAME_int8",
    )
    p.add_argument("--labels", type=Path, help="true classes (.npy or .csv; indices or one-hot)")
    p.add_argument("--max-mse", type=float, help="fail (exit 1) when the MSE to the reference is above this")
    p.add_argument("--min-accuracy", type=float, help="fail (exit 1) when the accuracy is below this (0..1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_verify(args: argparse.Namespace) -> int:
    from .dataio import load_array, manifest_normalisation, normalise
    from .tflfile import read_model
    from .verify import default_reference, format_report, verify

    model = read_model(args.model)
    data = load_array(args.data, "data")
    norm = manifest_normalisation(args.model)
    if norm is not None and data.dtype.kind in "iu":
        # Raw sensor counts: the model's manifest says how the device scales them.
        data = normalise(data, *norm)
        if not args.json:
            _say(f"data: raw integers, normalised as (x - {norm[0]:g}) / {norm[1]:g} (manifest.json)")
    labels = load_array(args.labels, "labels") if args.labels else None
    reference = args.reference
    if reference is None:
        reference = default_reference(args.model)
        if reference is not None and not args.json:
            _say(f"reference: {reference} (found beside the model)")
    if reference is None and labels is None:
        raise MicrotfError("verify needs --reference FLOAT.tflite|MODEL.keras or --labels y.npy")
    if reference is not None and not reference.exists():
        raise MicrotfError(f"{reference}: no such file (reference)")
    report = verify(model, data, str(reference) if reference else None, labels, progress=True)
    failures = report.failures(args.max_mse, args.min_accuracy)
    if args.json:
        out = report.to_dict()
        out["failures"] = failures
        _say(json.dumps(out, indent=1))
    else:
        _say(f"{args.model} under TFLite Micro:")
        _say(format_report(report))
    if failures:
        print("microtf: verify failed: " + "; ".join(failures), file=sys.stderr, flush=True)
        return EXIT_THRESHOLD
    return 0


# --- arena -------------------------------------------------------------------------------------------


def _arena_args(p: argparse.ArgumentParser) -> None:
    _model_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_arena(args: argparse.Namespace) -> int:
    from .arena import format_report, tflm_arena
    from .tflfile import read_model

    model = read_model(args.model)
    report = tflm_arena(model, progress=True)
    if args.json:
        _say(
            json.dumps(
                {
                    "model_bytes": len(model),
                    "tflm_recorded": report.recorded,
                    "tflm_smallest": report.smallest,
                    "microtf_engine": report.engine,
                }
            )
        )
    else:
        _say(f"{args.model}:")
        _say(format_report(report, len(model)))
    return 0


# --- embed -------------------------------------------------------------------------------------------


def _embed_args(p: argparse.ArgumentParser) -> None:
    _model_arg(p)
    p.add_argument("--c", type=Path, metavar="OUT", help="write OUT.h and OUT.c (OUT may end in .h or .c)")
    p.add_argument("--py", type=Path, metavar="OUT.py", help="write a MicroPython module")
    p.add_argument("--mpy", action="store_true", help="also compile the module to .mpy with mpy-cross")
    p.add_argument("--name", help="C array name (default: from the file name)")
    p.add_argument("--labels", type=Path, help="labels, one per line (default: labels.txt beside the model)")


def cmd_embed(args: argparse.Namespace) -> int:
    from .embed import c_name, read_labels, sha256, write_c, write_py
    from .tflfile import read_model

    if args.c is None and args.py is None:
        raise MicrotfError("embed needs --c OUT and/or --py OUT.py")
    if args.mpy and args.py is None:
        raise MicrotfError("--mpy needs --py OUT.py")
    model = read_model(args.model)
    labels = None
    if args.labels is not None:
        if not args.labels.exists():
            raise MicrotfError(f"{args.labels}: no such file (labels)")
        labels = read_labels(args.labels)
    elif (args.model.parent / "labels.txt").exists():
        labels = read_labels(args.model.parent / "labels.txt")
    name = c_name(args.name or args.model.stem)
    written: list[Path] = []
    if args.c is not None:
        written += write_c(model, args.c, name, args.model.name)
    if args.py is not None:
        written += write_py(model, args.py, labels, args.model.name, mpy=args.mpy)
    _say(f"{args.model}: {len(model):,} bytes, sha256 {sha256(model)}")
    for path in written:
        _say(f"  wrote {path}")
    return 0


# --- boards: deploy, run, repl -----------------------------------------------------------------------

# The one board vocabulary (boards/boards.mk uses the same names): boards reached with mpremote need
# --port; "virtual" is the Unix port behind a pty (mpremote too); "qemu_m4" is the emulated board,
# which reads the host's files through semihosting; "unix" runs the Unix port directly.
BOARDS = ("qemu_m4", "esp32", "esp32s3", "rp2", "unix", "virtual")
SERIAL_BOARDS = ("esp32", "esp32s3", "rp2")


def _board_args(p: argparse.ArgumentParser, local: bool = True) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--port", help="the board's serial port (as mpremote names it: /dev/ttyACM0, a0, u0, ...)")
    g.add_argument(
        "--virtual",
        action="store_true",
        help="a fresh, empty virtual board (the Unix port behind a pty), gone afterwards",
    )
    g.add_argument(
        "--virtual-dir",
        type=Path,
        metavar="DIR",
        help="a virtual board whose filesystem is DIR, kept between commands (deploy, then run)",
    )
    choices = BOARDS if local else tuple(b for b in BOARDS if b not in ("qemu_m4", "unix"))
    p.add_argument("--board", choices=choices, help="board kind (" + ", ".join(choices) + ")")


def _resolve_board(args: argparse.Namespace) -> str:
    """The board kind from --board/--port/--virtual; MicrotfError when they do not fit together."""
    board = args.board
    virtual = args.virtual or args.virtual_dir is not None
    if virtual:
        if board not in (None, "virtual"):
            raise MicrotfError(f"--board {board} and --virtual do not go together")
        return "virtual"
    if args.port is not None:
        if board in ("qemu_m4", "unix", "virtual"):
            raise MicrotfError(f"--board {board} takes no --port")
        return board or "serial"
    if board in SERIAL_BOARDS:
        raise MicrotfError(f"--board {board} needs --port PORT (the board's serial port)")
    if board is None:
        raise MicrotfError("no board: give --port PORT, --virtual or --board NAME")
    return board


class _Connected:
    """A Device for --port, or one on a VirtualBoard started for the length of the ``with`` block."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.board = None

    def __enter__(self):
        from .deploy import Device, find_mpremote
        from .virtual import VirtualBoard

        if self.args.port is not None:
            return Device(self.args.port)
        find_mpremote()  # before a board starts for nothing
        self.board = VirtualBoard(root=self.args.virtual_dir).start()
        return Device(self.board.port, virtual=True)

    def __exit__(self, *exc: object) -> None:
        if self.board is not None:
            self.board.stop()


def _deploy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model", type=Path, nargs="?", help="the .tflite (manifest.json, labels.txt beside it go too)"
    )
    p.add_argument("--app", type=Path, help="the app script to copy")
    p.add_argument("--main", action="store_true", help="store the app as main.py (runs at boot)")
    p.add_argument("--name", help="the model's name on the device (default: the manifest's, else the file's)")
    p.add_argument("--package", type=Path, help="the device package directory (default: firmware/microtf)")
    p.add_argument("--no-package", action="store_true", help="do not copy the device package")
    p.add_argument(
        "--traces",
        action="store_true",
        help="also copy the sensor traces the manifest lists (for simulation)",
    )
    _board_args(p, local=False)


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import PACKAGE, deploy, plan

    _resolve_board(args)
    package = None if args.no_package else (args.package or PACKAGE)
    app_name = "main.py" if args.main else None
    if args.main and args.app is None:
        raise MicrotfError("--main needs --app APP.py")
    plan(args.model, args.app, package, app_name, args.name, args.traces)  # fail before a board starts
    with _Connected(args) as dev:
        done = deploy(
            dev, args.model, args.app, package, app_name, args.name, progress=True, traces=args.traces
        )
    where = "virtual board" if dev.virtual else dev.port
    if args.virtual_dir is not None:
        where += f" ({args.virtual_dir})"
    same = len(done.items) - len(done.copied)
    _say(
        f"deployed {len(done.items)} files ({done.bytes:,} bytes) to the {where}"
        + (f"; {same} were already there, unchanged" if same else "")
    )
    for item in done.items:
        if package is None or not item.remote.startswith(package.name + "/"):
            _say(f"  {item.remote}")
    if done.checked:
        _say("SHA-256 checked on the device: all files match")
    else:
        _warn("the board has no hashlib (and no microtf package): SHA-256 not checked on the device")
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("script", type=Path, help="a MicroPython script on this computer")
    p.add_argument(
        "args", nargs="*", help="the script's sys.argv[1:] (put them after -- when they start with -)"
    )
    _board_args(p)


def cmd_run(args: argparse.Namespace) -> int:
    board = _resolve_board(args)
    if not args.script.is_file():
        raise MicrotfError(f"{args.script}: no such file (script)")
    if board == "qemu_m4":
        from . import qemu

        return qemu.main(["run", str(args.script), *args.args])
    if board == "unix":
        import subprocess

        from .virtual import find_micropython

        return subprocess.call([find_micropython(built_first=True), str(args.script), *args.args])
    from .deploy import run_script

    with _Connected(args) as dev:
        return run_script(dev, args.script, args=args.args)


def _repl_args(p: argparse.ArgumentParser) -> None:
    _board_args(p)


def cmd_repl(args: argparse.Namespace) -> int:
    board = _resolve_board(args)
    if board == "qemu_m4":
        from . import qemu

        return qemu.main(["repl"])
    if board == "unix":
        import subprocess

        from .virtual import find_micropython

        return subprocess.call([find_micropython(built_first=True)])
    from .deploy import repl

    with _Connected(args) as dev:
        if dev.virtual:
            print("microtf: virtual board REPL; Ctrl-] leaves it", file=sys.stderr, flush=True)
        return repl(dev)


# --- predict -----------------------------------------------------------------------------------------


def _predict_args(p: argparse.ArgumentParser) -> None:
    from .predict import ENGINES

    _model_arg(p)
    p.add_argument(
        "--input",
        type=Path,
        action="append",
        required=True,
        metavar="X.npy",
        help="samples stacked on a new first axis (.npy; .npz or repeated --input for several inputs)",
    )
    p.add_argument(
        "--output",
        type=Path,
        action="append",
        required=True,
        metavar="Y.npy",
        help="where the outputs go, stacked the same way (.npy; .npz or repeated for several outputs)",
    )
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="c",
        help="c (microtf's C engine, default), tflm (TFLite Micro), native (_microtf in MicroPython on "
        "the emulated Cortex-M4 board, or on $MICROPYTHON when it has _microtf), viper (the "
        "pure-MicroPython engine on the Unix port)",
    )
    p.add_argument("--reset-each", action="store_true", help="reset the model's state before every sample")


def cmd_predict(args: argparse.Namespace) -> int:
    from .predict import check_model, check_output_paths, load_inputs, predict, runner, save_outputs
    from .tflfile import read_model

    runner(args.engine)
    model = read_model(args.model)
    check_model(model, args.engine)
    check_output_paths(args.output, model)
    samples = load_inputs(model, args.input)
    outputs = predict(model, samples, args.engine, reset_each=args.reset_each)
    written = save_outputs(outputs, args.output)
    _say(f"{args.model}: {len(samples)} samples through engine '{args.engine}'")
    for path in written:
        _say(f"  wrote {path}")
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    from .check import add_args

    add_args(p)


def cmd_check(args: argparse.Namespace) -> int:
    from .check import run

    return run(args)


# --- the table and main ------------------------------------------------------------------------------

Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: list[Command] = [
    ("convert", _convert_args, cmd_convert),
    ("inspect", _inspect_args, cmd_inspect),
    ("verify", _verify_args, cmd_verify),
    ("arena", _arena_args, cmd_arena),
    ("embed", _embed_args, cmd_embed),
    ("predict", _predict_args, cmd_predict),
    ("check", _check_args, cmd_check),
    ("deploy", _deploy_args, cmd_deploy),
    ("run", _run_args, cmd_run),
    ("repl", _repl_args, cmd_repl),
]


def _help_line(func: Callable) -> str:
    return {
        "cmd_convert": "convert a Keras model or SavedModel to .tflite (float32, float16, dynamic, int8)",
        "cmd_inspect": "operators, tensors, parameters, MACs and microtf support of a .tflite",
        "cmd_verify": "run an int8 model under TFLite Micro and compare with its float reference",
        "cmd_arena": "arena sizes: TFLite Micro's recorded and smallest working, and microtf's",
        "cmd_embed": "embed a .tflite as C source and/or a MicroPython module",
        "cmd_check": "will the model run on the board? operators, memory, agreement with TFLite Micro, speed",
        "cmd_predict": "run a model on the host over stacked samples (.npy/.npz in, .npy/.npz out)",
        "cmd_deploy": "copy the device package, an app and a model to a board (mpremote), SHA-256 checked",
        "cmd_run": "run a script on a board, streaming its output; exits with its status",
        "cmd_repl": "the board's REPL on this terminal",
    }[func.__name__]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="microtf", description="microtf host tools: TinyML models for MicroPython")
    parser.add_argument("--version", action="version", version=f"microtf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add_args, func in COMMANDS:
        p = sub.add_parser(name, help=_help_line(func), description=_help_line(func))
        add_args(p)
        p.set_defaults(func=func)
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # As SystemExit, so `with` blocks end their work: a virtual board stops with its socat.
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        extra: list[str] = []
        if "--" in argv:
            # Everything after "--" belongs to the script (`microtf run app.py --virtual -- --flag`).
            cut = argv.index("--")
            argv, extra = argv[:cut], argv[cut + 1 :]
        args = parser.parse_args(argv)
        if extra:
            if not hasattr(args, "args"):
                raise MicrotfError(f"unexpected arguments after --: {' '.join(extra)}")
            args.args = [*args.args, *extra]
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_BAD_INPUT
        return args.func(args)
    except MicrotfError as exc:
        print(f"microtf: {exc}", file=sys.stderr, flush=True)
        return getattr(exc, "exit_code", EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("microtf: interrupted", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `microtf inspect m.tflite | head`): not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
