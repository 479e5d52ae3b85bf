"""Engine fixtures: a runbook from YAML text, a journal in tmp_path, fake ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.helpers import Harness, cluster_of


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "incidents", cluster_of(6))
