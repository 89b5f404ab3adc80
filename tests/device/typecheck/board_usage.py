"""Type-checked only (under the esp32 stubs): the drivers used with real machine objects."""

from array import array

from machine import ADC, I2C, Pin
from microtf import sim
from microtf.adc import ADCReader
from microtf.drivers.adxl345 import ADXL345
from microtf.drivers.mpu6050 import MPU6050
from microtf.sampler import Sampler

i2c = I2C(0, scl=Pin(22), sda=Pin(21), freq=400_000)
imu = MPU6050(i2c, accel_range=4)
acc = ADXL345(i2c, range_g=8)
raw = array("h", (0, 0, 0))
imu.read_accel_into(raw)
acc.read_accel_into(raw)
adc = ADCReader(ADC(Pin(34)), atten="11dB")
s = Sampler(imu, 100, 64, 32, ["ax", "ay", "az"], "g", 1.0, 0.0, 0.02, 0)
x = array("b", bytes(64 * 3))
s.start()
s.read_window(x)

# The simulated bus satisfies the same interface.

MPU6050(sim.SimI2C(sim.SimMPU6050()))
