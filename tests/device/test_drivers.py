"""Drivers against the simulated bus, on the real MicroPython Unix port."""

import pytest
from mpkit import run_mp

PRE = """
from microtf import sim
from microtf.drivers.mpu6050 import MPU6050
from microtf.drivers.adxl345 import ADXL345
from array import array
import micropython
def expect(exc, fn, *words):
    try:
        fn()
    except exc as e:
        msg = str(e)
        for w in words:
            assert w in msg, (w, msg)
        return e
    raise AssertionError('no %s' % exc.__name__)
"""


def mp(body: str) -> str:
    out = run_mp(PRE + body + "\nprint('OK')\n")
    assert out.strip().endswith("OK"), out
    return out


def test_mpu6050_wakes_configures_and_scales():
    mp("""
trace = [(16384, -8192, 4096, -3920, 131, -262, 655), (100, -100, 0, 0, 1, -1, 0), (-32768, 32767, 0, 0, 0, 0, 0)]
dev = sim.SimMPU6050(trace, loop=False)
bus = sim.SimI2C(dev)
assert dev.asleep
imu = MPU6050(bus, accel_range=2, gyro_range=250, dlpf=3, rate_div=9)
assert not dev.asleep, 'driver must clear the sleep bit'
assert dev.regs[0x1A] == 3 and dev.regs[0x19] == 9 and dev.regs[0x1C] == 0 and dev.regs[0x1B] == 0
assert imu.sample_rate == 100
buf = array('h', [0] * 7)
imu.read_raw_into(buf)
assert list(buf) == list(trace[0]), list(buf)
assert dev.index == 1
a = imu.accel()   # sample 2
assert a == (100 / 16384, -100 / 16384, 0.0), a
imu.configure(accel_range=8, gyro_range=1000)
assert dev.regs[0x1C] == 2 << 3 and dev.regs[0x1B] == 2 << 3
r = array('h', [0] * 3)
imu.read_accel_into(r)  # sample 3 at +-8 g: counts / 4
assert list(r) == [-8192, 8191, 0], list(r)
assert imu.accel_scale == 1 / 4096 and abs(imu.gyro_scale - 1 / 32.8) < 1e-12
g = imu.gyro()  # past the end, loop=False: last sample again
assert g == (0.0, 0.0, 0.0)
t = MPU6050(sim.SimI2C(sim.SimMPU6050(trace))).temperature()
assert abs(t - (-3920 / 340 + 36.53)) < 1e-9, t
""")


def test_mpu6050_missing_device_and_wrong_id():
    mp("""
e = expect(OSError, lambda: MPU6050(sim.SimI2C(), address=0x69), 'MPU6050', '0x69')
assert e.args[0] == 19, e.args
e = expect(OSError, lambda: MPU6050(sim.SimI2C(sim.SimMPU6050(who_am_i=0x12))), 'WHO_AM_I is 0x12', '0x68')
assert e.args[0] == 19
# the bus answers at 0x68 but the driver was told 0x69
expect(OSError, lambda: MPU6050(sim.SimI2C(sim.SimMPU6050()), address=0x69), '0x69')
""")


def test_mpu6050_rejects_bad_settings_naming_the_value():
    mp("""
bus = sim.SimI2C(sim.SimMPU6050())
expect(ValueError, lambda: MPU6050(bus, accel_range=3), 'accel_range', '3')
expect(ValueError, lambda: MPU6050(bus, gyro_range=300), 'gyro_range', '300')
expect(ValueError, lambda: MPU6050(bus, dlpf=7), 'dlpf', '7')
expect(ValueError, lambda: MPU6050(bus, rate_div=256), 'rate_div', '256')
imu = MPU6050(bus, accel_range=4)
expect(ValueError, lambda: imu.configure(accel_range=32), '32')
assert imu.accel_scale == 1 / 8192, 'a rejected setting must leave the old one'
expect(ValueError, lambda: imu.channel_scale('ax', 'furlongs'), 'furlongs')
assert imu.channel_scale('ax', 'm/s2') == 9.80665 / 8192
""")


def test_mpu6050_retries_are_bounded():
    mp("""
dev = sim.SimMPU6050([(1, 2, 3, 0, 4, 5, 6)])
bus = sim.SimI2C(dev)
imu = MPU6050(bus, retries=3)
buf = array('h', [0] * 7)
bus.fail_next(3)          # 3 failures, 4 attempts: succeeds
imu.read_raw_into(buf)
assert list(buf) == [1, 2, 3, 0, 4, 5, 6]
bus.fail_next(4)          # 4 failures: gives up with a clear message
e = expect(OSError, lambda: imu.read_raw_into(buf), '0x68', 'failed after 4 attempts')
assert e.args[0] == 5
reads = bus.reads
bus.fail_next(100)
expect(OSError, lambda: imu.read_raw_into(buf), 'failed after 4 attempts')
assert bus._fail == 96, 'exactly 4 attempts'
bus.fail_next(0)
bus.fail_next(1, writes=True)
imu.configure(accel_range=2)   # one failed write is retried
bus.fail_next(4, writes=True)
expect(OSError, lambda: imu.configure(accel_range=2), 'MPU6050 at 0x68: write of register 0x1a failed after 4 attempts')
bus.fail_next(4)
expect(OSError, lambda: imu.read_raw_into(buf), 'read of register 0x3b failed after 4 attempts')
bus.fail_next(0)
imu0 = MPU6050(sim.SimI2C(dev), retries=0)
imu0._i2c.fail_next(1)
expect(OSError, lambda: imu0.read_raw_into(buf), 'failed after 1 attempts')
""")


def test_read_paths_do_not_allocate():
    mp("""
imu = MPU6050(sim.SimI2C(sim.SimMPU6050(sim.generated_trace(50, 7))))
acc = ADXL345(sim.SimI2C(sim.SimADXL345(sim.generated_trace(50, 3, amplitude=300))))
raw = array('h', [0] * 7)
micropython.heap_lock()
try:
    for _ in range(20):
        imu.read_raw_into(raw)
        imu.read_accel_into(raw)
        acc.read_accel_into(raw)
finally:
    micropython.heap_unlock()
# Control: the float API allocates, and heap_lock catches it.
caught = False
micropython.heap_lock()
try:
    imu.accel()
except MemoryError:
    caught = True
micropython.heap_unlock()
assert caught, 'heap_lock did not catch an allocation'
""")


def test_adxl345_ranges_resolution_and_errors():
    mp("""
trace = [(256, -256, 1000), (-600, 600, 5000), (256, -256, 4095)]
dev = sim.SimADXL345(trace, loop=False)
bus = sim.SimI2C(dev)
assert not dev.measuring
acc = ADXL345(bus, range_g=2, rate_hz=200)
assert dev.measuring and dev.regs[0x2C] == 0x0B and dev.regs[0x31] == 0x08
r = array('h', [0] * 3)
acc.read_accel_into(r)
assert list(r) == [256, -256, 511], list(r)   # full res +-2 g: 10 bits, clamped
acc.configure(range_g=16)
assert dev.regs[0x31] == 0x0B
acc.read_accel_into(r)
assert list(r) == [-600, 600, 4095], list(r)
acc.configure(range_g=4, full_res=False)   # 10-bit mode: counts / 2, scale 4/512 g
a = acc.accel()
assert a == (128 * 4 / 512, -128 * 4 / 512, 511 * 4 / 512), a
expect(ValueError, lambda: acc.configure(range_g=5), 'range_g', '5')
expect(ValueError, lambda: acc.configure(rate_hz=99), 'rate_hz', '99')
e = expect(OSError, lambda: ADXL345(sim.SimI2C()), 'ADXL345', '0x53')
assert e.args[0] == 19
expect(OSError, lambda: ADXL345(sim.SimI2C(sim.SimADXL345(devid=0x00))), 'DEVID is 0x00')
bus.fail_next(2)
acc.read_accel_into(r)
bus.fail_next(9)
expect(OSError, lambda: acc.read_accel_into(r), '0x53', 'failed after 4 attempts')
""")


def test_sim_bus_methods_and_helpers():
    mp("""
bus = sim.i2c(0)   # no machine.I2C on the Unix port: the simulation
import machine
assert not hasattr(machine, 'I2C')
assert isinstance(bus, sim.SimI2C) and bus.scan() == [0x53, 0x68]
assert bus.readfrom_mem(0x68, 0x75, 1) == b'\\x68'
bus.writeto_mem(0x68, 0x6B, b'\\x00')
assert bus.readfrom_mem(0x68, 0x6B, 1) == b'\\x00'
bus.writeto(0x68, b'\\x1c\\x08')
assert bus.readfrom_mem(0x68, 0x1C, 1) == b'\\x08'
e = expect(OSError, lambda: bus.readfrom_mem(0x10, 0, 1))
assert e.args[0] == 19
bus.writeto_mem(0x68, 0x6B, b'\\x80')   # DEVICE_RESET: asleep again
assert bus.readfrom_mem(0x68, 0x6B, 1) == b'\\x40'
adc = sim.adc(34)
assert isinstance(adc, sim.SimADC) and 0 <= adc.read_u16() <= 65535
""")


@pytest.mark.parametrize("atten,expected", [("11dB", 3), (None, None)])
def test_adc_reader(atten, expected):
    mp(f"""
from microtf.adc import ADCReader
src = sim.SimADC([0, 1000, 65535, 42], loop=True)
r = ADCReader(src, atten={atten!r})
assert src.attenuation == {expected!r}
buf = array('H', [0] * 6)
micropython.heap_lock()
r.read_into(buf)
micropython.heap_unlock()
assert list(buf) == [0, 1000, 65535, 42, 0, 1000], list(buf)
import time
t0 = time.ticks_us()
r.read_into(buf, period_us=2000)
dt = time.ticks_diff(time.ticks_us(), t0)
assert 10000 <= dt < 40000, dt
expect(ValueError, lambda: ADCReader(src, atten='3dB'), '3dB')
""")


def test_sim_helpers_return_the_real_machine_objects_on_a_board():
    out = run_mp("""
import sys
class I2C:
    def __init__(self, *args, **kw):
        self.args, self.kw = args, kw
class ADC:
    def __init__(self, pin):
        self.pin = pin
class Pin:
    def __init__(self, n):
        self.n = n
class FakeMachine:
    pass
m = FakeMachine()
m.I2C, m.ADC, m.Pin = I2C, ADC, Pin
sys.modules['machine'] = m
from microtf import sim
bus = sim.i2c(0, freq=400000)
assert isinstance(bus, I2C) and bus.args == (0,) and bus.kw == {'freq': 400000}
a = sim.adc(34)
assert isinstance(a, ADC) and a.pin.n == 34
print('OK')
""")
    assert "OK" in out
