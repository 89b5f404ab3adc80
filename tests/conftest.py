"""Project-wide test policy.

A test that always skips is a test that does not exist: every skip must match a
pattern in tests/allowed_skips.txt (with the reason it is allowed), otherwise the
run fails, so a missing tool or a broken fixture cannot pass CI silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_ALLOWED_FILE = Path(__file__).with_name("allowed_skips.txt")


def _allowed_patterns() -> list[re.Pattern[str]]:
    patterns = []
    for line in _ALLOWED_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(re.compile(line))
    return patterns


_unexpected: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped or getattr(report, "wasxfail", None):
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not any(p.search(reason) for p in _allowed_patterns()):
        _unexpected.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _unexpected:
        terminalreporter.section("unexpected skips (not in tests/allowed_skips.txt)")
        for line in _unexpected:
            terminalreporter.write_line(line)
