"""Fixtures for the runbook format tests: the full-capability runbook and the malformed ones."""

from __future__ import annotations

import pytest

from tests.runbook.helpers import FULL


@pytest.fixture
def full_text() -> str:
    return FULL.read_text(encoding="utf-8")
