"""A selection of operator fixtures on the emulated board (32-bit viper
ints, single floats), in one boot, bit for bit against TFLite Micro: the
paths where 32-bit arithmetic could differ (requantization shifts, dilation,
groups, depth multipliers, float QUANTIZE thresholds, DEQUANTIZE tables,
SOFTMAX reciprocals with int8 and int16 outputs, ADD/SUB/MUL requantization
with broadcasting, MEAN's folded multiplier, the activation tables)."""

from __future__ import annotations

import numpy as np
import pytest
from microtf_host import qemu, tflm
from microtf_host.engine import Engine
from vhelpers import HERE, ROOT, build_mpy

pytestmark = pytest.mark.timeout(600)

FIXTURES = ROOT / "tests" / "fixtures" / "ops"
NAMES = [
    "conv/conv_grouped",
    "conv/conv_3x2_valid_dil23",
    "conv/conv_5x3_same_s21_relu6",
    "conv/dw_3x3_valid_s2_mult2",
    "conv/dw_3x3_same_dil2",
    "conv/avgpool_3x2_s21_same_odd",
    "conv/maxpool_3x3_s2_same",
    "core/fc_float_io",
    "core/fc_uint8_io",
    "core/fc_no_bias_3d",
    "elementwise/softmax_beta7000",
    "elementwise/softmax_int16_out_beta",
    "elementwise/softmax_r40_asym",
    "elementwise/add_bcast_channel",
    "elementwise/add_relu6",
    "elementwise/mul_big_scales",
    "elementwise/mul_se",
    "elementwise/hswish_r4",
    "elementwise/sigmoid_r6",
    "elementwise/tanh_r3",
    "elementwise/relu_asym",
    "conv/mean_gap",
    "conv/mean_axis1_keepdims",
    "conv/pad_then_conv_valid",
    "movement/strided_slice_random",
    "movement/split_v_uneven",
]
STEPS = 6


def test_fixtures_on_emulated_board(tmp_path) -> None:
    manifest, expected = [], []
    rng = np.random.default_rng(3)
    for j, name in enumerate(NAMES):
        path = FIXTURES / f"{name}.tflite"
        model = path.read_bytes()
        eng = Engine(model)
        samples = []
        for _ in range(STEPS):
            s = []
            for info in eng.inputs:
                if info.dtype == np.float32:
                    s.append(rng.uniform(-3.0, 3.0, info.shape).astype(np.float32))
                else:
                    lo, hi = np.iinfo(info.dtype).min, np.iinfo(info.dtype).max
                    s.append(rng.integers(lo, hi + 1, info.shape).astype(info.dtype))
            samples.append(s)
        data = tmp_path / f"in{j}.bin"
        data.write_bytes(b"".join(x.tobytes() for s in samples for x in s))
        manifest.append(f"{path} {data}")
        outs = tflm.run(model, samples, arena_size=1 << 20)
        expected += [f"R {j} {k} " + "".join(y.tobytes().hex() for y in outs[k]) for k in range(STEPS)]
    man = tmp_path / "manifest.txt"
    man.write_text("\n".join(manifest) + "\n")
    status, out = qemu.run_script(HERE / "vmany.py", path=[build_mpy()], args=[str(man)], timeout=400)
    assert status == 0, out[-3000:]
    got = [line for line in out.splitlines() if line.startswith("R ")]
    assert len(got) == len(expected)
    bad = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert not bad, bad[:3]
