"""The whole-runbook plan honours --decide, and tells a step that waits for earlier steps from one
that is broken in itself (which makes --plan fail)."""

from __future__ import annotations

from typing import Any

from tests.engine.helpers import Harness

RUNBOOK = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: p, title: P, source: test}
inputs:
  context: {type: kube-context}
steps:
  - id: find
    check:
      kube: {apiVersion: v1, kind: Node, labelSelector: "pool={{ inputs.context }}"}
      where: not is_ready(item)
  - id: choose
    decision:
      prompt: cordon or not?
      options: [{id: cordon, label: Cordon}, {id: leave, label: Leave}]
  - id: cordon
    when: steps['choose'].choice == 'cordon'
    action:
      cordon: {names: "{{ steps['find'].names }}"}
  - id: after
    action:
      uncordon: {names: "{{ steps['cordon'].targets | list }}"}
  - id: broken
    action:
      cordon: {names: "{{ [1, 2] | sum + 'x' }}"}
"""


def test_plan_honours_decide_and_classifies_failures(harness: Harness) -> None:
    session = harness.start(RUNBOOK, context="lab")
    plans = {p.step_id: p for p in session.plan_all({"choose": "cordon"})}
    assert "list v1/Node -l pool=lab" in plans["find"].description  # the selector as rendered
    assert "decided: cordon (--decide)" in plans["choose"].notes
    assert plans["cordon"].kubectl == [f"kubectl --context lab cordon node n{i}" for i in (0, 2, 4)]
    assert not plans["cordon"].error
    assert any(n.startswith("uses what cordon would produce, which the plan does not run")
               for n in plans["after"].notes)
    assert not plans["after"].error
    assert plans["broken"].error and "unsupported operand" in plans["broken"].error


def test_plan_without_a_decision_says_how_to_give_one(harness: Harness) -> None:
    session = harness.start(RUNBOOK, context="lab")
    plans: dict[str, Any] = {p.step_id: p for p in session.plan_all()}
    assert any("pass --decide choose=OPTION (cordon, leave)" in n for n in plans["choose"].notes)
    assert any(n.startswith("would be skipped now") for n in plans["cordon"].notes)
    assert any(n.startswith("uses what choose would produce") for n in plans["cordon"].notes)
