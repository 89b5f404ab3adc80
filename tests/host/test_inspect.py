"""microtf inspect / modelinfo.describe: operators, tensors, parameters, MACs, support."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hostkit import EXAMPLES, MICROTF, ROOT, SHARED, WAKEWORD
from microtf_host import optable
from microtf_host.cli import main
from microtf_host.modelinfo import describe

STATE_OPS = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"}


def test_wakeword_models_are_shipped():
    assert len(WAKEWORD) == 4, WAKEWORD


@pytest.mark.parametrize("path", WAKEWORD, ids=lambda p: p.stem)
def test_inspect_wakeword(capsys, path):
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    for op in STATE_OPS | {"CONV_2D", "DEPTHWISE_CONV_2D", "STRIDED_SLICE", "CONCATENATION"}:
        assert op in out, op
    info = describe(path.read_bytes())
    names = {u.name for u in info.ops}
    assert STATE_OPS <= names
    assert info.subgraphs == 2  # CALL_ONCE's init subgraph
    assert info.inputs[0].shape == (1, 3, 40) and info.inputs[0].dtype == "int8"
    assert info.inputs[0].zero_point == -128 and abs(info.inputs[0].scale - 0.10196) < 1e-4
    assert info.outputs[0].dtype == "uint8" and info.outputs[0].shape == (1, 1)
    assert sum(t.dtype == "resource" for t in info.tensors) >= 6
    assert info.total_macs == sum(u.macs for u in info.ops) > 10_000
    assert info.param_bytes > 10_000
    assert all(u.version >= 1 and u.count >= 1 for u in info.ops)
    assert all(u.supported for u in info.ops)  # every microWakeWord op is in the table


def test_inspect_json(capsys):
    path = next(p for p in WAKEWORD if p.stem == "okay_nabu")
    assert main(["inspect", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ops = {o["name"]: o for o in data["ops"]}
    assert "SPLIT_V" in ops and ops["VAR_HANDLE"]["count"] == 6 * 2
    assert data["inputs"][0]["shape"] == [1, 3, 40]
    assert data["total_macs"] == sum(o["macs"] for o in data["ops"])
    assert data["all_supported"] is True
    assert {"name", "shape", "dtype", "scale", "zero_point"} <= set(data["tensors"][0])


def test_macs_of_known_models():
    # hello_world: FC 1->16, 16->16, 16->1 = 16 + 256 + 16 MACs.
    info = describe((SHARED / "hello_world_int8.tflite").read_bytes())
    assert info.total_macs == 288
    assert [(u.name, u.count) for u in info.ops] == [("FULLY_CONNECTED", 3)]
    # Weights 16+256+16 int8 plus biases (16+16+1) int32.
    assert info.param_bytes == 288 + 4 * 33
    # person_detect: the published MobileNet v1 0.25 at 96x96 is about 7.2 M MACs.
    info = describe((SHARED / "person_detect.tflite").read_bytes())
    assert 7_000_000 < info.total_macs < 7_300_000


def test_refused_models_show_unsupported(capsys):
    assert main(["inspect", str(SHARED / "trained_lstm_int8.tflite")]) == 0
    out = capsys.readouterr().out
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in out and "not supported by microtf" in out
    info = describe((SHARED / "keyword_scrambled_8bit.tflite").read_bytes())
    assert any(u.name == "SVDF" and not u.supported for u in info.ops)
    # The converter lists FULLY_CONNECTED several times in the opcode table: grouped once.
    assert sum(u.name == "FULLY_CONNECTED" for u in info.ops) == 1


def test_support_follows_the_op_table():
    info = describe((SHARED / "micro_speech_quantized.tflite").read_bytes())
    for use in info.ops:
        entry = optable.load().get(use.code)
        if info.support_source == "op table":
            assert use.supported == (entry is not None and use.version <= entry.max_version)


@pytest.mark.parametrize("name", EXAMPLES)
def test_inspect_examples(capsys, name):
    path = ROOT / "models" / name / f"{name}_int8.tflite"
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "FULLY_CONNECTED" in out and "MACs per inference" in out
    info = describe(path.read_bytes())
    assert info.inputs[0].dtype == "int8" and info.outputs[0].dtype == "int8"
    assert info.all_supported and not info.float_ops


def test_float_model_noted(capsys):
    path = ROOT / ".venv/lib/python3.11/site-packages/tflite_micro/python/tflite_micro/sine_float.tflite"
    if not path.exists():
        path = next(iter(sorted((ROOT / "models").glob("*/*_float.tflite"))))
    assert main(["inspect", str(path)]) == 0
    assert "full-integer" in capsys.readouterr().out


def test_inspect_arena_embed_do_not_import_tensorflow(tmp_path):
    path = str(SHARED / "hello_world_int8.tflite")
    out = str(tmp_path / "hw")
    code = (
        "import sys; from microtf_host.cli import main\n"
        f"for argv in (['inspect', {path!r}], ['arena', {path!r}], ['embed', {path!r}, '--c', {out!r}]):\n"
        "    assert main(argv) == 0, argv\n"
        "loaded = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "hw.c").exists()


def test_console_script_inspect():
    proc = subprocess.run(
        [str(MICROTF), "inspect", "--json", str(WAKEWORD[0])],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert "CALL_ONCE" in {o["name"] for o in json.loads(proc.stdout)["ops"]}
