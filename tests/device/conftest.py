"""Device tests: the MicroPython Unix port must be there (helpers live in mpkit.py)."""

from pathlib import Path

import pytest
from mpkit import micropython_bin


@pytest.fixture(scope="session", autouse=True)
def _have_micropython():
    if not Path(micropython_bin()).exists():
        pytest.fail(f"MicroPython Unix port not found at {micropython_bin()} (set MICROPYTHON)")
