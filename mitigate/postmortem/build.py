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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from mitigate.journal.redact import redact, redact_text
from mitigate.postmortem.metrics import compute_metrics
from mitigate.postmortem.model import (
    ActionGroup,
    ActionItem,
    Declared,
    ExecutedAction,
    Postmortem,
    RunbookRef,
    Section,
    TargetResult,
    TimelineEntry,
)
from mitigate.runbook.model import PostmortemHints

HORIZONS = (("immediate", "Immediate"), ("short-term", "Short-term"), ("mid-term", "Mid-term"))
KEY_MILESTONES = ("impact-start", "detected", "acknowledged", "mitigated", "resolved")


class RecordLike(Protocol):
    """What the builder reads from a journal record (``mitigate.journal.Record`` fits)."""

    @property
    def seq(self) -> int: ...
    @property
    def ts(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


def parse_time(text: str) -> datetime:
    """RFC 3339 -> aware UTC datetime (naive input is taken as UTC)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_redact_cached = lru_cache(maxsize=65536)(redact_text)


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


@dataclass
class _Polls:
    """A run of consecutive results of one check, so far."""

    step: str
    count: int
    last_at: datetime
    last_text: str


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
        self.timeline: list[TimelineEntry] = []
        self.intents: dict[tuple[str, int, int | None, str], _Intent] = {}
        self.actions: list[ExecutedAction] = []
        self.touched: set[str] = set()
        self.polls: _Polls | None = None
        self.failures: list[str] = []
        self.problems: list[str] = []
        self.notifications = 0
        self.count = 0

    # ------------------------------------------------------------------ records

    def add(self, rec: RecordLike) -> None:
        self.count += 1
        data = rec.data
        recorded = parse_time(rec.ts)
        actor = _s(rec.actor)
        if actor:
            self.authors.setdefault(actor, None)
        at, declared = self._event_time(rec.seq, recorded, data)
        kind = rec.type
        text, entry_kind, key = self._describe(kind, data, recorded)
        if kind == "incident.opened":
            self.opened, self.opened_at = data, recorded
        elif kind == "incident.closed":
            self.closed_at = recorded
        elif kind == "incident.status":
            self.status = _s(data.get("status"))
        elif kind == "milestone":
            self._milestone(rec.seq, data, at)
        elif kind == "step.intent":
            self.intents[self._action_key(data)] = _Intent(recorded, data)
        elif kind == "step.outcome":
            self._outcome(data, recorded)
        if not text:
            return
        step = _s(data.get("step")) if kind == "check.result" else None
        polls = self.polls
        if step is not None and polls is not None and polls.step == step:
            # Repeated polls of one check (a wait step, a health gate) collapse into one line,
            # written once when the run of polls ends (see _end_polls).
            polls.count, polls.last_at, polls.last_text = polls.count + 1, recorded, text
            return
        self._end_polls()
        self.polls = _Polls(step, 1, recorded, text) if step is not None else None
        self.timeline.append(TimelineEntry(
            at=at, recorded_at=recorded, seq=rec.seq, kind=entry_kind, text=text, actor=actor,
            key=key, declared=declared, backdated=at != recorded,
        ))

    def _end_polls(self) -> None:
        """Rewrite the first entry of a finished run of polls as its summary."""
        polls = self.polls
        if polls is not None and polls.count > 1:
            result = polls.last_text[len("Check ") + len(polls.step) + 2:]
            self.timeline[-1] = replace(self.timeline[-1], text=(
                f"Check {polls.step} polled {polls.count} times until {polls.last_at:%H:%M:%S}; "
                f"last result: {result}"))
        self.polls = None

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

    @staticmethod
    def _action_key(data: Mapping[str, Any]) -> tuple[str, int, int | None, str]:
        batch = data.get("batch")
        return (_s(data.get("step")), int(data.get("attempt") or 1),
                int(batch) if isinstance(batch, int) else None, _s(data.get("context")))

    def _outcome(self, data: Mapping[str, Any], recorded: datetime) -> None:
        intent = self.intents.pop(self._action_key(data), None)
        self.touched.update(str(t) for t in (intent.data if intent else data).get("targets") or [])
        self.actions.append(_executed(intent.data if intent else data, data,
                                      intent.at if intent else recorded))

    def _describe(self, kind: str, d: Mapping[str, Any], recorded: datetime) -> tuple[str, str, bool]:
        """Timeline text for an event type, or ``""`` for events the timeline leaves to the appendix."""
        step = _s(d.get("step"))
        if kind == "incident.opened":
            rb = f", runbook {_s(d.get('runbook'))}" if d.get("runbook") else ""
            return (f"Incident opened in mitigate: {_s(d.get('title'))} (severity {_s(d.get('severity')) or '?'}"
                    f"{rb})", "incident", True)
        if kind == "incident.closed":
            return "Incident closed in mitigate", "incident", True
        if kind == "incident.status":
            return f"Status: {_s(d.get('status'))}", "status", True
        if kind == "milestone":
            name = _s(d.get("name"))
            extra = _s(d.get("text") or d.get("note"))
            return (f"Milestone {name}" + (f": {extra}" if extra else ""), "milestone",
                    name in KEY_MILESTONES)
        if kind == "note":
            return _s(d.get("text")), "note", False
        if kind == "step.succeeded":
            return f"Step {step} succeeded", "step", False
        if kind == "step.failed":
            self.failures.append(f"step `{step}` failed at {recorded:%H:%M:%S} UTC: {_s(d.get('error'))}")
            return f"Step {step} failed: {_s(d.get('error'))}", "step", False
        if kind == "step.skipped":
            return f"Step {step} skipped: {_s(d.get('reason'))}", "step", False
        if kind == "step.unknown":
            self.failures.append(f"step `{step}` was left with an unknown outcome (interrupted)")
            return f"Step {step}: outcome unknown (interrupted), re-checked on resume", "step", False
        if kind == "step.declined":
            return f"Step {step} declined: {_s(d.get('reason'))}", "step", False
        if kind == "manual.done":
            return f"Manual step {step} done", "step", False
        if kind == "decision":
            return f"Decision at {step}: {_s(d.get('choice'))}", "step", False
        if kind == "gate":
            if d.get("open"):
                return f"Gate {step} open", "step", False
            failed = ", ".join(_s(f) for f in d.get("failed") or [])
            return f"Gate {step} closed: {failed}", "step", False
        if kind == "check.result":
            state = "as expected" if d.get("ok") else "NOT as expected"
            msg = _s(d.get("message"))
            return (f"Check {step}: {state}, {_s(d.get('count'))} item(s)" + (f"; {msg}" if msg else ""),
                    "step", False)
        if kind == "notify.sent":
            self.notifications += 1
            return (f"Status update sent via {_s(d.get('channel'))} ({_s(d.get('status'))}): "
                    f"{_s(d.get('message'))}", "notify", False)
        if kind == "notify.failed":
            self.failures.append(f"status update via {_s(d.get('channel'))} failed: {_s(d.get('message'))}")
            return f"Status update via {_s(d.get('channel'))} FAILED: {_s(d.get('message'))}", "notify", False
        if kind == "batch.cancelled":
            self.failures.append(f"batches of `{step}` cancelled after {_s(d.get('done'))}/{_s(d.get('total'))}")
            return (f"Batches of {step} cancelled after {_s(d.get('done'))}/{_s(d.get('total'))} targets",
                    "batch", False)
        if kind == "rollback.started":
            self.failures.append("a rollback was started")
            return "Rollback started", "rollback", True
        if kind == "rollback.step":
            return f"Rolled back {step}: {'ok' if d.get('ok') else 'FAILED'}", "rollback", False
        if kind == "rollback.finished":
            return "Rollback finished", "rollback", True
        return "", "", False

    # ------------------------------------------------------------------ result

    def finish(self, now: datetime) -> Postmortem:
        self._end_polls()
        for intent in self.intents.values():  # write-ahead intent with no outcome: interrupted
            self.touched.update(str(t) for t in intent.data.get("targets") or [])
            self.actions.append(_executed(intent.data, None, intent.at))
        self.actions.sort(key=lambda a: a.at)
        self.timeline.sort(key=lambda e: (e.at, e.seq))
        o = self.opened
        hints = self.hints
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
            commander=_s(o.get("commander")), status=self.status, drill=bool(o.get("drill")),
            scenario=_s(o.get("scenario")), contexts=[_s(c) for c in o.get("contexts") or []],
            opened_at=self.opened_at, closed_at=self.closed_at, first_event=first, last_event=last,
            generated_at=now, authors=list(self.authors), runbook=runbook,
            **self._sections(hints),
            timeline=self.timeline, metrics=compute_metrics(self.milestones),
            action_groups=self._action_groups(hints), actions=self.actions,
            milestones=dict(self.milestones), problems=self.problems, record_count=self.count,
        )

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
        impact_facts = []
        if "impact-start" in self.milestones:
            end = self._at("resolved") or self._at("mitigated")
            impact_facts.append(f"Impact started {self._at('impact-start')}"
                                + (f"; it ended (mitigated/resolved) by {end}." if end else "."))
        if o.get("contexts"):
            impact_facts.append("Clusters (contexts) acted on: " + ", ".join(_s(c) for c in o["contexts"]))
        if self.touched:
            impact_facts.append(f"mitigate acted on {len(self.touched)} object(s); outcomes are in the appendix.")
        detection_facts = [f"{label} {self._at(name)}" + (f": {self.milestone_text[name]}"
                                                           if self.milestone_text.get(name) else "")
                           for name, label in (("detected", "Detected"), ("acknowledged", "Acknowledged"))
                           if name in self.milestones]
        mitigation_facts = []
        if "mitigated" in self.milestones:
            mitigation_facts.append(f"Mitigated {self._at('mitigated')}"
                                    + (f": {self.milestone_text['mitigated']}"
                                       if self.milestone_text.get("mitigated") else ""))
        done = [a for a in self.actions if a.outcome == "succeeded"]
        if done:
            mitigation_facts.append(f"{len(done)} action(s) succeeded: "
                                    + ", ".join(dict.fromkeys(f"{a.step} ({a.verb})" for a in done)))
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


def _executed(intent: Mapping[str, Any], outcome: Mapping[str, Any] | None, at: datetime) -> ExecutedAction:
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
