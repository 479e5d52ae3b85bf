"""The RBAC preflight in the engine: a denied permission stops the step before its confirmation;
an answer the cluster could not give needs the typed context; the plan shows both."""

from __future__ import annotations

from mitigate.engine import StepStatus
from tests.engine.helpers import Harness
from tests.engine.runbooks import CORDON


def test_a_denied_permission_fails_the_step_before_anything_is_asked_or_changed(harness: Harness) -> None:
    harness.cluster.denied = {"patch nodes n2 (cluster-wide)"}
    s = harness.start(CORDON, context="lab")
    s.run("find")
    plan = s.plan("cordon")
    assert "RBAC on lab: you cannot patch nodes n2 (cluster-wide)" in plan.notes
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED
    # the runbook-wide preflight, before the first change, names the step and the permission
    assert state.error is not None and state.error.startswith(
        "RBAC preflight: step cordon on lab: you cannot patch nodes n2 (cluster-wide); nothing was changed")
    assert harness.cluster.mutations == [] and harness.confirmer.requests == []
    assert harness.journal is not None
    pre = [r.data for r in harness.journal.records() if r.type == "runbook.preflight"]
    assert pre == [{"step": "cordon", "checked": ["cordon"], "denied": ["step cordon on lab: patch nodes n2 (cluster-wide)"]}]
    assert "step.intent" not in harness.types()
    # a retry asks the step's own preflight again (the runbook-wide one ran once): still refused
    harness.cluster.denied = {"patch nodes n0 (cluster-wide)"}
    state = s.retry("cordon")
    assert state.status == StepStatus.FAILED and state.error is not None
    assert state.error.startswith("RBAC preflight on lab: you cannot patch nodes n0 (cluster-wide): cordon of step "
                                  "cordon would fail")
    steps = [r.data for r in harness.journal.records() if r.type == "step.preflight"]
    assert steps[-1]["denied"] == ["patch nodes n0 (cluster-wide)"] and harness.cluster.mutations == []


def test_an_unanswerable_preflight_is_the_responders_call_with_the_typed_context(harness: Harness) -> None:
    harness.cluster.reviews_fail = True
    s = harness.start(CORDON, context="lab")
    s.run("find")
    harness.confirmer.typed = "wrong"
    assert s.run("cordon").status == StepStatus.PREVIEWED  # the typed name did not match: nothing ran
    request = harness.confirmer.requests[-1]
    assert request.needs_typed and request.uncertain
    assert any("could not check patch nodes n0" in line for line in request.preflight)
    assert harness.cluster.mutations == []
    harness.confirmer.typed = "lab"
    assert s.run("cordon").status == StepStatus.SUCCEEDED
