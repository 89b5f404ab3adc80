"""microtf embed: C array (aligned, length, SHA-256) and a MicroPython module (.py and .mpy)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest
from hostkit import EXAMPLES, MICROPYTHON, MICROTF, ROOT, WAKEWORD
from microtf_host.cli import main

C_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include "%(name)s.h"
int main(void)
{
    if (((uintptr_t)%(name)s) %% 16 != 0) {
        return 3;
    }
    if (%(name)s_len != %(upper)s_LEN) {
        return 4;
    }
    fwrite(%(name)s, 1, %(name)s_len, stdout);
    fprintf(stderr, "%%s", %(upper)s_SHA256);
    return 0;
}
"""


def micropython(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MICROPYTHON), "-c", code], check=False, capture_output=True, text=True, timeout=60, cwd=cwd
    )


def load_cpython(py: Path):
    spec = importlib.util.spec_from_file_location(py.stem, py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", [WAKEWORD[0]], ids=lambda p: p.stem)
def test_c_array_compiles_and_matches(capsys, tmp_path, path):
    model = path.read_bytes()
    assert main(["embed", str(path), "--c", str(tmp_path / "wake.h"), "--name", "wake model"]) == 0
    assert (tmp_path / "wake.h").exists() and (tmp_path / "wake.c").exists()
    src = (tmp_path / "wake.c").read_text()
    assert "__attribute__((aligned(16)))" in src and "const unsigned char wake_model[]" in src
    assert f"const unsigned int wake_model_len = {len(model)}u;" in src
    (tmp_path / "main.c").write_text(C_MAIN % {"name": "wake_model", "upper": "WAKE_MODEL"})
    # main.c includes "wake_model.h": give it that name too.
    shutil.copy(tmp_path / "wake.h", tmp_path / "wake_model.h")
    exe = tmp_path / "check"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O1",
            "-o",
            str(exe),
            str(tmp_path / "main.c"),
            str(tmp_path / "wake.c"),
        ],
        check=True,
        cwd=tmp_path,
    )
    proc = subprocess.run([str(exe)], check=False, capture_output=True, timeout=30)
    assert proc.returncode == 0
    assert proc.stdout == model
    assert proc.stderr.decode() == hashlib.sha256(model).hexdigest()


def test_c_output_without_suffix(capsys, tmp_path):
    path = WAKEWORD[0]
    assert main(["embed", str(path), "--c", str(tmp_path / "out" / "model_data")]) == 0
    header = (tmp_path / "out" / "model_data.h").read_text()
    assert '#include "model_data.h"' in (tmp_path / "out" / "model_data.c").read_text()
    assert hashlib.sha256(path.read_bytes()).hexdigest() in header
    assert f"extern const unsigned char {path.stem}[];" in header


@pytest.mark.parametrize("path", WAKEWORD, ids=lambda p: p.stem)
def test_py_module_on_micropython(capsys, tmp_path, path):
    model = path.read_bytes()
    name = path.stem
    assert main(["embed", str(path), "--py", str(tmp_path / f"{name}.py"), "--mpy"]) == 0
    assert (tmp_path / f"{name}.mpy").exists()
    mod = load_cpython(tmp_path / f"{name}.py")
    assert mod.MODEL == model and mod.SIZE == len(model)
    assert mod.SHA256 == hashlib.sha256(model).hexdigest()
    assert mod.INPUTS[0]["shape"] == (1, 3, 40) and mod.INPUTS[0]["dtype"] == "int8"
    assert mod.OUTPUTS[0]["dtype"] == "uint8" and mod.INPUTS[0]["zero_point"] == -128
    assert isinstance(mod.VERSION, str) and mod.VERSION
    check = (
        f"import sys; sys.path.insert(0, '.'); import {name} as m; "
        "print(len(m.MODEL), m.SHA256, m.INPUTS[0]['shape'], m.OUTPUTS[0]['scale'], m.VERSION)"
    )
    # The .mpy is imported first when both are present; then the .py alone.
    for drop in (None, f"{name}.mpy"):
        if drop:
            (tmp_path / drop).unlink()
        proc = micropython(check, tmp_path)
        assert proc.returncode == 0, proc.stderr
        size, digest = proc.stdout.split()[:2]
        assert int(size) == len(model) and digest == mod.SHA256
        assert "(1, 3, 40)" in proc.stdout


def test_mpy_really_is_used(tmp_path, capsys):
    path = WAKEWORD[0]
    assert main(["embed", str(path), "--py", str(tmp_path / "wk.py"), "--mpy"]) == 0
    (tmp_path / "wk.py").unlink()  # only the compiled module remains
    proc = micropython(
        "import sys; sys.path.insert(0, '.'); import wk; print(len(wk.MODEL), wk.__file__)", tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == str(len(path.read_bytes())) and "wk.mpy" in proc.stdout
    assert (tmp_path / "wk.mpy").read_bytes()[:2] == b"M\x06"  # mpy format 6


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_with_labels(tmp_path, name):
    """Through the console script; labels.txt beside the model lands in LABELS."""
    path = ROOT / "models" / name / f"{name}_int8.tflite"
    proc = subprocess.run(
        [
            str(MICROTF),
            "embed",
            str(path),
            "--c",
            str(tmp_path / f"{name}.c"),
            "--py",
            str(tmp_path / f"{name}_model.py"),
            "--mpy",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    mod = load_cpython(tmp_path / f"{name}_model.py")
    assert mod.MODEL == path.read_bytes()
    labels_txt = path.parent / "labels.txt"
    if labels_txt.exists():
        labels = tuple(ln.strip() for ln in labels_txt.read_text().splitlines() if ln.strip())
        assert mod.LABELS == labels
        code = f"import sys; sys.path.insert(0, '.'); import {name}_model as m; print(m.LABELS)"
        out = micropython(code, tmp_path)
        assert out.returncode == 0 and labels[0] in out.stdout
    else:
        assert not hasattr(mod, "LABELS")


def test_explicit_labels_and_bad_name(capsys, tmp_path):
    labels = tmp_path / "names.txt"
    labels.write_text("yes\nno\n\n")
    path = WAKEWORD[0]
    assert main(["embed", str(path), "--py", str(tmp_path / "m.py"), "--labels", str(labels)]) == 0
    assert load_cpython(tmp_path / "m.py").LABELS == ("yes", "no")
    assert main(["embed", str(path), "--py", str(tmp_path / "bad-name.py")]) == 2
    assert "identifier" in capsys.readouterr().err
