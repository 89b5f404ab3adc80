"""vengine/exact.py (integer-only IEEE emulation) against the C engine's own
double/float arithmetic (mtf_quant.c, mtf_fixedpoint.c), on 100,000 random
float32 triples under CPython and a subset under the MicroPython binary."""

from __future__ import annotations

import random
import subprocess

import pytest
from vhelpers import FIRMWARE, HERE, build_c_tool, run_micropython

N = 100_000
N_MICROPYTHON = 3_000


def _scale_bits(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.5:  # typical quantization scales
        exp = rng.randint(127 - 40, 127 + 8)
        frac = rng.getrandbits(23)
    elif kind < 0.6:  # mantissas at the rounding edges
        exp = rng.randint(127 - 30, 127 + 30)
        frac = rng.choice([0, 1, 0x7FFFFF, 0x7FFFFE, 0x400000, 0x3FFFFF])
    elif kind < 0.65:  # subnormals
        exp = 0
        frac = rng.getrandbits(23) or 1
    else:  # any positive finite float32
        exp = rng.randint(1, 254)
        frac = rng.getrandbits(23)
    return (exp << 23) | frac


@pytest.fixture(scope="module")
def vectors() -> tuple[list[str], list[str]]:
    rng = random.Random(20261124)
    lines = [f"{_scale_bits(rng):08x} {_scale_bits(rng):08x} {_scale_bits(rng):08x}" for _ in range(N)]
    tool = build_c_tool("quant_check")
    res = subprocess.run(
        [str(tool)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
    )
    expected = res.stdout.split("\n")[:-1]
    assert len(expected) == N
    return lines, expected


def test_exact_cpython(vectors: tuple[list[str], list[str]]) -> None:
    import sys

    sys.path.insert(0, str(FIRMWARE))
    sys.path.insert(0, str(HERE))
    import exact_runner  # type: ignore[import-not-found]

    lines, expected = vectors
    got = exact_runner.run(lines)
    bad = [(lines[i], expected[i], got[i]) for i in range(N) if got[i] != expected[i]]
    assert not bad, f"{len(bad)} mismatches, first: {bad[:3]}"
    # The vectors must exercise the interesting branches.
    shifts = {int(e.split()[1]) for e in expected}
    assert min(shifts) <= -31 and max(shifts) >= 31
    assert any(e.split()[4] != "0" for e in expected)


def test_exact_micropython(vectors: tuple[list[str], list[str]], tmp_path) -> None:
    lines, expected = vectors
    vec = tmp_path / "vec.txt"
    vec.write_text("\n".join(lines[:N_MICROPYTHON]) + "\n")
    out = run_micropython([str(HERE / "exact_runner.py"), str(vec)])
    got = out.split("\n")[:N_MICROPYTHON]
    assert got == expected[:N_MICROPYTHON]
