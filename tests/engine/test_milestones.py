"""Milestones from runbooks: a step's ``milestone:`` is marked when it succeeds, once, and says so."""

from __future__ import annotations

import pytest

from mitigate.errors import MitigateError
from mitigate.runbook.loader import load_runbook_text
from tests.engine.helpers import Harness
from tests.engine.runbooks import HEADER

MARKED = HEADER + """
steps:
  - id: find
    milestone: detected
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not (item | is_ready)
      expect: count > 0
  - id: fixed
    milestone: mitigated
    manual: The nodes are back.
"""


def _marks(harness: Harness) -> list[dict[str, object]]:
    assert harness.journal is not None
    return [r.data for r in harness.journal.records() if r.type == "milestone" and r.data["name"] != "started"]


def test_a_steps_success_marks_its_milestone_once_and_moves_the_status(harness: Harness) -> None:
    s = harness.start(MARKED, context="lab")
    s.run("find")
    s.run("find")  # a re-run of a read-only check does not mark it again
    s.complete_manual("fixed")
    assert [(m["name"], m["source"], m["step"]) for m in _marks(harness)] == [
        ("detected", "runbook", "find"), ("mitigated", "runbook", "fixed")]
    assert s.state.status == "monitoring"


def test_a_failed_step_marks_nothing_and_a_persons_mark_wins(harness: Harness) -> None:
    harness.cluster = type(harness.cluster)({"lab": {}})  # no nodes: the check's expectation fails
    s = harness.start(MARKED, context="lab")
    s.run("find")
    assert _marks(harness) == []
    s.milestone("mitigated")  # a person marked it first
    s.skip("find", "checked by hand")
    s.complete_manual("fixed")
    assert [(m["name"], m["source"]) for m in _marks(harness)] == [("mitigated", "person")]


def test_an_unknown_milestone_is_a_located_load_error() -> None:
    with pytest.raises(MitigateError, match=r"test.yaml:\d+:\d+: .*milestone"):
        load_runbook_text(MARKED.replace("milestone: detected", "milestone: acknowleged"), "test.yaml")
