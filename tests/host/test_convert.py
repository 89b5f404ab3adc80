"""microtf convert: the four modes, the sources it accepts, and what it prints."""

from __future__ import annotations

import numpy as np
import pytest
from hostkit import tiny_dataset
from microtf_host.cli import main
from microtf_host.modelinfo import describe

pytestmark = pytest.mark.slow  # TensorFlow conversions (shared tiny model, a second or so each)


def convert(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["convert", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_int8_default(capsys, tiny_keras, tiny_data, tmp_path):
    out_path = tmp_path / "m_int8.tflite"
    code, out, err = convert(capsys, str(tiny_keras), "-o", str(out_path), "--rep-data", str(tiny_data["x"]))
    assert code == 0, err
    assert err == ""
    info = describe(out_path.read_bytes())
    assert [t.dtype for t in info.inputs + info.outputs] == ["int8", "int8"]
    assert {u.name for u in info.ops} == {"FULLY_CONNECTED", "SOFTMAX"}
    assert not info.float_ops and info.all_supported
    assert "float32 .tflite:" in out and "int8 .tflite:" in out and "ratio:" in out
    assert f"{out_path.stat().st_size:,} bytes" in out


def test_int8_float_io_and_csv(capsys, tiny_keras, tiny_data, tmp_path):
    out_path = tmp_path / "m.tflite"
    code, _, err = convert(
        capsys, str(tiny_keras), "-o", str(out_path), "--rep-data", str(tiny_data["csv"]), "--float-io"
    )
    assert code == 0, err
    info = describe(out_path.read_bytes())
    assert info.inputs[0].dtype == "float32" and info.outputs[0].dtype == "float32"
    names = {u.name for u in info.ops}
    assert {"QUANTIZE", "DEQUANTIZE", "FULLY_CONNECTED"} <= names


@pytest.mark.parametrize("mode", ["float16", "dynamic"])
def test_modes_that_do_not_run_on_micro_warn(capsys, tiny_keras, tmp_path, mode):
    out_path = tmp_path / f"m_{mode}.tflite"
    code, _out, err = convert(capsys, str(tiny_keras), "-o", str(out_path), "--mode", mode)
    assert code == 0
    assert "do not run on TFLite Micro" in err and "microcontrollers" in err
    info = describe(out_path.read_bytes())
    assert info.inputs[0].dtype == "float32"
    if mode == "float16":
        assert any(t.dtype == "float16" for t in info.tensors)


def test_float32_from_h5_and_savedmodel(capsys, tiny_keras, tmp_path):
    code, _, err = convert(
        capsys, str(tiny_keras.with_name("tiny.h5")), "-o", str(tmp_path / "h5.tflite"), "--mode", "float32"
    )
    assert code == 0, err
    import keras

    saved = tmp_path / "saved"
    keras.models.load_model(tiny_keras).export(str(saved), verbose=False)
    code, _out, err = convert(capsys, str(saved), "-o", str(tmp_path / "sm.tflite"), "--mode", "float32")
    assert code == 0, err
    a = describe((tmp_path / "h5.tflite").read_bytes())
    b = describe((tmp_path / "sm.tflite").read_bytes())
    assert a.total_macs == b.total_macs == 4 * 16 + 16 * 3


def test_api_takes_a_keras_object_and_few_samples_warn(capsys, tiny_keras, tmp_path):
    import keras
    from microtf_host.convert import convert_model

    x, _ = tiny_dataset(40)
    data = convert_model(keras.models.load_model(tiny_keras), "int8", x)
    assert data[4:8] == b"TFL3"
    np.save(tmp_path / "few.npy", x)
    code, _, err = convert(
        capsys, str(tiny_keras), "-o", str(tmp_path / "f.tflite"), "--rep-data", str(tmp_path / "few.npy")
    )
    assert code == 0 and "at least 100" in err


def test_int8_without_rep_data_api():
    from microtf_host.convert import convert_model
    from microtf_host.errors import MicrotfError

    with pytest.raises(MicrotfError, match="representative"):
        convert_model("whatever.keras", "int8")


def test_models_micro_cannot_run_are_refused_clearly(capsys, tiny_keras, tiny_data, tmp_path):
    """float16 and dynamic-range files: inspect says so; verify and arena fail with one clear line."""
    import keras
    from hostkit import one_error_line

    keras.utils.set_random_seed(5)
    wide = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64), keras.layers.Dense(3)])
    np.save(tmp_path / "x64.npy", np.random.default_rng(0).random((8, 64), dtype=np.float32))
    cases = [(tiny_keras, "float16", tiny_data["x"]), (wide, "dynamic", tmp_path / "x64.npy")]
    for source, mode, data in cases:
        from microtf_host.convert import convert_model

        path = tmp_path / f"m_{mode}.tflite"
        path.write_bytes(convert_model(source, mode))
        assert main(["inspect", str(path)]) == 0
        assert (
            f"note: this is a {'float16' if mode == 'float16' else 'dynamic-range'} model"
            in capsys.readouterr().out
        )
        assert main(["arena", str(path)]) == 2
        assert "do not run on TFLite Micro" in one_error_line(capsys.readouterr().err)
        assert main(["verify", str(path), "--data", str(data), "--reference", str(path)]) == 2
        assert "do not run on TFLite Micro" in one_error_line(capsys.readouterr().err)
