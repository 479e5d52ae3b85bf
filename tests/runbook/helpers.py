"""Helpers for the runbook tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


FULL = FIXTURES / "full.yaml"


BAD = FIXTURES / "bad"


EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$")


def expectation(path: Path) -> tuple[int, int, str]:
    """``(line, column, message fragment)`` from a malformed fixture's first line."""
    m = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert m, f"{path.name} lacks an '# expect: L:C fragment' header"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI as a user runs it."""
    return subprocess.run([sys.executable, "-m", "mitigate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
