"""microtf.Model on the Unix port (viper engine): sources, introspection, predict bit-exact with
TFLite Micro, errors, the arena, no allocation (heap_lock), info() and bench().

Device outputs travel as hex (binascii) so floats are compared bit for bit, never through repr.
"""

import binascii
import hashlib
import json
import subprocess
from fractions import Fraction

import numpy as np
import pytest
from mpkit import ROOT, run_mp

pytestmark = pytest.mark.timeout(300)

SINE = ROOT / "models" / "sine" / "sine_int8.tflite"
GESTURE = ROOT / "models" / "gesture" / "gesture_int8.tflite"
MODELS = {"sine": SINE, "gesture": GESTURE}


# --- host references ------------------------------------------------------------------------------


def host_info(model: bytes):
    from microtf_host.engine import Engine, list_ops

    eng = Engine(model)
    return eng, list_ops(model)


def quantize_exact(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """round_half_away(x / scale) + zp, clipped to int8, from the EXACT float32 values."""
    s = Fraction(float(np.float32(scale)))
    out = []
    for v in np.asarray(x, dtype=np.float32).ravel():
        r = Fraction(float(v)) / s
        q = int(abs(r) + Fraction(1, 2))
        q = -q if r < 0 else q
        out.append(max(-128, min(127, q + zp)))
    return np.array(out, dtype=np.int8)


def dequantize(q: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return ((q.astype(np.float64) - zp) * np.float64(np.float32(scale))).astype(np.float32)


def tflm_outputs(model: bytes, qs: list[np.ndarray], shape) -> list[np.ndarray]:
    from microtf_host import tflm

    res = tflm.run(model, [[q.reshape(shape)] for q in qs])
    return [r[0].ravel() for r in res]


def hexlines(out: str, tag: str) -> list[bytes]:
    return [binascii.unhexlify(ln.split()[1]) for ln in out.splitlines() if ln.startswith(tag + " ")]


def line(out: str, tag: str) -> str:
    return next(ln for ln in out.splitlines() if ln.startswith(tag + " "))[len(tag) + 1 :]


def inputs_for(name: str, k: int) -> np.ndarray:
    """k float32 inputs of the model's input size: sine x in [0, 2pi], gesture windows in g/2."""
    if name == "sine":
        rng = np.random.default_rng(5)
        x = rng.uniform(0, 2 * np.pi, size=(k, 1)).astype(np.float32)
        # and values on rounding boundaries: (j + 1/2) * scale, as float32
        s = np.float32(0.024373941123485565)
        x[: k // 4, 0] = ((np.arange(k // 4) * 7 % 250 - 120 + 0.5) * s).astype(np.float32) + np.float32(
            128 * s
        )
        return x
    tx = np.load(ROOT / "models" / "gesture" / "test_x.npy")[:k]  # int16 counts (k, 64, 3)
    return (tx.astype(np.float32) / np.float32(32768.0)).reshape(k, -1)


# Runs f with the heap locked: 'ok', or 'alloc' when it tried to allocate.
LOCKED = """
def locked(f):
    micropython.heap_lock()
    try:
        f()
        r = 'ok'
    except MemoryError:
        r = 'alloc'
    micropython.heap_unlock()
    return r
"""

PRE = (
    """
import sys, gc, binascii, micropython
from array import array
import microtf
def hx(tag, b):
    print(tag, binascii.hexlify(bytes(b)).decode())
def load_f32(path):
    with open(path, 'rb') as f:
        return array('f', f.read())
"""
    + LOCKED
)


# --- sources ------------------------------------------------------------------------------------


def test_model_from_path_bytes_and_embedded_module(tmp_path):
    mod = tmp_path / "sine_model.py"
    (tmp_path / "labels.txt").write_text("low\nhigh\n")
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "microtf"), "embed", str(SINE), "--py", str(mod)]
        + ["--labels", str(tmp_path / "labels.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = run_mp(
        PRE
        + f"""
sys.path.insert(0, {str(tmp_path)!r})
data = open({str(SINE)!r}, 'rb').read()
ys = []
for src in ({str(SINE)!r}, data, bytearray(data), memoryview(data)):
    m = microtf.Model(src)
    ys.append(m.predict([1.0]))
    print('S', m.source, m.model_size, m.input_shape, m.engine, m.labels)
import sine_model
m = microtf.Model(sine_model)
ys.append(m.predict([1.0]))
print('M', m.source, m.model_size, m.sha256, m.labels, m.input_shape)
print('Y', len(ys), all(y == ys[0] for y in ys))
try:
    microtf.Model({str(SINE)!r}, engine='native')
except ImportError as e:
    print('N', e)
try:
    microtf.Model({str(SINE)!r}, engine='cuda')
except ValueError as e:
    print('E', e)
try:
    microtf.Model(12)
except TypeError as e:
    print('T', e)
try:
    microtf.Model('/nonexistent/x.tflite')
except OSError as e:
    print('O', e)
"""
    )
    s_lines = [ln for ln in out.splitlines() if ln.startswith("S ")]
    size = SINE.stat().st_size
    assert s_lines[0] == f"S {SINE} {size} (1, 1) viper None"
    assert [ln.split()[1] for ln in s_lines[1:]] == ["buffer"] * 3
    digest = hashlib.sha256(SINE.read_bytes()).hexdigest()
    assert line(out, "M") == f"module {size} {digest} ('low', 'high') (1, 1)"
    assert line(out, "Y") == "5 True"
    assert "no _microtf" in line(out, "N")
    assert "'cuda'" in line(out, "E")
    assert "path" in line(out, "T")
    assert "/nonexistent/x.tflite" in line(out, "O")


def test_labels_come_from_the_file_beside_the_model(tmp_path):
    (tmp_path / "m.tflite").write_bytes(SINE.read_bytes())
    (tmp_path / "labels.txt").write_text("alpha\n\nbeta\n")
    out = run_mp(PRE + f"print('L', microtf.Model({str(tmp_path / 'm.tflite')!r}).labels)\n")
    assert line(out, "L") == "('alpha', 'beta')"


# --- introspection ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sine", "gesture"])
def test_introspection_matches_the_host_engine(name):
    path = MODELS[name]
    eng, ops = host_info(path.read_bytes())
    out = run_mp(
        PRE
        + f"""
m = microtf.Model({str(path)!r})
print('I', m.input_shape, m.input_dtype, m.input_zero_point)
print('O', m.output_shape, m.output_dtype, m.output_zero_point)
hx('IS', array('f', [m.input_scale]))
hx('OS', array('f', [m.output_scale]))
print('P', m.ops)
print('L', m.labels)
print('A', m.arena_used, m.n_inputs, m.n_outputs)
for attr in ('input_shape', 'input_scale', 'output_zero_point', 'ops', 'arena_used', 'labels'):
    try:
        setattr(m, attr, 1)
        print('W writable', attr)
    except AttributeError:
        print('W read-only')
"""
    )
    i, o = eng.inputs[0], eng.outputs[0]
    assert line(out, "I") == f"{tuple(i.shape)} int8 {i.zero_point}"
    assert line(out, "O") == f"{tuple(o.shape)} int8 {o.zero_point}"
    assert hexlines(out, "IS")[0] == np.float32(i.scale).tobytes()
    assert hexlines(out, "OS")[0] == np.float32(o.scale).tobytes()
    want = [(op.name, op.version, op.supported) for op in ops]
    assert line(out, "P") == repr(want)
    labels = "('idle', 'wave', 'punch', 'circle')" if name == "gesture" else "None"
    assert line(out, "L") == labels
    used, n_in, n_out = (int(v) for v in line(out, "A").split())
    assert used > 0 and (n_in, n_out) == (1, 1)
    assert [ln for ln in out.splitlines() if ln.startswith("W ")] == ["W read-only"] * 6


# --- predict, bit-exact ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sine", "gesture"])
def test_predict_floats_and_raw_are_bit_exact_with_tflite_micro(name, tmp_path):
    path = MODELS[name]
    model = path.read_bytes()
    eng, _ = host_info(model)
    i, o = eng.inputs[0], eng.outputs[0]
    k = 24 if name == "sine" else 12
    x = inputs_for(name, k)
    (tmp_path / "x.f32").write_bytes(x.astype("<f4").tobytes())
    n = x.shape[1]
    qs = [quantize_exact(row, i.scale, i.zero_point) for row in x]
    (tmp_path / "q.i8").write_bytes(b"".join(q.tobytes() for q in qs))
    ref_q = tflm_outputs(model, qs, i.shape)
    ref_f = [dequantize(q, o.scale, o.zero_point) for q in ref_q]
    # not a trivial check: outputs vary and are not all saturated
    flat = np.concatenate(ref_q)
    assert len(set(flat.tolist())) > k // 2 and np.mean(np.abs(flat.astype(int)) == 128) < 0.5
    out = run_mp(
        PRE
        + f"""
m = microtf.Model({str(path)!r})
xs = load_f32({str(tmp_path / "x.f32")!r})
n = {n}
yb = array('b', bytes({o.shape[-1]}))
yf = array('f', bytes(4 * {o.shape[-1]}))
for r in range({k}):
    row = array('f', xs[r * n:(r + 1) * n])
    y = m.predict(list(row))                 # list of floats
    hx('PL', array('f', y))
    hx('PF', array('f', m.predict(row)))     # array('f')
    m.predict_into(row, yb)                  # raw out
    hx('RB', yb)
qs = open({str(tmp_path / "q.i8")!r}, 'rb').read()
for r in range({k}):
    xb = array('b', qs[r * n:(r + 1) * n])
    hx('PR', array('f', m.predict(xb)))      # raw int8 in, floats out
    m.input(0)[:] = xb                       # zero-copy: write, invoke, read
    m.invoke()
    hx('Z', m.output(0))
"""
    )
    for tag in ("PL", "PF", "PR"):
        got = hexlines(out, tag)
        assert len(got) == k
        for g, ref in zip(got, ref_f, strict=True):
            assert g == ref.tobytes(), tag
    for tag, ref_list in (("RB", ref_q), ("Z", ref_q)):
        got = hexlines(out, tag)
        assert got == [r.astype(np.int8).tobytes() for r in ref_list], tag


def quantize_probe(tmp_path):
    """(device script, check(stdout)) for values on and next to every rounding boundary, zero,
    subnormals, huge values, inf and NaN, with int8 and uint8 ranges. Shared with the board test."""
    from microtf_host.engine import Engine

    scale = Engine(SINE.read_bytes()).inputs[0].scale
    s32 = np.float32(scale)
    ks = np.arange(-140, 140, dtype=np.float64) + 0.5
    mids = (ks * np.float64(s32)).astype(np.float32)
    vals = np.concatenate(
        [
            mids,
            np.nextafter(mids, np.float32(np.inf)),
            np.nextafter(mids, np.float32(-np.inf)),
            np.array([0.0, -0.0, 1e-45, -1e-45, 1e-38, 3e38, -3e38], dtype=np.float32),
        ]
    ).astype(np.float32)
    (tmp_path / "v.f32").write_bytes(vals.astype("<f4").tobytes())
    script = f"""
from microtf import _convert
v = load_f32({str(tmp_path / "v.f32")!r})
for zp, lo, hi, tag in ((-128, -128, 127, 'A'), (5, -128, 127, 'B'), (100, 0, 255, 'C')):
    d = bytearray(len(v))
    _convert.quantize(d, v, _convert.quant_params(len(v), {scale!r}, zp, lo, hi))
    hx(tag, d)
inf = array('f', [float('inf'), float('-inf'), float('nan')])
d = bytearray(3)
_convert.quantize(d, inf, _convert.quant_params(3, {scale!r}, 3, -128, 127))
hx('X', d)
"""

    def check(out: str) -> None:
        sc = Fraction(float(s32))
        for tag, zp, lo, hi in (("A", -128, -128, 127), ("B", 5, -128, 127), ("C", 100, 0, 255)):
            line_ = next(ln for ln in out.splitlines() if ln.startswith(tag + " "))
            got = list(bytes.fromhex(line_.split()[1]))
            want = []
            for v in vals:
                r = Fraction(float(v)) / sc
                q = int(abs(r) + Fraction(1, 2))
                want.append(max(lo, min(hi, (-q if r < 0 else q) + zp)) & 0xFF)
            assert got == want, tag
        x = next(ln for ln in out.splitlines() if ln.startswith("X "))
        assert bytes.fromhex(x.split()[1]) == bytes([127, 128, 3])  # +-inf saturate; NaN: zero point

    return script, check


def test_quantize_rounds_the_exact_quotient_half_away_and_clamps(tmp_path):
    script, check = quantize_probe(tmp_path)
    check(run_mp(PRE + script))


# --- errors -------------------------------------------------------------------------------------


def test_wrong_shape_or_dtype_raises_value_error_naming_the_expected():
    out = run_mp(
        PRE
        + f"""
m = microtf.Model({str(SINE)!r})
for x in ([1.0, 2.0], array('f', [1.0, 2.0]), array('h', [1]), array('i', [1]), array('d', [1.0]),
          bytes(3), 'abc', [[1.0]]):
    try:
        m.predict(x)
        print('E no error', x)
    except (ValueError, TypeError) as e:
        print('E', type(e).__name__, e)
try:
    m.predict_into(array('f', [1.0]), [0.0])
except ValueError as e:
    print('E', type(e).__name__, e)
try:
    m.predict_into(array('f', [1.0]), array('f', [0.0, 1.0]))
except ValueError as e:
    print('E', type(e).__name__, e)
"""
    )
    errs = [ln[2:] for ln in out.splitlines() if ln.startswith("E ")]
    assert len(errs) == 10, out
    assert errs[0] == "ValueError input 0 expects 1 values (shape (1, 1), int8), got 2"
    assert errs[1] == errs[0]
    assert errs[2].startswith("ValueError input 0 is int8: raw data must have 1-byte items, got 2-byte")
    assert errs[3].startswith("ValueError input 0 is int8: raw data must have 1-byte items, got 4-byte")
    assert errs[4] == "ValueError float arrays must be array('f') (float32), got 8-byte floats"
    assert errs[5] == "ValueError input 0 expects 1 values (shape (1, 1), int8), got 3"
    assert errs[6].startswith("ValueError expected a list, array('f'), array('b') or bytes, got str")
    assert errs[7].startswith(("ValueError", "TypeError"))  # nested list: not a number
    assert errs[8] == "ValueError output 0: out must be a buffer (array('f') or raw), not a list"
    assert errs[9] == "ValueError output 0 expects 1 values (shape (1, 1), int8), got 2"


def test_too_small_arena_raises_memory_error_with_the_needed_size(tmp_path):
    (tmp_path / "microtf_config.py").write_text("ARENA_SIZE = 8\n")
    code = (
        PRE
        + f"""
m = microtf.Model({str(SINE)!r}, arena=bytearray(4096))
print('U', m.arena_used)
for arena in (bytearray(m.arena_used - 1), None):
    try:
        microtf.Model({str(SINE)!r}, arena=arena)
        print('M loaded')
    except MemoryError as e:
        print('M', e)
"""
    )
    out = run_mp(f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + code)
    used = int(line(out, "U"))
    msgs = [ln[2:] for ln in out.splitlines() if ln.startswith("M ")]
    assert msgs[0].startswith(f"model needs {used} bytes of arena, the arena has {used - 1}")
    assert msgs[1].startswith(f"model needs {used} bytes of arena, the arena has 8")


def test_one_model_at_a_time_owns_the_shared_arena():
    out = run_mp(
        PRE
        + f"""
a = microtf.Model({str(SINE)!r})
ya = a.predict([1.0])
b = microtf.Model({str(SINE)!r})
for f in (lambda: a.predict([1.0]), a.invoke, lambda: a.input(0)):
    try:
        f()
        print('R none')
    except RuntimeError as e:
        print('R', e)
own = microtf.Model({str(SINE)!r}, arena=bytearray(1024))   # its own arena: b stays valid
print('B', b.predict([1.0]) == ya, own.predict([1.0]) == ya)
"""
    )
    assert out.count("R Model was replaced: one model at a time owns the arena") == 3
    assert line(out, "B") == "True True"


# --- no allocation ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sine", "gesture"])
def test_invoke_and_predict_into_do_not_allocate(name):
    path = MODELS[name]
    n_pred = 10000 if name == "sine" else 2000  # gesture: ~0.5 ms per call here
    out = run_mp(
        PRE
        + f"""
m = microtf.Model({str(path)!r})
n = len(m.input(0))
xf = array('f', [0.01 * (j % 50) for j in range(n)])
xb = array('b', [(j * 7) % 200 - 100 for j in range(n)])
yf = array('f', bytes(4 * len(m.output(0))))
yb = array('b', bytes(len(m.output(0))))
m.predict_into(xf, yf); m.predict_into(xb, yb)    # first calls: buffers inspected once
def run_invoke():
    for _ in range(50):
        m.invoke()
def run_pf():
    for _ in range(50):
        m.predict_into(xf, yf)
def run_pb():
    for _ in range(50):
        m.predict_into(xb, yb)
def run_mixed():
    for _ in range(20):
        m.predict_into(xb, yf)
        m.predict_into(xf, yb)
print('L', locked(run_invoke), locked(run_pf), locked(run_pb), locked(run_mixed))
# control: the lock does catch an allocation
print('C', locked(lambda: m.predict([0.5] * n)))
# {n_pred} calls, gc.mem_alloc() compared without any collection in between
before = gc.mem_alloc()
for i in range({n_pred}):
    m.predict_into(xf, yf)
after = gc.mem_alloc()
print('G', before, after)
hx('Y', yf)
"""
    )
    assert line(out, "L") == "ok ok ok ok"
    assert line(out, "C") == "alloc"
    before, after = (int(v) for v in line(out, "G").split())
    assert after == before
    y = np.frombuffer(hexlines(out, "Y")[0], dtype=np.float32)
    assert np.all(np.isfinite(y))


# --- REPL helpers -------------------------------------------------------------------------------


def test_info_prints_a_readable_summary():
    out = run_mp(PRE + f"microtf.info({str(SINE)!r})\n")
    lines = out.splitlines()
    assert lines[0] == f"model: {SINE.stat().st_size} bytes, {SINE}, viper engine"
    assert lines[1] == "input 0: int8 (1, 1) scale 0.0243739411 zero_point -128"
    assert lines[2] == "output 0: int8 (1, 1) scale 0.00796223991 zero_point 1"
    assert lines[3] == "ops (1): FULLY_CONNECTED v4"
    assert lines[4].startswith("arena: ") and lines[4].endswith(" bytes used of 16384")
    manifest = json.loads((ROOT / "models" / "gesture" / "manifest.json").read_text())
    assert manifest["labels"] == ["idle", "wave", "punch", "circle"]


def test_bench_prints_latency_and_memory():
    out = run_mp(
        PRE + f"r = microtf.bench(microtf.Model({str(SINE)!r}), 200)\nprint('D', r['n'], r['heap_growth'])\n"
    )
    lat = next(ln for ln in out.splitlines() if ln.startswith("bench: "))
    assert lat.startswith("bench: 200 invokes, viper engine: mean ")
    mean = float(lat.split("mean ")[1].split(" us")[0])
    assert 0 < mean < 10000
    mem = next(ln for ln in out.splitlines() if ln.startswith("memory: "))
    assert mem.startswith("memory: arena ") and mem.endswith("heap +0 bytes during the invokes")
    assert line(out, "D") == "200 0"


def test_package_exports_are_lazy():
    out = run_mp("""
import sys, microtf
print(sorted(k for k in sys.modules if k.startswith('microtf')))
M = microtf.Model
from microtf import info, bench
print(M.__name__, info.__name__, bench.__name__, 'microtf.model' in sys.modules)
""")
    first, second = out.splitlines()[:2]
    assert first == "['microtf']"
    assert second == "Model info bench True"
