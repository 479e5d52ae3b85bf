"""CLI tests: a kubeconfig with no server behind it (enough for everything that does not query),
isolated journal/config/runbook environments, and the sandbox for what must really act."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user config, journal or runbook library leaks into a CLI test."""
    monkeypatch.setenv("MITIGATE_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("MITIGATE_JOURNAL_DIR", str(tmp_path / "j"))
    monkeypatch.delenv("MITIGATE_CONFIG", raising=False)
    monkeypatch.delenv("MITIGATE_RUNBOOKS", raising=False)
    yield


