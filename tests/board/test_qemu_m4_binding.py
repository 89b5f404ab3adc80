"""The _microtf binding on the emulated board (qemu_m4), a real 32-bit MCU target.

Bit-exact outputs against TFLite Micro, hostile models refused with ValueError, the arena limit
as MemoryError, no heap use during invoke, models read in place from flash and at odd addresses,
and the CMake module of the esp32/rp2 ports.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from boardkit import BIG_ARENA, HELLO, LSTM, PERSON, ROOT, run
from microtf_host import optable, qemu, tflm

pytestmark = pytest.mark.timeout(300)


def ops_version() -> int:
    """OPS_VERSION as the binding computes it from ops.def (see modmicrotf.c)."""
    value = 0
    for entry in optable.load().values():
        value ^= ((entry.code << 8 | entry.max_version) * 2654435761) & 0xFFFFFFFF
    return value & 0x3FFFFFFF


def test_module_constants_and_model_info(firmware, tmp_path):
    shutil.copy(HELLO, tmp_path / "m.tflite")
    src = (
        "import _microtf\n"
        "print(_microtf.ARENA_SIZE, _microtf.VERSION, _microtf.OPS_VERSION)\n"
        "m = _microtf.Model(open('m.tflite', 'rb').read())\n"
        "print(m.n_inputs, m.n_outputs, 0 < m.arena_used <= _microtf.ARENA_SIZE)\n"
        "print(m.input_info(0)[:2], m.output_info(0)[:2])\n"
        "print(m.ops())\n"
        "print(len(m.input(0)), len(m.output(0)))\n"
        "try:\n"
        "    m.input(1)\n"
        "except IndexError as e:\n"
        "    print('IndexError')\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0] == f"98304 0.1.0 {ops_version()}"
    assert lines[1:] == [
        "1 1 True",
        "((1, 1), 'int8') ((1, 1), 'int8')",
        "[('FULLY_CONNECTED', 4, True)]",
        "1 1",
        "IndexError",
    ]


def test_hello_world_bit_exact_with_tflite_micro(firmware, tmp_path):
    model = HELLO.read_bytes()
    values = np.arange(-128, 128, dtype=np.int8)  # every possible input: 256 invokes
    expected = tflm.run(model, [[v.reshape(1, 1)] for v in values])
    want = np.array([int(e[0].reshape(-1)[0]) for e in expected], dtype=np.int8)
    assert len(set(want.tolist())) > 20, "oracle outputs look saturated"
    (tmp_path / "m.tflite").write_bytes(model)
    (tmp_path / "inputs.bin").write_bytes(values.tobytes())
    src = (
        "import _microtf\n"
        "m = _microtf.Model(open('m.tflite', 'rb').read())\n"
        "xs = open('inputs.bin', 'rb').read()\n"
        "inp, out = m.input(0), m.output(0)\n"
        "res = bytearray(len(xs))\n"
        "for k in range(len(xs)):\n"
        "    inp[0] = xs[k] - 256 if xs[k] > 127 else xs[k]\n"
        "    m.invoke()\n"
        "    res[k] = out[0] & 0xff\n"
        "print(res.hex())\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    got = np.frombuffer(bytes.fromhex(out.strip()), dtype=np.int8)
    mismatches = np.flatnonzero(got != want)
    assert mismatches.size == 0, f"{mismatches.size} of 256 differ, first at input {values[mismatches[0]]}"


def test_models_at_odd_addresses_run_under_the_unaligned_trap(firmware, tmp_path):
    # The board faults on unaligned word loads (as Cortex-M0+ and Xtensa do), so a model
    # read in place at byte offsets 1-3 proves the engine reads the flatbuffer bytewise.
    (tmp_path / "m.tflite").write_bytes(HELLO.read_bytes())
    src = (
        "import _microtf\n"
        "data = open('m.tflite', 'rb').read()\n"
        "for offset in range(4):\n"
        "    buf = bytearray(len(data) + 4)\n"
        "    buf[offset:offset + len(data)] = data\n"
        "    m = _microtf.Model(memoryview(buf)[offset:offset + len(data)])\n"
        "    res = []\n"
        "    for x in (-128, -50, 0, 50, 127):\n"
        "        m.input(0)[0] = x\n"
        "        m.invoke()\n"
        "        res.append(m.output(0)[0])\n"
        "    print(offset, res)\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    lines = out.splitlines()
    assert len(lines) == 4 and len({line.split(" ", 1)[1] for line in lines}) == 1, out


def test_write_past_the_arena_is_caught_at_invoke(firmware, tmp_path):
    nm = subprocess.run(["arm-none-eabi-nm", str(firmware)], capture_output=True, text=True, check=True)
    arena = next(int(line.split()[0], 16) for line in nm.stdout.splitlines() if line.endswith(" mtf_arena"))
    (tmp_path / "m.tflite").write_bytes(HELLO.read_bytes())
    src = (
        "import _microtf\n"
        "m = _microtf.Model(open('m.tflite', 'rb').read())\n"
        "m.invoke()\n"
        "@micropython.viper\n"
        "def poke():\n"
        f"    p = ptr8({arena + 98304})  # the first byte after MICROTF_ARENA_SIZE\n"
        "    p[0] = p[0] ^ 1\n"
        "poke()\n"
        "try:\n"
        "    m.invoke()\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError', e)\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert (status, out) == (0, "RuntimeError microtf: write past the end of the arena\n")


def _hostile_models(model: bytes) -> dict[str, bytes]:
    import tflite

    cases = {
        "empty": b"",
        "8 bytes": model[:8],
        "half": model[: len(model) // 2],
        "one byte short": model[:-1],
        "garbage": b"\x10\x00\x00\x00TFL3" + bytes(range(200)),
    }
    # Structure, not bytes: point the root table past the end, and make the input shape wrong.
    cases["root past end"] = (len(model) + 64).to_bytes(4, "little") + model[4:]
    graph = tflite.Model.GetRootAsModel(model, 0).Subgraphs(0)
    op = graph.Operators(0)
    wrong = bytearray(model)
    at = op._tab.Vector(op._tab.Offset(6))  # Operator.inputs
    wrong[at : at + 4] = (9999).to_bytes(4, "little")
    cases["operator input index out of range"] = bytes(wrong)
    tensor = graph.Tensors(int(graph.Outputs(0)))
    wrong = bytearray(model)
    at = tensor._tab.Pos + tensor._tab.Offset(8)  # Tensor.buffer
    wrong[at : at + 4] = (9999).to_bytes(4, "little")
    cases["tensor buffer index out of range"] = bytes(wrong)
    cases["LSTM (unsupported op)"] = LSTM.read_bytes()
    return cases


def test_hostile_models_raise_value_error_and_the_vm_lives_on(firmware, tmp_path):
    model = HELLO.read_bytes()
    cases = _hostile_models(model)
    names = []
    for i, (name, data) in enumerate(cases.items()):
        (tmp_path / f"bad{i}.bin").write_bytes(data)
        names.append(name)
    (tmp_path / "good.tflite").write_bytes(model)
    src = (
        "import _microtf\n"
        f"for i in range({len(cases)}):\n"
        "    try:\n"
        "        _microtf.Model(open('bad%d.bin' % i, 'rb').read())\n"
        "        print(i, 'accepted')\n"
        "    except ValueError as e:\n"
        "        print(i, 'ValueError', e)\n"
        "m = _microtf.Model(open('good.tflite', 'rb').read())\n"
        "m.input(0)[0] = 0\n"
        "m.invoke()\n"
        "print('alive', m.output(0)[0])\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    lines = out.splitlines()
    for i, name in enumerate(names):
        assert lines[i].startswith(f"{i} ValueError"), f"{name}: {lines[i]}"
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in lines[names.index("LSTM (unsupported op)")]
    assert lines[-1].startswith("alive ")


def test_model_larger_than_arena_raises_memory_error(firmware, tmp_path):
    # 1.9 KB of file, 128 KiB of activations (a 1x1 CONV_2D on [1, 64, 64, 16]).
    (tmp_path / "big.tflite").write_bytes(BIG_ARENA.read_bytes())
    (tmp_path / "m.tflite").write_bytes(HELLO.read_bytes())
    src = (
        "import _microtf\n"
        "try:\n"
        "    _microtf.Model(open('big.tflite', 'rb').read())\n"
        "except MemoryError as e:\n"
        "    print('MemoryError', e)\n"
        "m = _microtf.Model(open('m.tflite', 'rb').read())\n"
        "m.invoke()\n"
        "print('alive')\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    first, second = out.splitlines()
    assert first.startswith("MemoryError model needs "), first
    needed = int(first.split()[3])
    assert needed >= 2 * 64 * 64 * 16 and first.endswith("MICROTF_ARENA_SIZE is 98304")
    assert second == "alive"


def test_invoke_allocates_nothing(firmware, tmp_path):
    (tmp_path / "m.tflite").write_bytes(HELLO.read_bytes())
    # Inside a function: locals live on the stack, so only invoke() itself could allocate.
    src = (
        "import _microtf, gc, micropython\n"
        "def measure(m):\n"
        "    inp, out = m.input(0), m.output(0)\n"
        "    gc.collect()\n"
        "    before = gc.mem_alloc()\n"
        "    for k in range(1000):\n"
        "        inp[0] = (k & 0xff) - 128\n"
        "        m.invoke()\n"
        "    after = gc.mem_alloc()\n"
        "    locked = 'not locked'\n"
        "    micropython.heap_lock()\n"
        "    try:\n"
        "        for k in range(1000):\n"
        "            m.invoke()\n"
        "        [k]  # proves the lock is on: a list needs the heap\n"
        "    except MemoryError:\n"
        "        locked = 'locked'\n"
        "    micropython.heap_unlock()\n"
        "    return after - before, locked, out[0]\n"
        "print(*measure(_microtf.Model(open('m.tflite', 'rb').read())))\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert status == 0, out
    grown, locked, _ = out.split()
    assert (grown, locked) == ("0", "locked")


def test_new_model_replaces_the_old_one(firmware, tmp_path):
    (tmp_path / "m.tflite").write_bytes(HELLO.read_bytes())
    src = (
        "import _microtf\n"
        "buf = open('m.tflite', 'rb').read()\n"
        "a = _microtf.Model(buf)\n"
        "b = _microtf.Model(buf)\n"
        "b.invoke()\n"
        "try:\n"
        "    a.invoke()\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError', e)\n"
    )
    status, out = run(src, cwd=tmp_path)
    assert (status, out) == (0, "RuntimeError Model was replaced: one model at a time owns the arena\n")


@pytest.mark.slow
def test_person_detect_from_flash_bit_exact(frozen_firmware, tmp_path):
    model = PERSON.read_bytes()
    rng = np.random.default_rng(7)
    samples = [rng.integers(-128, 128, (1, 96, 96, 1), dtype=np.int8) for _ in range(3)]
    expected = tflm.run(model, [[s] for s in samples])
    want = np.concatenate([e[0].reshape(-1) for e in expected])
    assert np.any((want > -128) & (want < 127)), "oracle outputs are all saturated"
    (tmp_path / "inputs.bin").write_bytes(b"".join(s.tobytes() for s in samples))
    src = (
        "import _microtf, frozen_models, gc\n"
        "print(frozen_models.names())\n"
        "m = _microtf.Model(frozen_models.get('person_detect'))  # read in place from flash\n"
        "print(m.arena_used, gc.mem_alloc() < 16384)\n"
        "inp, out = m.input(0), m.output(0)\n"
        "res = bytearray()\n"
        "with open('inputs.bin', 'rb') as f:\n"
        "    for k in range(3):\n"
        "        f.readinto(inp)\n"
        "        m.invoke()\n"
        "        res.extend(bytes(out))\n"
        "print(res.hex())\n"
    )
    (tmp_path / "main.py").write_text(src)
    status, out = qemu.run_script(tmp_path / "main.py", timeout=120, cwd=tmp_path, elf=frozen_firmware)
    assert status == 0, out
    names, usage, result = out.splitlines()
    assert names == "['person_detect']"
    arena_used, small_heap = usage.split()
    assert int(arena_used) <= 98304 and small_heap == "True"
    got = np.frombuffer(bytes.fromhex(result), dtype=np.int8)
    assert got.tolist() == want.tolist()


def test_cmake_module_configures_and_compiles_the_engine(tmp_path):
    """The esp32/rp2 path: firmware/micropython.cmake in a stub project defining `usermod`."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake not installed")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.12)\n"
        "project(stub C)\n"
        "add_library(usermod INTERFACE)\n"
        f"include({ROOT}/firmware/micropython.cmake)\n"
        "get_target_property(srcs usermod_microtf INTERFACE_SOURCES)\n"
        'list(FILTER srcs EXCLUDE REGEX "modmicrotf\\\\.c$")\n'
        'file(WRITE ${CMAKE_BINARY_DIR}/sources.txt "${srcs}")\n'
        "add_library(engine_check STATIC ${srcs})\n"
        "foreach(prop INCLUDE_DIRECTORIES COMPILE_DEFINITIONS COMPILE_OPTIONS)\n"
        "    get_target_property(value usermod_microtf INTERFACE_${prop})\n"
        "    set_property(TARGET engine_check PROPERTY ${prop} ${value})\n"
        "endforeach()\n"
        "get_target_property(linked usermod INTERFACE_LINK_LIBRARIES)\n"
        'file(WRITE ${CMAKE_BINARY_DIR}/linked.txt "${linked}")\n'
    )
    build = tmp_path / "build"
    cfg = subprocess.run(
        ["cmake", "-S", str(tmp_path), "-B", str(build), "-DMICROTF_OPS=fully_connected,add"],
        capture_output=True,
        text=True,
    )
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    sources = (build / "sources.txt").read_text().split(";")
    ops = sorted(Path(s).name for s in sources if "/ops/" in s)
    assert ops == ["add.c", "fully_connected.c"]
    assert any(s.endswith("mtf_model.c") for s in sources)
    assert (build / "linked.txt").read_text() == "usermod_microtf"
    comp = subprocess.run(["cmake", "--build", str(build), "-j2"], capture_output=True, text=True)
    assert comp.returncode == 0, comp.stdout[-3000:] + comp.stderr[-3000:]
    bad = subprocess.run(
        ["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b2"), "-DMICROTF_OPS=no_such_op"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "no_such_op" in bad.stdout + bad.stderr
