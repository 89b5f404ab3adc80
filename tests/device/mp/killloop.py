"""SIGKILL test, device side: one update that stops at a chosen write op, or a check after the kill.

micropython killloop.py ACTION posix DIR      (the Unix port's own filesystem)
micropython killloop.py ACTION lfs2 FILE      (LittleFS on a block device over a host file)

ACTION:
  format        make FILE an empty LittleFS (lfs2 only)
  update K      install version v+1 over the stored v (1 if none). Every write op is a
                numbered kill point: on posix each open-for-writing and each write() the
                store makes, on lfs2 each block program or erase reaching the "flash";
                point n (after the last op) is when install() has returned. At point K
                it prints "KILL K" and waits for the host's SIGKILL. K < 0: no stop;
                prints "DONE k OPS n FLIP j" (j: the kill point of the record write that
                flips the pointer, on posix: a kill at a point <= j keeps the old
                version; -1 on lfs2).
  update K naive   the same with a naive store that overwrites the LIVE slot in place
                (the control: the host test must catch it).
  check         prints "LOADED k" after load() and a byte comparison, or "BAD ...".
"""

import sys
import time

import microtf.store as store_mod
from microtf.store import ModelStore

ACTION, KIND, PATH = sys.argv[1], sys.argv[2], sys.argv[3]
KILL_AT = int(sys.argv[4]) if ACTION == "update" else -1
NAIVE = sys.argv[5:] == ["naive"]
_ops = [0, -1, False]  # points passed, point of the record write, armed (during the update)


def point(what=""):
    """One kill point: stop here if it is the chosen one (the host kills us while we sleep)."""
    if not _ops[2]:
        return
    if _ops[0] == KILL_AT:
        print("KILL", KILL_AT, what)
        while True:
            time.sleep(1)
    _ops[0] += 1


def blob(seed):
    n = 3000 + (seed * 733) % 4000
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


class _File:
    """A file the store opened for writing: every write() is a kill point."""

    def __init__(self, f, path):
        self.f = f
        self.record = path.endswith("/record")

    def write(self, b):
        if self.record:
            _ops[1] = _ops[0]
        point("write")
        return self.f.write(b)

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _open(path, mode="r"):
    if "w" in mode or "+" in mode:
        point("open")  # "wb" truncates: a write op of its own
        return _File(open(path, mode), path)
    return open(path, mode)


if KIND == "lfs2":
    import vfs
    from blockdev import FileDevice

    class HookedDevice(FileDevice):
        def writeblocks(self, block, buf, off=None):
            point("prog")
            return super().writeblocks(block, buf, off)

        def ioctl(self, op, arg):
            if op == 6:
                point("erase")
            return super().ioctl(op, arg)

    dev = HookedDevice(PATH, 256)
    if ACTION == "format":
        vfs.VfsLfs2.mkfs(dev)
        sys.exit(0)
    vfs.mount(vfs.VfsLfs2(dev), "/k")
    root = "/k/models"
else:
    root = PATH + "/models"
    # The store's own module global shadows the builtin: only its opens are hooked.
    store_mod.open = _open

st = ModelStore(root, headroom=100)
if ACTION == "update":
    try:
        k = st.load("m")[0]["version"] + 1
    except OSError:
        k = 1
    if NAIVE:
        # The newest record with its active slot swapped: install() then writes the live slot.
        real_records = st._records

        def naive_records(name):
            return [(seq, {"active": 1 - r["active"], "slots": r["slots"]}) for seq, r in real_records(name)]

        st._records = naive_records
    _ops[2] = True  # mounting and loading are not part of the update
    st.install(blob(k), {"name": "m", "version": k, "arena": 0})
    n = _ops[0]
    point("returned")
    print("DONE", k, "OPS", n, "FLIP", _ops[1] if KIND == "posix" else -1)
else:
    try:
        m, data = st.load("m")
    except OSError as e:
        print("BAD", repr(e))
        sys.exit(0)
    print("LOADED" if data == blob(m["version"]) else "BAD bytes", m["version"])
