"""Test vectors for the bare-metal engine runner (firmware/engine/qemu/): models, inputs and
TFLite Micro's outputs as C arrays.

    from microtf_host import qemu_vectors as qv
    gen = qv.generate(qv.ci_models(), BUILD / "qemu_engine" / "test")

For each model, seeded random inputs (one stream of ``steps`` invokes; state carries over for
stateful models such as microWakeWord) are run through TFLite Micro (``microtf_host.tflm.run``) and
written with the model into ``vec_<name>.c``. By default the model bytes sit one byte past a
16-aligned address, so the engine must read them unaligned (``model_offset=0`` aligns them, as
``microtf embed`` and the firmware do). ``vectors.c`` lists all models; ``vectors.json`` describes
them for the Python side. A model's files are rewritten only when its inputs (model bytes, steps,
seed, this generator) change, so TFLite Micro runs once per change.

As a command: ``python -m microtf_host.qemu_vectors OUT_DIR [--bench]``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import tflm
from .engine import Engine, arena_needed
from .errors import MicrotfError
from .paths import MODELS, ROOT, SHARED_MODELS

GENERATOR_VERSION = 3
MODEL_OFFSET = 1  # bytes past a 16-aligned address: every multi-byte read of the model is unaligned
BYTES_PER_LINE = 24
SITE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages"
WAKE_WORDS = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")


@dataclass(frozen=True)
class VectorModel:
    name: str
    path: Path
    steps: int
    stateful: bool = False  # one continuous stream (resource variables carry over between invokes)
    plant: bool = False  # flip one expected byte (step 1, first output byte): the runner must object


def _site() -> Path:
    """The venv's site-packages (found through an installed package, not a fixed Python version)."""
    try:
        import tflite_micro

        return Path(tflite_micro.__file__).resolve().parent.parent
    except ImportError:
        return SITE


def all_models(person_steps: int = 3, wake_steps: int = 200) -> list[VectorModel]:
    """Every real and example model the runner knows (those whose file exists)."""
    site = _site()
    models = [
        VectorModel("hello_world_int8", SHARED_MODELS / "hello_world_int8.tflite", 64),
        VectorModel(
            "sine_float", site / "tflite_micro" / "python" / "tflite_micro" / "sine_float.tflite", 64
        ),
        VectorModel("sine_int8", MODELS / "sine" / "sine_int8.tflite", 64),
        VectorModel("gesture_int8", MODELS / "gesture" / "gesture_int8.tflite", 32),
        VectorModel("micro_speech", SHARED_MODELS / "micro_speech_quantized.tflite", 16),
    ]
    for w in WAKE_WORDS:
        models.append(VectorModel(w, site / "pymicro_wakeword" / "models" / f"{w}.tflite", wake_steps, True))
    models.append(VectorModel("person_detect", SHARED_MODELS / "person_detect.tflite", person_steps))
    return [m for m in models if m.path.exists()]


def ci_models() -> list[VectorModel]:
    """What the pytest runs: everything but person_detect (it takes most of the emulated time)."""
    return [m for m in all_models() if m.name != "person_detect"]


WAKE_CANDIDATES = 12  # random walks tried per stateful model; the one with the liveliest output is kept


def _walk(rng: np.random.Generator, shape: tuple, dtype: np.dtype, steps: int, sd_step: float, top: int):
    """A smooth random walk of feature frames (what a front end gives more or less)."""
    info = np.iinfo(dtype)
    level = rng.uniform(info.min, top, size=shape[-1])
    frames = []
    for _ in range(steps):
        level = np.clip(level + rng.normal(0, sd_step, size=shape[-1]), info.min, top)
        frame = np.broadcast_to(level, shape) + rng.normal(0, 6, size=shape)
        frames.append(np.clip(np.rint(frame), info.min, info.max).astype(dtype))
    return frames


def _inputs(
    model: bytes, vm: VectorModel, seed: int
) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]]]:
    """Seeded random inputs ``samples[k][i]`` and TFLite Micro's outputs for them.

    Stateful (wake-word) models get random walks in the feature range; plain noise keeps a
    detector's output at 0, which would hide errors, so several walks are run through TFLite Micro
    and the one giving the most distinct outputs is kept."""
    rng = np.random.default_rng([seed, zlib.crc32(vm.name.encode())])
    details = [(tuple(int(v) for v in d["shape"]), np.dtype(d["dtype"])) for d in tflm.input_details(model)]
    if vm.stateful and all(dt.kind == "i" for _, dt in details):
        best: tuple | None = None
        for c in range(WAKE_CANDIDATES):
            sd, top = (8, 16, 24, 32)[c % 4], (127, 30, 0)[c // 4 % 3]
            streams = [_walk(rng, shape, dt, vm.steps, sd, top) for shape, dt in details]
            samples = [[s[k] for s in streams] for k in range(vm.steps)]
            expected = tflm.run(model, samples)
            score = sum(len({s[j].tobytes() for s in expected}) for j in range(len(expected[0])))
            if best is None or score > best[0]:
                best = (score, samples, expected)
        assert best is not None
        return best[1], best[2]
    samples: list[list[np.ndarray]] = [[] for _ in range(vm.steps)]
    for shape, dtype in details:
        for k in range(vm.steps):
            if dtype.kind == "f":
                samples[k].append(rng.uniform(0.0, 2 * np.pi, size=shape).astype(dtype))
            else:
                info = np.iinfo(dtype)
                samples[k].append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype))
    return samples, tflm.run(model, samples)


def _c_bytes(data: bytes) -> str:
    return (
        "\n".join(
            "    " + ",".join(str(b) for b in data[i : i + BYTES_PER_LINE]) + ","
            for i in range(0, len(data), BYTES_PER_LINE)
        )
        or "    0,"
    )


def _key(model: bytes, vm: VectorModel, seed: int, offset: int) -> str:
    h = hashlib.sha256(model)
    h.update(json.dumps([vm.name, vm.steps, vm.stateful, vm.plant, seed, GENERATOR_VERSION, offset]).encode())
    return h.hexdigest()


def _write_model(model: bytes, vm: VectorModel, seed: int, out: Path, offset: int) -> dict:
    """Run TFLite Micro and write vec_<name>.c; returns the model's metadata."""
    samples, expected = _inputs(model, vm, seed)
    eng = Engine(model)
    in_bytes = [int(np.prod(t.shape)) * t.dtype.itemsize for t in eng.inputs]
    out_bytes = [int(np.prod(t.shape)) * t.dtype.itemsize for t in eng.outputs]
    for k in range(vm.steps):
        if [a.nbytes for a in expected[k]] != out_bytes:
            raise MicrotfError(f"{vm.name}: TFLite Micro's outputs differ in size from the engine's tensors")
    ins = b"".join(np.ascontiguousarray(a).tobytes() for s in samples for a in s)
    outs = b"".join(np.ascontiguousarray(a).tobytes() for s in expected for a in s)
    if vm.plant:
        planted = bytearray(outs)
        planted[sum(out_bytes) * min(1, vm.steps - 1)] ^= 0x01
        outs = bytes(planted)
    n = vm.name
    text = f"""/* Generated by microtf_host.qemu_vectors from {vm.path.name}; do not edit. */
#include "vectors.h"

/* {offset} pad bytes first: the model starts {offset} bytes past a 16-aligned address. */
static const uint8_t model_{n}[{len(model) + offset}] __attribute__((aligned(16))) = {{
{"    " + ",".join(["0xa5"] * offset) + "," if offset else ""}
{_c_bytes(model)}
}};
static const uint8_t inputs_{n}[{len(ins)}] __attribute__((aligned(16))) = {{
{_c_bytes(ins)}
}};
static const uint8_t expected_{n}[{len(outs)}] __attribute__((aligned(16))) = {{
{_c_bytes(outs)}
}};
const qv_model_t qv_model_{n} = {{
    "{n}", model_{n} + {offset}, {len(model)}u, {vm.steps}u, inputs_{n}, expected_{n},
    {len(in_bytes)}u, {len(out_bytes)}u, {{{", ".join(f"{b}u" for b in in_bytes)}}},
    {{{", ".join(f"{b}u" for b in out_bytes)}}}
}};
"""
    (out / f"vec_{n}.c").write_text(text)
    distinct = [len({a.tobytes() for a in (s[j] for s in expected)}) for j in range(len(out_bytes))]
    return {
        "name": n,
        "path": str(vm.path),
        "size": len(model),
        "steps": vm.steps,
        "stateful": vm.stateful,
        "in_bytes": in_bytes,
        "out_bytes": out_bytes,
        "arena_host": arena_needed(model),
        "distinct_outputs": distinct,
    }


MAX_IO = 8
ARENA_MARGIN = 4096  # the runner's arena beyond the largest host need (the M4 need is usually smaller)


def _header(arena: int) -> str:
    return f"""/* Generated by microtf_host.qemu_vectors; do not edit. */
#ifndef QV_VECTORS_H
#define QV_VECTORS_H
#include <stdint.h>

#define QV_MAX_IO {MAX_IO}
#define QV_ARENA_SIZE {arena}u /* static arena of the runner: the largest model's need plus a margin */

/* One model and its stream of test vectors: step k's inputs are the k-th slice of
 * inputs (input 0, input 1, ...), its expected outputs the k-th slice of expected. */
typedef struct {{
    const char *name;
    const uint8_t *model;
    uint32_t model_len;
    uint32_t steps;
    const uint8_t *inputs;
    const uint8_t *expected;
    uint32_t n_in, n_out;
    uint32_t in_bytes[QV_MAX_IO];
    uint32_t out_bytes[QV_MAX_IO];
}} qv_model_t;

extern const qv_model_t *const qv_models[];
extern const uint32_t qv_model_count;
#endif
"""


@contextlib.contextmanager
def _locked(directory: Path):
    """One generator or build at a time per vector set (pytest-xdist workers, a bench beside a test)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def generate(
    models: list[VectorModel], out: Path, seed: int = 20261124, model_offset: int = MODEL_OFFSET
) -> dict:
    """Write vectors.h, vectors.c, vec_<name>.c and vectors.json into ``out``; returns the json data.

    ``model_offset`` places every model that many bytes past a 16-aligned address: 1 (the default,
    for correctness) makes every multi-byte read unaligned; 0 is where ``microtf embed`` and the
    firmware's frozen models put them (16-aligned), which is what speed figures should see.

    ``arena_size`` in the result is the static arena the runner gets: the largest host
    ``arena_needed`` (64-bit pointers, so at least the 32-bit need) plus a margin.
    """
    with _locked(out):
        return _generate(models, out, seed, model_offset)


def _generate(models: list[VectorModel], out: Path, seed: int, offset: int) -> dict:
    """The unlocked body of ``generate``."""
    out.mkdir(parents=True, exist_ok=True)
    old: dict = {}
    meta_path = out / "vectors.json"
    if meta_path.exists():
        old = {m["name"]: m for m in json.loads(meta_path.read_text()).get("models", [])}
    metas = []
    for vm in models:
        model = vm.path.read_bytes()
        key = _key(model, vm, seed, offset)
        prev = old.get(vm.name)
        if prev and prev.get("key") == key and (out / f"vec_{vm.name}.c").exists():
            # The engine may have changed since: its arena need is asked again (it is cheap).
            prev["arena_host"] = arena_needed(model)
            metas.append(prev)
            continue
        if len(tflm.input_details(model)) > MAX_IO:
            raise MicrotfError(f"{vm.name}: more than {MAX_IO} inputs")
        meta = _write_model(model, vm, seed, out, offset)
        meta["key"] = key
        metas.append(meta)
    names = [m["name"] for m in metas]
    table = "".join(f"extern const qv_model_t qv_model_{n};\n" for n in names)
    table += "const qv_model_t *const qv_models[] = {" + ", ".join(f"&qv_model_{n}" for n in names) + "};\n"
    table += f"const uint32_t qv_model_count = {len(names)}u;\n"
    text = '/* Generated by microtf_host.qemu_vectors; do not edit. */\n#include "vectors.h"\n\n' + table
    _write_if_changed(out / "vectors.c", text)
    arena = -(-(max(m["arena_host"] for m in metas) + ARENA_MARGIN) // 16) * 16
    _write_if_changed(out / "vectors.h", _header(arena))
    _write_if_changed(out / "vectors.mk", "QV_SOURCES := " + " ".join(f"vec_{n}.c" for n in names) + "\n")
    data = {"models": metas, "arena_size": arena, "sources": [f"vec_{n}.c" for n in names]}
    _write_if_changed(meta_path, json.dumps(data, indent=1))
    return data


def _write_if_changed(path: Path, text: str) -> None:
    """Keep the file's time stamp when nothing changed, so make rebuilds nothing."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--bench", action="store_true", help="all models, person_detect included")
    args = ap.parse_args()
    data = generate(all_models() if args.bench else ci_models(), args.out)
    for m in data["models"]:
        print(
            f"{m['name']:<18} {m['size']:>8} B  {m['steps']:>4} steps  outputs distinct {m['distinct_outputs']}"
        )


if __name__ == "__main__":
    main()


# ---- building and running the runner ----

RUNNER_DIR = ROOT / "firmware" / "engine" / "qemu"
INSTRUCTIONS_PER_TICK = 40  # mps2 timers run at 25 MHz; -icount shift=0 makes an instruction 1 ns


@dataclass
class ModelRun:
    name: str
    steps: int = 0
    mismatches: int = 0
    first_bad: int = 0  # step of the first mismatch
    arena: int = 0  # bytes the engine asked for on the M4 (32-bit pointers)
    stack: int = 0  # deepest stack use, runner included
    ticks_first: int = 0
    ticks_rest: int = 0
    canary: str = ""
    error: str = ""
    ops: dict[str, tuple[int, int]] | None = None  # op name -> (calls, ticks) over all steps

    @property
    def instructions_per_invoke(self) -> float:
        """Mean over the invokes after the first (the first also runs CALL_ONCE's init)."""
        if self.steps > 1:
            return self.ticks_rest * INSTRUCTIONS_PER_TICK / (self.steps - 1)
        return float(self.ticks_first * INSTRUCTIONS_PER_TICK)


@dataclass
class RunnerOutput:
    status: int
    text: str
    models: dict[str, ModelRun]
    ticks_per_400k: int = 0  # calibration: timer ticks for 400,000 instructions

    @property
    def bit_exact(self) -> bool:
        return self.status == 0 and all(not m.error and m.mismatches == 0 for m in self.models.values())


def build_runner(
    gen_dir: Path, opt: str = "-O2", strict: bool = True, profile: bool = False, plant: int = 0
) -> Path:
    """Build the runner for the vectors in ``gen_dir`` (make, incremental); returns the ELF.
    ``plant`` builds a self-test of the harness: 1 overwrites a canary byte, 2 reads unaligned."""
    import subprocess

    args = [f"SET={gen_dir.name}", f"OPT={opt}", f"STRICT={int(strict)}", f"PROFILE={int(profile)}"]
    args.append(f"PLANT={plant}")
    if gen_dir.parent != ROOT / "build" / "qemu_engine":
        raise MicrotfError(f"vectors must live in build/qemu_engine/<set>, not {gen_dir}")
    with _locked(gen_dir):
        proc = subprocess.run(
            ["make", "-s", "-j2", "-C", str(RUNNER_DIR), *args], capture_output=True, text=True
        )
    if proc.returncode != 0:
        raise MicrotfError(f"engine runner build failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    variant = f"{opt.lstrip('-')}-strict{int(strict)}-prof{int(profile)}" + (
        f"-plant{plant}" if plant else ""
    )
    return gen_dir / variant / "runner.elf"


def run_runner(elf: Path, timeout: float = 300) -> RunnerOutput:
    """Run the ELF on QEMU mps2-an386 with -icount shift=0 (deterministic counts) under a timeout."""
    import subprocess

    cmd = ["qemu-system-arm", "-machine", "mps2-an386", "-nographic", "-monitor", "none"]
    cmd += ["-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        raise MicrotfError(f"engine runner timed out after {timeout} s; output so far:\n{out[-3000:]}") from e
    return parse_output(proc.returncode, proc.stdout + proc.stderr)


def _fields(line: str) -> dict[str, str]:
    import shlex

    return dict(part.split("=", 1) for part in shlex.split(line)[1:] if "=" in part)


def parse_output(status: int, text: str) -> RunnerOutput:
    out = RunnerOutput(status, text, {})
    for line in text.splitlines():
        word = line.split(" ", 1)[0]
        if word == "CALIBRATE":
            out.ticks_per_400k = int(_fields(line)["ticks"])
        elif word == "RESULT":
            f = _fields(line)
            run = out.models.setdefault(f["model"], ModelRun(f["model"]))
            if "error" in f:
                run.error = f["error"]
                continue
            for k in ("steps", "mismatches", "first_bad", "arena", "stack", "ticks_first", "ticks_rest"):
                setattr(run, k, int(f[k]))
            run.canary = f["canary"]
        elif word == "OP":
            f = _fields(line)
            run = out.models.setdefault(f["model"], ModelRun(f["model"]))
            run.ops = run.ops or {}
            run.ops[f["op"]] = (int(f["calls"]), int(f["ticks"]))
    return out
