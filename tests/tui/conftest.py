"""Fixtures for the TUI tests (the wait helpers are in tests/tui/helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests are coroutines; anyio's pytest plugin runs them on asyncio."""
    return "asyncio"
