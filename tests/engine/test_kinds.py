"""Batches, fan-out, when, decision, gate, notify, plan and protected contexts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mitigate.engine import AutoApprove, PlanOnly, StepStatus
from mitigate.ports import ActionOutcome, ConfirmRequest, PartialOutcome
from tests.engine.fakes import FakeAction
from tests.engine.helpers import Harness, cluster_of
from tests.engine.runbooks import BATCHED, HEADER

GATED = HEADER + """
steps:
  - id: find
    check: {kube: {apiVersion: v1, kind: Node}}
  - id: cordon
    action: {cordon: {names: "{{ steps['find'].names }}"}}
    batch:
      size: 2
      pause: 10s
      haltWhen: failures > 1
      gate:
        check: {kube: {apiVersion: v1, kind: Node}, where: "item.spec.unschedulable"}
        until: count >= 2
        interval: 5s
        timeout: 1m
"""


def test_batches_pause_and_report_progress(harness: Harness) -> None:
    s = harness.start(BATCHED, context="lab")
    s.run("find")
    seen = []
    assert s.run("cordon", on_progress=seen.append).status == StepStatus.SUCCEEDED
    assert [(p.batch, p.batches, p.done, p.total) for p in seen] == [(1, 3, 2, 6), (2, 3, 4, 6), (3, 3, 6, 6)]
    assert harness.clock.sleeps == [30.0, 30.0]
    assert harness.types().count("step.intent") == 3


def test_halt_when_stops_the_batches(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n2", "n3"}
    s = harness.start(GATED, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED
    assert state.error is not None and state.error.startswith("halted after batch 2/3: failures > 1")
    assert len(harness.cluster.mutations) == 4


def test_health_gate_closed_stops_between_batches(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n0"}
    s = harness.start(GATED, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED
    assert state.error is not None and "health gate closed after batch 1/3: timed out after 1m" in state.error
    assert len(harness.cluster.mutations) == 2


def test_cancel_between_batches_then_retry_resumes_without_redoing(harness: Harness) -> None:
    cancel = threading.Event()
    harness.clock.on_sleep = lambda i: cancel.set() if i == 1 else None
    s = harness.start(BATCHED, context="lab")
    s.run("find")
    state = s.run("cordon", cancel=cancel)
    assert state.status == StepStatus.FAILED and "cancelled after 1 of 3" in (state.error or "")
    assert "batch.cancelled" in harness.types()
    resumed = harness.resume(BATCHED)
    assert resumed.retry("cordon").status == StepStatus.SUCCEEDED
    assert [n for _, _, n in harness.cluster.mutations] == ["n0", "n1", "n2", "n3", "n4", "n5"]


FANOUT = HEADER.replace("context: {type: kube-context}", "clusters: {type: kube-contexts}") + """
steps:
  - id: find
    contexts: "{{ inputs.clusters }}"
    check: {kube: {apiVersion: v1, kind: Node}, where: not (item | is_ready)}
  - id: cordon
    contexts: "{{ inputs.clusters }}"
    concurrency: 2
    action: {cordon: {names: "{{ steps['find'].contexts[context].names }}"}}
"""


def test_fan_out_over_three_contexts_reports_each(harness: Harness) -> None:
    harness.cluster = cluster_of(4, ("a", "b", "c"))
    harness.cluster.fail_targets = set()
    s = harness.start(FANOUT, clusters="a,b,c")
    assert s.run("find").result["contexts"]["b"]["names"] == ["n0", "n2"]  # type: ignore[index]
    state = s.run("cordon")
    assert state.status == StepStatus.SUCCEEDED
    assert sorted(state.result["contexts"]) == ["a", "b", "c"]  # type: ignore[index]
    assert sorted(harness.cluster.mutations) == [(c, "cordon", n) for c in "abc" for n in ("n0", "n2")]
    (asked,) = harness.confirmer.requests  # confirmed once for the three (tests/engine/test_fan_out.py)
    assert asked.contexts == ("a", "b", "c")


BRANCHES = HEADER + """
steps:
  - id: choose
    decision:
      prompt: Cordon or delete?
      options: [{id: cordon, label: Cordon}, {id: delete, label: Delete}]
  - id: delete
    when: steps['choose'].choice == 'delete'
    action: {delete: {apiVersion: v1, kind: Node, names: [n1]}}
  - id: cordon
    when: steps['choose'].choice == 'cordon'
    action: {cordon: {names: [n1]}}
  - id: gate
    gate:
      require: ["inputs.batchSize <= 1"]
      message: Lower the batch size first.
  - id: tell
    notify: {channels: [slack, statuspage], status: identified, message: "Cordoned {{ steps['cordon'].targets }}"}
  - id: after
    manual: done
"""


def test_decision_when_gate_and_notify_failure(harness: Harness) -> None:
    harness.notifier.failing = {"statuspage"}
    s = harness.start(BRANCHES, context="lab")
    assert s.run("choose").status == StepStatus.PENDING  # a decision waits for the responder
    s.decide("choose", "cordon")
    skipped = s.run("delete")
    assert skipped.status == StepStatus.SKIPPED
    assert skipped.reason == "condition false: steps['choose'].choice == 'delete'"
    assert s.run("cordon").status == StepStatus.SUCCEEDED
    gate = s.run("gate")
    assert gate.status == StepStatus.FAILED and gate.error == "Lower the batch size first. (not true: inputs.batchSize <= 1)"
    s.skip("gate", "accepted risk")
    notified = s.run("tell")
    assert notified.status == StepStatus.SUCCEEDED  # a failed channel never halts the runbook
    assert "statuspage" in (notified.error or "")
    assert [n.body for n in harness.notifier.sent] == ["Cordoned ['n1']"]
    assert harness.types().count("notify.failed") == 1
    assert s.complete_manual("after").status == StepStatus.SUCCEEDED


def test_advance_skips_the_branch_not_taken_and_stops_where_the_walk_applies(harness: Harness) -> None:
    s = harness.start(BRANCHES, context="lab")
    assert s.advance() == []  # the decision itself is pending: nothing to skip yet
    s.decide("choose", "cordon")
    assert s.advance() == ["delete"]  # cordon's when is true: the walk stops there
    assert s.current().id == "cordon"  # type: ignore[union-attr]
    assert s.step_state("delete").reason == "condition false: steps['choose'].choice == 'delete'"
    assert s.advance() == []  # idempotent: nothing more is skipped, nothing runs
    assert harness.cluster.mutations == []
    assert harness.types().count("step.skipped") == 1


def test_the_previewed_record_of_a_large_step_is_bounded_and_each_batch_intent_holds_its_lines(
        tmp_path: Any) -> None:
    harness = Harness(tmp_path / "incidents", cluster_of(600, notready=lambda i: True))
    s = harness.start(BATCHED, context="lab", batchSize=200)
    s.run("find")
    assert s.run("cordon").status == StepStatus.SUCCEEDED
    assert harness.journal is not None
    records = harness.journal.records()
    previewed = next(r.data for r in records if r.type == "step.previewed")
    assert len(previewed["kubectl"]) == 100 and previewed["kubectlTotal"] == 600
    intents = [r.data for r in records if r.type == "step.intent"]
    assert sum(len(i["kubectl"]) for i in intents) == 600  # the whole story is still journaled


def test_plan_only_never_mutates_and_plan_describes_without_changes(harness: Harness) -> None:
    harness.confirmer = PlanOnly()  # type: ignore[assignment]
    s = harness.start(BATCHED, context="lab")
    s.run("find")
    plan = s.plan("cordon")
    assert plan.kubectl[0] == "kubectl --context lab cordon node n0" and len(plan.targets) == 6
    assert plan.notes == ["RBAC on lab: 6 permission(s) checked, all allowed", "lab: 3 batch(es) of 2, pause 30s"]
    assert s.run("cordon").status == StepStatus.PREVIEWED
    assert harness.cluster.mutations == []


DELETE = HEADER + """
steps:
  - id: delete
    action: {delete: {apiVersion: v1, kind: Node, names: [n1]}}
"""


def test_protected_context_needs_the_typed_name(harness: Harness) -> None:
    harness.cluster.protected = {"lab"}
    harness.confirmer.typed = "prod"
    s = harness.start(DELETE, context="lab")
    state = s.run("delete")
    assert state.status == StepStatus.PREVIEWED
    assert state.error == "declined: typed confirmation 'prod' does not match the protected context 'lab'"
    assert harness.cluster.mutations == []
    assert harness.confirmer.requests[0].needs_typed
    harness.confirmer.typed = None
    assert s.run("delete").status == StepStatus.SUCCEEDED
    assert "n1" not in harness.cluster.nodes["lab"]


CLUSTER_WIDE = HEADER + """
steps:
  - id: cordon-all
    scope: cluster
    action: {cordon: {names: [n1, n2]}}
"""


def test_cluster_wide_step_needs_the_typed_name_even_on_an_unprotected_context(harness: Harness) -> None:
    harness.confirmer.typed = "yes"
    s = harness.start(CLUSTER_WIDE, context="lab")
    state = s.run("cordon-all")
    assert state.error == ("declined: typed confirmation 'yes' does not match the context of this "
                           "cluster-wide step 'lab'")
    assert harness.cluster.mutations == [] and harness.confirmer.requests[0].needs_typed
    harness.confirmer.typed = None
    assert s.run("cordon-all").status == StepStatus.SUCCEEDED


def test_auto_approve_refuses_protected_contexts() -> None:
    request = ConfirmRequest("s", "t", "d", (), "prod-par", "names: a", 1, destructive=False, protected=True)
    decision = AutoApprove().confirm(request)
    assert not decision.approved and "prod-par is protected" in decision.reason
    assert AutoApprove().confirm(ConfirmRequest("s", "t", "d", (), "lab", "x", 1, False, False)).approved


BATCH_AWARE_GATE = HEADER + """
steps:
  - id: find
    check: {kube: {apiVersion: v1, kind: Node}}
  - id: cordon
    action: {cordon: {names: "{{ steps['find'].names }}"}}
    batch:
      size: 2
      gate:
        check: {kube: {apiVersion: v1, kind: Node}, where: "item.spec.unschedulable"}
        until: count >= batch.done and batch.batches == 3
        interval: 5s
        timeout: 1m
"""


def test_health_gate_sees_the_batch_it_follows(harness: Harness) -> None:
    s = harness.start(BATCH_AWARE_GATE, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.SUCCEEDED, state.error
    assert harness.types().count("step.intent") == 3


class _Halted(PartialOutcome):
    """Stands in for an adapter that stops mid-batch (circuit open) but knows what it did."""

    def __init__(self, outcome: ActionOutcome) -> None:
        super().__init__("circuit open after repeated failures", outcome)


def test_a_halted_batch_keeps_the_adapter_outcome_and_its_undo(harness: Harness, monkeypatch: pytest.MonkeyPatch,
                                                               ) -> None:
    real = FakeAction.execute

    def halting(self: FakeAction, **kw: Any) -> ActionOutcome:
        outcome = real(self, **kw)
        raise _Halted(outcome)

    monkeypatch.setattr(FakeAction, "execute", halting)
    s = harness.start(BATCHED, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED and "circuit open" in (state.error or "")
    outcome = next(r for r in harness.journal.records() if r.type == "step.outcome")  # type: ignore[union-attr]
    assert [r["target"] for r in outcome.data["results"]] == ["Node/n0", "Node/n1"]
    assert outcome.data["undo"] and outcome.data["undo"][0]["verb"] == "uncordon"


TABLE = HEADER + """
steps:
  - id: find
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      columns:
        Node: "{{ item.metadata.name }}"
        Ready: "{{ condition_status(item, 'Ready') }}"
        Zone: "{{ item.metadata.labels.zone }}"
"""


def test_check_rows_follow_the_runbook_columns(harness: Harness) -> None:
    s = harness.start(TABLE, context="lab")
    assert s.run("find").status == StepStatus.SUCCEEDED
    result = next(r for r in harness.journal.records() if r.type == "check.result")  # type: ignore[union-attr]
    # The fake nodes have no zone label: that cell shows "?" instead of failing the check.
    assert result.data["rows"] == [{"Node": f"n{i}", "Ready": "False", "Zone": "?"} for i in (0, 2, 4)]
