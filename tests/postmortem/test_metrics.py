"""Metrics and timeline order on hand-made timelines: what a tired responder actually records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mitigate.journal.record import Record
from mitigate.postmortem import build_postmortem, format_duration
from mitigate.postmortem.model import Metric, Postmortem

NOW = datetime(2024, 3, 14, 12, 0, tzinfo=UTC)


def records(*events: tuple[str, str, dict[str, Any]]) -> list[Record]:
    return [Record(seq, ts, float(seq), "bob@laptop", type_, data, "", "")
            for seq, (ts, type_, data) in enumerate(events, start=1)]


def milestone(ts: str, name: str, **data: Any) -> tuple[str, str, dict[str, Any]]:
    return ts, "milestone", {"name": name, **data}


def metrics(pm: Postmortem) -> dict[str, Metric]:
    return {m.key: m for m in pm.metrics}


def test_durations_across_midnight_use_the_declared_times() -> None:
    pm = build_postmortem(records(
        ("2024-03-13T23:58:00.000000Z", "incident.opened", {"title": "late night"}),
        milestone("2024-03-14T00:05:00.000000Z", "impact-start", at="2024-03-13T23:41:30Z"),
        milestone("2024-03-14T00:05:10.000000Z", "detected", at="2024-03-13T23:55:00Z"),
        milestone("2024-03-14T00:06:00.000000Z", "acknowledged"),
        milestone("2024-03-14T01:20:00.000000Z", "mitigated"),
        milestone("2024-03-15T02:41:30.000000Z", "resolved"),
    ), now=NOW)
    m = metrics(pm)
    assert m["ttd"].seconds == 13 * 60 + 30 and m["ttd"].display == "13m 30s"
    assert m["tta"].seconds == 11 * 60
    assert m["ttm"].display == "1h 38m 30s"
    assert m["ttr"].display == "1d 03h 00m"
    assert [e.at.date().isoformat() for e in pm.timeline][:2] == ["2024-03-13", "2024-03-13"]
    assert pm.first_event is not None and pm.first_event.day == 13
    assert pm.last_event is not None and pm.last_event.day == 15


def test_zone_abbreviation_mismatch_is_kept_and_the_resolved_utc_time_is_used() -> None:
    declared = {"text": "14:05 CEST", "tz": "CEST", "zone": "Europe/Paris", "utc_offset": "+01:00",
                "mismatch": True, "note": "CEST is +02:00 but Europe/Paris was on CET on 2024-03-13"}
    pm = build_postmortem(records(
        milestone("2024-03-13T13:30:00.000000Z", "impact-start", at="2024-03-13T13:05:00Z", declared=declared),
        milestone("2024-03-13T13:31:00.000000Z", "detected"),
    ), now=NOW)
    start = pm.timeline[0]
    assert start.at == datetime(2024, 3, 13, 13, 5, tzinfo=UTC) and start.backdated
    assert start.declared is not None and start.declared.mismatch and start.declared.text == "14:05 CEST"
    assert metrics(pm)["ttd"].display == "26m 00s"


def test_missing_milestones_make_metrics_not_recorded_never_guessed() -> None:
    pm = build_postmortem(records(
        ("2024-03-13T10:00:00.000000Z", "incident.opened", {"title": "t"}),
        milestone("2024-03-13T10:01:00.000000Z", "detected"),
        milestone("2024-03-13T10:30:00.000000Z", "resolved"),
        ("2024-03-13T10:31:00.000000Z", "incident.status", {"status": "resolved"}),
    ), now=NOW)
    m = metrics(pm)
    for key in ("ttd", "ttm", "ttr"):
        assert m[key].status == "not-recorded" and m[key].seconds is None
        assert "impact-start" in m[key].display
    assert m["tta"].display == "not recorded (no `acknowledged` milestone)"
    assert "`impact-start` or `mitigated`" in m["ttm"].display


def test_out_of_order_entry_is_flagged_not_shown_negative() -> None:
    pm = build_postmortem(records(
        milestone("2024-03-13T10:00:00.000000Z", "impact-start", at="2024-03-13T10:20:00Z"),
        milestone("2024-03-13T10:05:00.000000Z", "detected", at="2024-03-13T10:10:00Z"),
        milestone("2024-03-13T10:40:00.000000Z", "mitigated"),
    ), now=NOW)
    m = metrics(pm)
    assert m["ttd"].status == "flagged" and m["ttd"].seconds is None
    assert "-10" not in m["ttd"].display and "10m 00s before `impact-start`" in m["ttd"].display
    assert m["ttm"].display == "20m 00s"
    assert [e.text for e in pm.timeline] == ["Milestone detected", "Milestone impact-start", "Milestone mitigated"]


def test_a_corrected_milestone_uses_the_last_entry_and_says_so() -> None:
    pm = build_postmortem(records(
        milestone("2024-03-13T10:00:00.000000Z", "impact-start"),
        milestone("2024-03-13T10:09:00.000000Z", "impact-start", at="2024-03-13T09:50:00Z"),
        milestone("2024-03-13T10:10:00.000000Z", "detected"),
    ), now=NOW)
    assert metrics(pm)["ttd"].display == "20m 00s"
    assert any("more than once" in p for p in pm.problems)


def test_unreadable_backdated_time_falls_back_to_record_time_with_a_note() -> None:
    pm = build_postmortem(records(
        ("2024-03-13T10:00:00.000000Z", "note", {"text": "x", "at": "yesterday-ish"}),
    ), now=NOW)
    assert pm.timeline[0].at == datetime(2024, 3, 13, 10, tzinfo=UTC)
    assert "unreadable backdated time 'yesterday-ish'" in pm.problems[0]


def test_format_duration_boundaries() -> None:
    assert [format_duration(s) for s in (0, 59.6, 60, 3600, 86400 + 61)] == [
        "0s", "1m 00s", "1m 00s", "1h 00m 00s", "1d 00h 01m"]


def test_repeated_polls_of_one_check_collapse_into_one_timeline_line() -> None:
    started = ("2024-03-13T09:59:59.000000Z", "step.started", {"step": "ready-count", "kind": "wait"})
    polls = [(f"2024-03-13T10:00:{i:02d}.000000Z", "check.result",
              {"step": "ready-count", "ok": i == 29, "count": 40 + i, "message": "Ready nodes"}) for i in range(30)]
    pm = build_postmortem(records(
        started, *polls, ("2024-03-13T10:00:30.000000Z", "step.succeeded", {"step": "ready-count"}),
        ("2024-03-13T10:01:00.000000Z", "note", {"text": "gate open"}),
        ("2024-03-13T10:02:00.000000Z", *started[1:]), ("2024-03-13T10:02:00.000000Z", *polls[0][1:]),
        ("2024-03-13T10:02:01.000000Z", "step.failed", {"step": "ready-count", "error": "timed out"})), now=NOW)
    assert [e.text for e in pm.timeline] == [
        "Step ready-count (wait): as expected, 69 item(s); Ready nodes (30 polls until 10:00:29); succeeded",
        "gate open",
        "Step ready-count (wait): NOT as expected, 40 item(s); Ready nodes; FAILED: timed out",
    ]
    assert [e.cite for e in pm.timeline] == ["#1-#32", "#33", "#34-#36"]
    # the evidence keeps the result that decided each run
    assert [(ev.count, ev.ok) for ev in pm.evidence] == [(69, True), (40, False)]
