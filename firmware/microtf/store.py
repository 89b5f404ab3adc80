"""Models on the device filesystem, updated so that a power cut never loses the model.

Example::

    from microtf.store import ModelStore

    st = ModelStore("/models")
    st.install(open("gesture.tflite", "rb").read(),
               {"name": "gesture", "version": "1.2", "arena": 12000})
    manifest, data = st.load("gesture")     # bytes verified against manifest["sha256"]
    st.rollback("gesture")                  # back to the previous version

Why it is built this way: on FAT a rename over an existing file is not atomic,
and a cut during any write can tear the sector being written.  So nothing is
ever renamed or rewritten in place while it is live:

- Each model name has two slots, A and B, each a file in its own directory::

      <root>/<name>/a/model   <root>/<name>/b/model      model bytes (+ padding)
      <root>/<name>/r0/record <root>/<name>/r1/record    the pointer, twice

  Separate directories keep every file's directory entry in its own sector;
  slot files keep their size (capacity) across updates, so on FAT an update
  changes no allocation-table sector that the live slot depends on.
- An update writes the INACTIVE slot, reads it back and checks its SHA-256;
  only then does it flip the pointer.  The live slot is never written.
- The pointer is a record ``MTFR | crc32 | seq | len | json`` holding the
  active slot and both slots' manifests.  Record number ``seq`` goes to copy
  ``seq % 2``, so a torn record write leaves the previous record (the other
  copy) intact, and the CRC reveals the torn one.  Readers take the valid
  record with the highest seq.
- ``load()`` checks the active slot's bytes against its manifest and falls
  back to the other slot (and then the older record) if they do not match,
  so it returns a model matching its manifest or raises StoreError.

A model larger than its slot's capacity makes the slot file be re-created
bigger: on LFS2 that is still power-safe; on FAT the allocation-table write
may share a sector with the live slot's chain, so give ``headroom`` (or a
``capacity``) large enough for future versions there.
"""

# ruff: noqa: UP031 - %-formatting: f-strings are missing on small MicroPython builds

import json
import os

from microtf import _hash

_MAGIC = b"MTFR"
_HEAD = 16  # magic, crc32, seq, length
_RECORD_CAP = 4096  # bytes reserved for each record copy (both manifests fit)
_CHUNK = 512
_SLOT_NAMES = ("a", "b")
_ENOENT = 2


class StoreError(OSError):
    """No valid model, a failed verification, or a malformed request."""


def _u32(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


def _p32(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))


def encode_record(seq, record):
    """Bytes of one pointer record (exposed for tests)."""
    payload = json.dumps(record).encode()
    body = _p32(seq) + _p32(len(payload)) + payload
    return _MAGIC + _p32(_hash.crc(body)) + body


def decode_record(raw):
    """(seq, record) of a valid record, else None."""
    if len(raw) < _HEAD or raw[:4] != _MAGIC:
        return None
    n = _u32(raw, 12)
    if n > len(raw) - _HEAD:
        return None
    if _hash.crc(raw[8 : _HEAD + n]) != _u32(raw, 4):
        return None
    try:
        rec = json.loads(raw[_HEAD : _HEAD + n])
    except ValueError:
        return None
    return _u32(raw, 8), rec


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def _mkdirs(path):
    parts = path.split("/")
    cur = ""
    for i in range(len(parts)):
        if not parts[i]:
            if i == 0:
                cur = "/"
            continue
        cur = cur + parts[i] if cur.endswith("/") or not cur else cur + "/" + parts[i]
        if not _exists(cur):
            os.mkdir(cur)


def _source_sha(source):
    """SHA-256 hex of bytes-like data or of a file, read in chunks."""
    h = _hash.new_sha256()
    if isinstance(source, str):
        buf = bytearray(_CHUNK)
        with open(source, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(memoryview(buf)[:n])
    else:
        h.update(source)
    return _hash.hexdigest(h)


class ModelStore:
    """A/B model slots under ``root``; ``headroom`` (%) sizes new slots for larger versions."""

    def __init__(self, root: str = "/models", headroom: int = 25) -> None:
        self.root = root.rstrip("/") or "/"
        self.headroom = headroom
        self.fallbacks = 0  # loads that had to skip an invalid slot (should stay 0)

    # ---- paths -------------------------------------------------------------------

    def _dir(self, name):
        if not name or "/" in name or name.startswith("."):
            raise StoreError(22, "invalid model name %r" % (name,))
        return (self.root if self.root != "/" else "") + "/" + name

    def _slot_path(self, name, i):
        return self._dir(name) + "/" + _SLOT_NAMES[i] + "/model"

    def _rec_path(self, name, i):
        return self._dir(name) + "/r%d/record" % i

    # ---- records -----------------------------------------------------------------

    def _records(self, name):
        """Valid (seq, record) pairs, newest first."""
        out = []
        for i in (0, 1):
            try:
                with open(self._rec_path(name, i), "rb") as f:
                    got = decode_record(f.read(_RECORD_CAP))
            except OSError:
                got = None
            if got is not None and isinstance(got[1], dict):
                out.append(got)
        out.sort(key=lambda r: -r[0])
        return out

    def _write_record(self, name, seq, record):
        raw = encode_record(seq, record)
        if len(raw) > _RECORD_CAP:
            raise StoreError(
                27, "manifest of %r too large (%d bytes, at most %d)" % (name, len(raw), _RECORD_CAP)
            )
        path = self._rec_path(name, seq % 2)
        try:
            f = open(path, "r+b")
        except OSError:
            # This copy was lost (a cut that left noise in its directory): re-create it.
            # The other copy holds the live record, so nothing live is at stake.
            f = self._recreate(path, _RECORD_CAP)
        with f:
            f.write(raw)
        # Read back through the filesystem: the flip counts only if it is there.
        with open(path, "rb") as f:
            got = decode_record(f.read(_RECORD_CAP))
        if got is None or got[0] != seq:
            raise StoreError(5, "record %d of %r did not read back" % (seq, name))

    def _recreate(self, path, size):
        """Open a fresh, zero-filled file of ``size`` bytes at ``path`` (for r+b writes)."""
        d = path[: path.rfind("/")]
        try:
            _mkdirs(d)
            with open(path, "wb") as f:
                zeros = bytes(_CHUNK)
                for _ in range(0, size, _CHUNK):  # noqa: FURB122 - no writelines on MicroPython
                    f.write(zeros)
            return open(path, "r+b")
        except OSError as exc:
            raise StoreError(5, "cannot re-create %s (%s)" % (path, exc)) from None

    def _prepare(self, name, capacity):
        """First install: directories, both fixed-size record files and both slot files.

        Allocating everything now means later updates only overwrite file
        contents in place (no allocation-table changes on FAT).
        """
        d = self._dir(name)
        for sub in ("a", "b", "r0", "r1"):
            _mkdirs(d + "/" + sub)
        zeros = bytes(_CHUNK)
        for path, size in (
            (self._rec_path(name, 0), _RECORD_CAP),
            (self._rec_path(name, 1), _RECORD_CAP),
            (self._slot_path(name, 0), capacity),
            (self._slot_path(name, 1), capacity),
        ):
            if _size(path) < size:
                with open(path, "wb") as f:
                    # MicroPython files have no writelines.
                    for _ in range(0, size, _CHUNK):  # noqa: FURB122
                        f.write(zeros)

    # ---- slots -------------------------------------------------------------------

    def _write_slot(self, name, i, source, capacity):
        """Write ``source`` (bytes-like or a file path) into slot i. Returns (size, sha256 hex)."""
        path = self._slot_path(name, i)
        h = _hash.new_sha256()
        size = 0
        in_place = _size(path) >= capacity
        with open(path, "r+b" if in_place else "wb") as f:
            if isinstance(source, str):
                buf = bytearray(_CHUNK)
                with open(source, "rb") as src:
                    while True:
                        n = src.readinto(buf)
                        if not n:
                            break
                        chunk = memoryview(buf)[:n]
                        f.write(chunk)
                        h.update(chunk)
                        size += n
            else:
                mv = memoryview(source)
                while size < len(mv):
                    chunk = mv[size : size + _CHUNK]
                    f.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
            if not in_place:
                zeros = bytes(_CHUNK)
                pad = capacity - size
                while pad > 0:
                    f.write(zeros[: min(pad, _CHUNK)])
                    pad -= _CHUNK
        if size > capacity:
            raise StoreError(28, "model of %d bytes exceeds slot capacity %d" % (size, capacity))
        return size, _hash.hexdigest(h)

    def _slot_sha(self, name, i, size):
        """SHA-256 hex of the first ``size`` bytes of slot i, or None if it is shorter."""
        h = _hash.new_sha256()
        buf = bytearray(_CHUNK)
        left = size
        try:
            with open(self._slot_path(name, i), "rb") as f:
                while left > 0:
                    n = f.readinto(buf)
                    if not n:
                        return None
                    n = min(n, left)
                    h.update(memoryview(buf)[:n])
                    left -= n
        except OSError:
            return None
        return _hash.hexdigest(h)

    def _valid(self, name, i, manifest):
        return (
            isinstance(manifest, dict)
            and isinstance(manifest.get("size"), int)
            and self._slot_sha(name, i, manifest["size"]) == manifest.get("sha256")
        )

    # ---- public API --------------------------------------------------------------

    def install(
        self, source: "bytes | bytearray | memoryview | str", manifest: dict, capacity: "int | None" = None
    ) -> dict:
        """Install a new version of ``manifest["name"]`` from bytes or a file path.

        Writes the inactive slot, verifies it, then flips the pointer.  If the
        manifest already carries "sha256"/"size" they must match the data.
        Returns the stored manifest (with sha256, size, gen and slot added).
        """
        name = manifest.get("name")
        self._dir(name)
        recs = self._records(name)
        if isinstance(source, str):
            need = _size(source)
            if need < 0:
                raise StoreError(_ENOENT, "no file %r" % (source,))
        else:
            need = len(source)
        if recs:
            seq, rec = recs[0]
            active = rec["active"]
            slots = list(rec["slots"])
        else:
            seq, active, slots = -1, 1, [None, None]
        target = 1 - active
        if capacity is None:
            have = _size(self._slot_path(name, target))
            # Reuse the slot file as it is whenever the model fits: no allocation changes.
            capacity = have if have >= need else need + need * self.headroom // 100
        capacity = (max(capacity, need) + _CHUNK - 1) // _CHUNK * _CHUNK
        if "size" in manifest and manifest["size"] != need:
            raise StoreError(5, "data of %r is %d bytes, manifest says %d" % (name, need, manifest["size"]))
        # A transfer that does not match its manifest is refused before the inactive
        # slot (the rollback copy) is touched.
        if "sha256" in manifest and manifest["sha256"] != _source_sha(source):
            raise StoreError(5, "data of %r does not match the manifest's sha256" % (name,))
        if not recs:
            self._prepare(name, capacity)
        size, sha = self._write_slot(name, target, source, capacity)
        if size != need or ("sha256" in manifest and manifest["sha256"] != sha):
            raise StoreError(5, "source of %r changed while it was written" % (name,))
        if self._slot_sha(name, target, size) != sha:
            raise StoreError(5, "slot %s of %r did not read back correctly" % (_SLOT_NAMES[target], name))
        m = dict(manifest)
        m["sha256"], m["size"], m["gen"], m["slot"] = sha, size, seq + 1, _SLOT_NAMES[target]
        slots[target] = m
        self._write_record(name, seq + 1, {"active": target, "slots": slots})
        return m

    update = install

    def load(self, name: str) -> "tuple[dict, bytes]":
        """(manifest, bytes) of the active version, verified against its manifest."""
        for seq, rec in self._records(name):
            active = rec.get("active", 0)
            for i in (active, 1 - active):
                m = rec["slots"][i]
                if m is None:
                    continue
                data = self._read_verified(name, i, m)
                if data is not None:
                    if i != active or seq != self._records(name)[0][0]:
                        self.fallbacks += 1
                    return m, data
        raise StoreError(_ENOENT, "no valid model %r in %s" % (name, self.root))

    def locate(self, name: str) -> "tuple[dict, str]":
        """(manifest, slot file path) of the active version, verified by streaming it.

        For models too big to load into RAM: the first manifest["size"] bytes of
        the file are the model (the rest is padding).
        """
        for _seq, rec in self._records(name):
            active = rec.get("active", 0)
            for i in (active, 1 - active):
                m = rec["slots"][i]
                if m is not None and self._valid(name, i, m):
                    return m, self._slot_path(name, i)
        raise StoreError(_ENOENT, "no valid model %r in %s" % (name, self.root))

    def _read_verified(self, name, i, m):
        if not (isinstance(m, dict) and isinstance(m.get("size"), int)):
            return None
        try:
            with open(self._slot_path(name, i), "rb") as f:
                data = f.read(m["size"])
        except OSError:
            return None
        if len(data) != m["size"]:
            return None
        h = _hash.new_sha256()
        h.update(data)
        return data if _hash.hexdigest(h) == m.get("sha256") else None

    def manifest(self, name: str) -> dict:
        """The active manifest (not verified; load() verifies)."""
        recs = self._records(name)
        if not recs:
            raise StoreError(_ENOENT, "no model %r in %s" % (name, self.root))
        rec = recs[0][1]
        return rec["slots"][rec["active"]]

    def versions(self, name: str) -> "tuple[dict, dict | None]":
        """(active manifest, other manifest or None)."""
        recs = self._records(name)
        if not recs:
            raise StoreError(_ENOENT, "no model %r in %s" % (name, self.root))
        rec = recs[0][1]
        return rec["slots"][rec["active"]], rec["slots"][1 - rec["active"]]

    def rollback(self, name: str) -> dict:
        """Make the previous version active again (after verifying it). Returns its manifest."""
        recs = self._records(name)
        if not recs:
            raise StoreError(_ENOENT, "no model %r in %s" % (name, self.root))
        seq, rec = recs[0]
        other = 1 - rec["active"]
        m = rec["slots"][other]
        if m is None:
            raise StoreError(_ENOENT, "no previous version of %r to roll back to" % (name,))
        if not self._valid(name, other, m):
            raise StoreError(5, "previous version of %r is damaged; not rolling back" % (name,))
        self._write_record(name, seq + 1, {"active": other, "slots": rec["slots"]})
        return m

    def names(self) -> "list[str]":
        """Names of the models that have a valid record."""
        try:
            names = [e[0] for e in os.ilistdir(self.root) if e[1] == 0x4000]
        except OSError:
            return []
        return sorted(n for n in names if self._records(n))

    def remove(self, name: str) -> None:
        """Delete a model: records first, so a cut midway leaves no half model visible."""
        d = self._dir(name)
        for sub, leaf in (("r0", "record"), ("r1", "record"), ("a", "model"), ("b", "model")):
            p = d + "/" + sub + "/" + leaf
            if _exists(p):
                os.remove(p)
            if _exists(d + "/" + sub):
                os.rmdir(d + "/" + sub)
        if _exists(d):
            os.rmdir(d)
