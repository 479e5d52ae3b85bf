"""Fixtures for the journal tests: a journal root and the CLI run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.journal.helpers import child_env


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "incidents"
    path.mkdir()
    return path


@pytest.fixture
def cli(root: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("journal", "show", ID)`` runs ``python -m mitigate --journal-dir ROOT ...``."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mitigate", "--journal-dir", str(root), *args],
                              capture_output=True, text=True, env=child_env(), timeout=60, check=False)

    return run
