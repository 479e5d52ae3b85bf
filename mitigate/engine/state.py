"""Session state, derived from journal records by one reducer.

The journal is the source of truth: the live session applies each record it
appends with :func:`apply`, and resume folds every record with :func:`fold`.
Both use the same code, so "resume from the journal alone" cannot drift from
what the live session believed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mitigate.events import (
    DONE_STATUSES,
    HALTING_STATUSES,
    OUTCOME_FIELDS,
    WHOLE,
    Event,
    IntentKey,
    RecordLike,
    StepStatus,
    intent_key,
    outcome_base,
)

__all__ = ["DONE_STATUSES", "HALTING_STATUSES", "OUTCOME_FIELDS", "WHOLE", "IntentKey", "RecordLike",
           "SessionState", "StepRecord", "StepStatus", "apply", "fold", "intent_key", "outcome_base"]


@dataclass
class StepRecord:
    """What the journal says about one step."""

    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    choice: str | None = None
    open_intents: dict[IntentKey, dict[str, Any]] = field(default_factory=dict)
    done: set[tuple[str, str]] = field(default_factory=set)  # (context, unit) applied
    failed_units: set[tuple[str, str]] = field(default_factory=set)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    undo: list[list[dict[str, Any]]] = field(default_factory=list)  # one group per outcome, in order
    undo_refs: list[dict[str, Any] | None] = field(default_factory=list)  # each group's full copy (backups)
    undo_targets: list[list[tuple[str, str]]] = field(default_factory=list)
    """Each group's (context, target) pairs: what its outcome and intent say the step acted on."""
    api_errors_absorbed: int = 0
    last_applied_seq: int = 0  # orders rollback: most recently applied first
    before_rollback: StepStatus | None = None  # while its undo awaits confirmation: the status to go back to

    def done_units(self, context: str) -> set[str]:
        return {unit for ctx, unit in self.done if ctx == context}

    def snapshot(self) -> StepRecord:
        """A copy that later records do not change (what a step kind is handed)."""
        return replace(self, result=dict(self.result) if self.result is not None else None,
                       open_intents=dict(self.open_intents), done=set(self.done),
                       failed_units=set(self.failed_units), outcomes=list(self.outcomes),
                       undo=[list(group) for group in self.undo], undo_refs=list(self.undo_refs),
                       undo_targets=[list(group) for group in self.undo_targets])


@dataclass
class SessionState:
    opened: dict[str, Any] = field(default_factory=dict)
    opened_ts: str = ""
    steps: dict[str, StepRecord] = field(default_factory=dict)
    status: str = "investigating"
    milestones: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    rollback: str = ""  # "", "running", "finished", "stopped"
    closed: bool = False
    last_step_ts: str = ""
    api_errors_absorbed: int = 0

    def step(self, step_id: str) -> StepRecord:
        return self.steps.setdefault(step_id, StepRecord())


def _apply_outcome(state: SessionState, rec: StepRecord, seq: int, data: Mapping[str, Any]) -> None:
    key = intent_key(data)
    intent = rec.open_intents.pop(key, {})
    context = key[0]
    units = [str(u) for u in (data.get("items") or intent.get("items") or [WHOLE])]
    results = data.get("results") or []
    ok_targets = {str(r.get("target")) for r in results if r.get("ok")}
    bad_targets = {str(r.get("target")) for r in results if not r.get("ok")}

    def matches(unit: str, targets: set[str]) -> bool:
        return unit in targets or any(t.endswith("/" + unit) for t in targets)

    rollback = key[3]
    for unit in units:
        applied = bool(data.get("ok")) and not matches(unit, bad_targets) or matches(unit, ok_targets)
        if rollback:
            if applied:
                rec.done.discard((context, unit))
            continue
        if applied:
            rec.done.add((context, unit))
            rec.failed_units.discard((context, unit))
            rec.last_applied_seq = seq
        else:
            rec.failed_units.add((context, unit))
    absorbed = int(data.get("api_errors_absorbed") or 0)
    rec.api_errors_absorbed += absorbed
    state.api_errors_absorbed += absorbed
    rec.outcomes.append(dict(data))
    if not rollback and data.get("undo"):
        rec.undo.append(list(data["undo"]))
        ref = data.get("undo_backup")
        rec.undo_refs.append(dict(ref) if isinstance(ref, dict) else None)
        named = [r.get("target") for r in results] + list(intent.get("targets") or [])
        rec.undo_targets.append(sorted({(context, str(t)) for t in named if t}))


def apply(state: SessionState, record: RecordLike) -> SessionState:
    """Apply one journal record to ``state`` (in place) and return it."""
    kind, data = record.type, record.data
    step_id = str(data.get("step", ""))
    if kind == Event.INCIDENT_OPENED:
        state.opened, state.opened_ts = dict(data), record.ts
    elif kind == Event.RUNBOOK_ATTACHED:  # an incident opened without a runbook gets one later
        state.opened.update(data)
    elif kind == Event.INCIDENT_STATUS:
        state.status = str(data.get("status", state.status))
    elif kind == Event.INCIDENT_CLOSED:
        state.closed = True
    elif kind == Event.MILESTONE:
        state.milestones.append({**data, "ts": record.ts})
    elif kind == Event.NOTE:
        state.notes.append({**data, "ts": record.ts})
    elif kind == Event.ROLLBACK_STARTED:
        state.rollback = "running"
    elif kind == Event.ROLLBACK_FINISHED:
        state.rollback = "finished" if data.get("ok", True) else "stopped"
        if data.get("ok", True) and not data.get("only"):
            # the runbook was abandoned where it failed: that no longer halts (a one-step rollback
            # leaves the other steps as they are)
            for rec in state.steps.values():
                if rec.status in HALTING_STATUSES and not rec.open_intents:
                    rec.status = StepStatus.ROLLED_BACK
    elif step_id:
        _apply_step(state, state.step(step_id), record)
    return state


def _apply_step(state: SessionState, rec: StepRecord, record: RecordLike) -> None:
    kind, data = record.type, record.data
    if kind == Event.STEP_STARTED:
        rec.status, rec.error, rec.reason = StepStatus.RUNNING, None, None
        rec.attempts = max(rec.attempts, int(data.get("attempt", rec.attempts + 1)))
    elif kind == Event.STEP_PREVIEWED:
        if rec.status not in (StepStatus.RUNNING, StepStatus.AWAITING):
            rec.status = StepStatus.PREVIEWED
    elif kind == Event.STEP_AWAITING_CONFIRMATION:
        if data.get("kind") == "rollback":  # asking to undo a step does not change what the step did
            rec.before_rollback = rec.status
        rec.status = StepStatus.AWAITING
    elif kind == Event.STEP_CONFIRMED:
        rec.status, rec.before_rollback = StepStatus.RUNNING, None
    elif kind == Event.STEP_DECLINED and data.get("kind") == "rollback" and rec.before_rollback is not None:
        rec.status, rec.before_rollback = rec.before_rollback, None  # a declined undo leaves the step as it was
    elif kind == Event.STEP_DECLINED:
        rec.status, rec.error = StepStatus.PREVIEWED, f"declined: {data.get('reason', '')}".rstrip(": ")
    elif kind == Event.STEP_INTENT:
        rec.status = StepStatus.RUNNING
        rec.open_intents[intent_key(data)] = dict(data)
    elif kind == Event.STEP_OUTCOME:
        _apply_outcome(state, rec, record.seq, data)
    elif kind == Event.STEP_SUCCEEDED:
        rec.status, rec.error = StepStatus.SUCCEEDED, data.get("error")
        if "result" in data:
            rec.result = data["result"]
        state.last_step_ts = record.ts
    elif kind == Event.STEP_FAILED:
        rec.status, rec.error = StepStatus.FAILED, str(data.get("error", "failed"))
        if "result" in data:
            rec.result = data["result"]
        state.last_step_ts = record.ts
    elif kind == Event.STEP_SKIPPED:
        rec.status, rec.reason = StepStatus.SKIPPED, str(data.get("reason", ""))
        state.last_step_ts = record.ts
    elif kind == Event.STEP_UNKNOWN:
        rec.status = StepStatus.UNKNOWN
        rec.error = str(data.get("error") or
                        "outcome unknown (the session stopped between intent and outcome): recheck it")
    elif kind == Event.CHECK_RESULT:
        rec.result = dict(data)
    elif kind == Event.MANUAL_DONE:
        rec.status = StepStatus.SUCCEEDED
        state.last_step_ts = record.ts
    elif kind == Event.DECISION:
        rec.choice, rec.status = str(data.get("choice")), StepStatus.SUCCEEDED
        rec.result = {"choice": rec.choice}
        state.last_step_ts = record.ts
    elif kind == Event.GATE:
        rec.result = dict(data)
    elif kind == Event.ROLLBACK_STEP:
        if data.get("ok"):
            rec.status, rec.undo, rec.undo_refs, rec.error = StepStatus.ROLLED_BACK, [], [], None
            rec.undo_targets = []
            rec.done.clear()
        else:
            rec.error = f"rollback: {data.get('message', 'failed')}"


def fold(records: Iterable[RecordLike]) -> SessionState:
    """The state after ``records``, in order. The only way state is derived."""
    state = SessionState()
    for record in records:
        apply(state, record)
    return state
