"""SIGKILL test, device side: endless updates, or a check after the kill.

micropython killloop.py run|check posix DIR     (the Unix port's own filesystem)
micropython killloop.py run|check lfs2 FILE     (LittleFS on a block device over a host file)
"run" installs versions v+1, v+2, ... after the stored v (or from 1), printing
"DONE k" after each; "check"
prints "LOADED k" after load() and a byte comparison, or "BAD ..." .
"""

import sys

from microtf.store import ModelStore

ACTION, KIND, PATH = sys.argv[1], sys.argv[2], sys.argv[3]


def blob(seed):
    n = 3000 + (seed * 733) % 4000
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


if KIND == "lfs2":
    import vfs
    from blockdev import FileDevice

    dev = FileDevice(PATH, 256)
    if ACTION == "format":
        vfs.VfsLfs2.mkfs(dev)
        sys.exit(0)
    vfs.mount(vfs.VfsLfs2(dev), "/k")
    root = "/k/models"
else:
    root = PATH + "/models"

st = ModelStore(root, headroom=100)
if ACTION == "run":
    try:
        k = st.load("m")[0]["version"] + 1
    except OSError:
        k = 1
    print("START", k)
    while True:
        st.install(blob(k), {"name": "m", "version": k, "arena": 0})
        print("DONE", k)
        k += 1
else:
    try:
        m, data = st.load("m")
    except OSError as e:
        print("BAD", repr(e))
        sys.exit(0)
    print("LOADED" if data == blob(m["version"]) else "BAD bytes", m["version"])
