"""Many models through `_microtf` in one boot of the emulated board, checked against TFLite Micro.

One QEMU run takes a whole list of models: the board loads each in turn (every Model() replaces the
previous one in the static arena), feeds it the steps of its own inputs file and writes every output
of every step to its own outputs file. A model the board refuses is reported with its exception
type and message, and the run goes on with the next one.

The expected outputs come from TFLite Micro on the host while the board runs (a thread waits on
QEMU), and are cached under build/board_oracle/ keyed by the sha256 of the model and of the inputs:
a changed model, generator or seed misses the cache. Without a cache entry, TFLite Micro runs
through `microtf_host.tflm_worker` (the worker `tflm.run` starts), many models per process, so the
interpreter's import is paid once; a model that kills that process is run again alone by `tflm.run`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from microtf_host import qemu, tflm
from microtf_host.paths import BUILD

CACHE = BUILD / "board_oracle"

# argv: the plan file. Each plan line is "index steps": model m<index>.tflite, inputs i<index>.bin,
# outputs o<index>.bin. The console says, per model, "ok", "refused" or "error".
BOARD_SCRIPT = """\
import _microtf, gc, sys

print('arena_size', _microtf.ARENA_SIZE)
plan = open(sys.argv[1]).read().split()
for p in range(0, len(plan), 2):
    idx, steps = plan[p], int(plan[p + 1])
    m = None
    data = None
    gc.collect()
    data = open('m' + idx + '.tflite', 'rb').read()
    try:
        m = _microtf.Model(data)
    except (ValueError, MemoryError) as e:
        print('refused', idx, type(e).__name__, e)
        continue
    try:
        ins = [m.input(i) for i in range(m.n_inputs)]
        sizes = [len(bytes(v)) for v in ins]
        outs = [m.output(j) for j in range(m.n_outputs)]
        with open('i' + idx + '.bin', 'rb') as f:
            with open('o' + idx + '.bin', 'wb') as res:
                for k in range(steps):
                    for v, n in zip(ins, sizes):
                        if f.readinto(v) != n:
                            raise OSError('short read at step %d' % k)
                    m.invoke()
                    for o in outs:
                        res.write(o)
        print('ok', idx, m.arena_used)
    except Exception as e:
        print('error', idx, type(e).__name__, e)
print('done')
"""


@dataclass
class Case:
    """One model of a batch; empty samples when the board is expected to refuse it."""

    name: str
    model: bytes
    samples: list[list[np.ndarray]] = field(default_factory=list)


@dataclass
class BoardRun:
    arena_size: int = 0
    ok: dict[str, int] = field(default_factory=dict)  # name -> arena_used
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (exception, message)
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)  # name -> outputs file
    console: str = ""
    status: int = -1
    seconds: float = 0.0


def run_on_board(cases: Sequence[Case], workdir: Path, timeout: float = 300) -> BoardRun:
    """Every case through `_microtf` in one boot; see BOARD_SCRIPT."""
    import time

    plan = []
    for idx, case in enumerate(cases):
        (workdir / f"m{idx}.tflite").write_bytes(case.model)
        with open(workdir / f"i{idx}.bin", "wb") as f:
            for sample in case.samples:
                for value in sample:
                    f.write(np.ascontiguousarray(value).tobytes())
        plan.append(f"{idx} {len(case.samples)}\n")
    (workdir / "plan.txt").write_text("".join(plan))
    script = workdir / "main.py"
    script.write_text(BOARD_SCRIPT)
    start = time.monotonic()
    status, out = qemu.run_script(script, timeout=timeout, cwd=workdir, args=["plan.txt"])
    result = BoardRun(console=out, status=status, seconds=time.monotonic() - start)
    for line in out.splitlines():
        word, _, rest = line.partition(" ")
        if word == "arena_size":
            result.arena_size = int(rest)
        elif word in ("ok", "refused", "error"):
            idx, _, detail = rest.partition(" ")
            name = cases[int(idx)].name
            if word == "ok":
                result.ok[name] = int(detail)
                result.raw[name] = (workdir / f"o{idx}.bin").read_bytes()
            elif word == "refused":
                exc, _, message = detail.partition(" ")
                result.refused[name] = (exc, message)
            else:
                result.errors[name] = detail
    return result


class BoardThread(threading.Thread):
    """run_on_board in the background, so the host computes the oracle while QEMU runs."""

    def __init__(self, cases: Sequence[Case], workdir: Path, timeout: float = 300) -> None:
        super().__init__(daemon=True)
        self.args_ = (list(cases), workdir, timeout)
        self.result: BoardRun | None = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = run_on_board(*self.args_)
        except BaseException as exc:  # re-raised by outcome() in the test's thread
            self.failure = exc

    def outcome(self) -> BoardRun:
        self.join()
        if self.failure is not None:
            raise self.failure
        assert self.result is not None
        return self.result


# --- the oracle, cached ------------------------------------------------------------------------------


def _key(case: Case, arena_size: int | None) -> str:
    h = hashlib.sha256(case.model)
    digest = hashlib.sha256()
    for sample in case.samples:
        for value in sample:
            value = np.ascontiguousarray(value)
            digest.update(f"{value.dtype.str}{value.shape}".encode())
            digest.update(value.tobytes())
    return f"{h.hexdigest()[:24]}-{digest.hexdigest()[:24]}-{arena_size or 0}"


def _load(path: Path, steps: int) -> list[list[np.ndarray]]:
    with np.load(path) as out:
        n_out = int(out["n_out"])
        return [[out[f"out_{k}_{j}"] for j in range(n_out)] for k in range(steps)]


def _write_request(case: Case, arena_size: int | None, path: Path) -> None:
    """The worker's input file, as tflm.run writes it."""
    arrays: dict[str, np.ndarray] = {"model": np.frombuffer(case.model, dtype=np.uint8)}
    arrays["meta"] = np.array([len(case.samples), arena_size or 0, 0], dtype=np.int64)
    for k, sample in enumerate(case.samples):
        for i, value in enumerate(sample):
            arrays[f"in_{k}_{i}"] = np.asarray(value)
    np.savez(path, **arrays)


_BATCH_WORKER = """
import sys
from microtf_host.tflm_worker import main
for line in sys.stdin:
    src, dst = line.split()
    try:
        main(src, dst)
    except Exception as exc:  # this model only: tflm.run retries it alone and reports why
        print("fail", dst, exc, flush=True)
"""


def oracle(cases: Sequence[Case], arena_size: int | None = None) -> dict[str, list[list[np.ndarray]]]:
    """TFLite Micro's outputs for every case with samples, from the cache or computed now."""
    CACHE.mkdir(parents=True, exist_ok=True)
    wanted = {c.name: c for c in cases if c.samples}
    paths = {name: CACHE / f"{_key(c, arena_size)}.npz" for name, c in wanted.items()}
    missing = [name for name, p in paths.items() if not p.exists()]
    if missing:
        with tempfile.TemporaryDirectory(prefix="microtf-board-oracle-") as tmp:
            jobs = []
            for name in missing:
                src = Path(tmp) / f"{len(jobs)}.npz"
                _write_request(wanted[name], arena_size, src)
                # Written beside the cache entry first, renamed when complete: a killed run leaves
                # no half entry behind.
                jobs.append((name, src, _part(paths[name])))
            stdin = "".join(f"{src} {dst}\n" for _, src, dst in jobs)
            subprocess.run(
                [sys.executable, "-c", _BATCH_WORKER],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=600,
            )
            for name, _, dst in jobs:
                if dst.exists():
                    dst.rename(paths[name])
                else:  # the batch died on or before this one: alone, with tflm.run's error report
                    outputs = tflm.run(wanted[name].model, wanted[name].samples, arena_size=arena_size)
                    _save(outputs, paths[name])
    return {name: _load(p, len(wanted[name].samples)) for name, p in paths.items()}


def _part(path: Path) -> Path:
    """Where a cache entry is written before its rename: per process, so parallel workers never
    write one file together."""
    return path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part.npz")


def _save(outputs: list[list[np.ndarray]], path: Path) -> None:
    arrays = {f"out_{k}_{j}": v for k, row in enumerate(outputs) for j, v in enumerate(row)}
    arrays["n_out"] = np.array(len(outputs[0]) if outputs else 0)
    tmp = _part(path)
    np.savez(tmp, **arrays)
    tmp.rename(path)


# --- comparing ---------------------------------------------------------------------------------------


def split_outputs(raw: bytes, like: list[np.ndarray], steps: int) -> list[list[np.ndarray]]:
    """An outputs file back into [step][output] arrays shaped and typed like TFLite Micro's."""
    sizes = [a.nbytes for a in like]
    assert len(raw) == steps * sum(sizes), f"{len(raw)} bytes of output for {steps} steps of {sizes}"
    result, at = [], 0
    for _ in range(steps):
        row = []
        for a, n in zip(like, sizes, strict=True):
            row.append(np.frombuffer(raw[at : at + n], dtype=a.dtype).reshape(a.shape))
            at += n
        result.append(row)
    return result


def first_difference(got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> str | None:
    """None when every output of every step is the same bytes; else where and how they differ."""
    assert len(got) == len(want)
    bad_steps = []
    first = None
    for k, (g_row, w_row) in enumerate(zip(got, want, strict=True)):
        for j, (g, w) in enumerate(zip(g_row, w_row, strict=True)):
            assert g.dtype == w.dtype and g.shape == w.shape, f"step {k} output {j}: {g.dtype}{g.shape}"
            if g.tobytes() != w.tobytes():  # bytes: -0.0 and NaN count for float outputs
                bad_steps.append(k)
                if first is None:
                    gb, wb = g.ravel(), w.ravel()
                    n = np.flatnonzero(
                        gb.view(np.uint8 if gb.itemsize == 1 else f"u{gb.itemsize}")
                        != wb.view(np.uint8 if wb.itemsize == 1 else f"u{wb.itemsize}")
                    )
                    i = int(n[0])
                    first = (
                        f"first at step {k} output {j} element {i} ({n.size} of {g.size} differ): "
                        f"board {gb[i]!r} vs TFLite Micro {wb[i]!r}"
                    )
                break
    if not bad_steps:
        return None
    return f"{len(set(bad_steps))} of {len(want)} steps differ; {first}"
