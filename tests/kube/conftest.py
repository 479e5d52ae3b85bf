"""Sandbox fixtures for the adapter's tests: a small seeded cluster, started per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kube.helpers import sandbox, scenario


@pytest.fixture
def sb() -> Iterator[Any]:
    box = sandbox.Sandbox.start(scenario())
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path
