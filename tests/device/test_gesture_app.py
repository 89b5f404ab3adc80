"""The gesture app (firmware/apps/gesture/main.py) on the Unix port: simulated MPU6050 over a simulated
I2C bus replaying models/gesture/traces/*.npy, the manifest's preprocessing, the viper engine.
Every window must print its trace's label; the scores must be TFLite Micro's on the same windows.
"""

import json
import subprocess
import time

import numpy as np
import pytest
from mpkit import FIRMWARE, ROOT, micropython_bin, mp_env

pytestmark = pytest.mark.timeout(300)

APP = FIRMWARE / "apps" / "gesture" / "main.py"
GDIR = ROOT / "models" / "gesture"
MANIFEST = json.loads((GDIR / "manifest.json").read_text())
TRACES = [t["label"] for t in MANIFEST["traces"]]


def run_app(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # cwd = the repository root: the app finds models/gesture/ there, as on a deployed board.
    return subprocess.run(
        [micropython_bin(), str(APP), *args],
        env=mp_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def results(stdout: str) -> dict[str, list[tuple[str, float]]]:
    """{trace: [(label, confidence), ...]} from the app's output."""
    out: dict[str, list[tuple[str, float]]] = {}
    current = None
    for ln in stdout.splitlines():
        if ln.startswith("# trace "):
            current = ln.split()[2].rstrip(":")
            out[current] = []
        elif ln and not ln.startswith("#"):
            label, conf = ln.split()
            out[current].append((label, float(conf)))
    return out


def reference_windows(trace: np.ndarray) -> list[np.ndarray]:
    """The manifest's contract, on the host: q = clamp(round_half_away(counts / 32768 / s) + zp)."""
    pre, inp = MANIFEST["preprocessing"], MANIFEST["input"]
    window, hop = pre["window"], pre["hop"]
    x = trace.astype(np.float64) / 16384.0 * pre["scale"] / np.float32(inp["scale"])
    q = np.clip(np.sign(x) * np.floor(np.abs(x) + 0.5) + inp["zero_point"], -128, 127).astype(np.int8)
    return [q[k : k + window] for k in range(0, len(trace) - window + 1, hop)]


def test_every_trace_prints_its_label_with_tflite_micro_scores():
    from microtf_host import tflm

    model = (GDIR / "gesture_int8.tflite").read_bytes()
    proc = run_app()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = results(proc.stdout)
    assert list(got) == TRACES == ["idle", "wave", "punch", "circle"]
    for name in TRACES:
        trace = np.load(GDIR / "traces" / f"{name}.npy")
        wins = reference_windows(trace)
        assert len(got[name]) == len(wins) == 12
        assert [label for label, _ in got[name]] == [name] * len(wins)
        ref = tflm.run(model, [[w.reshape(1, 64, 1, 3)] for w in wins])
        for (_, conf), r in zip(got[name], ref, strict=True):
            scores = (r[0].ravel().astype(np.float64) + 128) / 256
            assert MANIFEST["labels"][int(np.argmax(scores))] == name
            # printed with 3 decimals; the sampler's fixed point may move an input by one step
            assert abs(conf - scores.max()) <= 2 / 256 + 5e-4
            assert 0.5 < conf <= 1.0


def test_options_one_trace_a_few_windows_in_real_time():
    t0 = time.monotonic()
    proc = run_app("--trace", "wave", "--windows", "2", "--realtime")
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = results(proc.stdout)
    assert list(got) == ["wave"] and [label for label, _ in got["wave"]] == ["wave", "wave"]
    # 64 + 16 samples at 50 Hz: sampled at the manifest's rate, not as fast as possible
    assert took >= 1.5


def test_a_trace_given_by_path_and_the_viper_engine_forced():
    proc = run_app("--trace", str(GDIR / "traces" / "circle.npy"), "--windows", "3", "--engine", "viper")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (labels,) = results(proc.stdout).values()
    assert [label for label, _ in labels] == ["circle"] * 3


def test_bad_options_exit_2_and_a_missing_trace_exits_1():
    proc = run_app("--windows")
    assert proc.returncode == 2 and proc.stdout.startswith("gesture: unknown option or missing value")
    proc = run_app("--trace", "nosuch")
    assert proc.returncode == 1 and "cannot read trace models/gesture/traces/nosuch.npy" in proc.stdout
    proc = run_app("--engine", "native")  # the Unix port has no _microtf
    assert proc.returncode == 1 and proc.stdout.startswith("gesture: engine='native'")


def test_the_window_path_allocates_nothing():
    """Sampling, cutting a window and predict_into under micropython.heap_lock(), as the app runs them."""
    from mpkit import run_mp

    out = run_mp(
        f"""
import sys, micropython
from array import array
sys.path.insert(0, {str(APP.parent)!r})
import main as app
import microtf
from microtf import sim
from microtf.drivers.mpu6050 import MPU6050
from microtf.sampler import Sampler
d = {str(ROOT)!r} + '/' + app.DIR
m = microtf.Model(d + 'gesture_int8.tflite')
manifest = app.load_manifest(d + 'manifest.json')
trace, rows = app.load_trace(d + 'traces/punch.npy')
imu = MPU6050(sim.SimI2C(sim.SimMPU6050(trace, loop=True)))
s = Sampler.from_manifest(imu, manifest, m.input_scale, m.input_zero_point)
x = array('b', bytes(192))
y = array('b', bytes(4))  # raw scores: reading floats would allocate (boxed) on this port
best = array('i', [0, 0])
for _ in range(64):
    s.sample()
s.cut_into(x); m.predict_into(x, y)
def go():
    for _ in range(180):  # 11 more windows, all inside the 250-sample trace
        s.sample()
        if s.cut_into(x):
            m.predict_into(x, y)
            b = 0
            for i in range(1, 4):
                if y[i] > y[b]:
                    b = i
            best[b == 2] += 1
micropython.heap_lock()
try:
    go()
    r = 'ok'
except MemoryError:
    r = 'alloc'
micropython.heap_unlock()
print('L', r, best[0], best[1])
"""
    )
    r, other, punch = next(ln for ln in out.splitlines() if ln.startswith("L ")).split()[1:]
    assert r == "ok" and int(punch) == 11 and int(other) == 0
