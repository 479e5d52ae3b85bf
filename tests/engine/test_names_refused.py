"""A templated name that renders empty, blank or '/'-shaped is refused by the engine before any
request (issue 12, point 1): the plan says so and fails, a run fails the step with the refusal
instead of asking for a confirmation, and the cluster never sees a prepare."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.helpers import Harness

RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: t, title: T, source: s}
inputs:
  context: {type: kube-context, default: lab}
  target: {type: string, default: n0}
  nodes: {type: list, default: [n0]}
steps:
  - id: one
    action: {delete: {apiVersion: v1, kind: Node, name: "{{ inputs.target }}"}}
  - id: many
    action: {cordon: {names: "{{ inputs.nodes }}"}}
"""


@pytest.mark.parametrize("value", ["", "  ", "a/b/c", "..", "shop/.."])
def test_plan_shows_the_refusal_and_run_refuses_before_any_request(harness: Harness, value: str,
                                                                    monkeypatch: Any) -> None:
    prepared: list[Any] = []
    real = harness.cluster.prepare
    monkeypatch.setattr(harness.cluster, "prepare", lambda r: prepared.append(r) or real(r))
    session = harness.start(RUNBOOK, target=value)
    [one, _many] = session.plan_all()
    reasons = ("unscoped action", "blank name", "contains '/'", "walks the URL")
    assert one.error and any(w in one.error for w in reasons), one.error
    assert "cannot be planned" in one.description
    state = session.run("one")
    assert state.status.value == "failed" and any(w in (state.error or "") for w in reasons), state.error
    assert harness.confirmer.requests == [] and harness.cluster.mutations == []
    assert [r for r in prepared if r.step_id == "one"] == []


def test_a_rendered_names_list_with_a_blank_entry_is_refused(harness: Harness) -> None:
    session = harness.start(RUNBOOK, nodes=["n0", " "])
    session.skip("one", "not this one")
    state = session.run("many")
    assert state.status.value == "failed" and "blank name" in (state.error or "")
    assert harness.confirmer.requests == [] and harness.cluster.mutations == []
