"""The 36 seeded random int8 architectures through `_microtf` on the emulated board, bit for bit.

Fixtures: tests/fixtures/ops/random/ (made by tests/fixtures/make_random_models.py; the host C engine
runs them bit-exact in tests/engine/test_random_models.py). Here every model runs on the Cortex-M4
build under MicroPython, all in ONE boot: the board loads the models one after another (each Model()
replaces the previous one in the static arena), so this also shows that the arena is reused cleanly
from model to model. Each model gets SAMPLES seeded int8 inputs; TFLite Micro computes the expected
outputs on the host (cached under build/board_oracle/, see boardbatch.py) while QEMU runs.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter

import pytest
from boardbatch import BoardRun, BoardThread, Case, first_difference, oracle, split_outputs
from boardkit import ROOT
from fixturekit import degenerate, op_names, seeded_inputs

pytestmark = pytest.mark.timeout(400)

FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ops" / "random"
MANIFEST = json.loads((FIXTURE_DIR / "manifest.json").read_text())
MODELS: dict[str, dict] = MANIFEST["models"]
NAMES = sorted(MODELS)
SAMPLES = 48


def _cases() -> list[Case]:
    cases = []
    for name in NAMES:
        data = (FIXTURE_DIR / f"{name}.tflite").read_bytes()
        samples = seeded_inputs(tuple(MODELS[name]["input_shape"]), zlib.crc32(name.encode()), SAMPLES)
        cases.append(Case(name, data, samples))
    return cases


@pytest.fixture(scope="module")
def batch(firmware, tmp_path_factory) -> tuple[dict[str, list], BoardRun]:
    """One boot for all models; TFLite Micro runs on the host meanwhile."""
    cases = _cases()
    board = BoardThread(cases, tmp_path_factory.mktemp("random"), timeout=300)
    board.start()
    expected = oracle(cases)
    return expected, board.outcome()


def test_set_is_the_random_architectures() -> None:
    """The models are the manifest's, hold the operators it claims, and cover the required ones."""
    assert len(NAMES) >= 30
    assert sorted(p.stem for p in FIXTURE_DIR.glob("*.tflite")) == NAMES
    covered: Counter[str] = Counter()
    for name in NAMES:
        ops = op_names((FIXTURE_DIR / f"{name}.tflite").read_bytes())
        assert ops == MODELS[name]["ops"], f"{name}: holds {ops}, manifest says {MODELS[name]['ops']}"
        covered.update(set(ops))
    assert not set(MANIFEST["required_ops"]) - set(covered), f"covered only {sorted(covered)}"


def test_one_boot_runs_every_model(batch) -> None:
    _, board = batch
    assert board.status == 0, board.console[-3000:]
    assert board.console.rstrip().endswith("done"), board.console[-3000:]
    assert not board.refused, f"board refused {board.refused}"
    assert not board.errors, f"errors on the board: {board.errors}"
    assert sorted(board.ok) == NAMES
    for name, used in board.ok.items():
        assert 0 < used <= board.arena_size, f"{name}: arena_used {used}"


@pytest.mark.parametrize("name", NAMES)
def test_bit_exact_on_board(batch, name: str) -> None:
    expected, board = batch
    want = expected[name]
    assert len(want) >= 16
    why = degenerate(want)
    assert why is None, f"{name}: {why}: the comparison would prove little"
    assert name in board.raw, (
        f"{name} did not run on the board: {board.refused.get(name) or board.errors.get(name)}"
    )
    got = split_outputs(board.raw[name], want[0], len(want))
    diff = first_difference(got, want)
    assert diff is None, f"{name} ({' '.join(MODELS[name]['layers'])}): {diff}"


def test_comparison_catches_one_wrong_byte(batch) -> None:
    """The check above can fail: one flipped bit in the board's last output byte is found."""
    expected, board = batch
    name = NAMES[0]
    raw = bytearray(board.raw[name])
    raw[-1] ^= 1
    got = split_outputs(bytes(raw), expected[name][0], len(expected[name]))
    diff = first_difference(got, expected[name])
    assert diff is not None and diff.startswith(f"1 of {len(expected[name])} steps differ"), diff
