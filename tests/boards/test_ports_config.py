"""Board configurations: every arena fits its frozen models by the engine's own figure, pins are set,
the frozen manifest matches board.json, and MICROTF_OPS comes from the models' operators."""

from __future__ import annotations

import json
import shutil

import pytest
from microtf_host import boards
from microtf_host.engine import arena_needed
from microtf_host.errors import MicrotfError
from microtf_host.modelinfo import describe
from microtf_host.paths import ROOT, SHARED_MODELS
from portskit import GESTURE, GESTURE_OPS, SINE


@pytest.mark.parametrize("name", boards.REAL_BOARDS)
def test_every_board_validates(name):
    board = boards.load(name)
    fits = boards.validate(board)
    assert {f.path for f in fits} == set(board.models)
    for fit in fits:
        assert fit.arena_needed == arena_needed(fit.path.read_bytes()) <= board.arena_size
    assert board.micropython_version == "v1.26.0"
    if board.port == "esp32":
        assert board.toolchain["version"] in board.toolchain["supported"]
    if name != "unix":
        assert {"sda", "scl"} <= set(board.pins["i2c"]) and isinstance(board.pins["adc"], int)


def _copy_board(tmp_path, name="esp32", **changes):
    """A copy of a board directory with board.json fields changed (manifest paths kept working)."""
    src = ROOT / "boards" / name
    dst = tmp_path / "boards" / name
    shutil.copytree(src, dst)
    data = json.loads((dst / "board.json").read_text())
    data.update(changes)
    (dst / "board.json").write_text(json.dumps(data))
    text = (dst / "manifest.py").read_text().replace('"../../', f'"{ROOT}/')
    (dst / "manifest.py").write_text(text)
    return boards.load(name, tmp_path / "boards")


def test_too_small_arena_fails_naming_model_and_sizes(tmp_path):
    need = arena_needed(GESTURE.read_bytes())
    board = _copy_board(tmp_path, arena_size=need - 16)
    with pytest.raises(MicrotfError) as err:
        boards.validate(board)
    msg = str(err.value)
    assert "gesture_int8.tflite" in msg and f"{need:,}" in msg and f"{need - 16:,}" in msg
    assert "sine_int8" not in msg  # sine fits: only the real problem is named
    # Exactly the engine's figure is enough.
    boards.validate(_copy_board(tmp_path / "b", arena_size=need))


def test_large_model_needs_a_large_arena(tmp_path):
    person = SHARED_MODELS / "person_detect.tflite"
    need = arena_needed(person.read_bytes())
    board = _copy_board(tmp_path, name="esp32", models=[str(person)], model_flash_budget=400_000)
    with pytest.raises(
        MicrotfError, match=f"person_detect.tflite needs {need:,} bytes of arena, arena_size is 65,536"
    ):
        boards.validate(board)
    # esp32s3's 128 KiB arena holds it (only the manifest, which does not freeze it, is then wrong).
    board = _copy_board(tmp_path / "s3", name="esp32s3", models=[str(person)], model_flash_budget=400_000)
    with pytest.raises(MicrotfError) as err:
        boards.validate(board)
    assert "arena" not in str(err.value) and "manifest.py freezes" in str(err.value)


def test_missing_pins_and_flash_budget_fail(tmp_path):
    board = _copy_board(tmp_path, pins={"i2c": {"sda": 21}, "adc": None}, model_flash_budget=1000)
    with pytest.raises(MicrotfError) as err:
        boards.validate(board)
    msg = str(err.value)
    assert "pins.i2c.scl" in msg and "pins.adc" in msg and "model_flash_budget is 1,000" in msg
    board = _copy_board(tmp_path / "u", name="unix", sensors="i2c")
    with pytest.raises(MicrotfError, match="pins: null"):
        boards.validate(board)


def test_manifest_must_freeze_every_model(tmp_path):
    board = _copy_board(tmp_path, models=["models/gesture/gesture_int8.tflite"])
    with pytest.raises(MicrotfError, match="manifest.py freezes"):
        boards.validate(board)


def test_unknown_board_and_bad_field():
    with pytest.raises(MicrotfError, match="unknown board 'esp8266'.*esp32"):
        boards.load("esp8266")


@pytest.mark.parametrize("name", boards.REAL_BOARDS)
def test_manifest_content(name):
    board = boards.load(name)
    entries = boards.manifest_entries(board.manifest)
    kinds = [(e.kind, e.name) for e in entries]
    base = "$(PORT_DIR)/variants/manifest.py" if name == "unix" else "$(PORT_DIR)/boards/manifest.py"
    assert kinds[0] == ("include", base)
    (package,) = [e for e in entries if e.kind == "package"]
    assert package.name == "microtf" and package.base_path == (ROOT / "firmware").resolve()
    modules = sorted(e.name for e in entries if e.kind == "module")
    assert modules == sorted(["microtf_board.py", "gesture_int8.py", "sine_int8.py"])
    assert all(
        e.base_path == (ROOT / "build" / name / "frozen").resolve() for e in entries if e.kind == "module"
    )


def test_prepare_writes_what_the_manifest_freezes(tmp_path):
    board = boards.load("esp32")
    written = boards.prepare(board, GESTURE_OPS, out=tmp_path)
    assert sorted(p.name for p in written) == ["gesture_int8.py", "microtf_board.py", "sine_int8.py"]
    for model in (GESTURE, SINE):
        scope: dict = {}
        exec((tmp_path / f"{model.stem}.py").read_text(), scope)  # noqa: S102 - generated by us
        assert scope["MODEL"] == model.read_bytes()  # one contiguous bytes object
    gesture_scope: dict = {}
    exec((tmp_path / "gesture_int8.py").read_text(), gesture_scope)  # noqa: S102
    assert gesture_scope["LABELS"] == tuple((GESTURE.parent / "labels.txt").read_text().split())
    meta: dict = {}
    exec((tmp_path / "microtf_board.py").read_text(), meta)  # noqa: S102
    assert meta["ARENA_SIZE"] == 65536 and meta["PINS"]["i2c"]["sda"] == 21 and meta["PINS"]["adc"] == 36
    assert meta["OPS"] == tuple(GESTURE_OPS) and meta["MODELS"] == ("gesture_int8", "sine_int8")


def test_microtf_ops_for_gesture_is_its_operators():
    ops = boards.ops_for([GESTURE.read_bytes()])
    assert ops == GESTURE_OPS
    # The same operators `microtf inspect` lists, mapped through ops.def.
    names = {u.name for u in describe(GESTURE.read_bytes()).ops}
    table = {e.name: e.kernel for e in boards.optable.load().values()}
    assert sorted(table[n] for n in names) == ops
    assert len(ops) < len(boards.all_ops())
    assert boards.ops_for([SINE.read_bytes()]) == ["fully_connected"]
    assert boards.board_ops(boards.load("rp2")) == GESTURE_OPS  # sine adds nothing new


def test_microtf_ops_cli_and_refusal(capsys):
    assert boards.main(["ops", str(GESTURE)]) == 0
    assert capsys.readouterr().out.strip() == ",".join(GESTURE_OPS)
    assert boards.main(["ops", str(SHARED_MODELS / "trained_lstm_int8.tflite")]) == 2
    err = capsys.readouterr().err
    assert "LSTM" in err and "not supported" in err and "Traceback" not in err


def test_boards_check_cli(capsys):
    assert boards.main(["check"]) == 0
    out = capsys.readouterr().out
    assert all(f"{b}: ok" in out for b in boards.REAL_BOARDS)


def test_engine_size_saved_by_microtf_ops():
    """The engine's .text for a Cortex-M4 (-Os): every operator vs only the gesture model's."""
    from microtf_host import engine_size

    sizes = engine_size.object_text_sizes("cortex-m4")
    assert set(engine_size.all_ops()) <= set(sizes) and any(k.startswith("src/") for k in sizes)
    full = engine_size.engine_text_size(None, "cortex-m4", sizes)
    some = engine_size.engine_text_size(GESTURE_OPS, "cortex-m4", sizes)
    assert full == sum(sizes.values())
    assert 0 < some < full
    assert full - some == sum(
        v for k, v in sizes.items() if k in set(engine_size.all_ops()) - set(GESTURE_OPS)
    )
    assert all(sizes[op] > 0 for op in GESTURE_OPS)
