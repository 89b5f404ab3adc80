"""The microWakeWord models on the viper engine on the emulated board (qemu_m4:
32-bit viper ints, single floats, 192 KiB heap), the models read in place from
flash (a firmware variant with frozen_models): a 50-step stream with state,
then reset() and 10 steps again, bit for bit against TFLite Micro, all four
models in one boot, invoke() under heap_lock."""

from __future__ import annotations

import numpy as np
import pytest
from microtf_host import qemu, tflm
from test_vengine_wakeword import NAMES, WAKEWORD, wakeword_samples
from vhelpers import HERE, build_mpy

pytestmark = pytest.mark.timeout(900)

START, STEPS, AGAIN = 110, 50, 10
RESIDENT_MAX = 60_000  # bytes; measured 38-54 KB


def test_wakeword_streams_on_emulated_board(tmp_path) -> None:
    elf = qemu.build(tuple(WAKEWORD / f"{n}.tflite" for n in NAMES), "vwake")
    manifest, expected = [], []
    for name in NAMES:
        samples = wakeword_samples(name)[START : START + STEPS]
        oracle = tflm.run((WAKEWORD / f"{name}.tflite").read_bytes(), samples)
        ys = np.array([int(r[0].item()) for r in oracle])
        assert ys.max() >= 100 and len(np.unique(ys)) >= 5, (name, ys)
        data = tmp_path / f"{name}.bin"
        data.write_bytes(b"".join(s[0].tobytes() for s in samples))
        manifest.append(f"{name} {STEPS} {AGAIN} {data}")
        outs = oracle + oracle[:AGAIN]
        expected += [f"R {name} {k} {outs[k][0].tobytes().hex()}" for k in range(STEPS + AGAIN)]
    man = tmp_path / "manifest.txt"
    man.write_text("\n".join(manifest) + "\n")
    status, out = qemu.run_script(
        HERE / "vstream_board.py", path=[build_mpy()], args=[str(man)], timeout=800, elf=elf
    )
    assert status == 0, out[-3000:]
    heap = [line.split() for line in out.splitlines() if line.startswith("H ")]
    assert len(heap) == len(NAMES), out[-3000:]
    # What a loaded model keeps on the 32-bit heap (the model itself stays in flash).
    resident = {h[1]: int(h[2]) for h in heap}
    print(resident)
    assert all(v < RESIDENT_MAX for v in resident.values()), resident
    got = [line for line in out.splitlines() if line.startswith("R ")]
    assert len(got) == len(expected), out[-3000:]
    bad = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not bad, bad[:3]
