"""The viper engine on the emulated board (qemu_m4: Cortex-M4F, 32-bit viper
ints that wrap, single-precision floats, MPZ long ints): bit for bit against
TFLite Micro under heap_lock, and exact.py against the C engine there too."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from microtf_host import qemu, tflm
from microtf_host.engine import Engine
from vhelpers import HERE, MODELS, build_c_tool, build_mpy

pytestmark = pytest.mark.timeout(600)

SCRIPT = """
import sys
import micropython
from microtf.vengine.model import VModel
m = VModel(open(sys.argv[1], 'rb').read())
data = open(sys.argv[2], 'rb').read()
inp = m.input(0)
out = m.output(0)
n = len(inp)
for k in range(len(data) // n):
    for i in range(n):
        inp[i] = data[k * n + i]
    micropython.heap_lock()
    try:
        m.invoke()
    finally:
        micropython.heap_unlock()
    print('O', ' '.join(str(b) for b in out))
print('done', m.arena_used)
"""


@pytest.mark.parametrize("name,steps", [("sine_int8", 64), ("gesture_int8", 12)])
def test_bit_exact_on_emulated_board(name: str, steps: int, tmp_path) -> None:
    path = MODELS[name]
    model = path.read_bytes()
    eng = Engine(model)
    assert len(eng.inputs) == 1 and len(eng.outputs) == 1
    rng = np.random.default_rng(11)
    samples = [[rng.integers(-128, 128, eng.inputs[0].shape).astype(np.int8)] for _ in range(steps)]
    expected = tflm.run(model, samples)
    data = tmp_path / "in.bin"
    data.write_bytes(b"".join(s[0].tobytes() for s in samples))
    status, out = qemu.run_script(SCRIPT, path=[build_mpy()], args=[str(path), str(data)], timeout=300)
    assert status == 0, out
    rows = [line.split()[1:] for line in out.splitlines() if line.startswith("O")]
    assert len(rows) == steps, out[-2000:]
    for k, row in enumerate(rows):
        got = np.array([int(v) for v in row], dtype=np.uint8).view(np.int8)
        assert np.array_equal(got, expected[k][0].ravel()), f"step {k}: {got} vs {expected[k][0].ravel()}"
    assert len({bytes(r) for r in map(str.encode, map(" ".join, rows))}) > 3


def test_exact_on_emulated_board(tmp_path) -> None:
    import random

    from test_vengine_exact import _scale_bits

    rng = random.Random(99)
    lines = [f"{_scale_bits(rng):08x} {_scale_bits(rng):08x} {_scale_bits(rng):08x}" for _ in range(300)]
    vec = tmp_path / "vec.txt"
    vec.write_text("\n".join(lines) + "\n")
    ref = subprocess.run(
        [str(build_c_tool("quant_check"))], input=vec.read_text(), capture_output=True, text=True, check=True
    ).stdout.split("\n")[:-1]
    status, out = qemu.run_script(
        HERE / "exact_runner.py", path=[build_mpy(), HERE], args=[str(vec)], timeout=300
    )
    assert status == 0, out[-2000:]
    assert out.split("\n")[: len(ref)] == ref
