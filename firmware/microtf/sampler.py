"""Fixed-rate sampling into a ring buffer, and windows cut into a model's int8 input.

Example (the manifest's "preprocessing" entry drives everything)::

    from array import array
    from microtf import sim
    from microtf.drivers.mpu6050 import MPU6050
    from microtf.sampler import Sampler

    imu = MPU6050(sim.i2c(0))
    manifest = {"preprocessing": {"sample_rate": 100, "window": 64, "hop": 32,
                                  "axis_order": ["ax", "ay", "az"], "units": "g",
                                  "scale": 1.0, "offset": 0.0},
                "input": {"scale": 0.0157, "zero_point": 0}}
    s = Sampler.from_manifest(imu, manifest)
    x = array("b", bytes(64 * 3))
    s.start()                  # machine.Timer where it exists, else polled
    while True:
        s.read_window(x)       # blocks until the next window, then quantizes into x
        ...                    # model.predict_into(x, y)

Data path and cost:
- The sampling callback reads the sensor's raw int16 counts (``read_raw_into``)
  into a scratch array and copies the model's channels, in the manifest's axis
  order, into a preallocated ring of raw counts.  It does integer work only,
  so it runs under ``micropython.heap_lock()`` (tested).
- ``cut_into(out)`` writes the next window, time-major ([t][channel]), as
  int8: q = clamp(round((raw * units_per_count * scale + offset) / input_scale)
  + zero_point, -128, 127), rounding half away from zero as TFLite does.  The
  per-channel constants are turned once into a fixed-point multiplier M,
  addend C and shift S (|raw * M + C| < 2**30), so each value is
  ``raw * M + C`` rounded by a shift of S: small-int arithmetic that neither
  allocates nor depends on the board's float precision.  It can differ from the float
  formula by one step, only where the float value lies within
  ``rounding_error`` (about 2**-7 for int16 counts, reported per sampler) of
  a rounding boundary.  ``cut_into`` does not allocate either.

Without machine.Timer (the Unix port, the emulated board) the sampler is
polled: ``poll()`` takes a sample when one is due (time.ticks_us), ``run(n)``
blocks for n samples, ``arun()`` is the same as an asyncio task.  Samples whose
slot passed while the caller was busy are skipped and counted in ``missed``.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

from array import array

# Types for the checker only: MicroPython has no typing module, and never runs this block.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Sensor(Protocol):
        """What the sampler needs of a sensor (the drivers and ADCReader have it)."""

        @property
        def CHANNELS(self) -> tuple[str, ...]: ...

        def read_raw_into(self, buf: Any) -> None: ...

        def channel_scale(self, name: str, units: str) -> float: ...


_LIMIT = 1 << 29  # |raw * M + C| stays below this: a small int on 32-bit ports
_MAX_SHIFT = 24


def _per_axis(value, n, what):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError("%s has %d entries for %d axes" % (what, len(value), n))
        return list(value)
    return [value] * n


def _fixed_point(a, b, zp=0):
    """(M, C, S, lo, hi) so that (clamp(raw, lo, hi) * M + C) / 2**S ~ raw * a + b.

    lo and hi are the raw values beyond which round(raw * a + b) + zp saturates int8.
    """
    # Clamping raw first bounds the product and leaves room for more fraction bits.
    if a == 0:
        return 0, int(b * (1 << _MAX_SHIFT)), _MAX_SHIFT, -65536, 65536
    r1 = (-129.0 - zp - b) / a
    r2 = (129.0 - zp - b) / a
    lo = max(-65536, int(min(r1, r2)) - 1)
    hi = min(65536, int(max(r1, r2)) + 1)
    bound = max(-lo, hi)
    s = _MAX_SHIFT
    while s > 0 and (abs(a) * bound + abs(b) + 1.0) * (1 << s) >= _LIMIT:
        s -= 1
    one = 1 << s
    return round(a * one), round(b * one), s, lo, hi


class Sampler:
    """Samples ``sensor`` at ``rate_hz`` and cuts windows of ``window`` samples every ``hop``.

    ``sensor`` has ``CHANNELS`` (names), ``read_raw_into(buf)`` (int counts for
    every channel) and ``channel_scale(name, units)``: the drivers in
    microtf.drivers and microtf.adc.ADCReader all do.
    """

    def __init__(
        self,
        sensor: "Sensor",
        rate_hz: float,
        window: int,
        hop: "int | None" = None,
        axis_order: "list[str] | None" = None,
        units: "str | list[str]" = "counts",
        scale: "float | list[float]" = 1.0,
        offset: "float | list[float]" = 0.0,
        input_scale: float = 1.0,
        input_zero_point: int = 0,
        capacity: "int | None" = None,
        timer_id: int = -1,
    ) -> None:
        names = sensor.CHANNELS
        axis_order = list(axis_order or names)
        hop = window if hop is None else hop
        if not rate_hz > 0:
            raise ValueError("invalid sample_rate %r" % (rate_hz,))
        if not (isinstance(window, int) and window > 0):
            raise ValueError("invalid window %r" % (window,))
        if not (isinstance(hop, int) and hop > 0):
            raise ValueError("invalid hop %r" % (hop,))
        if capacity is None:
            capacity = max(2 * window, window + hop)
        if capacity < window:
            raise ValueError("capacity %d is smaller than the window %d" % (capacity, window))
        if not input_scale > 0:
            raise ValueError("invalid input scale %r" % (input_scale,))
        if not -128 <= input_zero_point <= 127:
            raise ValueError("invalid input zero point %r" % (input_zero_point,))
        nch = len(axis_order)
        sel = []
        for name in axis_order:
            if name not in names:
                raise ValueError("unknown axis %r; this sensor has %s" % (name, tuple(names)))
            sel.append(names.index(name))
        units_ = _per_axis(units, nch, "units")
        scale_ = _per_axis(scale, nch, "scale")
        offset_ = _per_axis(offset, nch, "offset")

        self.sensor = sensor
        self.rate_hz = rate_hz
        self.window = window
        self.hop = hop
        self.axis_order = axis_order
        self.nch = nch
        self.capacity = capacity
        self._sel = array("B", sel)
        self._scratch = array("i", bytes(4 * len(names)))
        self.ring = array("i", bytes(4 * capacity * nch))
        self.count = 0  # samples written since start (rebased, see _rebase)
        self.next_start = 0  # first sample of the next window
        self.overruns = 0  # windows lost because the ring was overwritten
        self.missed = 0  # polled mode: sample slots skipped because the caller was late
        self.errors = 0  # timer mode: sensor reads that failed
        self.last_error: OSError | None = None

        self.rounding_error = 0.0  # bound on |fixed-point - float| before rounding
        self._mul = array("i", bytes(4 * nch))
        self._add = array("i", bytes(4 * nch))
        self._shift = array("i", bytes(4 * nch))
        self._half = array("i", bytes(4 * nch))
        self._zp = input_zero_point
        self._lo = array("i", bytes(4 * nch))
        self._hi = array("i", bytes(4 * nch))
        for c in range(nch):
            per_count = sensor.channel_scale(axis_order[c], units_[c])
            a = per_count * scale_[c] / input_scale
            b = offset_[c] / input_scale
            m, k, s, lo, hi = _fixed_point(a, b, input_zero_point)
            # |raw * (M / 2**S - a)| + |C / 2**S - b| for the largest clamped raw
            err = (max(-lo, hi) + 1) / (1 << (s + 1))
            if err > self.rounding_error:
                self.rounding_error = err
            self._mul[c], self._add[c], self._shift[c] = m, k, s
            self._half[c] = (1 << s) >> 1
            self._lo[c], self._hi[c] = lo, hi

        # Bound once: no allocation per sample. Accelerometer-only models read 6 bytes, not 14.
        accel_only = hasattr(sensor, "read_accel_into") and max(sel) < 3 and names[:3] == ("ax", "ay", "az")
        self._read = getattr(sensor, "read_accel_into") if accel_only else sensor.read_raw_into  # noqa: B009
        self._cb = self._timer_cb
        self._timer = None
        self._timer_id = timer_id
        self._period_ns = round(1e9 / rate_hz)
        self._acc_ns = 0
        # self._due (a time.ticks_us value) is set by start().

    @classmethod
    def from_manifest(
        cls,
        sensor: "Sensor",
        manifest: dict,
        input_scale: "float | None" = None,
        input_zero_point: "int | None" = None,
        **kw: "Any",
    ) -> "Sampler":
        """Build from a model manifest: its "preprocessing" entry and input quantization.

        preprocessing: sample_rate (Hz), window and hop (samples), axis_order
        (channel names), units (one, or one per axis), and either scale/offset
        (x_norm = x * scale + offset) or mean/std (x_norm = (x - mean) / std).
        The input scale and zero point come from the arguments, else from
        manifest["input"]["scale"/"zero_point"].
        """
        pre = manifest.get("preprocessing", manifest)
        inp = manifest.get("input") or {}
        if input_scale is None:
            input_scale = inp.get("scale")
        if input_zero_point is None:
            input_zero_point = inp.get("zero_point", 0)
        if input_scale is None:
            raise ValueError("no input scale: pass input_scale or put it in manifest['input']")
        for key in ("sample_rate", "window"):
            if key not in pre:
                raise ValueError("manifest preprocessing has no %r" % (key,))
        layout = pre.get("layout", "time_major")
        if layout != "time_major":
            raise ValueError("unsupported layout %r; only 'time_major' ([t][axis])" % (layout,))
        axis_order = pre.get("axis_order") or list(sensor.CHANNELS)
        n = len(axis_order)
        if "std" in pre or "mean" in pre:
            std = _per_axis(pre.get("std", 1.0), n, "std")
            mean = _per_axis(pre.get("mean", 0.0), n, "mean")
            scale = [1.0 / s for s in std]
            offset = [-mean[i] / std[i] for i in range(n)]
        else:
            scale = pre.get("scale", 1.0)
            offset = pre.get("offset", 0.0)
        return cls(
            sensor,
            pre["sample_rate"],
            pre["window"],
            pre.get("hop"),
            axis_order,
            pre.get("units", "counts"),
            scale,
            offset,
            input_scale,
            input_zero_point,
            **kw,
        )

    # ---- sampling path: integer-only, allocation-free -------------------------------

    def sample(self) -> None:
        """Take one sample now into the ring."""
        self._read(self._scratch)
        s = self._scratch
        r = self.ring
        sel = self._sel
        nch = self.nch
        base = (self.count % self.capacity) * nch
        for c in range(nch):
            r[base + c] = s[sel[c]]
        self.count += 1

    def _timer_cb(self, _timer):
        try:
            self.sample()
        except OSError as exc:
            self.errors += 1
            self.last_error = exc

    # ---- control -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget all samples and windows."""
        self.count = self.next_start = 0
        self.overruns = self.missed = self.errors = 0

    def start(self) -> None:
        """Start sampling: a machine.Timer where it exists, else polled (call poll/run)."""
        self.reset()
        try:
            import machine

            timer_cls = getattr(machine, "Timer", None)
        except ImportError:
            timer_cls = None
        if timer_cls is None:
            import time

            self._due = time.ticks_us()
            self._acc_ns = 0
            return
        t = timer_cls(self._timer_id)
        try:
            t.init(mode=timer_cls.PERIODIC, freq=self.rate_hz, callback=self._cb, hard=False)
        except TypeError:  # ports without the hard= argument run soft callbacks anyway
            t.init(mode=timer_cls.PERIODIC, freq=self.rate_hz, callback=self._cb)
        self._timer = t

    def poll(self) -> int:
        """Polled mode (after start()): take a sample if one is due. Returns 1 if it did, else 0."""
        import time

        now = time.ticks_us()
        late = time.ticks_diff(now, self._due)
        if late < 0:
            return 0
        self.sample()
        step = self._advance()
        # Slots that passed while the caller was busy are skipped, not caught up:
        # back-to-back reads would not be at the sample rate.
        while late >= step:
            late -= step
            step = self._advance()
            self.missed += 1
        return 1

    def _advance(self):
        import time

        self._acc_ns += self._period_ns
        step = self._acc_ns // 1000
        self._acc_ns -= step * 1000
        self._due = time.ticks_add(self._due, step)
        return step

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None

    def run(self, n: int) -> None:
        """Polled mode: block until ``n`` more samples are taken."""
        left = n
        while left > 0:
            left -= self.poll()

    async def arun(self, n: int = -1) -> None:
        """Polled mode as an asyncio task (forever when n < 0)."""
        import asyncio
        import time

        while n != 0:
            wait = time.ticks_diff(self._due, time.ticks_us())
            if wait > 1000:
                await asyncio.sleep_ms(wait // 1000)
            elif self.poll():
                n -= 1
            else:
                await asyncio.sleep_ms(0)

    # ---- windows -----------------------------------------------------------------

    def ready(self) -> bool:
        """True when the next window is complete."""
        return self.count - self.next_start >= self.window

    def read_window(self, out: "array | bytearray") -> None:
        """Wait for the next window (polling if there is no timer) and cut it into ``out``."""
        while not self.cut_into(out):
            if self._timer is None:
                self.poll()

    def cut_into(self, out: "array | bytearray") -> bool:
        """Write the next window into ``out`` as int8 ([t][axis]); False if not complete yet.

        ``out`` is an array('b') (or bytearray, which gets two's complement
        bytes) of at least window * channels entries.  No allocation.
        """
        start = self.next_start
        cap = self.capacity
        if self.count - start > cap:
            # The ring was overwritten before this window was read: skip whole
            # hops to the oldest window still in the ring.
            self.overruns += 1
            behind = self.count - cap - start
            start += (behind + self.hop - 1) // self.hop * self.hop
            self.next_start = start
        if self.count - start < self.window:
            return False
        nch = self.nch
        ring = self.ring
        mul = self._mul
        add = self._add
        shift = self._shift
        half = self._half
        zp = self._zp
        lo = self._lo
        hi = self._hi
        as_bytes = isinstance(out, bytearray)
        end = cap * nch
        pos = (start % cap) * nch
        i = 0
        for _t in range(self.window):
            for c in range(nch):
                r = ring[pos + c]
                if r < lo[c]:
                    r = lo[c]
                elif r > hi[c]:
                    r = hi[c]
                t = r * mul[c] + add[c]
                # round half away from zero, as TFLite quantizes
                if t >= 0:
                    q = ((t + half[c]) >> shift[c]) + zp
                else:
                    q = zp - ((half[c] - t) >> shift[c])
                if q < -128:
                    q = -128
                elif q > 127:
                    q = 127
                out[i] = q & 0xFF if as_bytes else q
                i += 1
            pos += nch
            if pos >= end:
                pos = 0
        self.next_start = start + self.hop
        if self.count - start > cap:
            # The sampler lapped us while copying: this window is torn.
            self.overruns += 1
            return False
        if start >= 1 << 24:
            self._rebase()
        return True

    def _rebase(self):
        # Keep the counters small ints on 32-bit ports (no allocation in the callback).
        k = self.next_start // self.capacity * self.capacity
        try:
            import machine

            disable = getattr(machine, "disable_irq", None)
            enable = getattr(machine, "enable_irq", None)
        except ImportError:
            disable = enable = None
        st = disable() if disable is not None else None
        self.count -= k
        if enable is not None:
            enable(st)
        self.next_start -= k
