"""A thin ADC reader filling preallocated arrays.

Example::

    from array import array
    from microtf.adc import ADCReader

    adc = ADCReader(34, atten="11dB")     # ESP32: full 0..3.3 V range
    buf = array("H", bytes(2 * 256))      # or array("i"), array("l")
    adc.read_into(buf, period_us=1000)    # 256 samples at 1 kHz

``source`` may be a pin number or name, a ``machine.Pin``, or any object with
``read_u16()`` (a ``machine.ADC`` or ``microtf.sim.SimADC``).  Values are
``read_u16`` values, 0..65535.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

TYPE_CHECKING = False
if TYPE_CHECKING:
    from array import array

CHANNELS = ("adc",)

# Attenuation names accepted by ``atten=`` and the ESP32 constant each maps to.
_ATTEN = {"0dB": "ATTN_0DB", "2.5dB": "ATTN_2_5DB", "6dB": "ATTN_6DB", "11dB": "ATTN_11DB"}


def _make_adc(source, atten):
    if hasattr(source, "read_u16"):
        adc = source
    else:
        import machine  # only here: boards without machine can still pass a SimADC

        # getattr: the Unix port's machine has neither Pin(id) nor ADC.
        pin_cls = getattr(machine, "Pin")  # noqa: B009
        pin = source if isinstance(source, pin_cls) else pin_cls(source)
        adc = getattr(machine, "ADC")(pin)  # noqa: B009
    if atten is not None:
        if atten not in _ATTEN:
            raise ValueError("invalid atten %r; choose one of %s" % (atten, tuple(_ATTEN)))
        const = getattr(type(adc), _ATTEN[atten], None)
        if const is not None and hasattr(adc, "atten"):
            adc.atten(const)  # ESP32-family only; other ports have a fixed range
    return adc


class ADCReader:
    """Reads one ADC channel into caller-owned buffers."""

    CHANNELS = CHANNELS

    def __init__(self, source: object, atten: "str | None" = None) -> None:
        self.adc = _make_adc(source, atten)
        self._read = self.adc.read_u16  # bound once: no allocation per sample

    def read_u16(self) -> int:
        return self._read()

    def read_raw_into(self, buf: "array") -> None:
        """buf[0] = one sample (the sampler's single-channel interface)."""
        buf[0] = self._read()

    def read_into(self, buf: "array", period_us: int = 0) -> None:
        """Fill all of ``buf``; with ``period_us`` > 0, pace samples with ticks_us."""
        read = self._read
        n = len(buf)
        if period_us <= 0:
            for i in range(n):
                buf[i] = read()
            return
        import time

        due = time.ticks_us()
        for i in range(n):
            while time.ticks_diff(time.ticks_us(), due) < 0:
                pass
            buf[i] = read()
            due = time.ticks_add(due, period_us)

    def channel_scale(self, name: str, units: str) -> float:
        """Units per count: "counts", or "V" for a 3.3 V full scale (0..65535)."""
        if name != "adc":
            raise ValueError("unknown ADC channel %r" % (name,))
        table = {"counts": 1.0, "V": 3.3 / 65535}
        if units not in table:
            raise ValueError("invalid units %r for the ADC; choose one of %s" % (units, tuple(table)))
        return table[units]
