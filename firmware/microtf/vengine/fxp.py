"""Eval-time fixed-point arithmetic in viper, 32-bit safe.

Viper ints are machine words: 64 bits on the Unix port (x64), 32 bits (and
wrapping) on boards. The code here gives the same int32 results on both:

- ptr32 loads zero-extend on x64: sign-extend with (x ^ B31) - B31, where
  B31 = 1 << 31 (on 32-bit targets that is INT32_MIN and the expression is
  the identity);
- sums that wrap in C's int32 are brought back with wrap32 (the mask
  B31 | (B31 - 1) is all ones on 32-bit targets and 2**32 - 1 on x64);
- shifts and comparisons only ever see true int32 values: the 64-bit
  product of SaturatingRoundingDoublingHighMul is formed from 16-bit halves
  whose partial products all fit int32;
- ptr8 loads are unsigned: sign-extend with (x ^ 128) - 128.

Parameters go through int32 arrays (never as Python ints larger than a small
int), so no call here allocates.
"""

import micropython

# Layout of the requantization parameter block (array 'i').
RQ_OUT_OFFSET = 0
RQ_ACT_MIN = 1
RQ_ACT_MAX = 2
RQ_PERIOD = 3  # mult/shift hold this many entries, used in turn (channels)
RQ_SIZE = 4


@micropython.viper
def requant(acc: ptr32, out: ptr8, n: int, mult: ptr32, shift: ptr32, prm: ptr32):
    """out[i] = clamp(MultiplyByQuantizedMultiplier(acc[i], mult[c], shift[c]) + out_offset),
    c = i mod prm[RQ_PERIOD] (one multiplier per channel, channels innermost)."""
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    out_offset = (int(prm[0]) ^ b31) - b31
    act_min = (int(prm[1]) ^ b31) - b31
    act_max = (int(prm[2]) ^ b31) - b31
    period = int(prm[3])
    c = 0
    i = 0
    while i < n:
        x = (int(acc[i]) ^ b31) - b31
        s = (int(shift[c]) ^ b31) - b31
        m = (int(mult[c]) ^ b31) - b31
        c += 1
        if c == period:
            c = 0
        right = 0
        if s > 0:
            x = (((x << s) & m32) ^ b31) - b31
        else:
            right = 0 - s
        # SRDHM(x, m) = floor((x*m + 2^30) / 2^31), from 16-bit halves.
        ah = x >> 16
        al = x & 0xFFFF
        bh = m >> 16
        bl = m & 0xFFFF
        hl = ah * bl
        lh = al * bh
        ll_hi = ((al >> 8) * bl + (((al & 0xFF) * bl) >> 8)) >> 8
        h = 2 * ah * bh + (hl >> 15) + (lh >> 15) + (((hl & 0x7FFF) + (lh & 0x7FFF) + ll_hi + 0x4000) >> 15)
        h = ((h & m32) ^ b31) - b31
        # RoundingDivideByPOT(h, right).
        mask = (1 << right) - 1
        thr = (mask >> 1) + int(h < 0)
        v = (h >> right) + int((h & mask) > thr)
        v += out_offset
        if v < act_min:
            v = act_min
        if v > act_max:
            v = act_max
        out[i] = v
        i += 1


@micropython.viper
def srdhm_vec(a: ptr32, b: ptr32, out: ptr32, n: int, bstep: int):
    """out[i] = SaturatingRoundingDoublingHighMul(a[i], b[i * bstep]) (bstep 0: one b for all)."""
    one = 1  # not a literal: 1 << 31 would fold into a long-int object on 32-bit ports
    b31 = one << 31
    m32 = b31 | (b31 - 1)
    i = 0
    while i < n:
        x = (int(a[i]) ^ b31) - b31
        m = (int(b[i * bstep]) ^ b31) - b31
        ah = x >> 16
        al = x & 0xFFFF
        bh = m >> 16
        bl = m & 0xFFFF
        hl = ah * bl
        lh = al * bh
        ll_hi = ((al >> 8) * bl + (((al & 0xFF) * bl) >> 8)) >> 8
        h = 2 * ah * bh + (hl >> 15) + (lh >> 15) + (((hl & 0x7FFF) + (lh & 0x7FFF) + ll_hi + 0x4000) >> 15)
        # The one overflowing case, INT32_MIN * INT32_MIN, saturates.
        if ah == -32768 and bh == -32768 and al == 0 and bl == 0:
            h = b31 - 1
        out[i] = h & m32
        i += 1
