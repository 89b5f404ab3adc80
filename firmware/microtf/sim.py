"""Bus-level simulation for hosts without sensors (the Unix port, CI).

``SimI2C`` has the ``machine.I2C`` methods the drivers use, and hosts register
models of chips, so the real drivers run on it unchanged::

    from microtf import sim
    from microtf.drivers.mpu6050 import MPU6050

    bus = sim.SimI2C(sim.SimMPU6050(trace=[(0, 0, 16384), (100, -50, 16300)]))
    imu = MPU6050(bus)
    print(imu.accel())          # (0.0, 0.0, 1.0): first sample of the trace

    i2c = sim.i2c(0)            # machine.I2C(0) on a board, a SimI2C elsewhere

Models:
- ``SimMPU6050``: WHO_AM_I (0x75) = 0x68; PWR_MGMT_1 (0x6B) resets to 0x40
  (asleep); while asleep the data registers do not change.  Awake, every read
  that starts at ACCEL_XOUT_H (0x3B) latches the next sample of the trace into
  0x3B..0x48 (big-endian ax ay az temp gx gy gz).  Trace values are raw counts
  at +-2 g and +-250 deg/s; a wider range (ACCEL_CONFIG / GYRO_CONFIG FS_SEL)
  divides them by 2**FS_SEL (arithmetic shift, so it floors).
- ``SimADXL345``: DEVID (0x00) = 0xE5; measures only with POWER_CTL (0x2D)
  bit 3 set; a read starting at DATAX0 (0x32) latches the next sample
  (little-endian x y z).  Trace values are counts at 256 per g; full
  resolution keeps them, 10-bit mode divides by 2**range code; both clamp
  to the output width of the range.
- ``SimADC``: ``read_u16`` replays samples.

An address with no model NACKs: OSError(19) (ENODEV).  ``fail_next(n)``
makes the next ``n`` reads (and writes, if asked) fail with OSError(5) (EIO).
Nothing on the read path allocates, so the sampler can be checked under
``micropython.heap_lock()`` on top of it.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

from array import array

_ENODEV = 19
_EIO = 5


def _flatten(trace, width):
    """Trace as a flat int16 array of ``width`` values per sample."""
    if trace is None:
        return array("h", bytes(2 * width))
    if len(trace) and isinstance(trace[0], int):
        if len(trace) % width:
            raise ValueError("flat trace length %d is not a multiple of %d" % (len(trace), width))
        return array("h", trace)
    out = array("h", bytes(2 * width * len(trace)))
    for i in range(len(trace)):
        s = trace[i]
        if len(s) > width:
            raise ValueError("trace sample %d has %d values, at most %d" % (i, len(s), width))
        for j in range(len(s)):
            out[i * width + j] = s[j]
    return out


def generated_trace(n, width=3, seed=1, amplitude=8192):
    """A deterministic integer trace (triangle waves of +-amplitude plus LCG noise), no floats."""
    out = array("h", bytes(2 * width * n))
    x = seed
    for i in range(n):
        for j in range(width):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            period = 40 + 10 * j
            p = i % period
            tri = (p if p < period // 2 else period - p) * 2 * amplitude // (period // 2) - amplitude
            out[i * width + j] = tri + ((x >> 16) & 0xFF) - 128
    return out


class RegisterDevice:
    """A chip as 256 8-bit registers with auto-increment; subclasses add behaviour."""

    def __init__(self, addr):
        self.addr = addr
        self.regs = bytearray(256)

    def begin_read(self, reg):
        pass

    def write_reg(self, reg, value):
        self.regs[reg] = value

    def read(self, reg, buf):
        self.begin_read(reg)
        regs = self.regs
        for i in range(len(buf)):
            buf[i] = regs[(reg + i) & 0xFF]

    def write(self, reg, data):
        for i in range(len(data)):
            self.write_reg((reg + i) & 0xFF, data[i])


class _TraceDevice(RegisterDevice):
    def __init__(self, addr, trace, width, loop):
        super().__init__(addr)
        self.trace = _flatten(trace, width)
        self.width = width
        self.loop = loop
        self.index = 0  # samples latched so far

    @property
    def samples(self):
        return len(self.trace) // self.width

    def _next(self):
        """Offset into the trace of the sample to latch now."""
        n = len(self.trace) // self.width
        i = self.index
        self.index = i + 1
        if n == 0:
            return -1
        if i >= n:
            i = i % n if self.loop else n - 1
        return i * self.width


class SimMPU6050(_TraceDevice):
    """MPU-6050 register model replaying ``trace`` (tuples of 3, 6 or 7 counts, or flat, 7 wide)."""

    def __init__(self, trace=None, addr=0x68, loop=True, who_am_i=0x68):
        super().__init__(addr, trace, 7, loop)
        self.who_am_i = who_am_i
        self.reset()

    def reset(self):
        self.regs[:] = bytes(256)
        self.regs[0x75] = self.who_am_i
        self.regs[0x6B] = 0x40

    @property
    def asleep(self):
        return bool(self.regs[0x6B] & 0x40)

    def write_reg(self, reg, value):
        if reg == 0x6B and value & 0x80:
            self.reset()
            return
        if reg == 0x75:
            return  # read-only
        self.regs[reg] = value

    def begin_read(self, reg):
        if reg != 0x3B or self.asleep:
            return
        off = self._next()
        if off < 0:
            return
        t = self.trace
        afs = (self.regs[0x1C] >> 3) & 3
        gfs = (self.regs[0x1B] >> 3) & 3
        for j in range(7):
            v = t[off + j]
            if j < 3:
                v >>= afs
            elif j > 3:
                v >>= gfs
            self.regs[0x3B + 2 * j] = (v >> 8) & 0xFF
            self.regs[0x3C + 2 * j] = v & 0xFF


class SimADXL345(_TraceDevice):
    """ADXL345 register model replaying ``trace`` (tuples of 3 counts at 256/g, or flat)."""

    def __init__(self, trace=None, addr=0x53, loop=True, devid=0xE5):
        super().__init__(addr, trace, 3, loop)
        self.regs[0x00] = devid
        self.regs[0x2C] = 0x0A
        self.regs[0x31] = 0x00

    @property
    def measuring(self):
        return bool(self.regs[0x2D] & 0x08)

    def write_reg(self, reg, value):
        if reg != 0x00:
            self.regs[reg] = value

    def begin_read(self, reg):
        if reg != 0x32 or not self.measuring:
            return
        off = self._next()
        if off < 0:
            return
        fmt = self.regs[0x31]
        r = fmt & 3
        bits = 10 + r if fmt & 0x08 else 10
        hi = (1 << (bits - 1)) - 1
        t = self.trace
        for j in range(3):
            v = t[off + j]
            if not fmt & 0x08:
                v >>= r
            v = max(-hi - 1, min(v, hi))
            self.regs[0x32 + 2 * j] = v & 0xFF
            self.regs[0x33 + 2 * j] = (v >> 8) & 0xFF


class SimI2C:
    """A simulated I2C bus with the ``machine.I2C`` memory-access methods."""

    def __init__(self, *devices):
        self._devs = {}
        self._fail = 0
        self._fail_writes = False
        self._fail_errno = _EIO
        self.reads = 0
        self.writes = 0
        for d in devices:
            self.add(d)

    def add(self, device):
        self._devs[device.addr] = device
        return device

    def remove(self, addr):
        del self._devs[addr]

    def fail_next(self, n, errno=_EIO, writes=False):
        """Make the next ``n`` reads (and writes too if ``writes``) raise OSError(errno)."""
        self._fail = n
        self._fail_errno = errno
        self._fail_writes = writes

    def _device(self, addr, is_write):
        if self._fail > 0 and (self._fail_writes or not is_write):
            self._fail -= 1
            raise OSError(self._fail_errno)
        dev = self._devs.get(addr)
        if dev is None:
            raise OSError(_ENODEV)
        return dev

    def scan(self):
        return sorted(self._devs)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        dev = self._device(addr, False)
        self.reads += 1
        dev.read(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        dev = self._device(addr, True)
        self.writes += 1
        dev.write(memaddr, buf)

    def writeto(self, addr, buf, stop=True):
        """Raw write: first byte is the register address, like a real register chip."""
        dev = self._device(addr, True)
        self.writes += 1
        if len(buf):
            dev.write(buf[0], memoryview(buf)[1:])
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr, False).read(0, buf)


class SimADC:
    """Replays ``samples`` (0..65535) from ``read_u16``; loops unless ``loop`` is False."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, samples, loop=True):
        self.samples = array("H", samples)
        self.loop = loop
        self.index = 0
        self.attenuation = None

    def atten(self, value):
        self.attenuation = value

    def read_u16(self):
        n = len(self.samples)
        i = self.index
        self.index = i + 1
        if i >= n:
            i = i % n if self.loop else n - 1
        return self.samples[i]


def _machine_attr(name):
    try:
        import machine
    except ImportError:
        return None
    return getattr(machine, name, None)


def i2c(*args, devices=None, **kw):
    """``machine.I2C(*args, **kw)`` where it exists; else a SimI2C with ``devices``.

    The default devices are an MPU6050 (0x68) and an ADXL345 (0x53) replaying a
    generated trace.  The simulation is used ONLY when machine.I2C is absent.
    """
    cls = _machine_attr("I2C")
    if cls is not None:
        return cls(*args, **kw)
    if devices is None:
        devices = (SimMPU6050(generated_trace(256, 7)), SimADXL345(generated_trace(256, 3, amplitude=256)))
    return SimI2C(*devices)


bus = i2c


def adc(source, samples=None):
    """``machine.ADC(source)`` where it exists; else a SimADC replaying ``samples``."""
    cls = _machine_attr("ADC")
    if cls is not None:
        pin_cls = _machine_attr("Pin")
        return cls(source if pin_cls is None or isinstance(source, pin_cls) else pin_cls(source))
    if samples is None:
        tr = generated_trace(256, 1)
        samples = [v + 32768 for v in tr]
    return SimADC(samples)
