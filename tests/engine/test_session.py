"""The step state machine on the happy path and after failures."""

from __future__ import annotations

import pytest

from mitigate.engine import StepStatus, fold
from mitigate.errors import MitigateError
from tests.engine.helpers import Harness
from tests.engine.runbooks import CORDON


def test_happy_path_journals_intent_before_outcome_and_cordons_only_notready(harness: Harness) -> None:
    s = harness.start(CORDON, context="lab")
    assert s.run("find").status == StepStatus.SUCCEEDED
    assert s.run("cordon").status == StepStatus.SUCCEEDED
    assert s.current() is not None and s.current().id == "confirm-done"  # type: ignore[union-attr]
    s.complete_manual("confirm-done")
    assert s.current() is None
    assert sorted(n for _, _, n in harness.cluster.mutations) == ["n0", "n2", "n4"]
    types = harness.types()
    assert types[:3] == ["incident.opened", "incident.status", "milestone"]
    assert types.index("step.awaiting_confirmation") < types.index("step.confirmed") < \
        types.index("step.intent") < types.index("step.outcome")
    # the live state and a fold of the journal agree
    assert harness.journal is not None
    folded = fold(harness.journal.records())
    assert {k: v.status for k, v in folded.steps.items()} == {k: v.status for k, v in s.state.steps.items()}


def test_failure_halts_then_retry_redoes_only_failed_targets(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n2"}
    s = harness.start(CORDON, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED and "Node/n2" in (state.error or "")
    with pytest.raises(MitigateError, match="step cordon is failed"):
        s.run("confirm-done")
    harness.cluster.fail_targets = set()
    assert s.retry("cordon").status == StepStatus.SUCCEEDED
    assert [n for _, _, n in harness.cluster.mutations] == ["n0", "n2", "n4", "n2"]


def test_skip_needs_a_reason_and_unblocks(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n0"}
    s = harness.start(CORDON, context="lab")
    s.run("find")
    s.run("cordon")
    with pytest.raises(MitigateError, match="needs a reason"):
        s.skip("cordon", " ")
    skipped = s.skip("cordon", "nodes replaced by the provider")
    assert skipped.status == StepStatus.SKIPPED and skipped.reason == "nodes replaced by the provider"
    assert s.complete_manual("confirm-done").status == StepStatus.SUCCEEDED


def test_failed_expectation_fails_the_check_with_its_expression(harness: Harness) -> None:
    for n in harness.cluster.nodes["lab"].values():
        n["status"]["conditions"][0]["status"] = "True"
    s = harness.start(CORDON, context="lab")
    state = s.run("find")
    assert state.status == StepStatus.FAILED
    assert state.error == "expectation not met: count > 0 (count=0)"


def test_declined_confirmation_changes_nothing_and_keeps_the_step_open(harness: Harness) -> None:
    harness.confirmer.approve = False
    s = harness.start(CORDON, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.PREVIEWED and state.error == "declined: not now"
    assert harness.cluster.mutations == []
    harness.confirmer.approve = True
    assert s.run("cordon").status == StepStatus.SUCCEEDED


def test_steps_run_in_order(harness: Harness) -> None:
    s = harness.start(CORDON, context="lab")
    with pytest.raises(MitigateError, match="step find is pending"):
        s.run("cordon")


def test_missing_and_bad_inputs_are_refused_before_anything_is_journaled(harness: Harness) -> None:
    with pytest.raises(MitigateError, match="missing required input 'context'"):
        harness.start(CORDON)
