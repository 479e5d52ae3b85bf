"""Fixtures: the recorded drill journal on disk and the draft built from it with a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from mitigate.journal import Journal
from mitigate.postmortem import Postmortem, build_postmortem, load_hints
from tests.postmortem.helpers import DRILL_ID, NOW, RUNBOOK
from tests.postmortem.journals import drill_events, write_journal


@pytest.fixture
def journal_root(tmp_path: Path) -> Path:
    root = tmp_path / "incidents"
    write_journal(root, DRILL_ID, drill_events(str(RUNBOOK)))
    return root


@pytest.fixture
def drill(journal_root: Path) -> Postmortem:
    with Journal.open(journal_root, DRILL_ID, readonly=True) as journal:
        records = journal.records()
    hints, problem = load_hints(str(RUNBOOK), "apiserver-oom")
    assert problem is None, problem
    return build_postmortem(records, hints, now=NOW, incident_id=DRILL_ID)
