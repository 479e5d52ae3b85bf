"""Journal API: records, chain, locking, torn tails, corruption, listing."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mitigate.errors import MitigateError
from mitigate.journal import Journal, JournalCorrupt, JournalLocked, Record, list_incidents, verify
from mitigate.journal.incidents import new_incident_id


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.moment, self.mono = start, 100.0

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment

    def monotonic(self) -> float:
        self.mono += 0.5
        return self.mono

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        return True


def opened(title: str = "API server OOM", **extra: object) -> dict[str, object]:
    return {"title": title, "severity": "SEV1", "runbook": "apiserver-oom", "drill": False, **extra}


def test_records_are_chained_and_fsynced_lines(root: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 21, 23, 36, tzinfo=UTC))
    with Journal.create(root, title="API server OOM", actor="ana@laptop", clock=clock) as j:
        first = j.append("incident.opened", opened())
        second = j.append("note", {"text": "nodes NotReady"}, actor="bo@desk")
        assert j.id.startswith("2026-11-21T2336Z-api-server-oom-")
        assert j.backups_dir.is_dir()
    lines = (j.dir / "journal.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert first.prev == "" and second.prev == hashlib.sha256(lines[0]).hexdigest()
    assert first.ts == "2026-11-21T23:36:03.000000Z" and first.mono == 100.5  # id and lock took 01, 02
    assert second.actor == "bo@desk" and first.actor == "ana@laptop"
    assert Journal.open(root, j.id, readonly=True).records() == [first, second]
    assert verify(j.dir).ok


def test_reader_sees_live_writer_and_subscribers_are_told(root: Path) -> None:
    seen: list[Record] = []
    writer = Journal.create(root, "inc-1")
    writer.subscribe(seen.append)
    reader = Journal.open(root, "inc-1", readonly=True)
    assert reader.records() == []
    rec = writer.append("note", {"text": "hello"})
    assert reader.records() == [rec] and seen == [rec]
    with pytest.raises(MitigateError, match="read-only"):
        reader.append("note", {"text": "no"})
    writer.close()


def test_second_writer_refused_naming_holder_then_allowed_after_close(root: Path) -> None:
    first = Journal.create(root, "inc-1", actor="ana@laptop")
    with pytest.raises(JournalLocked, match=rf"pid {os.getpid()} \(ana@laptop, since 20"):
        Journal.open(root, "inc-1")
    first.close()
    with Journal.open(root, "inc-1") as second:
        assert second.append("note", {"text": "x"}).seq == 1


def test_create_refuses_existing_and_bad_ids(root: Path) -> None:
    Journal.create(root, "inc-1").close()
    with pytest.raises(MitigateError, match="already exists"):
        Journal.create(root, "inc-1")
    for bad in ("../escape", "a/b", ".hidden"):
        with pytest.raises(MitigateError, match="invalid incident id"):
            Journal.create(root, bad)
        with pytest.raises(MitigateError, match="invalid incident id"):
            Journal.open(root, bad, readonly=True)
    with pytest.raises(MitigateError, match="no incident 'missing'"):
        Journal.open(root, "missing", readonly=True)


def test_data_is_redacted_and_must_be_json(root: Path) -> None:
    with Journal.create(root, "inc-1") as j:
        rec = j.append("notify.sent", {"channel": "slack", "webhook": "https://hooks.slack.com/services/T1/B2/s3cr3t"})
        assert rec.data["webhook"] == "[REDACTED]"
        with pytest.raises(MitigateError, match="plain JSON"):
            j.append("note", {"when": object()})
        with pytest.raises(MitigateError, match="plain JSON"):
            j.append("note", {"value": float("nan")})
    assert b"s3cr3t" not in (j.dir / "journal.jsonl").read_bytes()
    assert verify(j.dir).records == 1


def _write_records(root: Path, count: int) -> Journal:
    j = Journal.create(root, "inc-1")
    for i in range(count):
        j.append("note", {"text": f"record {i}"})
    j.close()
    return j


def test_torn_tail_reported_set_aside_and_chain_continues(root: Path) -> None:
    j = _write_records(root, 3)
    path = j.dir / "journal.jsonl"
    with path.open("ab") as handle:
        handle.write(b'{"seq":4,"ts":"2026-')  # a crash in the middle of a write
    reader = Journal.open(root, "inc-1", readonly=True)
    assert [r.seq for r in reader.records()] == [1, 2, 3]
    assert reader.torn_tail == '{"seq":4,"ts":"2026-'
    report = verify(j.dir)
    assert report.ok and report.torn_tail and report.records == 3 and "torn last line" in report.notes[0]
    with Journal.open(root, "inc-1") as writer:
        assert writer.torn_path is not None and writer.torn_path.read_bytes() == b'{"seq":4,"ts":"2026-'
        assert writer.append("note", {"text": "after crash"}).seq == 4
    report = verify(j.dir)
    assert report.ok and report.records == 4 and report.torn_tail
    assert "set aside earlier" in report.notes[0]


def test_unreadable_last_line_is_a_torn_tail(root: Path) -> None:
    j = _write_records(root, 2)
    with (j.dir / "journal.jsonl").open("ab") as handle:
        handle.write(b"\x00" * 40 + b"\n")  # what a power cut can leave behind
    report = verify(j.dir)
    assert report.ok and report.torn_tail and report.records == 2


def test_tampered_middle_record_fails_with_line_number(root: Path) -> None:
    j = _write_records(root, 4)
    path = j.dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"record 1", b"record X")
    path.write_bytes(b"".join(lines))
    report = verify(j.dir)
    assert not report.ok
    assert report.problems[0].startswith("line 2: hash does not match")
    with pytest.raises(JournalCorrupt, match="line 2"):
        Journal.open(root, "inc-1")


def test_rehashed_edit_and_removed_line_break_the_chain(root: Path) -> None:
    j = _write_records(root, 4)
    path = j.dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    del lines[1]
    path.write_bytes(b"".join(lines))
    problems = verify(j.dir).problems
    assert problems == ["line 2: prev does not match line 1 (a line before it was changed, removed or reordered)",
                        "line 2: seq 3, expected 2"]


def test_list_incidents_newest_first_with_latest_status(root: Path) -> None:
    for day, title, statuses in ((1, "older", ["identified"]), (3, "newest", []), (2, "middle", ["identified", "resolved"])):
        clock = FakeClock(datetime(2026, 11, day, 8, 0, tzinfo=UTC))
        with Journal.create(root, new_incident_id(title, clock.now()), clock=clock) as j:
            j.append("incident.opened", opened(title))
            for i in range(300):  # enough records that the status lies far from both ends
                j.append("note", {"text": f"filler {i}" * 10})
            for status in statuses:
                j.append("incident.status", {"status": status})
            if "resolved" in statuses:
                j.append("incident.closed", {})
    found = list_incidents(root)
    assert [s.title for s in found] == ["newest", "middle", "older"]
    assert [(s.status, s.closed) for s in found] == [("investigating", False), ("resolved", True),
                                                     ("identified", False)]
    assert found[0].runbook == "apiserver-oom" and found[0].opened == datetime(2026, 11, 3, 8, 0, 3, tzinfo=UTC)
    assert list_incidents(root / "absent") == []


@pytest.mark.parametrize("victim", [0, 1, 3])
def test_fast_read_finds_every_tamper_the_full_check_finds(root: Path, victim: int) -> None:
    from mitigate.journal.verify import scan

    j = _write_records(root, 4)
    path = j.dir / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[victim] = lines[victim].replace(f"record {victim}".encode(), b"record X")
    data = b"".join(lines)
    fast, full = scan(data), scan(data, full=True)
    assert fast.problems and fast.problems == full.problems
    assert f"line {victim + 1}: hash does not match" in fast.problems[0]
