"""SHA-256 and CRC-32 for the model store, using hashlib/binascii when the port has them.

The fallbacks are plain Python (slow, but correct on any port): SHA-256 per
FIPS 180-4 and the reflected CRC-32 of zlib (polynomial 0xEDB88320).
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

_M = 0xFFFFFFFF
_K = (
    0x428A2F98,
    0x71374491,
    0xB5C0FBCF,
    0xE9B5DBA5,
    0x3956C25B,
    0x59F111F1,
    0x923F82A4,
    0xAB1C5ED5,
    0xD807AA98,
    0x12835B01,
    0x243185BE,
    0x550C7DC3,
    0x72BE5D74,
    0x80DEB1FE,
    0x9BDC06A7,
    0xC19BF174,
    0xE49B69C1,
    0xEFBE4786,
    0x0FC19DC6,
    0x240CA1CC,
    0x2DE92C6F,
    0x4A7484AA,
    0x5CB0A9DC,
    0x76F988DA,
    0x983E5152,
    0xA831C66D,
    0xB00327C8,
    0xBF597FC7,
    0xC6E00BF3,
    0xD5A79147,
    0x06CA6351,
    0x14292967,
    0x27B70A85,
    0x2E1B2138,
    0x4D2C6DFC,
    0x53380D13,
    0x650A7354,
    0x766A0ABB,
    0x81C2C92E,
    0x92722C85,
    0xA2BFE8A1,
    0xA81A664B,
    0xC24B8B70,
    0xC76C51A3,
    0xD192E819,
    0xD6990624,
    0xF40E3585,
    0x106AA070,
    0x19A4C116,
    0x1E376C08,
    0x2748774C,
    0x34B0BCB5,
    0x391C0CB3,
    0x4ED8AA4A,
    0x5B9CCA4F,
    0x682E6FF3,
    0x748F82EE,
    0x78A5636F,
    0x84C87814,
    0x8CC70208,
    0x90BEFFFA,
    0xA4506CEB,
    0xBEF9A3F7,
    0xC67178F2,
)


def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & _M


class PySHA256:
    """hashlib.sha256 work-alike: update(data), digest()."""

    def __init__(self, data=b""):
        self._h = [
            0x6A09E667,
            0xBB67AE85,
            0x3C6EF372,
            0xA54FF53A,
            0x510E527F,
            0x9B05688C,
            0x1F83D9AB,
            0x5BE0CD19,
        ]
        self._pending = b""
        self._length = 0
        self.update(data)

    def _block(self, b):
        w = [int.from_bytes(b[4 * i : 4 * i + 4], "big") for i in range(16)]
        for i in range(16, 64):
            s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M)
        a, b_, c, d, e, f, g, h = self._h
        for i in range(64):
            t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[i] + w[i]) & _M
            t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b_) ^ (a & c) ^ (b_ & c))) & _M
            h, g, f, e, d, c, b_, a = g, f, e, (d + t1) & _M, c, b_, a, (t1 + t2) & _M
        # MicroPython's zip has no strict=.
        self._h = [(x + y) & _M for x, y in zip(self._h, (a, b_, c, d, e, f, g, h))]  # noqa: B905

    def update(self, data):
        self._length += len(data)
        buf = self._pending + bytes(data)
        n = len(buf) // 64 * 64
        for i in range(0, n, 64):
            self._block(buf[i : i + 64])
        self._pending = buf[n:]

    def digest(self):
        saved_h, saved_p, saved_n = list(self._h), self._pending, self._length
        bits = self._length * 8
        pad = b"\x80" + bytes((55 - self._length) % 64) + bits.to_bytes(8, "big")
        self.update(pad)
        out = b"".join(x.to_bytes(4, "big") for x in self._h)
        self._h, self._pending, self._length = saved_h, saved_p, saved_n
        return out


def py_crc32(data, crc=0):
    crc ^= _M
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ _M


def new_sha256():
    """hashlib.sha256() where the port has it, else the pure-Python one."""
    try:
        import hashlib

        return hashlib.sha256()
    except (ImportError, AttributeError):
        return PySHA256()


def crc(data):
    """CRC-32 of data (binascii.crc32 where the port has it)."""
    try:
        import binascii

        return binascii.crc32(data) & _M
    except (ImportError, AttributeError):
        return py_crc32(data)


def hexdigest(h):
    return "".join("%02x" % b for b in h.digest())
