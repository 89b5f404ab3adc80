"""The viper engine on the microWakeWord models (CALL_ONCE, resource variables,
STRIDED_SLICE, SPLIT_V, CONCATENATION, LOGISTIC): a 200-step stream that wakes
each model, run twice with reset() between, bit for bit against TFLite Micro
(which runs it twice WITHOUT reset, so a reset() that did nothing is caught),
invoke() under heap_lock; and the arena plan equal to the C engine's."""

from __future__ import annotations

import numpy as np
import pytest
from microtf_host import tflm
from microtf_host.engine import list_ops
from vhelpers import HERE, SITE, plan_of_c_engine, run_micropython, run_vengine

WAKEWORD = SITE / "pymicro_wakeword" / "models"
STREAMS = HERE.parent / "board" / "fixtures" / "wakeword_streams.npz"
NAMES = ["alexa", "hey_jarvis", "hey_mycroft", "okay_nabu"]
STEPS = 200
STATE_OPS = {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "STRIDED_SLICE", "LOGISTIC"}


def wakeword_samples(name: str, steps: int = STEPS) -> list[list[np.ndarray]]:
    """steps of [1, 3, 40] int8 features that wake the model (as tests/board/test_qemu_m4_models.py)."""
    vectors = np.load(STREAMS)[name].astype(np.int16)
    rng = np.random.default_rng(NAMES.index(name))
    frames = np.repeat(vectors, steps * 3 // len(vectors), axis=0)
    frames = np.clip(frames + rng.integers(-12, 13, frames.shape), -128, 127).astype(np.int8)
    out = [[f.reshape(1, 3, 40)] for f in frames.reshape(steps, 3, 40)]
    return out[steps // 2 :] + out[: steps // 2]


@pytest.mark.parametrize("name", NAMES)
def test_stream_bit_exact_and_reset(name: str, tmp_path) -> None:
    path = WAKEWORD / f"{name}.tflite"
    model = path.read_bytes()
    assert STATE_OPS <= {op.name for op in list_ops(model)}
    samples = wakeword_samples(name)
    oracle = tflm.run(model, samples + samples)
    want, carried = oracle[:STEPS], oracle[STEPS:]
    ys = np.array([int(row[0].item()) for row in want])
    assert ys.max() >= 100 and len(np.unique(ys)) >= 10, f"{name}: stream barely wakes: {ys.max()}"
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(want, carried, strict=True))
    got, line = run_vengine(
        path, samples + samples, [((1, 1), np.uint8)], tmp_path, "heaplock", f"reset_at={STEPS}"
    )
    assert line.startswith(f"ok {2 * STEPS} "), line
    for k, (a, b) in enumerate(zip(got, want + want, strict=True)):
        assert np.array_equal(a[0], b[0]), f"step {k}: {a[0].ravel()} vs {b[0].ravel()}"


def test_plans_equal_c_engine() -> None:
    paths = [WAKEWORD / f"{n}.tflite" for n in NAMES]
    out = run_micropython([str(HERE / "vplan.py"), *map(str, paths)])
    blocks = out.split("head ")[1:]
    assert len(blocks) == len(paths)
    for path, block in zip(paths, blocks, strict=True):
        lines = block.strip().split("\n")
        _, head, offsets = plan_of_c_engine(path)
        assert int(lines[0]) == head, path.name
        assert {int(a): int(b) for a, b in (line.split() for line in lines[1:])} == offsets, path.name


def _call_once_target_pos(model: bytes) -> int:
    """Byte position of the CALL_ONCE node's init_subgraph_index in the model."""
    import sys

    from vhelpers import FIRMWARE

    sys.path.insert(0, str(FIRMWARE / "microtf" / "vengine"))
    try:
        import reader as rd  # the viper engine's flatbuffer reader: plain Python
    finally:
        sys.path.pop(0)
    r = rd.Reader(model)
    root = r.root()
    codes = r.vec(root, rd.F_MODEL_OPCODES, 4, "codes")
    sg = r.vec_table(r.vec(root, rd.F_MODEL_SUBGRAPHS, 4, "sg"), 0, "sg")
    ops = r.vec(sg, rd.F_SG_OPERATORS, 4, "ops")
    for i in range(ops[1]):
        ot = r.vec_table(ops, i, "op")
        ct = r.vec_table(codes, r.i32f(ot, rd.F_OP_OPCODE, 0), "code")
        if r.i32f(ct, rd.F_OPCODE_BUILTIN, 0) == 129:
            return rd.Options(r, r.sub(ot, rd.F_OP_OPTIONS, "opt"))._pos(0, 4)
    raise AssertionError("no CALL_ONCE")


def test_bad_call_once_targets_refused(tmp_path) -> None:
    """CALL_ONCE of subgraph 0 (itself), of a subgraph that does not exist, or of a negative
    index: ValueError at load, as the C engine refuses them."""
    model = (WAKEWORD / "alexa.tflite").read_bytes()
    pos = _call_once_target_pos(model)
    assert int.from_bytes(model[pos : pos + 4], "little") == 1
    paths = []
    for target in (0, 2, 99, -1):
        bad = bytearray(model)
        bad[pos : pos + 4] = target.to_bytes(4, "little", signed=True)
        p = tmp_path / f"t{target}.tflite"
        p.write_bytes(bytes(bad))
        paths.append(p)
    script = tmp_path / "load.py"
    script.write_text(
        "import sys\nfrom microtf.vengine.model import VModel\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n        VModel(open(p, 'rb').read())\n        print('loaded')\n"
        "    except ValueError as e:\n        print('ValueError', e)\n"
    )
    lines = run_micropython([str(script), *map(str, paths)]).strip().split("\n")
    assert len(lines) == 4 and all(line.startswith("ValueError") and "CALL_ONCE" in line for line in lines), (
        lines
    )
