"""Power-cut sweep for microtf.store: run by tests/device/test_store.py.

Usage: micropython powercut.py FS [naive]   (FS = fat or lfs2)
For every op N of one update (v2 -> v3) and both cut modes, restore the
pre-update flash, cut the power at op N, remount and check that load() gives
v2 or v3 with bytes matching its manifest; then that the store still works
(rollback if v3 won, a further update).  Prints one line per case, then SUMMARY.
"""

# ruff: noqa: UP031 - runs on MicroPython

import sys

import vfs
from blockdev import BS, CutDevice
from microtf.store import ModelStore, StoreError

FS = sys.argv[1]
NAIVE = len(sys.argv) > 2 and sys.argv[2] == "naive"


class NaiveStore:
    """Control: the obvious design (rewrite model, then manifest, over the live files).

    The sweep must find failures here, or it could not find them in ModelStore.
    """

    def __init__(self, root):
        self.root = root

    def install(self, data, m):
        import json
        import os

        from microtf import _hash

        try:
            os.mkdir(self.root)
        except OSError:
            pass
        h = _hash.new_sha256()
        h.update(data)
        m = dict(m, size=len(data), sha256=_hash.hexdigest(h))
        with open(self.root + "/model", "wb") as f:
            f.write(data)
        with open(self.root + "/manifest", "w") as f:
            f.write(json.dumps(m))
        return m

    def load(self, name):
        import json

        from microtf import _hash

        with open(self.root + "/manifest") as f:
            m = json.loads(f.read())
        with open(self.root + "/model", "rb") as f:
            data = f.read()
        h = _hash.new_sha256()
        h.update(data)
        if _hash.hexdigest(h) != m["sha256"]:
            raise StoreError(5, "bytes do not match the manifest")
        return m, data

    def rollback(self, name):
        raise StoreError(2, "no rollback")


if NAIVE:
    ModelStore = NaiveStore
CLS = vfs.VfsFat if FS == "fat" else vfs.VfsLfs2
BLOCKS = 256
MNT = "/pc"


def blob(seed, n):
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


V = {1: blob(1, 9000), 2: blob(2, 8500), 3: blob(3, 10000), 4: blob(4, 7000)}


def manifest(v):
    return {"name": "kws", "version": v, "arena": 1000 + v}


def mount(dev):
    fs = CLS(dev)
    vfs.mount(fs, MNT)


def umount():
    try:
        vfs.umount(MNT)
    except OSError:
        pass


def check_load(st, allowed):
    m, data = st.load("kws")
    v = m["version"]
    if v not in allowed:
        raise AssertionError("loaded version %r, allowed %r" % (v, allowed))
    if data != V[v]:
        raise AssertionError("bytes of version %r differ from what was installed" % v)
    return v


# Pre-state: v1 then v2 installed, v2 active, v1 kept for rollback.
base = CutDevice(bytearray(BLOCKS * BS))
CLS.mkfs(base)
mount(base)
st = ModelStore(MNT + "/models")
st.install(V[1], manifest(1))
st.install(V[2], manifest(2))
umount()
pre = bytes(base.data)

# Count the ops of an uncut update.
dev = CutDevice(bytearray(pre))
mount(dev)
ModelStore(MNT + "/models").install(V[3], manifest(3))
umount()
total = dev.ops
print("OPS", total)
if FS == "fat":
    # In-place updates must not touch the allocation tables (FAT12/16 boot sector fields).
    b = pre
    fat_start = b[14] | b[15] << 8
    fat_end = fat_start + b[16] * (b[22] | b[23] << 8)
    print("FATWRITES", sum(1 for blk in dev.written if fat_start <= blk < fat_end), fat_start, fat_end)

results = {"old": 0, "new": 0, "fail": 0}
for mode in ("stop", "tear", "garbage"):
    for n in range(total + 1):
        dev = CutDevice(bytearray(pre), n, mode)
        mount(dev)
        err = None
        try:
            ModelStore(MNT + "/models").install(V[3], manifest(3))
        except OSError as e:  # the cut makes later writes fail: expected
            err = e
        umount()
        # Power back: a fresh device over the same flash bytes.
        dev2 = CutDevice(dev.data)
        try:
            mount(dev2)
            st = ModelStore(MNT + "/models")
            v = check_load(st, (2, 3))
            if v == 3 and not NAIVE and (st.rollback("kws")["version"] != 2 or check_load(st, (2,)) != 2):
                raise AssertionError("rollback after the cut did not give v2")
            st.install(V[4], manifest(4))
            if check_load(st, (4,)) != 4:
                raise AssertionError("update after the cut failed")
            outcome = "new" if v == 3 else "old"
            if n == total and (err is not None or v != 3):
                raise AssertionError("an uncut update did not take effect")
            print("CASE", FS, mode, n, outcome, "cut" if dev.cut else "nocut")
            results[outcome] += 1
        except Exception as e:  # noqa: BLE001 - any failure to recover counts
            print("CASE", FS, mode, n, "FAIL", repr(e))
            results["fail"] += 1
        umount()

print("SUMMARY", FS, total, results["old"], results["new"], results["fail"])
