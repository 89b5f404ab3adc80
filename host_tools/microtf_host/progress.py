"""Progress bars that draw only on a terminal (and only when the caller asks)."""

from __future__ import annotations

from typing import Any


def bar(enabled: bool, total: int | None = None, desc: str = "", unit: str = "it") -> Any:
    """A tqdm bar; ``disable=None`` makes tqdm stay silent when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None if enabled else True, leave=False)
