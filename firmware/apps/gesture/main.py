"""Gesture app: an MPU6050 over I2C, sampled at a fixed rate, windows into the gesture model.

Prints one line per window: ``label confidence`` (e.g. ``wave 0.996``).

On a board: machine.I2C(0) (``--i2c ID``), a machine.Timer samples at the
manifest's rate, forever (or ``--windows N``); Ctrl-C stops it.  Files are
where ``microtf deploy`` puts them: models/gesture/{gesture_int8.tflite,
manifest.json, labels.txt} under the working directory.

Where machine.I2C is absent (the Unix port) the bus is simulated
(microtf.sim) and an MPU6050 register model replays recorded traces,
models/gesture/traces/<name>.npy (int16 counts, columns ax ay az):

    micropython firmware/apps/gesture/main.py                    # every trace in the manifest
    micropython firmware/apps/gesture/main.py --trace wave --windows 3 --realtime

Options:
    --trace NAME|PATH   trace to replay (simulation; repeatable; default: all in the manifest)
    --windows N         windows per trace (default: as many as the trace holds; on a board: forever)
    --realtime          simulation: sample at the real rate (polled) instead of as fast as possible
    --model PATH        default models/gesture/gesture_int8.tflite
    --manifest PATH     default models/gesture/manifest.json (a module gesture_manifest with
                        MANIFEST = {...} is used where there is no json module)
    --engine native|viper
    --i2c ID            board: the I2C bus (default 0)

The window path allocates nothing: the sampler quantizes straight into an
array('b') and ``predict_into`` writes the dequantized scores into an array('f').
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

import sys
from array import array

import microtf
from microtf import sim
from microtf.drivers.mpu6050 import MPU6050
from microtf.sampler import Sampler

DIR = "models/gesture/"


def parse_args(argv):
    opts = {
        "trace": [],
        "windows": -1,
        "realtime": False,
        "model": DIR + "gesture_int8.tflite",
        "manifest": DIR + "manifest.json",
        "engine": None,
        "i2c": 0,
    }
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--realtime":
            opts["realtime"] = True
            i += 1
            continue
        if a not in ("--trace", "--windows", "--model", "--manifest", "--engine", "--i2c") or i + 1 >= len(
            argv
        ):
            raise ValueError("unknown option or missing value: %s (see the docstring of main.py)" % a)
        v = argv[i + 1]
        key = a[2:]
        if key == "trace":
            opts["trace"].append(v)
        elif key in ("windows", "i2c"):
            opts[key] = int(v)
        else:
            opts[key] = v
        i += 2
    return opts


def load_manifest(path):
    try:
        import json
    except ImportError:
        import gesture_manifest  # a module holding MANIFEST = {...}, for boards without json

        return gesture_manifest.MANIFEST
    with open(path) as f:
        return json.load(f)


def load_trace(path):
    """A .npy of int16 counts, shape (n, 3) (ax ay az): a flat 7-wide array('h') for SimMPU6050."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise OSError(exc.args[0] if exc.args else 2, "cannot read trace %s" % path) from None
    if raw[:6] != b"\x93NUMPY":
        raise ValueError("%s is not a .npy file" % path)
    if raw[6] == 1:
        head = 10
        start = head + (raw[8] | (raw[9] << 8))
    else:
        head = 12
        start = head + (raw[8] | (raw[9] << 8) | (raw[10] << 16))
    header = raw[head:start].decode()
    if "'<i2'" not in header or "'fortran_order': False" not in header:
        raise ValueError("%s: expected little-endian int16 in C order, got %s" % (path, header.strip()))
    shape = header[header.index("(") + 1 : header.index(")")].split(",")
    rows, cols = int(shape[0]), int(shape[1])
    data = array("h", raw[start : start + 2 * rows * cols])
    out = array("h", bytes(14 * rows))  # ax ay az temp gx gy gz
    for r in range(rows):
        for c in range(min(cols, 3)):
            out[7 * r + c] = data[cols * r + c]
    return out, rows


def traces_of(opts, manifest):
    names = opts["trace"] or [t["label"] for t in manifest.get("traces", ())]
    out = []
    for name in names:
        path = name if "/" in name or name.endswith(".npy") else DIR + "traces/" + name + ".npy"
        out.append((name, path))
    return out


def classify(model, labels, sampler, x, y, n, realtime):
    """Classify ``n`` windows (forever when n < 0); print ``label confidence`` for each."""
    done = 0
    while n < 0 or done < n:
        if realtime:  # a timer samples, or polled at the real rate
            sampler.read_window(x)
        else:
            while not sampler.cut_into(x):
                sampler.sample()  # simulated time: the next sample is due at once
        model.predict_into(x, y)
        label, conf = model.label(y, labels)
        print("%s %.3f" % (label, conf))
        done += 1


def run(opts):
    model = microtf.Model(opts["model"], engine=opts["engine"])
    manifest = load_manifest(opts["manifest"])
    labels = model.labels or tuple(manifest["labels"])
    pre = manifest["preprocessing"]
    window, hop = pre["window"], pre.get("hop", pre["window"])
    x = array("b", bytes(window * len(pre["axis_order"])))
    y = array("f", bytes(4 * model.output_shape[-1]))
    rate_div = 1000 // pre["sample_rate"] - 1  # DLPF on: 1 kHz / (1 + div)

    try:
        import machine

        has_i2c = hasattr(machine, "I2C")
    except ImportError:
        has_i2c = False

    if has_i2c:
        imu = MPU6050(sim.i2c(opts["i2c"]), accel_range=int(pre.get("range_g", 2)), dlpf=3, rate_div=rate_div)
        s = Sampler.from_manifest(imu, manifest, model.input_scale, model.input_zero_point)
        s.start()
        try:
            classify(model, labels, s, x, y, opts["windows"], True)
        finally:
            s.stop()
        return

    for name, path in traces_of(opts, manifest):
        trace, rows = load_trace(path)
        imu = MPU6050(
            sim.SimI2C(sim.SimMPU6050(trace, loop=False)),
            accel_range=int(pre.get("range_g", 2)),
            dlpf=3,
            rate_div=rate_div,
        )
        s = Sampler.from_manifest(imu, manifest, model.input_scale, model.input_zero_point)
        n = opts["windows"]
        if n < 0:
            n = (rows - window) // hop + 1
        print("# trace %s: %d samples at %s Hz, %d windows" % (name, rows, pre["sample_rate"], n))
        if opts["realtime"]:
            s.start()
        classify(model, labels, s, x, y, n, opts["realtime"])


def main(argv):
    try:
        opts = parse_args(argv)
    except ValueError as exc:
        print("gesture: %s" % exc)
        return 2
    try:
        run(opts)
    except KeyboardInterrupt:
        print("# stopped")
    except (OSError, ImportError, ValueError, MemoryError) as exc:
        print("gesture: %s" % (exc,))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
