"""Block devices for the store's power-cut tests (MicroPython side).

CutDevice is a RAM flash that counts block writes and erases ("ops") and, at op
``cut_at``, simulates a power cut on the flash bus: in "stop" mode that op
never reaches the flash, in "tear" mode it reaches it half-done (first half of
the block new, the rest old; an erase leaves the first half erased), in
"garbage" mode the block is left holding noise.  Every
later write or erase fails with EIO, as if the chip were unpowered.
"""

BS = 512


class CutDevice:
    def __init__(self, data, cut_at=-1, mode="stop"):
        self.data = data
        self.blocks = len(data) // BS
        self.cut_at = cut_at
        self.mode = mode
        self.ops = 0
        self.cut = False
        self.written = []  # block numbers written or erased, in order

    def _op(self, addr, new):
        """Apply one op (bytes ``new`` at ``addr``); False once the power is off."""
        if self.cut:
            return False
        if self.ops == self.cut_at:
            self.cut = True
            if self.mode == "tear":
                half = len(new) // 2
                self.data[addr : addr + half] = new[:half]
            elif self.mode == "garbage":  # a cut mid-erase/program leaves noise
                x = addr + 1
                for k in range(len(new)):
                    x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                    self.data[addr + k] = (x >> 16) & 0xFF
            return False
        self.ops += 1
        self.written.append(addr // BS)
        self.data[addr : addr + len(new)] = new
        return True

    def readblocks(self, block, buf, off=0):
        a = block * BS + off
        buf[:] = self.data[a : a + len(buf)]

    def writeblocks(self, block, buf, off=None):
        if self.cut:  # checked first: a GC finaliser may flush here with the heap locked
            return -5
        if off is None:  # FAT: whole blocks, each one op
            for k in range(len(buf) // BS):
                if not self._op((block + k) * BS, memoryview(buf)[k * BS : (k + 1) * BS]):
                    return -5
            return 0
        return 0 if self._op(block * BS + off, buf) else -5  # littlefs: one prog

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BS
        if op == 6:  # erase
            if self.cut:
                return -5
            return 0 if self._op(arg * BS, b"\xff" * BS) else -5
        return 0


class FileDevice:
    """The same interface over a host file (for the SIGKILL test).

    No flush(): the Unix port's files have no user-space buffer (each write() is a system
    call, so a SIGKILL loses nothing already written), and its flush() is an fsync, which
    would only slow the test down.
    """

    def __init__(self, path, blocks):
        self.f = open(path, "r+b")  # noqa: SIM115 - open for the device's lifetime
        self.blocks = blocks

    def readblocks(self, block, buf, off=0):
        self.f.seek(block * BS + off)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, off=None):
        self.f.seek(block * BS + (off or 0))
        self.f.write(buf)
        return 0

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BS
        if op == 6:
            self.f.seek(arg * BS)
            self.f.write(b"\xff" * BS)
        return 0
