"""Helpers for the postmortem tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent


RUNBOOK = HERE / "runbook.yaml"


NOW = datetime(2024, 2, 14, 9, 0, tzinfo=UTC)


DRILL_ID = "2024-02-13-apiserver-oom-drill"
