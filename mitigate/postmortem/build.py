"""Build the postmortem model from journal records (pure: no I/O, no clock unless given).

One pass over the records (already in ``seq`` order) collects milestones,
timeline entries and executed actions; the only super-linear step is sorting
the timeline by event time, so a 10,000-event journal builds in milliseconds.
Every string taken from the journal into the model goes through ``_s``,
which redacts it, so a secret that slipped into a journal (an old version, a
hand edit) still never reaches the draft. Redacting only what the draft
shows (and memoising it: node names repeat across batches) is what keeps a
10,000-event journal fast; per-target lists are capped for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from mitigate.events import Event, RecordLike
from mitigate.journal.redact import generation as redact_generation
from mitigate.journal.redact import redact, redact_text
from mitigate.postmortem.metrics import compute_metrics, format_duration
from mitigate.postmortem.model import (
    ActionGroup,
    ActionItem,
    Change,
    CheckEvidence,
    Communication,
    Declared,
    ExecutedAction,
    Handover,
    Metric,
    Postmortem,
    Responder,
    RunbookRef,
    Section,
    SilenceRef,
    TargetResult,
    TimelineEntry,
)
from mitigate.runbook.model import PostmortemHints
from mitigate.timefmt import parse_rfc3339

HORIZONS = (("immediate", "Immediate"), ("short-term", "Short-term"), ("mid-term", "Mid-term"))
KEY_MILESTONES = ("impact-start", "detected", "acknowledged", "mitigated", "resolved")


def parse_time(text: str) -> datetime:
    """RFC 3339 -> aware UTC datetime (naive input is taken as UTC)."""
    return parse_rfc3339(text)


_redact_lru = lru_cache(maxsize=65536)(lambda text, _generation: redact_text(text))


def _redact_cached(text: str) -> str:
    """redact_text, cached per set of known secret values (a value registered later still masks)."""
    return str(_redact_lru(text, redact_generation()))


def _s(value: Any) -> str:
    """Journal value -> redacted text for the draft."""
    if type(value) is str:
        return _redact_cached(value)
    if value is None:
        return ""
    if isinstance(value, dict | list) or isinstance(value, Mapping):  # dict first: the ABC check is slow
        value = redact(value)
    return _redact_cached(str(value))


@dataclass
class _Intent:
    at: datetime
    data: Mapping[str, Any]
    seq: int = 0


@dataclass
class _Step:
    """The records of one run of one step, folded into one timeline row when it ends."""

    step: str
    kind: str
    at: datetime
    actor: str
    seqs: list[int]
    detail: str = ""
    polls: int = 0
    confirmed: str = ""


# Record types whose facts live in a step's row or the appendix, never in their own row.
_FOLDED = frozenset({Event.STEP_STARTED, Event.STEP_AWAITING_CONFIRMATION, Event.STEP_CONFIRMED,
                     Event.STEP_PREVIEWED, Event.STEP_INTENT, Event.STEP_OUTCOME, Event.CHECK_RESULT})
_ENDS = frozenset({Event.STEP_SUCCEEDED, Event.STEP_FAILED, Event.STEP_SKIPPED, Event.STEP_DECLINED,
                   Event.STEP_UNKNOWN})
_DIFF_KEY = re.compile(r"^(\s*)((?:-\s+)?)([^:#\s][^:#]*?):(?:\s+(.*))?$")
SHOWN_ROWS = 10
SHOWN_EVIDENCE = 50
SHOWN_CHANGES = 200


def diff_changes(diff: str) -> list[tuple[str, str, str, str]]:
    """``(target, field, before, after)`` for every scalar a unified YAML diff changes.

    The field path is rebuilt from indentation as far as the hunk's context shows it
    (``resources.limits.memory``); a value only removed or only added reads ``(none)``.
    """
    out: list[tuple[str, str, str, str]] = []
    target = ""
    stack: list[tuple[int, str]] = []
    removed: dict[str, str] = {}
    added: dict[str, str] = {}

    def flush() -> None:
        for path in dict.fromkeys([*removed, *added]):
            before, after = removed.get(path, "(none)"), added.get(path, "(none)")
            if before != after:
                out.append((target, path, before, after))
        removed.clear()
        added.clear()

    for line in diff.splitlines():
        if line.startswith("--- "):
            flush()
            target = line[4:].removesuffix(" (before)").strip()
            stack = []
            continue
        if line.startswith("+++ "):
            continue
        if line.startswith("@@"):
            flush()
            stack = []
            continue
        if not line or line[0] not in " +-":
            continue
        tag, body = line[0], line[1:]
        match = _DIFF_KEY.match(body)
        if match is None:
            continue
        indent = len(match.group(1)) + len(match.group(2))
        key, value = match.group(3).strip(), (match.group(4) or "").strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([*(k for _, k in stack), key])
        if not value or value in ("|", ">", "|-", ">-"):
            stack.append((indent, key))
            continue
        if tag == "-":
            removed[path] = value.strip("'\"")
        elif tag == "+":
            added[path] = value.strip("'\"")
    flush()
    return out


class _Builder:
    def __init__(self, incident_id: str, hints: PostmortemHints | None, runbook_problem: str | None) -> None:
        self.incident_id = incident_id
        self.hints = hints
        self.runbook_problem = runbook_problem
        self.opened: Mapping[str, Any] = {}
        self.opened_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.status = ""
        self.authors: dict[str, None] = {}
        self.milestones: dict[str, datetime] = {}
        self.milestone_text: dict[str, str] = {}
        self.milestone_count: dict[str, int] = {}
        self.milestone_source: dict[str, str] = {}
        self.timeline: list[TimelineEntry] = []
        self.intents: dict[tuple[str, int, int | None, str], _Intent] = {}
        self.actions: list[ExecutedAction] = []
        self.touched: set[str] = set()
        self.open_steps: dict[str, _Step] = {}
        self.failures: list[str] = []
        self.problems: list[str] = []
        self.notifications = 0
        self.count = 0
        self.last_hash = ""
        self.evidence: list[CheckEvidence] = []
        self.evidence_count = 0
        self.changes: list[Change] = []
        self.previews: dict[str, tuple[int, str]] = {}  # step -> (seq, diff) of its last preview
        self.changed_steps: set[str] = set()
        self.communications: list[Communication] = []
        self.responders: dict[str, Responder] = {}
        self.handovers: list[Handover] = []
        self.silences: list[SilenceRef] = []
        self.bookkeeping: dict[str, int] = {}
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None

    # ------------------------------------------------------------------ records

    def add(self, rec: RecordLike) -> None:
        self.count += 1
        self.last_hash = getattr(rec, "hash", "") or self.last_hash
        data = rec.data
        recorded = parse_time(rec.ts)
        actor = _s(rec.actor)
        if actor:
            self.authors.setdefault(actor, None)
        at, declared = self._event_time(rec.seq, recorded, data)
        kind = rec.type
        self.first_at = at if self.first_at is None or at < self.first_at else self.first_at
        self.last_at = at if self.last_at is None or at > self.last_at else self.last_at
        if kind == Event.RUNBOOK_ATTACHED:
            self.opened = {**self.opened, **data}
        if kind == Event.INCIDENT_OPENED:
            self.opened, self.opened_at = data, recorded
            if data.get("commander"):
                self.responders["commander"] = Responder(_s(data["commander"]), "commander", at, rec.seq)
        elif kind == Event.INCIDENT_CLOSED:
            self.closed_at = recorded
        elif kind == Event.INCIDENT_STATUS:
            self.status = _s(data.get("status"))
        elif kind == Event.INCIDENT_ROLES:
            self._roles(rec.seq, data, at)
        elif kind == Event.MILESTONE:
            self._milestone(rec.seq, data, at)
        elif kind == Event.STEP_INTENT:
            self.intents[self._action_key(data)] = _Intent(recorded, data, rec.seq)
        elif kind == Event.STEP_OUTCOME:
            self._outcome(rec.seq, data, recorded)
        elif kind == Event.STEP_PREVIEWED and data.get("diff"):
            self.previews[_s(data.get("step"))] = (rec.seq, str(data.get("diff")))
        elif kind == Event.CHECK_RESULT:
            self._evidence(rec.seq, data, recorded)
        if kind in _FOLDED or kind == Event.STEP_STARTED or kind in _ENDS:
            self._fold(rec.seq, kind, data, recorded, actor)
            return
        text, entry_kind, key = self._describe(kind, data, recorded)
        if not text:
            self.bookkeeping[kind] = self.bookkeeping.get(kind, 0) + 1
            return
        self.timeline.append(TimelineEntry(
            at=at, recorded_at=recorded, seq=rec.seq, kind=entry_kind, text=text, actor=actor,
            key=key, declared=declared, backdated=at != recorded, seqs=(rec.seq,),
            source=_s(data.get("source")) if kind == Event.MILESTONE else "",
        ))

    def _fold(self, seq: int, kind: str, d: Mapping[str, Any], recorded: datetime, actor: str) -> None:
        """A step's own records: gathered into one row, written when the step ends."""
        step_id = _s(d.get("step"))
        group = self.open_steps.get(step_id)
        if kind == Event.STEP_STARTED:
            if group is not None:  # a retry: the earlier run ended without an end record
                self._close(group, "ended without an outcome", recorded)
            self.open_steps[step_id] = _Step(step_id, _s(d.get("kind")), recorded, actor, [seq])
            return
        if group is None:
            group = self.open_steps[step_id] = _Step(step_id, "", recorded, actor, [])
        group.seqs.append(seq)
        self.bookkeeping[kind] = self.bookkeeping.get(kind, 0) + 1
        if kind == Event.CHECK_RESULT:
            group.polls += 1
            state = "as expected" if d.get("ok") else "NOT as expected"
            share = f"{_s(d.get('count'))} of {_s(d.get('listed'))} {_s(d.get('kind'))}" if d.get("listed") else (
                f"{_s(d.get('count'))} item(s)")
            msg = _s(d.get("message"))
            group.detail = f"{state}, {share}" + (f"; {msg}" if msg else "")
            if group.polls > 1:
                group.detail += f" ({group.polls} polls until {recorded:%H:%M:%S})"
        elif kind == Event.STEP_CONFIRMED:
            group.confirmed = "confirmed with the context typed" if d.get("typed") else "confirmed"
        elif kind == Event.STEP_OUTCOME:
            results = [r for r in d.get("results") or [] if isinstance(r, Mapping)]
            verb = _s(d.get("verb") or (self._last_action_verb(step_id)))
            ok = sum(1 for r in results if r.get("ok"))
            what = "rolled back" if d.get("rollback") else (verb or "changed")
            group.detail = f"{what} {ok}/{len(results)} target(s)" if results else group.detail
            if d.get("silence_id"):
                group.detail = f"silence {_s(d.get('silence_id'))}"
        elif kind in _ENDS:
            self.open_steps.pop(step_id, None)
            outcome = {Event.STEP_SUCCEEDED: "succeeded", Event.STEP_FAILED: "FAILED", Event.STEP_SKIPPED: "skipped",
                       Event.STEP_DECLINED: "declined", Event.STEP_UNKNOWN: "outcome unknown (interrupted)"}[Event(kind)]
            reason = _s(d.get("error") or d.get("reason"))
            if kind == Event.STEP_FAILED:
                self.failures.append(f"step `{step_id}` failed at {recorded:%H:%M:%S} UTC: {reason}")
            elif kind == Event.STEP_UNKNOWN:
                self.failures.append(f"step `{step_id}` was left with an unknown outcome (interrupted)")
            self._close(group, outcome + (f": {reason}" if reason else ""), recorded)

    def _last_action_verb(self, step_id: str) -> str:
        for action in reversed(self.actions):
            if action.step == step_id:
                return action.verb
        return ""

    def _close(self, group: _Step, outcome: str, recorded: datetime) -> None:
        if group.kind in ("notify", "manual", "decision") and outcome == "succeeded":
            return  # their own rows (the update sent, the decision) already say it
        parts = [p for p in (group.detail, group.confirmed) if p]
        kind = f" ({group.kind})" if group.kind else ""
        text = f"Step {group.step}{kind}: " + "; ".join([*parts, outcome])
        self.timeline.append(TimelineEntry(
            at=group.at, recorded_at=group.at, seq=group.seqs[0] if group.seqs else 0, kind="step", text=text,
            actor=group.actor, key=False, seqs=tuple(group.seqs)))

    def _event_time(self, seq: int, recorded: datetime,
                    data: Mapping[str, Any]) -> tuple[datetime, Declared | None]:
        raw_at, raw_declared = data.get("at"), data.get("declared")
        declared = None
        if raw_declared is not None and isinstance(raw_declared, Mapping):
            declared = Declared(
                text=_s(raw_declared.get("text")), tz=_s(raw_declared.get("tz")),
                zone=_s(raw_declared.get("zone")), utc_offset=_s(raw_declared.get("utc_offset")),
                mismatch=bool(raw_declared.get("mismatch")), note=_s(raw_declared.get("note")),
            )
        if not raw_at:
            return recorded, declared
        try:
            return parse_time(str(raw_at)), declared
        except ValueError:
            self.problems.append(f"record {seq}: unreadable backdated time {str(raw_at)!r}; "
                                 "placed at the time it was recorded")
            return recorded, declared

    def _milestone(self, seq: int, data: Mapping[str, Any], at: datetime) -> None:
        name = _s(data.get("name"))
        self.milestone_count[name] = self.milestone_count.get(name, 0) + 1
        if self.milestone_count[name] == 2:
            self.problems.append(f"milestone `{name}` was recorded more than once; the metrics use the "
                                 "last entry (a correction), the timeline shows all")
        self.milestones[name] = at
        self.milestone_text[name] = _s(data.get("text") or data.get("note"))
        self.milestone_source[name] = _s(data.get("source")) or "person"
        for warning in data.get("warnings") or []:
            self.problems.append(f"record {seq}: milestone out of order: {_s(warning)}")

    def _roles(self, seq: int, data: Mapping[str, Any], at: datetime) -> None:
        for role in ("commander", "scribe", "comms"):
            name = _s(data.get(role))
            if not name:
                continue
            before = self.responders.get(role)
            if before is not None and before.name != name:
                self.handovers.append(Handover(at, seq, role, before.name, name))
            self.responders[role] = Responder(name, role, at, seq)

    def _evidence(self, seq: int, d: Mapping[str, Any], recorded: datetime) -> None:
        step = _s(d.get("step"))
        rows = [r for r in d.get("rows") or [] if isinstance(r, Mapping)]
        columns = list(dict.fromkeys(str(k) for r in rows[:SHOWN_ROWS] for k in r))
        listed = d.get("listed")
        evidence = CheckEvidence(
            step=step, seq=seq, at=recorded, ok=bool(d.get("ok")),
            count=int(d["count"]) if isinstance(d.get("count"), int) else len(rows),
            listed=listed if isinstance(listed, int) and not isinstance(listed, bool) else None,
            kind=_s(d.get("kind")), columns=[_s(c) for c in columns],
            rows=[[_s(r.get(c, "")) for c in columns] for r in rows[:SHOWN_ROWS]],
            message=_s(d.get("message")), polls=int(d.get("polls") or 1) if isinstance(d.get("polls"), int) else 1)
        # A check polled many times keeps its last result only (the one that decided); a new run of
        # the step (step.started again) gets its own entry.
        group = self.open_steps.get(step)
        if group is not None and group.polls > 0 and self.evidence and self.evidence[-1].step == step:
            self.evidence[-1] = evidence
        elif len(self.evidence) < SHOWN_EVIDENCE:
            self.evidence.append(evidence)
        self.evidence_count += 1

    @staticmethod
    def _action_key(data: Mapping[str, Any]) -> tuple[str, int, int | None, str]:
        batch = data.get("batch")
        return (_s(data.get("step")), int(data.get("attempt") or 1),
                int(batch) if isinstance(batch, int) else None, _s(data.get("context")))

    def _outcome(self, seq: int, data: Mapping[str, Any], recorded: datetime) -> None:
        intent = self.intents.pop(self._action_key(data), None)
        source = intent.data if intent else data
        self.touched.update(str(t) for t in source.get("targets") or [])
        action = _executed(source, data, intent.at if intent else recorded, intent.seq if intent else seq)
        self.actions.append(action)
        step = action.step
        if data.get("silence_id"):
            self.silences.append(SilenceRef(step, seq, _s(data.get("silence_id")), _s(data.get("alertmanager")),
                                            _s((source.get("params") or {}).get("endsAt")
                                               if isinstance(source.get("params"), Mapping) else ""), False))
        if action.rollback and action.verb == "expireSilence":
            self.silences = [replace(x, expired=True) if x.step == step else x for x in self.silences]
        if (not action.rollback and action.outcome in ("succeeded", "partial") and step in self.previews
                and step not in self.changed_steps and len(self.changes) < SHOWN_CHANGES):
            self.changed_steps.add(step)
            preview_seq, diff = self.previews[step]
            for target, path, before, after in diff_changes(diff):
                self.changes.append(Change(step, preview_seq, _s(target), _s(path), _s(before), _s(after)))

    def _describe(self, kind: str, d: Mapping[str, Any], recorded: datetime) -> tuple[str, str, bool]:
        """Timeline text for an event type, or ``""`` for events the timeline leaves to the appendix."""
        step = _s(d.get("step"))
        if kind == Event.INCIDENT_OPENED:
            rb = f", runbook {_s(d.get('runbook'))}" if d.get("runbook") else ""
            return (f"Incident opened in mitigate: {_s(d.get('title'))} (severity {_s(d.get('severity')) or '?'}"
                    f"{rb})", "incident", True)
        if kind == Event.INCIDENT_CLOSED:
            return "Incident closed in mitigate", "incident", True
        if kind == Event.INCIDENT_REOPENED:
            return "Incident reopened", "incident", True
        if kind == Event.RUNBOOK_ATTACHED:
            return f"Runbook {_s(d.get('runbook'))} attached to the incident", "incident", True
        if kind == Event.INCIDENT_STATUS:
            why = (f" (follows the {_s(d.get('milestone'))} milestone)" if d.get("milestone") else
                   f" (follows the status update of step {_s(d.get('step'))})" if d.get("source") == "status-update"
                   else "")
            return f"Status: {_s(d.get('status'))}{why}", "status", True
        if kind == Event.INCIDENT_ROLES:
            held = ", ".join(f"{role} {_s(d.get(role))}" for role in ("commander", "scribe", "comms") if d.get(role))
            return f"Roles: {held}", "roles", False
        if kind == Event.MILESTONE:
            name = _s(d.get("name"))
            extra = _s(d.get("text") or d.get("note"))
            by = _s(d.get("source"))
            origin = {"runbook": f" (from runbook step {_s(d.get('step'))})" if d.get("step") else " (from the runbook)",
                      "drill": " (scenario health passed)", "import": " (imported)"}.get(by, "")
            return (f"Milestone {name}{origin}" + (f": {extra}" if extra else ""), "milestone",
                    name in KEY_MILESTONES)
        if kind == Event.NOTE:
            return _s(d.get("text")), "note", False
        if kind == Event.MANUAL_DONE:
            return f"Manual step {step} done", "step", False
        if kind == Event.DECISION:
            return f"Decision at {step}: chose {_s(d.get('choice'))}", "decision", False
        if kind == Event.GATE:
            if d.get("open"):
                return f"Gate {step} open", "step", False
            failed = ", ".join(_s(f) for f in d.get("failed") or [])
            return f"Gate {step} closed: {failed}", "step", False
        if kind in (Event.NOTIFY_SENT, Event.NOTIFY_FAILED):
            return self._communication(kind, d, recorded)
        if kind == Event.BATCH_CANCELLED:
            self.failures.append(f"batches of `{step}` cancelled after {_s(d.get('done'))}/{_s(d.get('total'))}")
            return (f"Batches of {step} cancelled after {_s(d.get('done'))}/{_s(d.get('total'))} targets",
                    "batch", False)
        if kind == Event.ROLLBACK_STARTED:
            self.failures.append("a rollback was started")
            steps = ", ".join(_s(x) for x in d.get("steps") or [])
            return f"Rollback started ({steps})" if steps else "Rollback started", "rollback", True
        if kind == Event.ROLLBACK_STEP:
            return f"Rolled back {step}: {'ok' if d.get('ok') else 'FAILED'}", "rollback", False
        if kind == Event.ROLLBACK_FINISHED:
            return "Rollback finished" + ("" if d.get("ok", True) else " (stopped)"), "rollback", True
        return "", "", False

    def _communication(self, kind: str, d: Mapping[str, Any], recorded: datetime) -> tuple[str, str, bool]:
        channel, status = _s(d.get("channel")), _s(d.get("status"))
        note = _s(d.get("message"))
        text = _s(d.get("text") or d.get("title"))
        drill = note.startswith("drill:")
        delivered = kind == Event.NOTIFY_SENT and bool(d.get("ok", True)) and not drill
        self.communications.append(Communication(recorded, 0, _s(d.get("step")), channel, status, text,
                                                 delivered, note))
        if kind == Event.NOTIFY_FAILED:
            self.failures.append(f"status update via {channel} failed: {note}")
            return f"Status update via {channel} FAILED: {note}", "notify", False
        self.notifications += 1
        verb = "recorded (drill), not sent" if drill else "sent"
        quoted = f': "{text}"' if text else ""
        return f"Status update ({status}) via {channel}, {verb}{quoted}", "notify", False

    # ------------------------------------------------------------------ result

    def finish(self, now: datetime) -> Postmortem:
        for group in list(self.open_steps.values()):
            self._close(group, "no outcome recorded (still running or interrupted)", group.at)
        self.open_steps.clear()
        for intent in self.intents.values():  # write-ahead intent with no outcome: interrupted
            self.touched.update(str(t) for t in intent.data.get("targets") or [])
            self.actions.append(_executed(intent.data, None, intent.at, intent.seq))
        self.actions.sort(key=lambda a: a.at)
        self.timeline.sort(key=lambda e: (e.at, e.seq))
        # communications got seq 0 while being built (the timeline row has it): fill it in
        notify_rows = [e for e in self.timeline if e.kind == "notify"]
        by_time = sorted(self.communications, key=lambda c: c.at)
        self.communications = [replace(c, seq=row.seq) for c, row in zip(by_time, sorted(
            notify_rows, key=lambda e: e.recorded_at), strict=False)]
        self._flag_rollbacks()
        o = self.opened
        hints = self.hints
        sections: dict[str, Any] = self._sections(hints)
        first = self.timeline[0].at if self.timeline else None
        last = self.timeline[-1].at if self.timeline else None
        rb_problem = self.runbook_problem
        if not o.get("runbook"):
            rb_problem = rb_problem or "the journal names no runbook"
        runbook = RunbookRef(name=_s(o.get("runbook")), version=_s(o.get("runbook_version")),
                             path=_s(o.get("runbook_path")), source="", hints_loaded=hints is not None,
                             problem=rb_problem)
        if not o:
            self.problems.append("the journal has no `incident.opened` record: title, severity and runbook "
                                 "are unknown")
        return Postmortem(
            id=self.incident_id, title=_s(o.get("title")), severity=_s(o.get("severity")),
            commander=self._commander(), status=self.status, drill=bool(o.get("drill")),
            scenario=_s(o.get("scenario")), contexts=[_s(c) for c in o.get("contexts") or []],
            opened_at=self.opened_at, closed_at=self.closed_at, first_event=first, last_event=last,
            generated_at=now, authors=list(self.authors), runbook=runbook,
            **sections,
            timeline=self.timeline, metrics=compute_metrics(self.milestones),
            action_groups=self._action_groups(hints), actions=self.actions,
            milestones=dict(self.milestones), problems=self.problems, record_count=self.count,
            evidence=self.evidence, changes=self.changes, communications=self.communications,
            responders=list(self.responders.values()), handovers=self.handovers, silences=self.silences,
            duration=self._duration(), bookkeeping=dict(sorted(self.bookkeeping.items())),
            journal_head=self.last_hash,
        )

    def _commander(self) -> str:
        held = self.responders.get("commander")
        return held.name if held else _s(self.opened.get("commander"))

    def _flag_rollbacks(self) -> None:
        rolled = [a for a in self.actions if a.rollback]
        if not rolled:
            return
        when = rolled[0].at
        for name in ("resolved", "mitigated"):
            at = self.milestones.get(name)
            if at is not None and at <= when:
                self.problems.append(
                    f"changes were rolled back at {when:%Y-%m-%d %H:%M:%S} UTC, after the incident was marked "
                    f"{name} at {at:%Y-%m-%d %H:%M:%S} UTC: check that the mitigation still holds")
                return

    def _duration(self) -> Metric | None:
        start_name = "impact-start" if "impact-start" in self.milestones else "opened"
        start = self.milestones.get("impact-start") or self.opened_at or self.first_at
        end: datetime | None
        if "resolved" in self.milestones:
            end_name, end = "resolved", self.milestones["resolved"]
        elif self.closed_at is not None:
            end_name, end = "closed", self.closed_at
        else:
            end_name, end = "last event (still open)", self.last_at
        if start is None or end is None:
            return None
        seconds = (end - start).total_seconds()
        if seconds < 0:
            return Metric("duration", "Duration", f"from {start_name} to {end_name}", start_name, end_name, None,
                          "flagged", f"flagged: {end_name} is before {start_name}")
        return Metric("duration", "Duration", f"from {start_name} to {end_name}", start_name, end_name, seconds,
                      "ok", format_duration(seconds))

    def _at(self, name: str) -> str:
        return f"{self.milestones[name]:%Y-%m-%d %H:%M:%S} UTC" if name in self.milestones else ""

    def _sections(self, hints: PostmortemHints | None) -> dict[str, Section]:
        h = hints or PostmortemHints()
        o = self.opened
        summary_facts = []
        if o.get("title"):
            summary_facts.append(f"Incident: {_s(o.get('title'))} (severity {_s(o.get('severity')) or '?'})")
        if o.get("drill"):
            summary_facts.append(f"This was a drill against the sandbox scenario `{_s(o.get('scenario'))}`.")
        duration = self._duration()
        if duration is not None and duration.seconds is not None:
            summary_facts.append(f"Duration: {duration.display} ({duration.definition}).")
        impact_facts = []
        if "impact-start" in self.milestones:
            end = self._at("resolved") or self._at("mitigated")
            impact_facts.append(f"Impact started {self._at('impact-start')}"
                                + (f"; it ended (mitigated/resolved) by {end}." if end else "."))
        for ev in self.evidence:
            if ev.share:
                impact_facts.append(f"Check `{ev.step}` found {ev.share} (journal #{ev.seq}).")
        if o.get("contexts"):
            impact_facts.append("Clusters (contexts) acted on: " + ", ".join(_s(c) for c in o["contexts"]))
        if self.touched:
            impact_facts.append(f"mitigate acted on {len(self.touched)} object(s); outcomes are in the appendix.")
        detection_facts = [f"{label} {self._at(name)}" + (f": {self.milestone_text[name]}"
                                                           if self.milestone_text.get(name) else "")
                           + self._origin(name)
                           for name, label in (("detected", "Detected"), ("acknowledged", "Acknowledged"))
                           if name in self.milestones]
        mitigation_facts = []
        if "mitigated" in self.milestones:
            mitigation_facts.append(f"Mitigated {self._at('mitigated')}"
                                    + (f": {self.milestone_text['mitigated']}"
                                       if self.milestone_text.get("mitigated") else "") + self._origin("mitigated"))
        done = [a for a in self.actions if a.outcome == "succeeded" and not a.rollback]
        if done:
            mitigation_facts.append(f"{len(done)} change(s) succeeded: "
                                    + ", ".join(dict.fromkeys(f"{a.step} ({a.verb})" for a in done)))
        for change in self.changes[:20]:
            mitigation_facts.append(f"{change.step}: `{change.field}` {change.before} → {change.after} on "
                                    f"{change.target} (journal #{change.seq})")
        undone = [a for a in self.actions if a.rollback]
        if undone:
            mitigation_facts.append(f"Rolled back afterwards ({len(undone)} undo action(s), not mitigations): "
                                    + ", ".join(dict.fromkeys(f"{a.step} ({a.verb})" for a in undone)))
        for silence in self.silences:
            state = "expired by the rollback" if silence.expired else (
                f"until {silence.ends_at}" if silence.ends_at else "active")
            mitigation_facts.append(f"Silence `{silence.silence_id}` on Alertmanager {silence.alertmanager or '?'} "
                                    f"({state}; step {silence.step}, journal #{silence.seq})")
        return {
            "summary": Section("Summary", summary_facts, [
                h.summaryPrompt or "Summarise in two or three sentences what happened, who was affected, "
                                   "for how long, and how it was fixed."]),
            "impact": Section("Impact", impact_facts, [
                *h.impactQuestions,
                "Who and what was affected (customers, regions, services), how badly, and for how long?"]),
            "detection": Section("Detection", detection_facts, [
                "How was the problem detected (alert, customer report, dashboard)? Could it have been "
                "detected sooner?"]),
            "trigger": Section("Trigger", [], ["What change or event set the incident off?"]),
            "root_cause": Section("Root cause", [], [
                *h.rootCausePrompts, "What is the underlying cause, and why was it possible?"]),
            "contributing": Section("Contributing factors", [], [
                *h.contributingFactorPrompts, "What made the impact larger, longer or harder to see?"]),
            "mitigation": Section("Mitigation", mitigation_facts, [
                "What stopped the impact, and why was that the right call at the time?"]),
            "permanent_fix": Section("Permanent fix", [], [
                "What removes the root cause for good, and when will it be in place?"]),
            "went_well": Section("What went well", [], ["What helped: tooling, people, process?"]),
            "went_badly": Section("What went badly", list(self.failures), [
                "What slowed us down or made things worse?"]),
            "lucky": Section("Where we got lucky", [], [
                "What went right by chance and would not have next time?"]),
            "lessons": Section("Lessons learned", [], [
                *(f"Consider: {lesson}" for lesson in h.lessons),
                "What do we now know that we did not know before?"]),
        }

    def _origin(self, name: str) -> str:
        source = self.milestone_source.get(name, "person")
        return {"runbook": " (marked by the runbook)", "drill": " (marked when the scenario's health passed)",
                "import": " (imported)"}.get(source, " (marked by a person)")

    @staticmethod
    def _action_groups(hints: PostmortemHints | None) -> list[ActionGroup]:
        items = hints.actionItems if hints else []
        return [ActionGroup(horizon, title, [
            ActionItem(title=i.title, horizon=i.horizon, owner=i.owner, priority=i.priority, due=None,
                       status="open")
            for i in items if i.horizon == horizon]) for horizon, title in HORIZONS]


SHOWN_TARGETS = 20
SHOWN_FAILURES = 20
SHOWN_BACKUPS = 50


def _executed(intent: Mapping[str, Any], outcome: Mapping[str, Any] | None, at: datetime,
              seq: int = 0) -> ExecutedAction:
    results = [r for r in (outcome or {}).get("results") or [] if isinstance(r, dict) or isinstance(r, Mapping)]
    ok_count = sum(1 for r in results if r.get("ok"))
    failed_raw = [r for r in results if not r.get("ok")]
    failed = [TargetResult(_s(r.get("target")), False, _s(r.get("message"))) for r in failed_raw[:SHOWN_FAILURES]]
    backups_raw = [r.get("backup") for r in results if r.get("backup")]
    targets = intent.get("targets") or []
    if outcome is None:
        state = "unknown"
    elif failed_raw and ok_count:
        state = "partial"
    elif failed_raw or not outcome.get("ok"):
        state = "failed"
    else:
        state = "succeeded"
    batch = intent.get("batch")
    kubectl = intent.get("kubectl") or []
    return ExecutedAction(
        at=at, step=_s(intent.get("step")), attempt=int(intent.get("attempt") or 1),
        batch=batch if isinstance(batch, int) else None,
        context=_s(intent.get("context")) or (f"alertmanager {_s(intent['alertmanager'])}"
                                              if intent.get("alertmanager") else ""),
        verb=_s(intent.get("verb")), description=_s(intent.get("description")),
        kubectl=[_s(k) for k in ([kubectl] if isinstance(kubectl, str) else kubectl)],
        targets=[_s(t) for t in targets[:SHOWN_TARGETS]], target_count=len(targets),
        outcome=state, ok_count=ok_count, failed=failed, failed_count=len(failed_raw),
        backups=[_s(b) for b in backups_raw[:SHOWN_BACKUPS]], backup_count=len(backups_raw),
        undo=[_describe_undo(u) for u in (outcome or {}).get("undo") or []],
        seq=seq, rollback=bool(intent.get("rollback") or (outcome or {}).get("rollback")),
    )


def _describe_undo(undo: Any) -> str:
    if isinstance(undo, Mapping):
        verb = _s(undo.get("verb"))
        ctx = _s(undo.get("context"))
        return f"{verb} on {ctx}".strip() if ctx else verb or _s(undo)
    return _s(undo)


def build_postmortem(records: Iterable[RecordLike], runbook_hints: PostmortemHints | None = None, *,
                     now: datetime | None = None, incident_id: str = "",
                     runbook_problem: str | None = None, problems: Iterable[str] = ()) -> Postmortem:
    """The postmortem draft for a journal's records (in ``seq`` order).

    ``runbook_hints`` prefill prompts and action items; ``runbook_problem``
    says why they are missing (runbook moved, invalid) so the draft can tell
    the author; ``problems`` are notes about the journal itself (failed
    verification, torn tail). ``now`` stamps the draft (fixed in tests).
    """
    builder = _Builder(incident_id, runbook_hints, runbook_problem)
    builder.problems.extend(problems)
    for rec in records:
        builder.add(rec)
    return builder.finish(now or datetime.now(UTC))
