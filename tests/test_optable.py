"""The shared operator table names real TFLite builtin codes."""

import tflite
from microtf_host import optable


def test_codes_match_tflite_schema() -> None:
    table = optable.load()
    assert len(table) >= 31
    for code, entry in table.items():
        assert getattr(tflite.BuiltinOperator, entry.name) == code, entry


def test_every_kernel_has_a_file() -> None:
    from microtf_host.paths import ENGINE

    missing = [e.kernel for e in optable.load().values() if not (ENGINE / "ops" / f"{e.kernel}.c").exists()]
    assert not missing, f"ops.def names kernels without a file: {missing}"


def test_supported_respects_versions() -> None:
    assert optable.supported(9, 1)
    assert not optable.supported(9, 99)
    assert not optable.supported(44, 1)  # UNIDIRECTIONAL_SEQUENCE_LSTM
