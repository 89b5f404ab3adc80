"""The C engine bare metal on an emulated Cortex-M4F (QEMU mps2-an386), bit for bit against TFLite Micro.

Every real and example model (microWakeWord with >= 200 streaming steps, person_detect with 3) runs
from flash at an odd address with unaligned word accesses trapping while the engine runs, in a RAM
cut to 256 KiB; every output byte of every invoke is compared with TFLite Micro's and a canary after
the arena is checked after each model. Self-tests prove the runner catches a wrong output byte, an
overwritten canary and an unaligned read. Vectors and builds live in build/qemu_engine/.
"""

from __future__ import annotations

import shutil

import pytest
from microtf_host import qemu_vectors as qv
from microtf_host.paths import BUILD, ROOT

pytestmark = pytest.mark.timeout(400)

if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
    pytest.fail("qemu-system-arm and arm-none-eabi-gcc are needed (make setup)", pytrace=False)

SET = BUILD / "qemu_engine" / "test"
PLANTED = BUILD / "qemu_engine" / "planted"
EXPECTED = {"hello_world_int8", "sine_float", "micro_speech", "person_detect", *qv.WAKE_WORDS}


def assert_every_model_exact(vectors: dict, out: qv.RunnerOutput) -> None:
    """Every model of the vector set ran all its steps, bit-exact, with its canary intact."""
    bad = []
    for m in vectors["models"]:
        run = out.models.get(m["name"])
        if run is None or run.error or run.mismatches or run.canary != "ok" or run.steps != m["steps"]:
            bad.append(f"{m['name']}: {run}")
    assert not bad, "\n".join(bad) + "\n" + out.text[-3000:]


@pytest.fixture(scope="module")
def vectors() -> dict:
    return qv.generate(qv.all_models(), SET)


@pytest.fixture(scope="module")
def strict_run(vectors: dict) -> qv.RunnerOutput:
    return qv.run_runner(qv.build_runner(SET, "-O2", strict=True), timeout=240)


def test_vectors_cover_the_models(vectors: dict) -> None:
    names = {m["name"] for m in vectors["models"]}
    assert EXPECTED <= names, f"missing models: {EXPECTED - names}"
    for m in vectors["models"]:
        if m["name"] in qv.WAKE_WORDS:
            assert m["stateful"] and m["steps"] >= 200
        # Outputs that never change would hide wrong arithmetic.
        assert all(d >= 2 for d in m["distinct_outputs"]), f"{m['name']}: constant output {m}"
    assert qv.MODEL_OFFSET % 2 == 1


def test_bit_exact_on_cortex_m4(vectors: dict, strict_run: qv.RunnerOutput) -> None:
    out = strict_run
    assert "strict=1" in out.text
    assert out.ticks_per_400k == 400_000 // qv.INSTRUCTIONS_PER_TICK, out.text[-2000:]
    assert_every_model_exact(vectors, out)
    assert out.status == 0 and out.bit_exact, out.text[-3000:]
    for run in out.models.values():
        assert 0 < run.arena <= vectors["arena_size"]
        assert run.ticks_rest > 0 and 0 < run.stack < 16 * 1024


def test_instruction_counts_are_deterministic(vectors: dict, strict_run: qv.RunnerOutput) -> None:
    """-icount shift=0: a second run gives the very same tick counts."""
    again = qv.run_runner(qv.build_runner(SET, "-O2", strict=True), timeout=240)
    first = {n: (r.ticks_first, r.ticks_rest) for n, r in strict_run.models.items()}
    assert first == {n: (r.ticks_first, r.ticks_rest) for n, r in again.models.items()}


def test_runner_catches_planted_faults() -> None:
    """The harness must be able to fail: a flipped expected byte, an overwritten canary, an unaligned read."""
    hello = [m for m in qv.all_models() if m.name == "hello_world_int8"][0]
    qv.generate([qv.VectorModel(hello.name, hello.path, 8, plant=True)], PLANTED)
    out = qv.run_runner(qv.build_runner(PLANTED, "-O2", strict=True, plant=1), timeout=60)
    run = out.models["hello_world_int8"]
    assert run.mismatches == 1 and run.first_bad == 1 and "MISMATCH" in out.text, out.text
    assert run.canary == "OVERWRITTEN" and out.status == 98, out.text
    out = qv.run_runner(qv.build_runner(PLANTED, "-O2", strict=True, plant=2), timeout=60)
    assert out.status == 99 and "FAULT" in out.text and "did not trap" not in out.text, out.text


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("model_offset", [1, 0])
def test_unaligned_word_build_bit_exact(model_offset: int) -> None:
    """The build real Cortex-M4 firmware uses: unaligned word loads allowed, so CONV_2D,
    DEPTHWISE_CONV_2D and FULLY_CONNECTED take their packed SXTB16/SMLAD paths (and FC its assembly
    loops), which the strict build above never reaches. Conv, depthwise and FC fixtures, the random
    architectures and every real model, every output byte against TFLite Micro; with the model at an
    odd address (1) and 16-aligned (0, where `microtf embed` and the firmware put it: paths that
    need aligned weights only run there)."""
    fixtures = ROOT / "tests" / "fixtures" / "ops"
    conv_like = [
        p
        for p in sorted((fixtures / "conv").glob("*.tflite"))
        if p.stem.startswith(("conv", "dw", "net", "pad_then"))
    ]
    fc_like = sorted((fixtures / "core").glob("fc_*.tflite"))
    random_nets = sorted((fixtures / "random").glob("rand_*.tflite"))
    assert len(conv_like) >= 15 and len(fc_like) >= 4 and len(random_nets) >= 32
    models = [qv.VectorModel(p.stem, p, 4) for p in conv_like + fc_like + random_nets]
    models += qv.all_models(person_steps=1, wake_steps=20)
    out_dir = BUILD / "qemu_engine" / f"unaligned_words_offset{model_offset}"
    vectors = qv.generate(models, out_dir, model_offset=model_offset)
    out = qv.run_runner(qv.build_runner(out_dir, "-O2", strict=False), timeout=500)
    assert "strict=0" in out.text
    assert_every_model_exact(vectors, out)
    assert len(out.models) == len(models) and EXPECTED <= set(out.models)
