"""InvenSense MPU-6050 accelerometer + gyroscope over I2C.

Example::

    from machine import I2C, Pin
    from array import array
    from microtf.drivers.mpu6050 import MPU6050

    imu = MPU6050(I2C(0, scl=Pin(22), sda=Pin(21)), accel_range=4, gyro_range=500,
                  dlpf=3, rate_div=9)          # 1 kHz / (1 + 9) = 100 Hz
    print(imu.accel(), imu.gyro(), imu.temperature())
    raw = array("h", (0, 0, 0))
    imu.read_accel_into(raw)                   # no allocation: int16 counts
    ax_g = raw[0] * imu.accel_scale

Without hardware, ``microtf.sim.i2c()`` gives a simulated bus with an
MPU6050 register model (see microtf.sim).
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

from micropython import const

from microtf.drivers import _bus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from array import array

_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_ACCEL_XOUT_H = const(0x3B)
_PWR_MGMT_1 = const(0x6B)
_WHO_AM_I = const(0x75)

_CHIP_ID = const(0x68)
_CLKSEL_PLL_XGYRO = const(0x01)  # sleep bit (0x40) clear: awake, gyro-X PLL clock
_DATA_LEN = const(14)  # ax ay az temp gx gy gz, big-endian int16 each

# Full-scale settings, indexed by the register's FS_SEL field (bits 4:3).
ACCEL_RANGES = (2, 4, 8, 16)  # +-g
_ACCEL_LSB = (16384, 8192, 4096, 2048)  # counts per g
GYRO_RANGES = (250, 500, 1000, 2000)  # +-deg/s
_GYRO_LSB = (131.0, 65.5, 32.8, 16.4)  # counts per deg/s
DLPF_MODES = (0, 1, 2, 3, 4, 5, 6)  # CONFIG.DLPF_CFG; 0 = 260 Hz, 6 = 5 Hz

_G = 9.80665
_DEG_TO_RAD = 0.017453292519943295

CHANNELS = ("ax", "ay", "az", "temp", "gx", "gy", "gz")


def _s16(b, i):
    v = (b[i] << 8) | b[i + 1]
    return v - 0x10000 if v & 0x8000 else v


class MPU6050:
    """One MPU-6050 at ``address`` (0x68, or 0x69 with AD0 high)."""

    CHANNELS = CHANNELS

    def __init__(
        self,
        i2c: "_bus.I2CBus",
        address: int = 0x68,
        accel_range=2,
        gyro_range=250,
        dlpf=0,
        rate_div=0,
        retries: int = 3,
    ) -> None:
        if retries < 0:
            raise ValueError("invalid retries %r" % (retries,))
        self._i2c = i2c
        self._addr = address
        self._tries = retries + 1
        self._buf = bytearray(_DATA_LEN)
        self._accel = memoryview(self._buf)[:6]
        self._b1 = bytearray(1)
        _bus.probe(i2c, address, _WHO_AM_I, self._b1, self._tries, "MPU6050")
        if self._b1[0] != _CHIP_ID:
            raise OSError(
                19,
                "MPU6050 not found at 0x%02x: WHO_AM_I is 0x%02x, expected 0x%02x"
                % (address, self._b1[0], _CHIP_ID),
            )
        self._set(_PWR_MGMT_1, _CLKSEL_PLL_XGYRO)
        self.accel_scale = 1.0
        self.gyro_scale = 1.0
        self._accel_range = self._gyro_range = 0
        self._dlpf = self._rate_div = 0
        self.configure(accel_range, gyro_range, dlpf, rate_div)

    def _set(self, reg, value):
        self._b1[0] = value
        _bus.write(self._i2c, self._addr, reg, self._b1, self._tries, "MPU6050")

    def configure(
        self,
        accel_range: "int | None" = None,
        gyro_range: "int | None" = None,
        dlpf: "int | None" = None,
        rate_div: "int | None" = None,
    ) -> None:
        """Change settings; every value is validated before anything is written."""
        a = _bus.check_choice(
            self._accel_range if accel_range is None else accel_range, ACCEL_RANGES, "accel_range"
        )
        g = _bus.check_choice(
            self._gyro_range if gyro_range is None else gyro_range, GYRO_RANGES, "gyro_range"
        )
        d = _bus.check_choice(self._dlpf if dlpf is None else dlpf, DLPF_MODES, "dlpf")
        r = self._rate_div if rate_div is None else rate_div
        if not isinstance(r, int) or not 0 <= r <= 255:
            raise ValueError("invalid rate_div %r; choose 0..255" % (r,))
        self._set(_CONFIG, d)
        self._set(_SMPLRT_DIV, r)
        self._set(_ACCEL_CONFIG, a << 3)
        self._set(_GYRO_CONFIG, g << 3)
        self._accel_range, self._gyro_range = ACCEL_RANGES[a], GYRO_RANGES[g]
        self._dlpf, self._rate_div = DLPF_MODES[d], r
        self.accel_scale = 1.0 / _ACCEL_LSB[a]
        self.gyro_scale = 1.0 / _GYRO_LSB[g]

    @property
    def sample_rate(self) -> float:
        """Output data rate in Hz set by DLPF and the rate divider."""
        base = 8000 if self._dlpf == 0 else 1000
        return base / (1 + self._rate_div)

    def read_raw_into(self, buf: "array") -> None:
        """Fill buf[0:7] with int16 counts (ax ay az temp gx gy gz). Allocation-free."""
        _bus.read_into(self._i2c, self._addr, _ACCEL_XOUT_H, self._buf, self._tries, "MPU6050")
        b = self._buf
        for i in range(7):
            buf[i] = _s16(b, 2 * i)

    def read_accel_into(self, buf: "array") -> None:
        """Fill buf[0:3] with int16 accel counts; times ``accel_scale`` gives g. Allocation-free."""
        _bus.read_into(self._i2c, self._addr, _ACCEL_XOUT_H, self._accel, self._tries, "MPU6050")
        b = self._buf
        buf[0] = _s16(b, 0)
        buf[1] = _s16(b, 2)
        buf[2] = _s16(b, 4)

    def accel(self) -> "tuple[float, float, float]":
        """(x, y, z) in g."""
        self._burst()
        b, s = self._buf, self.accel_scale
        return (_s16(b, 0) * s, _s16(b, 2) * s, _s16(b, 4) * s)

    def gyro(self) -> "tuple[float, float, float]":
        """(x, y, z) in deg/s."""
        self._burst()
        b, s = self._buf, self.gyro_scale
        return (_s16(b, 8) * s, _s16(b, 10) * s, _s16(b, 12) * s)

    def temperature(self) -> float:
        """Die temperature in degrees C."""
        self._burst()
        return _s16(self._buf, 6) / 340.0 + 36.53

    def _burst(self):
        # One 14-byte burst read into the driver's own buffer.
        _bus.read_into(self._i2c, self._addr, _ACCEL_XOUT_H, self._buf, self._tries, "MPU6050")

    def channel_scale(self, name: str, units: str) -> float:
        """Units per count of channel ``name`` (one of CHANNELS) in ``units``."""
        if name in ("ax", "ay", "az"):
            table = {"g": self.accel_scale, "m/s2": self.accel_scale * _G, "counts": 1.0}
        elif name in ("gx", "gy", "gz"):
            table = {"deg/s": self.gyro_scale, "rad/s": self.gyro_scale * _DEG_TO_RAD, "counts": 1.0}
        elif name == "temp":
            table = {"counts": 1.0}
        else:
            raise ValueError("unknown MPU6050 channel %r; choose one of %s" % (name, CHANNELS))
        if units not in table:
            raise ValueError(
                "invalid units %r for MPU6050 channel %r; choose one of %s" % (units, name, tuple(table))
            )
        return table[units]
