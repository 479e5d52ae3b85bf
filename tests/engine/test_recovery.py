"""Rollback, crash between intent and outcome, resume from the journal, single writer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mitigate.engine import StepStatus
from mitigate.errors import MitigateError
from tests.engine.fakes import Crash
from tests.engine.helpers import Harness
from tests.engine.runbooks import BATCHED, HEADER

TWO_ACTIONS = HEADER + """
steps:
  - id: cordon-a
    action: {cordon: {names: [n0, n1]}}
  - id: cordon-b
    action: {cordon: {names: [n2]}}
    undo: {uncordon: {names: "{{ targets }}"}}
  - id: delete-c
    action: {delete: {apiVersion: v1, kind: Node, names: [n5]}}
    undo: none
  - id: last
    action: {cordon: {names: [n3]}}
"""


def test_rollback_undoes_in_reverse_order_and_reports_what_cannot_be_undone(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n3"}
    s = harness.start(TWO_ACTIONS, context="lab")
    for step in ("cordon-a", "cordon-b", "delete-c", "last"):
        s.run(step)
    assert s.step_state("last").status == StepStatus.FAILED
    harness.cluster.mutations.clear()
    rolled = s.rollback()
    assert [r.id for r in rolled] == ["cordon-b", "cordon-a"]
    assert harness.cluster.mutations == [("lab", "uncordon", "n2"), ("lab", "uncordon", "n0"),
                                         ("lab", "uncordon", "n1")]
    assert all(not n["spec"]["unschedulable"] for n in harness.cluster.nodes["lab"].values())
    assert [r.kind for r in harness.confirmer.requests[-2:]] == ["rollback", "rollback"]
    assert s.step_state("delete-c").error == "rollback: cannot be undone: the runbook declares undo: none"
    assert s.step_state("last").status == StepStatus.ROLLED_BACK  # no longer halts
    assert "rollback.finished" in harness.types()


def test_crash_between_intent_and_outcome_is_unknown_and_rechecked_never_rerun(harness: Harness) -> None:
    harness.cluster.crash_after = 3  # batch 1 (n0, n1) done, batch 2 applies n2 then dies before n3
    s = harness.start(BATCHED, context="lab")
    s.run("find")
    with pytest.raises(Crash):
        s.run("cordon")
    harness.cluster.crash_after = None
    resumed = harness.resume(BATCHED)
    assert resumed.step_state("cordon").status == StepStatus.UNKNOWN
    with pytest.raises(MitigateError, match="recheck it first"):
        resumed.run("cordon")
    rechecked = resumed.recheck("cordon")
    assert rechecked.status == StepStatus.FAILED
    assert rechecked.error is not None and "1 target(s) already applied, 1 not applied" in rechecked.error
    assert resumed.retry("cordon").status == StepStatus.SUCCEEDED
    names = [n for _, _, n in harness.cluster.mutations]
    assert sorted(names) == ["n0", "n1", "n2", "n3", "n4", "n5"]  # exactly one mutation per node
    assert all(n["spec"]["unschedulable"] for n in harness.cluster.nodes["lab"].values())


def test_resume_rebuilds_state_and_check_results_from_the_journal(harness: Harness) -> None:
    s = harness.start(BATCHED, context="lab", batchSize="4")
    s.run("find")
    resumed = harness.resume(BATCHED)
    assert resumed.inputs["batchSize"] == 4
    assert resumed.step_state("find").status == StepStatus.SUCCEEDED
    assert resumed.current() is not None and resumed.current().id == "cordon"  # type: ignore[union-attr]
    assert resumed.run("cordon").status == StepStatus.SUCCEEDED
    assert len(harness.cluster.mutations) == 6


def test_a_second_writer_is_refused_with_a_clear_message(harness: Harness, tmp_path: Path) -> None:
    harness.start(BATCHED, context="lab")
    code = (
        "import sys\n"
        "from mitigate.journal import Journal\n"
        "from mitigate.errors import MitigateError\n"
        "try:\n"
        f"    Journal.open({str(harness.root)!r}, 'inc-1')\n"
        "except MitigateError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "inc-1" in proc.stdout and "\n" == proc.stdout[-1] and proc.stdout.count("\n") == 1
