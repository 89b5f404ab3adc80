"""Model store: power cuts on a simulated flash bus (LFS2 and FAT), SIGKILL, API."""

import re
import shutil
import signal
import threading
from pathlib import Path

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


KILL_SPREAD = 20  # kill points spread evenly over each update
KILL_ROUNDS = KILL_SPREAD + 4  # and four more at its very end, around the pointer flip


def _kill_point(r: int, ops: int) -> int:
    """Kill point (0..ops) of round r. The spread rounds take fractions 0..1 of the update in a
    fixed shuffled order (stride 7), so early and late points alternate and rounds start from
    different states; the last four take ops-3..ops, where the pointer record is written."""
    if r < KILL_SPREAD:
        return round((r * 7 % KILL_SPREAD) / (KILL_SPREAD - 1) * ops)
    return ops - (KILL_ROUNDS - 1 - r)


class KillRig:
    """Drives killloop.py: a store on the Unix port's filesystem (posix) or LittleFS over a host
    file (lfs2), updates stopped at a chosen write op and SIGKILLed, checks in fresh processes."""

    def __init__(self, tmp_path: Path, kind: str, naive: bool = False) -> None:
        self.kind, self.naive = kind, naive
        self.script = str(MP_DIR / "killloop.py")
        self.target = tmp_path / ("flash.bin" if kind == "lfs2" else "fs")
        self.scratch = tmp_path / ("dry.bin" if kind == "lfs2" else "dry")
        if kind == "lfs2":
            self.target.write_bytes(b"\xff" * 256 * 512)
            run_mp(script=MP_DIR / "killloop.py", args=("format", kind, str(self.target)))
        else:
            self.target.mkdir()

    def update(self, kill_at: int, dry: bool = False) -> tuple[str, int]:
        """Run one update (on the scratch copy if dry); stop and SIGKILL it at point kill_at."""
        where = self.scratch if dry else self.target
        extra = ["naive"] if self.naive else []
        proc = mp_popen([self.script, "update", self.kind, str(where), str(kill_at), *extra])
        killer = threading.Timer(30, proc.kill)  # a hang must fail the test, not stall it
        killer.start()
        out = ""
        for line in proc.stdout:
            out += line
            if line.startswith("KILL"):
                proc.kill()  # SIGKILL: no finaliser, no flush, no close
                break
        err = proc.stderr.read()
        rc = proc.wait(timeout=10)
        killer.cancel()
        proc.stdout.close()
        proc.stderr.close()
        assert "Traceback" not in err, err
        return out, rc

    def dry_run(self) -> tuple[int, int, int]:
        """(version, write ops, flip point) of the next update, run on a copy of the store."""
        if self.kind == "lfs2":
            shutil.copyfile(self.target, self.scratch)
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)
            shutil.copytree(self.target, self.scratch)
        out, rc = self.update(-1, dry=True)
        m = re.search(r"DONE (\d+) OPS (\d+) FLIP (-?\d+)", out)
        assert rc == 0 and m, out
        return int(m.group(1)), int(m.group(2)), int(m.group(3))

    def loaded(self) -> int | None:
        """Version a fresh process loads (bytes checked against the manifest's version), else None."""
        check = run_mp(script=MP_DIR / "killloop.py", args=("check", self.kind, str(self.target)))
        m = re.search(r"LOADED (\d+)", check)
        return int(m.group(1)) if m else None


@pytest.mark.parametrize("kind", ["posix", "lfs2"])
def test_sigkill_at_points_across_an_update(tmp_path, kind):
    """Model updates SIGKILLed at 24 write ops spread over the update, each followed by a restart
    that must load a valid model: the old version or the new one, never garbage.

    Each round: a dry run of the same update on a copy of the store counts its write ops
    (posix: the store's opens-for-writing and writes; lfs2: block programs and erases), then
    the real run stops at op round(f * ops) for 20 f spread over 0..1 (then at the last 4 ops)
    and the host SIGKILLs it, then a fresh process loads. (The page cache survives a SIGKILL,
    so this checks the store's ordering; torn blocks and lost writes are
    test_power_cut_at_every_block_of_an_update's job.)
    """
    rig = KillRig(tmp_path, kind)
    out, rc = rig.update(-1)  # version 1, so every round is an update of a stored model
    assert rc == 0 and "DONE 1" in out, out
    stored = 1
    kills = old = new = 0
    points = set()
    log: list[str] = []  # kill point / ops of that update : version loaded after it
    for r in range(KILL_ROUNDS):
        version, ops, flip = rig.dry_run()
        assert version == stored + 1, (version, stored)
        assert ops >= (10 if kind == "posix" else 50), ops  # the hook really sees the writes
        k = _kill_point(r, ops)
        out, rc = rig.update(k)
        assert f"KILL {k}" in out and rc == -signal.SIGKILL, (k, ops, out, rc)
        kills += 1
        points.add(k / ops)
        v = rig.loaded()
        assert v in (stored, stored + 1), (k, ops, v, stored)
        if kind == "posix":
            # The flip is the record's write(): the page cache keeps every write made before the kill.
            assert v == (stored + 1 if k > flip else stored), (k, flip, v, stored)
        old += v == stored
        new += v == stored + 1
        log.append(f"{k}/{ops}:{'new' if v == stored + 1 else 'old'}")
        stored = v
    print(f"{kind}: {kills} kills, loaded old {old} new {new}: {' '.join(log)}")  # shown with -s
    assert kills == KILL_ROUNDS and KILL_SPREAD >= 20
    # the points span the update: from before its first write to after install() returned
    assert min(points) == 0.0 and max(points) == 1.0 and len(points) >= 12, sorted(points)
    assert old >= 10 and new >= 2, (old, new)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_kill_rig_catches_a_naive_store(tmp_path):
    """Control: a store that overwrites the live slot in place must be caught by the same rig
    (a kill mid-write leaves neither the old version nor the new one loadable)."""
    rig = KillRig(tmp_path, "posix", naive=True)
    for _ in range(2):  # two versions, so a fallback to the older one is possible too
        out, rc = rig.update(-1)
        assert rc == 0 and "DONE" in out, out
    stored = 2
    _version, ops, _flip = rig.dry_run()
    out, rc = rig.update(ops // 2)  # mid-way through rewriting the live slot
    assert rc == -signal.SIGKILL, (out, rc)
    v = rig.loaded()
    assert v not in (stored, stored + 1), v
    shutil.rmtree(tmp_path, ignore_errors=True)
