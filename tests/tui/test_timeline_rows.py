"""The live timeline folds a step's records into one row with its outcome, says bookkeeping in
words and gives short times (issue 13): the pure fold, then the walker on the real engine at two sizes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mitigate.events import Event
from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen
from tui.timeline_rows import FAILED, OK, RUNNING, Row, TimelineRows
from tui.widgets.timeline import Timeline

RAW = re.compile("|".join(re.escape(str(e)) for e in Event if "." in str(e) or "_" in str(e)))
TIME = re.compile(r"^\d\d:\d\d:\d\d ")


def fold(records: list[tuple[str, str, dict[str, Any]]]) -> list[Row]:
    rows = TimelineRows(drill=True)
    shown: dict[tuple[str, ...], Row] = {}
    for ts, rtype, data in records:
        out = rows.fold(ts, rtype, data)
        if out is not None:
            shown[out[0]] = out[1]
    return list(shown.values())


def test_a_steps_records_are_one_row_and_bookkeeping_is_said_in_words() -> None:
    t = "2026-12-02T00:39:{:02d}.123456Z".format
    rows = fold([
        (t(1), "context.identity", {"context": "kapsule-fr-par-1", "server": "https://x", "cluster": "c",
                                    "user": "admin", "auth": "token"}),
        (t(2), "milestone", {"name": "impact-start", "at": "2026-12-02T00:39:00.665794Z", "source": "drill",
                             "declared": {"text": "2026-12-02 00:39:00.665794", "tz": "UTC", "zone": "UTC",
                                          "utc_offset": "+00:00", "mismatch": False, "note": ""}}),
        (t(3), "step.started", {"step": "find", "attempt": 1, "kind": "check"}),
        (t(4), "check.result", {"step": "find", "ok": True, "count": 72, "listed": 600, "kind": "Node"}),
        (t(4), "step.succeeded", {"step": "find"}),
        (t(5), "runbook.preflight", {"step": "cordon", "checked": ["patch nodes", "delete nodes"], "denied": []}),
        (t(6), "step.started", {"step": "cordon", "attempt": 1, "kind": "action"}),
        (t(6), "step.previewed", {"step": "cordon", "context": "c", "description": "cordon 3 node(s)"}),
        (t(6), "step.preflight", {"step": "cordon", "context": "c", "checked": 1, "denied": [], "uncertain": []}),
        (t(7), "step.awaiting_confirmation", {"step": "cordon", "context": "c", "kind": "action",
                                              "destructive": False, "protected": False}),
        (t(9), "step.confirmed", {"step": "cordon", "context": "c", "kind": "action", "typed": False}),
        (t(9), "step.intent", {"step": "cordon", "verb": "cordon", "batch": 1}),
        (t(9), "step.outcome", {"step": "cordon", "batch": 1, "results": [{"target": "a", "ok": True},
                                                                          {"target": "b", "ok": True}]}),
        (t(9), "batch.progress", {"step": "cordon", "batch": 1, "batches": 2, "done": 2, "total": 3, "failures": 0}),
        (t(9), "step.intent", {"step": "cordon", "verb": "cordon", "batch": 2}),
        (t(9), "step.outcome", {"step": "cordon", "batch": 2, "results": [{"target": "c", "ok": False}]}),
        (t(9), "step.failed", {"step": "cordon", "error": "node c: not found"}),
        (t(10), "step.started", {"step": "cordon", "attempt": 2, "kind": "action"}),
        (t(11), "something.new", {"step": "cordon"}),
    ])
    texts = [r.text for r in rows]
    assert not any(RAW.search(text) for text in texts), texts
    assert texts[0] == "acting on kapsule-fr-par-1 as admin (token)"
    assert texts[1] == "milestone impact-start · at 00:39:00 UTC"           # short, no UTC restated
    assert [r.time for r in rows[:3]] == ["00:39:01", "00:39:02", "00:39:03"]
    assert (rows[2].state, texts[2]) == (OK, "find check: as expected, 72 of 600 Node; succeeded")
    assert texts[3] == "RBAC preflight: the runbook's 2 permission(s) are allowed"
    assert rows[4].state == FAILED
    assert texts[4] == "cordon action: confirmed; cordon 2/3 target(s); batch 1/2, 2/3 done; FAILED: node c: not found"
    assert (rows[5].state, texts[5]) == (RUNNING, "cordon action: attempt 2; running")  # the retry: a row of its own
    assert texts[6] == "something new cordon"                               # an unknown type, in words
    assert len(rows) == 7


def test_a_wait_for_confirmation_is_said_until_it_is_answered() -> None:
    rows = TimelineRows()
    rows.fold("2026-12-02T00:00:01Z", "step.started", {"step": "delete", "attempt": 1, "kind": "action"})
    out = rows.fold("2026-12-02T00:00:02Z", "step.awaiting_confirmation", {"step": "delete", "protected": True})
    assert out is not None and out[1].text == "delete action: waiting for your confirmation (protected context)"
    out = rows.fold("2026-12-02T00:00:03Z", "step.declined", {"step": "delete", "reason": "declined"})
    assert out is not None and out[1].text == "delete action: declined: declined (nothing changed)"


@pytest.mark.anyio
@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")])
async def test_the_walkers_timeline_has_a_row_per_step_with_its_outcome(tmp_path: Path, size: tuple[int, int]) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        if size[0] < 120:
            await pilot.press("l")                                   # the timeline is a pane below 120 columns
        timeline = app.screen.query_one(Timeline)
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("enter", "enter")                          # move on, tick the manual step
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await pilot.press("enter", "r")                              # move on to the cordon and run it
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await until(pilot, lambda: "cordon action: cordon 3 node(s) in drill-par; waiting for your confirmation"
                    in timeline.text)
        await pilot.press("y")
        await until(pilot, lambda: status(app, "cordon") == "succeeded")
        await until(pilot, lambda: "cordon action: confirmed" in timeline.text and "; succeeded" in timeline.text)
        await pilot.pause()
        lines = timeline.text.splitlines()
        assert all(TIME.match(line) for line in lines), lines
        assert not any(RAW.search(line) for line in lines), lines
        assert [line[9:] for line in lines if "find-notready" in line] == [
            "✔ find-notready check: as expected, 3 of 5 Node; succeeded"]
        assert [line[9:] for line in lines if " cordon " in line] == [
            "✔ cordon action: confirmed; cordon 3/3 target(s); batch 1/1, 3/3 done; succeeded"]
        assert "✔ page-owner manual: done" in timeline.text
        drawn = [timeline.render_line(y).text for y in range(timeline.window)]
        assert any("cordon action" in row for row in drawn)             # on screen, wrapped to the pane


def test_a_burst_builds_each_row_once_with_its_last_words() -> None:
    records = [("2026-12-02T00:00:01Z", "step.started", {"step": "cordon", "attempt": 1, "kind": "action"})]
    for b in range(1, 4):
        records += [("2026-12-02T00:00:02Z", "step.outcome", {"step": "cordon", "batch": b,
                                                              "results": [{"target": f"n{b}", "ok": True}]}),
                    ("2026-12-02T00:00:02Z", "batch.progress", {"step": "cordon", "batch": b, "batches": 4,
                                                                "done": b, "total": 4, "failures": 0})]
    records.append(("2026-12-02T00:00:03Z", "note", {"text": "half way"}))
    one_by_one = fold(records)
    burst = list(TimelineRows(drill=True).fold_many(records).values())
    assert burst == one_by_one
    assert [r.text for r in burst] == ["cordon action: changed 3/3 target(s); batch 3/4, 3/4 done; running",
                                       "note: half way"]
