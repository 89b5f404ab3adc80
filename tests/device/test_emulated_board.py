"""The device package on the emulated board (qemu_m4): py/ modules only, 32-bit, single floats.

The package must import there, and the drivers, bus simulation and sampler must run with
31-bit small ints without allocating (heap_lock), giving the same windows as the Unix port.
"""

import pytest
from mpkit import FIRMWARE, run_mp

pytestmark = pytest.mark.timeout(300)

SCRIPT = """
import micropython
import microtf
from array import array
from microtf import sim
from microtf.drivers.mpu6050 import MPU6050
from microtf.drivers.adxl345 import ADXL345
from microtf.sampler import Sampler
print('V', microtf.__version__)
imu = MPU6050(sim.SimI2C(sim.SimMPU6050(sim.generated_trace(300, 7))), accel_range=4, gyro_range=500)
s = Sampler(imu, 100, 32, 12, ['ax', 'gy', 'az'], ['g', 'deg/s', 'm/s2'],
            [0.7, 0.013, 0.11], [0.1, -0.2, 0.05], 0.0213, -5)
acc = ADXL345(sim.SimI2C(sim.SimADXL345(sim.generated_trace(300, 3, amplitude=700))), range_g=8)
s2 = Sampler(acc, 100, 16, 16, None, 'm/s2', 0.25, 0.0, 0.05, 3)
x = array('b', bytes(96))
y = array('b', bytes(48))
keep_x = array('b', bytes(96 * 23))  # every window, copied without allocating
keep_y = array('b', bytes(48 * 18))
n = array('i', [0, 0])
def go():
    for i in range(300):
        s.sample()
        s2.sample()
        if s.cut_into(x):
            base = n[0] * 96
            for j in range(96):
                keep_x[base + j] = x[j]
            n[0] += 1
        if s2.cut_into(y):
            base = n[1] * 48
            for j in range(48):
                keep_y[base + j] = y[j]
            n[1] += 1
micropython.heap_lock()
try:
    go()
    locked = 'ok'
except MemoryError:
    locked = 'alloc'
micropython.heap_unlock()
print('L', locked, n[0], n[1])
print('X', ' '.join(str(v) for v in keep_x))
print('Y', ' '.join(str(v) for v in keep_y))
try:
    import microtf.store
    print('S imported')
except ImportError:
    print('S ImportError')
"""


def values(out: str, tag: str) -> list[int]:
    line = next(line for line in out.splitlines() if line.startswith(tag + " "))
    return [int(v) for v in line.split()[1:]]


def test_sampler_on_the_emulated_board_matches_the_unix_port():
    from microtf_host import qemu

    status, board = qemu.run_script(SCRIPT, path=[FIRMWARE], timeout=120)
    assert status == 0, board
    unix = run_mp(SCRIPT)
    assert "V 0.1.0" in board
    # 31-bit small ints and single floats: still no allocation, and the same windows.
    assert "L ok 23 18" in board and "L ok 23 18" in unix
    for tag in ("X", "Y"):
        got, ref = values(board, tag), values(unix, tag)
        assert got == ref
        assert len(set(got)) > 30 and sum(abs(v) >= 127 for v in got) < len(got) // 5
    # The store needs extmod/ (vfs, os, json): a clean ImportError on the board.
    assert "S ImportError" in board and "S imported" in unix
