"""Times the viper engine's CONV_2D and FULLY_CONNECTED kernels on synthetic
layers (random weights) under MicroPython; prints "conv MAC/s" and "fc MAC/s"."""

import array
import time

import micropython
from microtf.vengine import window as W
from microtf.vengine.fxp import requant
from microtf.vengine.ops_conv import _conv_row
from microtf.vengine.ops_fc import _fc_rows


def _bytes(n, seed):
    b = bytearray(n)
    s = seed
    for i in range(n):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        b[i] = s >> 16 & 0xFF
    return b


def conv_rate():
    h, wd, cin, cout, k = 16, 16, 32, 32, 3
    x = _bytes(h * wd * cin, 1)
    w = _bytes(cout * k * k * cin, 2)
    acc = array.array("i", bytes(4 * wd * cout))
    chan = array.array("i", bytes(4 * 3 * cout))
    header = [h, wd, cin, k, k, cin, cout, 1, 1, 3, wd, h, wd * cin, k * k * cin, 1]
    geo = W.geometry(header, h, wd, 1, 1, 1, 1, 1, 1, k, k, h, wd)
    out = bytearray(wd * cout)
    mult = array.array("i", [1 << 30] * (wd * cout))
    shift = array.array("i", [-8] * (wd * cout))
    rq = array.array("i", [0, -128, 127])
    t0 = time.ticks_us()
    for _ in range(4):
        for oy in range(h):
            _conv_row(x, w, acc, chan, geo, oy)
            requant(acc, out, wd * cout, mult, shift, rq)
    dt = time.ticks_diff(time.ticks_us(), t0)
    return 4 * h * wd * cout * k * k * cin * 1e6 / dt


def fc_rate():
    depth, od = 1024, 256
    x = _bytes(depth, 3)
    w = _bytes(depth * od, 4)
    acc = array.array("i", bytes(4 * od))
    fold = array.array("i", bytes(4 * od))
    prm = array.array("i", [depth, od, 0, 5])
    out = bytearray(od)
    mult = array.array("i", [1 << 30] * od)
    shift = array.array("i", [-8] * od)
    rq = array.array("i", [0, -128, 127])
    t0 = time.ticks_us()
    for _ in range(40):
        _fc_rows(x, w, acc, fold, prm)
        requant(acc, out, od, mult, shift, rq)
    dt = time.ticks_diff(time.ticks_us(), t0)
    return 40 * depth * od * 1e6 / dt


micropython.heap_lock()
micropython.heap_unlock()
print(f"conv {int(conv_rate())}")
print(f"fc {int(fc_rate())}")
