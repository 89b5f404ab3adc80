"""Hostile models: truncated at many lengths, with random bit flips and with
structural edits, must be refused with ValueError (or run), never crash the
Unix port or raise IndexError and the like."""

from __future__ import annotations

import random
import struct

from vhelpers import HERE, MODELS, run_micropython

BASES = ("sine_int8", "gesture_int8")


def _structural(model: bytes, rng: random.Random) -> list[bytes]:
    """Edits aimed at fields the reader trusts least: every aligned int32 set to extreme values."""
    out = []
    positions = list(range(0, len(model) - 4, 4))
    for _ in range(150):
        p = rng.choice(positions)
        v = rng.choice([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(model), len(model) - 3, 65536, 255])
        b = bytearray(model)
        struct.pack_into("<I", b, p, v)
        out.append(bytes(b))
    return out


def test_hostile_models_raise_value_error(tmp_path) -> None:
    rng = random.Random(4321)
    blobs = []
    for name in BASES:
        model = MODELS[name].read_bytes()
        lengths = sorted(set(list(range(0, 64)) + list(range(64, len(model), max(1, len(model) // 120)))))
        blobs += [model[:n] for n in lengths]
        for _ in range(200):
            b = bytearray(model)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            blobs.append(bytes(b))
        blobs += _structural(model, rng)
    path = tmp_path / "models.bin"
    path.write_bytes(b"".join(struct.pack("<I", len(b)) + b for b in blobs))
    out = run_micropython([str(HERE / "vhostile.py"), str(path)], timeout=300)
    counts = {
        line.split()[0]: int(line.split()[1]) for line in out.splitlines() if not line.startswith("OTHER:")
    }
    assert "OTHER" not in counts, out
    assert sum(counts.values()) == len(blobs)
    # Most mutants are refused, and some still load and run (the flips land in weights).
    assert counts.get("ValueError", 0) > len(blobs) // 3, counts
    assert counts.get("ok", 0) > 0, counts
