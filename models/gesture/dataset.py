"""Deterministic synthetic accelerometer gestures, as an MPU6050 at +-2 g would report them.

The sensor is worn flat, face up: at rest it reads +1 g on z (the MPU6050 reports the
specific force, so gravity appears as +1 g "up"). Axes: x = side to side, y = forward,
z = up. Every recording is a continuous stream at ``SAMPLE_RATE_HZ``; training windows
are random crops of such streams, so a window may start at any phase of a gesture, as it
does on the device when a ring buffer is classified every ``HOP`` samples.

Each stream draws its own small orientation tilt, amplitude and speed, and carries the
sensor's white noise and a small per-axis offset. Values are rounded to int16 register
counts (``LSB_PER_G`` per g) and clipped at the +-2 g range, as the chip does.

Only numpy is needed; everything derives from the seed given.
"""

from __future__ import annotations

import numpy as np

LABELS = ("idle", "wave", "punch", "circle")
SAMPLE_RATE_HZ = 50
WINDOW = 64  # 1.28 s
HOP = 16  # 0.32 s between classifications when streaming
RANGE_G = 2.0  # MPU6050 full scale +-2 g (ACCEL_CONFIG AFS_SEL = 0)
LSB_PER_G = 16384  # sensitivity at +-2 g
AXES = ("x", "y", "z")

_NOISE_G = 0.012  # white noise per sample (datasheet: ~400 ug/sqrt(Hz) at 50 Hz bandwidth, rounded up)
_OFFSET_G = 0.02  # zero-g offset spread per axis
_TILT = 0.35  # radians (20 degrees): how crookedly the sensor may sit in the hand
_YAW = 0.45  # radians (26 degrees): heading of the motion relative to the sensor's axes


def _rotation(roll: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) from roll (about y) and pitch (about x) in radians, per sample."""
    cr, sr, cp, sp = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch)
    one, zero = np.ones_like(roll), np.zeros_like(roll)
    r_roll = np.stack(
        [
            np.stack([cr, zero, sr], -1),
            np.stack([zero, one, zero], -1),
            np.stack([-sr, zero, cr], -1),
        ],
        -2,
    )
    r_pitch = np.stack(
        [
            np.stack([one, zero, zero], -1),
            np.stack([zero, cp, -sp], -1),
            np.stack([zero, sp, cp], -1),
        ],
        -2,
    )
    return r_roll @ r_pitch


def _pulse_train(
    t: np.ndarray,
    rng: np.random.Generator,
    period: tuple[float, float],
    width: tuple[float, float],
) -> np.ndarray:
    """Sum of thrust-and-stop accelerations (derivative of a Gaussian velocity bump), peak 1."""
    out = np.zeros_like(t)
    start = rng.uniform(-period[1], 0.0)
    while start < t[-1] + period[1]:
        sigma = rng.uniform(*width)
        centre = start + 3 * sigma
        u = (t - centre) / sigma
        out += -u * np.exp(-0.5 * u * u) / np.exp(-0.5) * rng.uniform(0.8, 1.2)
        start += rng.uniform(*period)
    return out


def _motion(label: str, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear acceleration in g (n, 3) in the body frame, plus extra roll and pitch (radians)."""
    n = t.size
    acc = np.zeros((n, 3))
    roll = np.zeros(n)
    pitch = np.zeros(n)
    amp = rng.uniform(0.6, 1.4)  # per-recording amplitude variation
    speed = rng.uniform(0.75, 1.3)  # per-recording speed variation
    phase = rng.uniform(0, 2 * np.pi)
    # Slow wobble of the hand, present in every class (so idle is not perfectly still).
    wobble_f = rng.uniform(0.1, 0.4)
    roll += 0.03 * np.sin(2 * np.pi * wobble_f * t + phase)
    pitch += 0.03 * np.cos(2 * np.pi * wobble_f * 0.7 * t + phase)
    if label == "idle":
        # Resting hand: tremor well under 0.05 g, occasional small drift.
        acc += 0.015 * amp * rng.standard_normal((n, 3)).cumsum(0) / np.sqrt(np.arange(1, n + 1))[:, None]
        acc[:, 2] += 0.01 * amp * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * t)
    elif label == "wave":
        # Side to side along x at about 1.6 Hz, wrist rolling with the swing.
        f = 1.6 * speed
        acc[:, 0] = 0.75 * amp * np.sin(2 * np.pi * f * t + phase)
        acc[:, 2] = 0.12 * amp * np.sin(4 * np.pi * f * t + 2 * phase)
        roll += 0.35 * np.sin(2 * np.pi * f * t + phase + 0.4)
    elif label == "punch":
        # Forward thrusts along y: sharp push then stop, a jab every 0.55-0.9 s (at most 1.2 s
        # apart at the slowest speed, so every window holds at least one whole thrust).
        push = _pulse_train(t, rng, (0.55 / speed, 0.9 / speed), (0.06 / speed, 0.09 / speed))
        acc[:, 1] = 1.3 * amp * push
        acc[:, 2] = 0.1 * amp * push * rng.uniform(-1, 1)
        pitch += 0.08 * push
    elif label == "circle":
        # Vertical circle in the x-z plane at about 1.1 Hz.
        f = 1.1 * speed
        direction = rng.choice([-1.0, 1.0])
        acc[:, 0] = 0.55 * amp * np.cos(2 * np.pi * f * t + phase)
        acc[:, 2] = 0.55 * amp * direction * np.sin(2 * np.pi * f * t + phase)
    else:
        raise ValueError(f"unknown gesture label {label!r}")
    return acc, roll, pitch


def recording(label: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """One continuous recording of a gesture as int16 register counts, shape (n, 3), axes x, y, z."""
    n = round(seconds * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    acc, roll, pitch = _motion(label, t, rng)
    # Nobody moves exactly along the sensor's axes: turn the motion by a random heading.
    yaw = rng.uniform(-_YAW, _YAW)
    acc[:, :2] = acc[:, :2] @ np.array([[np.cos(yaw), np.sin(yaw)], [-np.sin(yaw), np.cos(yaw)]])
    # Small fixed tilt of how the sensor sits in the hand.
    roll += rng.uniform(-_TILT, _TILT)
    pitch += rng.uniform(-_TILT, _TILT)
    gravity = _rotation(roll, pitch).transpose(0, 2, 1) @ np.array([0.0, 0.0, 1.0])
    g = gravity + acc + rng.uniform(-_OFFSET_G, _OFFSET_G, 3) + _NOISE_G * rng.standard_normal((n, 3))
    counts = np.round(g * LSB_PER_G)
    return np.clip(counts, -32768, 32767).astype(np.int16)


def normalise(counts: np.ndarray) -> np.ndarray:
    """Register counts to the model's float input: g divided by the +-2 g range, in [-1, 1)."""
    return np.asarray(counts, dtype=np.float32) / np.float32(LSB_PER_G * RANGE_G)


def windows(n_per_class: int, seed: int, seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` random crops per label: int16 counts (N, WINDOW, 3) and labels (N,).

    Each crop comes from its own recording, so no two windows share a hand or a tilt.
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, label in enumerate(LABELS):
        for _ in range(n_per_class):
            rec = recording(label, seconds, rng)
            start = int(rng.integers(0, rec.shape[0] - WINDOW + 1))
            xs.append(rec[start : start + WINDOW])
            ys.append(k)
    order = rng.permutation(len(ys))
    return np.stack(xs)[order], np.array(ys, dtype=np.int64)[order]


def stream_windows(counts: np.ndarray, hop: int = HOP) -> np.ndarray:
    """Every window a device would classify while streaming ``counts``: (M, WINDOW, 3)."""
    starts = range(0, counts.shape[0] - WINDOW + 1, hop)
    return np.stack([counts[s : s + WINDOW] for s in starts])


def mpu6050_frames(counts: np.ndarray, temp_c: float = 25.0) -> np.ndarray:
    """A trace (n, 3) as the chip's full 14-byte burst (n, 7): ax, ay, az, temp, gx, gy, gz counts.

    For replaying a trace through a simulated MPU6050 (the gyro reads 0: the model ignores it).
    Temperature counts follow the datasheet: deg C = counts / 340 + 36.53.
    """
    frames = np.zeros((counts.shape[0], 7), dtype=np.int16)
    frames[:, :3] = counts
    frames[:, 3] = round((temp_c - 36.53) * 340)
    return frames
