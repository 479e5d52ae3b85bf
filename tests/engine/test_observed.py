"""What a wait, a health gate and a gate step see is journaled (issue 13): ``wait.poll`` when the
observed value changes, ``gate.observed`` per requirement, with the value now and what it needs."""

from __future__ import annotations

from typing import Any

from mitigate.engine import StepStatus
from mitigate.engine.checks import observe
from mitigate.events import Event, payload_problems
from tests.engine.fakes import node
from tests.engine.helpers import Harness
from tests.engine.kinds_runbooks import GATED_AND_WAITING


def records(harness: Harness, rtype: str) -> list[dict[str, Any]]:
    assert harness.journal is not None
    return [dict(r.data) for r in harness.journal.records() if r.type == rtype]


def test_observe_splits_a_comparison_into_the_value_now_and_what_it_needs() -> None:
    scope = {"count": 7, "listed": 10, "steps": {"find": {"count": 3}}, "ratio": 0.5}
    assert observe("count >= 9", scope) == {"current": "7", "need": ">= 9"}
    assert observe("count >= listed * 0.9", scope) == {"current": "7", "need": ">= 9"}
    assert observe("steps['find'].count > 0", scope) == {"current": "3", "need": "> 0"}
    assert observe("ratio < 0.99", scope) == {"current": "0.5", "need": "< 0.99"}
    assert observe("count >= 2 and ratio > 0", scope) == {"current": "True"}   # not one comparison: its value
    assert observe("'a >= b' in names", {"names": ["x"]}) == {"current": "a >= b", "need": "in ['x']"}
    assert observe("missing.thing > 1", scope) == {}                            # cannot be evaluated: nothing said


def test_a_wait_step_journals_each_value_it_observes_until_it_holds(harness: Harness) -> None:
    harness.cluster.nodes["lab"] = {f"n{i}": node(f"n{i}", ready=i == 0) for i in range(4)}

    def heal(sleep: int) -> None:  # one more node Ready every other poll
        name = f"n{(sleep + 1) // 2}"
        if sleep % 2 == 1 and name in harness.cluster.nodes["lab"]:
            harness.cluster.nodes["lab"][name] = node(name, ready=True)

    harness.clock.on_sleep = heal
    s = harness.start(GATED_AND_WAITING, context="lab")
    s.skip("find", "not needed")
    s.skip("cordon", "not needed")
    state = s.run("wait-ready")
    assert state.status == StepStatus.SUCCEEDED, state.error
    polls = records(harness, Event.WAIT_POLL)
    assert [p["current"] for p in polls] == ["1", "2", "3"]           # one record per change, not per poll
    assert [p["poll"] for p in polls] == [1, 2, 4]                   # poll 3 saw what poll 2 saw
    assert {p["need"] for p in polls} == {">= 3"} and [p["ok"] for p in polls] == [False, False, True]
    assert polls[0]["timeout"] == "2m" and polls[0]["remaining"] == 120.0 and polls[1]["remaining"] == 115.0
    assert polls[0]["listed"] == 4 and polls[0]["kind"] == "Node"
    assert all(payload_problems(Event.WAIT_POLL, p) == [] for p in polls)


def test_a_health_gate_journals_what_it_saw_with_its_batch_and_context(harness: Harness) -> None:
    harness.cluster.fail_targets = {"n0"}                             # batch 1 cordons one node of two
    s = harness.start(GATED_AND_WAITING, context="lab")
    s.run("find")
    state = s.run("cordon")
    assert state.status == StepStatus.FAILED and "health gate closed after batch 1/3" in (state.error or "")
    polls = records(harness, Event.WAIT_POLL)
    assert len(polls) == 1                                            # 13 polls saw the same value
    assert polls[0] | {"remaining": 0} == {
        "step": "cordon", "poll": 1, "until": "count >= 2", "ok": False, "count": 1, "remaining": 0,
        "timeout": "1m", "current": "1", "need": ">= 2", "listed": 6, "kind": "Node", "context": "lab", "batch": 1}
    assert payload_problems(Event.WAIT_POLL, polls[0]) == []


def test_a_gate_step_says_what_each_requirement_saw(harness: Harness) -> None:
    s = harness.start(GATED_AND_WAITING, context="lab", batchSize=4)
    s.skip("find", "not needed")
    s.skip("cordon", "not needed")
    s.skip("wait-ready", "not needed")
    assert s.run("small-batches").status == StepStatus.FAILED
    (gate,) = records(harness, Event.GATE)
    assert gate["observed"] == [
        {"expr": "inputs.batchSize <= 2", "ok": False, "current": "4", "need": "<= 2"},
        {"expr": "inputs.context == 'lab'", "ok": True, "current": "lab", "need": "== lab"}]
    assert payload_problems(Event.GATE, gate) == []
