"""Every operator fixture through `_microtf` on the emulated board, bit for bit with TFLite Micro.

Fixtures: tests/fixtures/ops/{conv,elementwise,movement,core}/*.tflite (made by the scripts in
tests/fixtures/), which the host C engine runs bit-exact in tests/engine/. All of them go through the
Cortex-M4 build in ONE boot (see boardbatch.py), each with SAMPLES inputs of its input types: int8
(and uint8) inputs start with two sweeps of all 256 values, so single-input activations over 256
values are tested exhaustively; float inputs include 0, -0, +-1e30 (+-1e6 into a QUANTIZE, see HUGE).
The *_pairs_* models (every pair of int8 values) run shrunk to fit the board's arena (see CHUNK).

What each fixture must do on the board follows from the host engine (x86-64):
- the host engine refuses it: the board refuses it too, with ValueError (by design, nothing to run);
- it needs more arena than the board's MICROTF_ARENA_SIZE: MemoryError naming the size needed;
- otherwise: every output of every step is the same bytes as TFLite Micro's.
float32 models compute with the M4's libm (newlib) where TFLite Micro on the host uses glibc: a
fixture that differs for that reason alone is listed in LIBM_DIFFERS and is an xfail(strict=True).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import zlib
from collections.abc import Callable

import numpy as np
import pytest
import tflite
from boardbatch import BoardRun, BoardThread, Case, first_difference, oracle, split_outputs
from boardkit import ROOT
from microtf_host import qemu
from microtf_host.engine import Engine, EngineError

pytestmark = pytest.mark.timeout(400)

FIXTURE_ROOT = ROOT / "tests" / "fixtures" / "ops"
FAMILIES = ("conv", "elementwise", "movement", "core")
PATHS = {f"{fam}/{p.stem}": p for fam in FAMILIES for p in sorted((FIXTURE_ROOT / fam).glob("*.tflite"))}
NAMES = sorted(PATHS)
SAMPLES = 32
SWEEP = np.arange(-128, 128, dtype=np.int8)
# TFLite Micro's default arena is too small for the pairs models (128 KiB outputs); only the
# board's arena limit matters here.
TFLM_ARENA = 1 << 20


def _board_arena_size() -> int:
    """MICROTF_ARENA_SIZE of the qemu_m4 build (checked against the board's own figure below)."""
    text = (ROOT / "boards" / "qemu_m4" / "Makefile").read_text()
    found = re.search(r"^MICROTF_ARENA_SIZE\s*\?=\s*(\d+)", text, re.M)
    assert found, "MICROTF_ARENA_SIZE not found in boards/qemu_m4/Makefile"
    return int(found.group(1))


ARENA_SIZE = _board_arena_size()

# Outputs saturated or nearly constant by design, with the reason.
DEGENERATE_BY_DESIGN = {
    "elementwise/softmax_beta7000": "beta * scale >= 32 caps the input multiplier: outputs are one-hot",
}

# float32 fixtures whose board outputs differ from TFLite Micro's on x86-64 because the kernel calls
# libm (newlib's on the M4, glibc's on the host): name -> reason (strict xfail).
# test_libm_explains_the_float_differences proves the attribution for each.
LIBM = "newlib's {0} (on the M4) and glibc's {0} (host TFLite Micro) differ by an ulp"
LIBM_DIFFERS: dict[str, str] = {
    "elementwise/float_sigmoid": LIBM.format("expf") + " for some arguments; 1/(1+expf(-x)) follows",
    "elementwise/float_softmax": LIBM.format("expf")
    + " for some (x - max) * beta; sums and quotients follow",
    "elementwise/float_tanh": LIBM.format("tanhf") + " for some arguments",
}


# Float inputs of the first step include +-HUGE, except where a QUANTIZE turns them into integers:
# beyond int32, TFLite Micro's (int32)round(x / scale) + zero_point is undefined behaviour (on x86-64
# the cast gives INT32_MIN for +-1e30 and adding a negative zero point wraps to +127), where the engine
# saturates. There they are +-BIG, which quantizes to -128/127 without overflow;
# test_float_beyond_int32_saturates_like_the_host_engine covers +-HUGE.
HUGE, BIG = 1e30, 1e6


def _inputs(eng: Engine, seed: int, huge: float = HUGE) -> list[list[np.ndarray]]:
    """Sweeps of all 256 values first, then seeded random steps: even ones over the whole range,
    odd ones in a narrow window (near-ties for SOFTMAX, small differences for ADD/SUB)."""
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(SAMPLES):
        sample = []
        for info in eng.inputs:
            shape = info.shape
            if info.dtype == np.float32:
                x = (rng.standard_normal(shape) * rng.choice([0.5, 3.0, 30.0])).astype(np.float32)
                if k == 0:
                    x.flat[:4] = [0.0, -0.0, huge, -huge][: x.size]
            elif info.dtype in (np.int8, np.uint8):
                if k < 2:
                    x = np.resize(SWEEP if k == 0 else SWEEP[::-1], shape)
                elif k % 2 == 0:
                    x = rng.integers(-128, 128, size=shape)
                else:
                    lo = int(rng.integers(-128, 124))
                    x = rng.integers(lo, lo + 5, size=shape)
                x = (x.astype(np.int16) + (128 if info.dtype == np.uint8 else 0)).astype(info.dtype)
            else:
                raise AssertionError(f"no input generator for {info.dtype}")
            sample.append(x)
        samples.append(sample)
    return samples


def _op_names(data: bytes) -> set[str]:
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    ops = set()
    for i in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(i).OpcodeIndex())
        ops.add(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    return ops


class Expectation:
    """What the host engine says the board must do with a fixture."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data = PATHS[name].read_bytes()
        self.refused: str | None = None  # host engine's message when it refuses the model
        self.needed = 0
        self.samples: list[list[np.ndarray]] = []
        self.huge_samples: list[list[np.ndarray]] = []  # +-1e30 into QUANTIZE, see HUGE
        try:
            eng = Engine(self.data)
        except EngineError as exc:
            self.refused = str(exc)
            return
        self.needed = eng.arena_used
        quantizes = "QUANTIZE" in _op_names(self.data)
        floats = any(info.dtype == np.float32 for info in eng.inputs)
        if self.fits:
            seed = zlib.crc32(name.encode())
            self.samples = _inputs(eng, seed, BIG if quantizes else HUGE)
            if quantizes and floats:
                self.huge_samples = _inputs(eng, seed, HUGE)[:2]

    @property
    def fits(self) -> bool:
        return self.refused is None and self.needed <= ARENA_SIZE


EXPECT = {name: Expectation(name) for name in NAMES}


HUGE_SUFFIX = "@huge"

# The *_pairs_* models ([1, 2, 256, 1] against [1, 2, 1, 256]: every pair of int8 values) need 130 KB
# of arena, more than the board has. Shrunk to [1, 2, CHUNK, 1] -> [1, 2, CHUNK, 256] (a patch of two
# shape entries) they fit, and 256 / CHUNK steps still cover every pair on the board.
CHUNK = 64
CHUNK_SUFFIX = f"@{CHUNK}"


def _shrunk_pairs(data: bytes) -> bytes:
    """The pairs model with input 0 and the output cut from 256 to CHUNK rows along axis 2."""
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    out = bytearray(data)
    for tensor in (graph.Inputs(0), graph.Outputs(0)):
        t = graph.Tensors(tensor)
        assert t.ShapeLength() == 4 and t.Shape(2) == 256 and not t.ShapeSignatureLength(), t.ShapeAsNumpy()
        pos = t._tab.Vector(t._tab.Offset(4)) + 4 * 2  # shape is field 0; its element 2
        out[pos : pos + 4] = CHUNK.to_bytes(4, "little")
    return bytes(out)


def _pairs_samples(seed: int) -> list[list[np.ndarray]]:
    """Row 0 of each step: CHUNK values of input 0 against all 256 of input 1 (every pair over the
    steps); row 1 the same reversed; then two random steps."""
    rng = np.random.default_rng(seed)
    samples = []
    for c in range(256 // CHUNK):
        part = SWEEP[c * CHUNK : (c + 1) * CHUNK]
        a = np.stack([part, part[::-1]]).reshape(1, 2, CHUNK, 1)
        b = np.stack([SWEEP, SWEEP[::-1]]).reshape(1, 2, 1, 256)
        samples.append([a, b])
    for _ in range(2):
        samples.append(
            [
                rng.integers(-128, 128, (1, 2, CHUNK, 1), dtype=np.int8),
                rng.integers(-128, 128, (1, 2, 1, 256), dtype=np.int8),
            ]
        )
    return samples


PAIRS = {
    name + CHUNK_SUFFIX: Case(
        name + CHUNK_SUFFIX, _shrunk_pairs(e.data), _pairs_samples(zlib.crc32(name.encode()))
    )
    for name, e in EXPECT.items()
    if "_pairs_" in name
}


# Float inputs just around the rounding halves of a QUANTIZE's output scale ((n + 1/2) * scale, give
# or take 2 ulps): TFLite Micro computes round(x / (float)scale) with a float32 quotient, so a few
# ulps decide the integer. Fixtures with float inputs into a QUANTIZE get HALVES_STEPS such steps.
HALVES_SUFFIX = "@halves"
HALVES_STEPS = 32


def _quantize_scale(data: bytes) -> float | None:
    """Output scale of the first QUANTIZE fed by a float32 tensor, if any."""
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != tflite.BuiltinOperator.QUANTIZE:
            continue
        if graph.Tensors(op.Inputs(0)).Type() == tflite.TensorType.FLOAT32:
            return float(graph.Tensors(op.Outputs(0)).Quantization().Scale(0))
    return None


def _halves_samples(eng: Engine, scale: float, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(HALVES_STEPS):
        sample = []
        for info in eng.inputs:
            n = rng.integers(-130, 130, size=info.shape).astype(np.float64)
            x = ((n + 0.5) * np.float64(np.float32(scale))).astype(np.float32)
            for _ in range(2):  # up to 2 ulps either way
                step = rng.integers(-1, 2, size=info.shape)
                x = np.where(
                    step == 0, x, np.nextafter(x, np.where(step > 0, np.inf, -np.inf).astype(np.float32))
                )
            sample.append(x.astype(np.float32))
        samples.append(sample)
    return samples


HALVES = {}
for _name, _e in EXPECT.items():
    _scale = _quantize_scale(_e.data) if _e.fits else None
    if _scale is not None and _e.huge_samples:
        _eng = Engine(_e.data)
        HALVES[_name + HALVES_SUFFIX] = Case(
            _name + HALVES_SUFFIX, _e.data, _halves_samples(_eng, _scale, zlib.crc32(_name.encode()))
        )


@pytest.fixture(scope="module")
def batch(firmware, tmp_path_factory) -> tuple[dict[str, list], BoardRun]:
    """One boot for all fixtures; TFLite Micro runs on the host meanwhile."""
    cases = [Case(name, e.data, e.samples) for name, e in EXPECT.items()]
    huge = [Case(name + HUGE_SUFFIX, e.data, e.huge_samples) for name, e in EXPECT.items() if e.huge_samples]
    pairs = list(PAIRS.values()) + list(HALVES.values())
    board = BoardThread(cases + pairs + huge, tmp_path_factory.mktemp("fixtures"), timeout=300)
    board.start()
    expected = oracle(cases + pairs, arena_size=TFLM_ARENA)
    return expected, board.outcome()


def test_fixture_set() -> None:
    """All four families are here, and the arena classification is clear-cut on 32-bit and 64-bit."""
    for fam in FAMILIES:
        assert any(n.startswith(fam + "/") for n in NAMES), f"no fixtures in {fam}/"
    assert len(NAMES) >= 140
    running = [e for e in EXPECT.values() if e.fits]
    assert len(running) >= 120
    too_big = [n for n, e in EXPECT.items() if e.refused is None and not e.fits]
    assert sorted(too_big) == sorted(n.removesuffix(CHUNK_SUFFIX) for n in PAIRS), "shrink these too"
    for case in PAIRS.values():
        assert Engine(case.model).arena_used <= ARENA_SIZE * 0.9, case.name
    ops = set().union(*(_op_names(e.data) for e in running))
    wanted = (
        "CONV_2D DEPTHWISE_CONV_2D FULLY_CONNECTED ADD SUB MUL SOFTMAX LOGISTIC TANH HARD_SWISH MEAN PAD "
    )
    wanted += "CONCATENATION STRIDED_SLICE SPLIT_V PACK QUANTIZE DEQUANTIZE"
    for op in wanted.split():
        assert op in ops, f"no fixture running on the board holds {op}"
    # The board's engine is 32-bit (smaller structs): a model close to the limit on the host could
    # go either way there, which this test would not classify correctly.
    for e in EXPECT.values():
        if e.refused is None:
            assert e.needed <= ARENA_SIZE * 0.9 or e.needed > ARENA_SIZE * 1.1, f"{e.name}: {e.needed} B"


def test_one_boot_runs_every_fixture(batch) -> None:
    _, board = batch
    assert board.status == 0, board.console[-3000:]
    assert board.console.rstrip().endswith("done"), board.console[-3000:]
    assert board.arena_size == ARENA_SIZE, "boards/qemu_m4/Makefile and the firmware disagree"
    assert not board.errors, f"errors on the board: {board.errors}"
    huge = sum(1 for e in EXPECT.values() if e.huge_samples)
    assert len(board.ok) + len(board.refused) == len(NAMES) + len(PAIRS) + len(HALVES) + huge
    for name, used in board.ok.items():
        assert 0 < used <= board.arena_size, f"{name}: arena_used {used}"


REFUSED = [n for n, e in EXPECT.items() if e.refused is not None]
TOO_BIG = [n for n, e in EXPECT.items() if e.refused is None and not e.fits]
RUNNING = [n for n, e in EXPECT.items() if e.fits]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_like_the_host_engine(batch, name: str) -> None:
    _, board = batch
    assert name in board.refused, f"{name}: host engine refuses it ({EXPECT[name].refused}); board ran it"
    exc, message = board.refused[name]
    assert exc == "ValueError", f"{name}: {exc} {message}"
    assert message, f"{name}: refused without a reason"


@pytest.mark.parametrize("name", TOO_BIG)
def test_too_big_for_the_arena_is_memory_error(batch, name: str) -> None:
    _, board = batch
    assert name in board.refused, f"{name} needs {EXPECT[name].needed} B on the host, ran on the board"
    exc, message = board.refused[name]
    assert exc == "MemoryError", f"{name}: {exc} {message}"
    found = re.match(r"model needs (\d+) bytes of arena, MICROTF_ARENA_SIZE is (\d+)", message)
    assert found, message
    assert int(found.group(1)) > ARENA_SIZE and int(found.group(2)) == ARENA_SIZE, message


def _degenerate(outputs: list[list[np.ndarray]]) -> str | None:
    if len({b"".join(o.tobytes() for o in step) for step in outputs}) < 2:
        return "outputs identical for every input"
    values = np.concatenate([o.ravel() for step in outputs for o in step])
    if values.dtype == np.float32:
        return None if len(np.unique(values)) > 10 else "float outputs (nearly) constant"
    info = np.iinfo(values.dtype)
    saturated = float(np.mean((values == info.min) | (values == info.max)))
    if saturated > 0.9:
        return f"{saturated:.0%} of outputs saturated"
    if len(np.unique(values)) < 3:
        return f"outputs take only {len(np.unique(values))} distinct values"
    return None


def _param(name: str):
    if name in LIBM_DIFFERS:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=LIBM_DIFFERS[name]))
    return name


@pytest.mark.parametrize("name", [_param(n) for n in RUNNING + sorted(PAIRS)])
def test_bit_exact_on_board(batch, name: str) -> None:
    expected, board = batch
    want = expected[name]
    assert len(want) == (len(PAIRS[name].samples) if name in PAIRS else SAMPLES)
    if name not in DEGENERATE_BY_DESIGN:
        why = _degenerate(want)
        assert why is None, f"{name}: {why}: the comparison would prove little"
    assert name in board.raw, (
        f"{name} did not run on the board: {board.refused.get(name) or board.errors.get(name)}"
    )
    got = split_outputs(board.raw[name], want[0], len(want))
    diff = first_difference(got, want)
    assert diff is None, f"{name}: {diff}"


HUGE_CASES = [n for n, e in EXPECT.items() if e.huge_samples]


@pytest.mark.parametrize("name", HUGE_CASES)
def test_float_beyond_int32_saturates_like_the_host_engine(batch, name: str) -> None:
    """+-1e30 into a QUANTIZE: the board gives the host engine's saturated result (-128/127). Not
    compared with TFLite Micro, whose cast is undefined there (see HUGE)."""
    _, board = batch
    e = EXPECT[name]
    want = Engine(e.data).run(e.huge_samples)
    key = name + HUGE_SUFFIX
    assert key in board.raw, board.refused.get(key) or board.errors.get(key)
    got = split_outputs(board.raw[key], want[0], len(want))
    diff = first_difference(got, want)
    assert diff is None, f"{name}: {diff}"


@pytest.mark.parametrize("name", sorted(HALVES))
def test_float_quantize_halves_board_equals_host_engine(batch, name: str) -> None:
    """Whatever TFLite Micro says, the board computes what the host engine computes."""
    _, board = batch
    want = Engine(HALVES[name].model).run(HALVES[name].samples)
    assert name in board.raw, board.refused.get(name) or board.errors.get(name)
    diff = first_difference(split_outputs(board.raw[name], want[0], len(want)), want)
    assert diff is None, f"{name}: {diff}"


@pytest.mark.parametrize("name", sorted(HALVES))
def test_float_quantize_rounds_like_tflite_micro(batch, name: str) -> None:
    expected, board = batch
    want = expected[name]
    assert len({row[0].tobytes() for row in want}) == HALVES_STEPS
    assert name in board.raw, board.refused.get(name) or board.errors.get(name)
    got = split_outputs(board.raw[name], want[0], len(want))
    diff = first_difference(got, want)
    assert diff is None, f"{name}: {diff}"


def test_lists_name_real_fixtures() -> None:
    assert HALVES, "no float model with QUANTIZE: float32 quotient rounding goes untested"
    assert HUGE_CASES, "no float model with QUANTIZE: the +-1e30 saturation goes untested"
    for name in [*DEGENERATE_BY_DESIGN, *LIBM_DIFFERS]:
        assert name in RUNNING, f"{name}: not a fixture that runs on the board"


# --- the float differences are libm's: the kernels' formulas with each side's libm ----------------

Fn = Callable[[np.ndarray], np.ndarray]  # a libm function (expf, tanhf) over a float32 array


def _sigmoid(x: np.ndarray, expf: Fn) -> np.ndarray:
    """TFLite's float LOGISTIC (the engine's logistic.c): cut-offs, then 1 / (1 + expf(-x))."""
    one = np.float32(1.0)
    y = np.full_like(x, one)  # x > 16.619047...: 1
    low = x < np.float32(-9.0)
    mid = ~low & ~(x > np.float32(16.619047164916992))
    y[low] = expf(x[low])
    y[mid] = one / (one + expf(-x[mid]))
    return y


def _softmax(x: np.ndarray, expf: Fn, beta: float = 1.0) -> np.ndarray:
    """TFLite's float SOFTMAX (the engine's softmax.c): per row, expf((x - max) * beta) / running sum."""
    rows = x.reshape(-1, x.shape[-1])
    out = np.empty_like(rows)
    for r, row in enumerate(rows):
        e = expf((row - row.max()) * np.float32(beta))
        total = np.float32(0.0)
        for v in e:  # summed in order, in float32, as the C loop does
            total = np.float32(total + v)
        out[r] = e / total
    return out.reshape(x.shape)


def _tanh(x: np.ndarray, tanhf: Fn) -> np.ndarray:
    """TFLite's float TANH: tanhf per element."""
    return tanhf(x)


# fixture -> (the libm function its kernel calls, the kernel's formula around it)
FORMULAS = {
    "elementwise/float_sigmoid": ("exp", _sigmoid),
    "elementwise/float_softmax": ("exp", _softmax),
    "elementwise/float_tanh": ("tanh", _tanh),
}


def _glibc(fn: str) -> Fn:
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    func = getattr(libm, fn + "f")
    func.restype, func.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.vectorize(lambda v: np.float32(func(float(v))), otypes=[np.float32])


# MicroPython's math.exp/math.tanh are libm's expf/tanhf in a single-precision build.
LIBM_SCRIPT = """\
import array, math
for fn in ('exp', 'tanh'):
    xs = array.array('f', open('x_' + fn + '.bin', 'rb').read())
    f = getattr(math, fn)
    open('y_' + fn + '.bin', 'wb').write(array.array('f', [f(v) for v in xs]))
print('done')
"""


def _unique_bits(x: np.ndarray) -> np.ndarray:
    """Distinct float32 values by bit pattern (so -0.0 stays apart from 0.0)."""
    return np.unique(np.asarray(x, dtype=np.float32).view(np.uint32)).view(np.float32)


def _board_libm(args: dict[str, np.ndarray], workdir) -> dict[str, Fn]:
    """The board's expf and tanhf, evaluated on the board at the given arguments."""
    for fn in ("exp", "tanh"):
        (workdir / f"x_{fn}.bin").write_bytes(_unique_bits(args.get(fn, np.zeros(1))).tobytes())
    (workdir / "main.py").write_text(LIBM_SCRIPT)
    status, out = qemu.run_script(workdir / "main.py", timeout=60, cwd=workdir)
    assert status == 0 and out.strip().endswith("done"), out
    result = {}
    for fn in ("exp", "tanh"):
        xs = np.frombuffer((workdir / f"x_{fn}.bin").read_bytes(), np.float32)
        ys = np.frombuffer((workdir / f"y_{fn}.bin").read_bytes(), np.float32)
        table = dict(zip(xs.view(np.uint32).tolist(), ys, strict=True))
        result[fn] = np.vectorize(
            lambda v, t=table: t[int(np.float32(v).view(np.uint32))], otypes=[np.float32]
        )
    return result


def _recording(args: list[np.ndarray]) -> Fn:
    def fn(x: np.ndarray) -> np.ndarray:
        args.append(np.asarray(x, dtype=np.float32).ravel().copy())
        return np.ones_like(x, dtype=np.float32)

    return fn


def test_libm_explains_the_float_differences(batch, tmp_path) -> None:
    """For each LIBM_DIFFERS fixture: the kernel's formula with glibc's libm gives TFLite Micro's
    outputs exactly, the same formula with the board's libm gives the board's outputs exactly, and
    the two libms differ on some argument: libm is the only cause."""
    assert set(LIBM_DIFFERS) <= set(FORMULAS)
    expected, board = batch
    inputs = {name: [s[0] for s in EXPECT[name].samples] for name in LIBM_DIFFERS}
    recorded: dict[str, list[np.ndarray]] = {}
    for name, xs in inputs.items():
        fn, formula = FORMULAS[name]
        for x in xs:
            formula(x, _recording(recorded.setdefault(fn, [])))
    args = {fn: np.concatenate(v) for fn, v in recorded.items()}
    on_board = _board_libm(args, tmp_path)
    for name, xs in inputs.items():
        fn, formula = FORMULAS[name]
        want = expected[name]
        got = split_outputs(board.raw[name], want[0], len(want))
        for k, x in enumerate(xs):
            host_side = formula(x, _glibc(fn))
            board_side = formula(x, on_board[fn])
            assert host_side.tobytes() == want[k][0].tobytes(), f"{name} step {k}: not TFLite Micro's formula"
            assert board_side.tobytes() == got[k][0].tobytes(), f"{name} step {k}: not the board's formula"
        assert first_difference(got, want) is not None, f"{name} now agrees: drop it from LIBM_DIFFERS"
    for fn, values in args.items():
        values = _unique_bits(values)
        differ = on_board[fn](values).view(np.uint32) != _glibc(fn)(values).view(np.uint32)
        assert differ.any(), f"{fn}f: board and glibc agree on every argument"
