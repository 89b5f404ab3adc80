"""Analog Devices ADXL345 3-axis accelerometer over I2C.

Example::

    from machine import I2C, Pin
    from array import array
    from microtf.drivers.adxl345 import ADXL345

    acc = ADXL345(I2C(0, scl=Pin(22), sda=Pin(21)), range_g=4, rate_hz=100)
    print(acc.accel())                    # (x, y, z) in g
    raw = array("h", (0, 0, 0))
    acc.read_accel_into(raw)              # no allocation: int16 counts
    x_g = raw[0] * acc.accel_scale

In full-resolution mode (the default) one count is 1/256 g at every range;
otherwise the output is 10 bits and one count is range/512 g.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

from micropython import const

from microtf.drivers import _bus

TYPE_CHECKING = False
if TYPE_CHECKING:
    from array import array

_DEVID = const(0x00)
_BW_RATE = const(0x2C)
_POWER_CTL = const(0x2D)
_DATA_FORMAT = const(0x31)
_DATAX0 = const(0x32)

_CHIP_ID = const(0xE5)
_MEASURE = const(0x08)
_FULL_RES = const(0x08)

RANGES = (2, 4, 8, 16)  # +-g, indexed by DATA_FORMAT bits 1:0
# Output data rates in Hz, indexed by BW_RATE code - 6 (codes 6..15).
RATES = (6.25, 12.5, 25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)

_G = 9.80665
CHANNELS = ("ax", "ay", "az")


def _s16le(b, i):
    v = b[i] | (b[i + 1] << 8)
    return v - 0x10000 if v & 0x8000 else v


class ADXL345:
    """One ADXL345 at ``address`` (0x53 with SDO/ALT low, 0x1D with it high)."""

    CHANNELS = CHANNELS

    def __init__(
        self, i2c: "_bus.I2CBus", address: int = 0x53, range_g=2, rate_hz=100, full_res=True, retries: int = 3
    ) -> None:
        if retries < 0:
            raise ValueError("invalid retries %r" % (retries,))
        self._i2c = i2c
        self._addr = address
        self._tries = retries + 1
        self._buf = bytearray(6)
        self._b1 = bytearray(1)
        _bus.probe(i2c, address, _DEVID, self._b1, self._tries, "ADXL345")
        if self._b1[0] != _CHIP_ID:
            raise OSError(
                19,
                "ADXL345 not found at 0x%02x: DEVID is 0x%02x, expected 0x%02x"
                % (address, self._b1[0], _CHIP_ID),
            )
        self.accel_scale = 1.0
        self._range = 2
        self._rate = 100.0
        self._full_res = True
        self.configure(range_g, rate_hz, full_res)
        self._set(_POWER_CTL, _MEASURE)

    def _set(self, reg, value):
        self._b1[0] = value
        _bus.write(self._i2c, self._addr, reg, self._b1, self._tries, "ADXL345")

    def configure(
        self, range_g: "int | None" = None, rate_hz: "float | None" = None, full_res: "bool | None" = None
    ) -> None:
        """Change settings; every value is validated before anything is written."""
        r = _bus.check_choice(self._range if range_g is None else range_g, RANGES, "range_g")
        k = _bus.check_choice(self._rate if rate_hz is None else rate_hz, RATES, "rate_hz")
        fr = self._full_res if full_res is None else bool(full_res)
        self._set(_BW_RATE, k + 6)
        self._set(_DATA_FORMAT, (_FULL_RES if fr else 0) | r)
        self._range, self._rate, self._full_res = RANGES[r], RATES[k], fr
        self.accel_scale = 1.0 / 256 if fr else RANGES[r] / 512

    @property
    def sample_rate(self) -> float:
        return self._rate

    def read_accel_into(self, buf: "array") -> None:
        """Fill buf[0:3] with int16 counts; times ``accel_scale`` gives g. Allocation-free."""
        _bus.read_into(self._i2c, self._addr, _DATAX0, self._buf, self._tries, "ADXL345")
        b = self._buf
        buf[0] = _s16le(b, 0)
        buf[1] = _s16le(b, 2)
        buf[2] = _s16le(b, 4)

    # The sampler's name for "all channels as counts".
    read_raw_into = read_accel_into

    def accel(self) -> "tuple[float, float, float]":
        """(x, y, z) in g."""
        _bus.read_into(self._i2c, self._addr, _DATAX0, self._buf, self._tries, "ADXL345")
        b, s = self._buf, self.accel_scale
        return (_s16le(b, 0) * s, _s16le(b, 2) * s, _s16le(b, 4) * s)

    def channel_scale(self, name: str, units: str) -> float:
        """Units per count of channel ``name`` (one of CHANNELS) in ``units``."""
        if name not in CHANNELS:
            raise ValueError("unknown ADXL345 channel %r; choose one of %s" % (name, CHANNELS))
        table = {"g": self.accel_scale, "m/s2": self.accel_scale * _G, "counts": 1.0}
        if units not in table:
            raise ValueError(
                "invalid units %r for ADXL345 channel %r; choose one of %s" % (units, name, tuple(table))
            )
        return table[units]
