"""The operator table shared with the engines, parsed from firmware/engine/ops.def."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .paths import OPS_DEF

_LINE = re.compile(r"^MTF_OP\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\w+)\s*\)\s*$")


@dataclass(frozen=True)
class OpEntry:
    name: str
    code: int
    max_version: int
    kernel: str


@lru_cache(maxsize=1)
def load() -> dict[int, OpEntry]:
    """Map builtin code to entry, for every operator the engines support."""
    table: dict[int, OpEntry] = {}
    for line in OPS_DEF.read_text().splitlines():
        match = _LINE.match(line.strip())
        if match:
            name, code, version, kernel = match.groups()
            table[int(code)] = OpEntry(name, int(code), int(version), kernel)
    return table


def supported(code: int, version: int) -> bool:
    entry = load().get(code)
    return entry is not None and version <= entry.max_version
