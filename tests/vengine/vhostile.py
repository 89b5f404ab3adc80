"""Loads every mutated model of a file (4-byte length + bytes each) into the
viper engine and invokes the ones that load. Prints "kind count" lines for
the outcomes: ok, ValueError, MemoryError, or OTHER:<type>:<message>."""

import sys

from microtf.vengine.model import VModel

counts = {}
other = []
with open(sys.argv[1], "rb") as f:
    data = f.read()
pos = 0
n = 0
while pos + 4 <= len(data):
    size = int.from_bytes(data[pos : pos + 4], "little")
    model = data[pos + 4 : pos + 4 + size]
    pos += 4 + size
    n += 1
    try:
        m = VModel(model)
        m.invoke()
        kind = "ok"
    except ValueError as e:
        kind = "ValueError"
        if not str(e):
            kind = "OTHER:empty ValueError message"
    except MemoryError:
        kind = "MemoryError"
    except Exception as e:  # noqa: BLE001 - the point is to catch anything else
        kind = "OTHER"
        other.append(f"{n - 1} {type(e).__name__} {e}")
    counts[kind] = counts.get(kind, 0) + 1
for k in sorted(counts):
    print(k, counts[k])
for line in other[:20]:
    print("OTHER:", line)
