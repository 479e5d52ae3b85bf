"""An action over many contexts is confirmed once (issue 13): "2 of 4 clusters, 4 objects", the
contexts with nothing to change skipped and journaled, typed when any context is protected (the
one protection rule, mitigate/protection.py, through the session)."""

from __future__ import annotations

from typing import Any

from mitigate.engine import AutoApprove, StepStatus
from mitigate.events import Event, payload_problems
from tests.engine.fakes import FakeCluster, node
from tests.engine.helpers import Harness
from tests.engine.runbooks import HEADER

FAN_OUT = HEADER.replace("  context: {type: kube-context}", "  clusters: {type: kube-contexts}") + """
steps:
  - id: find
    contexts: "{{ inputs.clusters }}"
    check: {kube: {apiVersion: v1, kind: Node}, where: not (item | is_ready)}
  - id: delete
    contexts: "{{ inputs.clusters }}"
    action: {delete: {apiVersion: v1, kind: Node, names: "{{ steps['find'].contexts[context].names }}"}}
"""


def four_clusters(protected: set[str]) -> FakeCluster:
    """Two clusters with NotReady nodes (two each), two healthy: nothing to change there."""
    sick = {"prod-par", "lab-ams"}
    return FakeCluster({c: {f"n{i}": node(f"n{i}", ready=c not in sick or i >= 2) for i in range(4)}
                        for c in ("prod-par", "lab-ams", "lab-fra", "lab-waw")}, protected=protected)


def journal(harness: Harness, rtype: str) -> list[dict[str, Any]]:
    assert harness.journal is not None
    return [dict(r.data) for r in harness.journal.records() if r.type == rtype]


def test_one_confirmation_for_the_clusters_that_change_the_others_skipped_and_journaled(harness: Harness) -> None:
    harness.cluster = four_clusters(protected=set())
    s = harness.start(FAN_OUT, clusters="prod-par,lab-ams,lab-fra,lab-waw")
    s.run("find")
    state = s.run("delete")
    assert state.status == StepStatus.SUCCEEDED, state.error
    (asked,) = harness.confirmer.requests
    assert asked.contexts == ("prod-par", "lab-ams") and asked.skipped == ("lab-fra", "lab-waw")
    assert asked.description.splitlines()[0] == "2 of 4 clusters, 4 objects; 2 with nothing to change, skipped"
    assert asked.target_count == 4 and asked.destructive and not asked.protected and not asked.needs_typed
    assert "# prod-par" in asked.diff and "# lab-ams" in asked.diff
    assert sorted(harness.cluster.mutations) == [(c, "delete", n) for c in ("lab-ams", "prod-par") for n in ("n0", "n1")]
    skipped = journal(harness, Event.STEP_CONTEXT_SKIPPED)
    assert [(r["context"], r["reason"]) for r in skipped] == [("lab-fra", "nothing to do"), ("lab-waw", "nothing to do")]
    (awaiting,) = journal(harness, Event.STEP_AWAITING_CONFIRMATION)
    (confirmed,) = journal(harness, Event.STEP_CONFIRMED)
    assert awaiting["contexts"] == confirmed["contexts"] == ["prod-par", "lab-ams"]
    assert len(journal(harness, Event.STEP_PREVIEWED)) == 2            # each changing context previewed
    assert all(payload_problems(t, d) == [] for t in (Event.STEP_CONTEXT_SKIPPED, Event.STEP_AWAITING_CONFIRMATION,
                                                       Event.STEP_CONFIRMED)
               for d in journal(harness, t))


def test_a_protected_cluster_among_them_makes_the_one_confirmation_typed(harness: Harness) -> None:
    harness.cluster = four_clusters(protected={"prod-par"})
    harness.confirmer.typed = "2 clusters"                            # not the protected cluster's name
    s = harness.start(FAN_OUT, clusters="prod-par,lab-ams,lab-fra,lab-waw")
    s.run("find")
    state = s.run("delete")
    (asked,) = harness.confirmer.requests
    assert asked.protected and asked.needs_typed and asked.protected_contexts == ("prod-par",)
    assert asked.context == "prod-par"                                 # what to type: the protected one
    assert "prod-par (PROTECTED): " in asked.description
    assert state.status != StepStatus.SUCCEEDED and harness.cluster.mutations == []  # nothing changed anywhere
    (declined,) = journal(harness, Event.STEP_DECLINED)
    assert "does not match the protected context 'prod-par'" in declined["reason"]
    assert declined["contexts"] == ["prod-par", "lab-ams"]
    harness.confirmer.typed = None                                     # the right name this time
    state = s.run("delete")
    assert state.status == StepStatus.SUCCEEDED, state.error
    assert len(harness.confirmer.requests) == 2 and len(harness.cluster.mutations) == 4


def test_two_protected_clusters_are_confirmed_by_typing_how_many_clusters_change(harness: Harness) -> None:
    harness.cluster = four_clusters(protected={"prod-par", "lab-ams"})
    s = harness.start(FAN_OUT, clusters="prod-par,lab-ams,lab-fra,lab-waw")
    s.run("find")
    assert s.run("delete").status == StepStatus.SUCCEEDED
    (asked,) = harness.confirmer.requests
    assert asked.context == "2 clusters" and asked.needs_typed
    assert asked.protected_contexts == ("prod-par", "lab-ams")
    refused = AutoApprove().confirm(asked)                            # headless: never on a protected context
    assert not refused.approved and "protected context(s) among them: prod-par, lab-ams" in refused.reason
