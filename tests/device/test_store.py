"""Model store: power cuts on a simulated flash bus (LFS2 and FAT), SIGKILL, API."""

import random
import re
import shutil
import time

import pytest
from mpkit import MP_DIR, mp_popen, run_mp


def sweep(fs: str, *extra: str) -> tuple[str, tuple[int, ...]]:
    out = run_mp(script=MP_DIR / "powercut.py", args=(fs, *extra), timeout=120)
    m = re.search(r"SUMMARY \w+ (\d+) (\d+) (\d+) (\d+)", out)
    assert m, out
    return out, tuple(int(v) for v in m.groups())


@pytest.mark.parametrize("fs", ["fat", "lfs2"])
def test_power_cut_at_every_block_of_an_update(fs):
    out, (ops, old, new, fail) = sweep(fs)
    failures = [line for line in out.splitlines() if "FAIL" in line]
    assert fail == 0, "\n".join(failures[:20])
    cases = [line for line in out.splitlines() if line.startswith("CASE")]
    assert len(cases) == 3 * (ops + 1) and ops + 1 >= 20, (ops, len(cases))
    # The sweep spans the flip: early cuts keep the old version, late ones the new.
    assert old >= 10 and new >= 2, (old, new)
    assert sum(" cut" in c for c in cases) >= 3 * ops  # every point but the last really cut
    if fs == "fat":
        m = re.search(r"FATWRITES (\d+) (\d+) (\d+)", out)
        assert m and int(m.group(3)) > int(m.group(2)), out[:300]
        assert m.group(1) == "0", "an update rewrote allocation-table sectors the live slot depends on"


@pytest.mark.parametrize("fs", ["fat", "lfs2"])
def test_the_sweep_catches_a_naive_store(fs):
    # Control: rewriting the live files in place must be caught by the same harness.
    out, (_ops, _old, _new, fail) = sweep(fs, "naive")
    assert fail >= 5, out[-2000:]


STORE_PRE = """
import vfs, os
from blockdev import CutDevice
from microtf.store import ModelStore, StoreError, encode_record, decode_record
dev = CutDevice(bytearray(256 * 512))
vfs.VfsLfs2.mkfs(dev)
vfs.mount(vfs.VfsLfs2(dev), '/s')
st = ModelStore('/s/models')
def expect(words, fn):
    try:
        fn()
    except OSError as e:
        for w in words:
            assert w in str(e), (w, str(e))
        return
    raise AssertionError('no error')
"""


def test_store_api_rollback_and_verification():
    out = run_mp(
        STORE_PRE
        + """
import hashlib, binascii
m1 = st.install(b'one' * 700, {'name': 'g', 'version': '1', 'arena': 123, 'preprocessing': {'window': 8}})
assert m1['size'] == 2100 and m1['sha256'] == binascii.hexlify(hashlib.sha256(b'one' * 700).digest()).decode()
m, data = st.load('g')
assert data == b'one' * 700 and m['arena'] == 123 and m['preprocessing'] == {'window': 8}
st.install(b'two' * 600, {'name': 'g', 'version': '2', 'arena': 5})
assert st.load('g')[0]['version'] == '2'
assert st.versions('g')[1]['version'] == '1'
assert st.rollback('g')['version'] == '1' and st.load('g')[1] == b'one' * 700
assert st.rollback('g')['version'] == '2'           # and forward again
m, path = st.locate('g')
assert m['version'] == '2' and open(path, 'rb').read(m['size']) == b'two' * 600
# a manifest that names a different hash or size is refused; the live model stays
expect(['sha256'], lambda: st.install(b'three', {'name': 'g', 'version': '3', 'sha256': '00' * 32}))
expect(['bytes'], lambda: st.install(b'three', {'name': 'g', 'version': '3', 'size': 4}))
assert st.load('g')[0]['version'] == '2'
assert st.rollback('g')['version'] == '1' and st.rollback('g')['version'] == '2'  # rollback copy intact
expect(['invalid model name'], lambda: st.install(b'x', {'name': 'a/b'}))
expect(['no valid model', 'nothere'], lambda: st.load('nothere'))
# a model bigger than the slot grows the slot
big = bytes(range(256)) * 40
st.install(big, {'name': 'g', 'version': '4'})
assert st.load('g')[1] == big
# install from a file on the device
with open('/s/upload.tflite', 'wb') as f:
    f.write(b'file' * 300)
assert st.install('/s/upload.tflite', {'name': 'h', 'version': 'f'})['size'] == 1200
assert st.load('h')[1] == b'file' * 300
assert st.names() == ['g', 'h']
st.remove('h')
assert st.names() == ['g']
print('OK')
"""
    )
    assert "OK" in out


def test_damage_is_detected_and_survived():
    out = run_mp(
        STORE_PRE
        + """
st.install(b'A' * 3000, {'name': 'g', 'version': 1})
st.install(b'B' * 3000, {'name': 'g', 'version': 2})
# flip one byte of the active slot: load falls back to the verified other slot
with open('/s/models/g/b/model', 'r+b') as f:
    f.seek(1000)
    f.write(b'X')
m, data = st.load('g')
assert m['version'] == 1 and data == b'A' * 3000 and st.fallbacks == 1
assert st.locate('g')[1] == '/s/models/g/a/model'
# rolling back to the good slot works; rolling forward onto the damaged one is refused
assert st.rollback('g')['version'] == 1
expect(['damaged'], lambda: st.rollback('g'))
# a torn newest record (bad CRC) is ignored: the older copy wins
good = decode_record(open('/s/models/g/r0/record', 'rb').read())
assert good is not None and good[0] == 2
with open('/s/models/g/r0/record', 'r+b') as f:
    f.seek(40)
    f.write(b'#')
assert decode_record(open('/s/models/g/r0/record', 'rb').read()) is None
assert st.manifest('g')['version'] == 2          # record 1 again: slot b (damaged) active
m, data = st.load('g')
assert m['version'] == 1 and data == b'A' * 3000  # so load falls back to slot a
# both slots damaged: load raises rather than return bad bytes
with open('/s/models/g/a/model', 'r+b') as f:
    f.write(b'Y')
expect(['no valid model'], lambda: st.load('g'))
raw = encode_record(7, {'active': 0, 'slots': [None, None]})
assert decode_record(raw) == (7, {'active': 0, 'slots': [None, None]})
assert decode_record(raw[:-1]) is None and decode_record(b'MTFR' + raw[4:8] + bytes(8)) is None
print('OK')
"""
    )
    assert "OK" in out


@pytest.mark.parametrize("kind", ["posix", "lfs2"])
def test_sigkill_mid_update(tmp_path, kind):
    """Secondary test: SIGKILL at random points (the page cache survives, so this proves less)."""
    rng = random.Random(1234)
    script = str(MP_DIR / "killloop.py")
    target = str(tmp_path / ("flash.bin" if kind == "lfs2" else "fs"))
    if kind == "lfs2":
        (tmp_path / "flash.bin").write_bytes(b"\xff" * 256 * 512)
        run_mp(script=MP_DIR / "killloop.py", args=("format", kind, target))
    else:
        (tmp_path / "fs").mkdir()
    loaded = 0  # version stored before this run (0: none yet)
    seen = set()
    for _ in range(6):
        proc = mp_popen([script, "run", kind, target])
        # Time one update, then kill at a random point of a later one: adapts to the load.
        first = proc.stdout.readline()  # "START k"
        t0 = time.monotonic()
        first += proc.stdout.readline()  # "DONE k"
        time.sleep(rng.uniform(0.0, 2.0) * (time.monotonic() - t0))
        proc.kill()
        # read() keeps what readline() buffered (communicate() would skip it)
        out, err = first + proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
        done = [int(v) for v in re.findall(r"DONE (\d+)", out)]
        assert "Traceback" not in err, err
        check = run_mp(script=MP_DIR / "killloop.py", args=("check", kind, target))
        m = re.search(r"LOADED (\d+)", check)
        if loaded == 0 and not done and m is None:
            continue  # killed during the very first install: nothing to load yet
        assert m, check
        v = int(m.group(1))
        # the last finished version, or the one being installed when killed
        last = done[-1] if done else loaded
        assert v in (last, last + 1), (v, last)
        loaded = v
        seen.add(v)
    assert len(seen) >= 5, seen  # every round finished an update, so versions advance
    shutil.rmtree(tmp_path, ignore_errors=True)
