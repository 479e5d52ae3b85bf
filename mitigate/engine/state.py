"""Session state, derived from journal records by one reducer.

The journal is the source of truth: the live session applies each record it
appends with :func:`apply`, and resume folds every record with :func:`fold`.
Both use the same code, so "resume from the journal alone" cannot drift from
what the live session believed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol


class StepStatus(StrEnum):
    PENDING = "pending"
    PREVIEWED = "previewed"
    AWAITING = "awaiting-confirmation"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    ROLLED_BACK = "rolled-back"


DONE_STATUSES = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.ROLLED_BACK})
HALTING_STATUSES = frozenset({StepStatus.FAILED, StepStatus.UNKNOWN})
WHOLE = "*"
"""The unit name of an action that has no target list (one request = one unit)."""


class RecordLike(Protocol):
    """The parts of a journal record the reducer reads."""

    @property
    def seq(self) -> int: ...

    @property
    def ts(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


IntentKey = tuple[str, int, int, bool]
"""(context, attempt, batch, rollback): pairs a ``step.intent`` with its ``step.outcome``."""


def intent_key(data: Mapping[str, Any]) -> IntentKey:
    return (str(data.get("context", "")), int(data.get("attempt", 0)), int(data.get("batch", 0)),
            bool(data.get("rollback", False)))


OUTCOME_FIELDS = ("step", "attempt", "batch", "context", "items", "rollback")
"""What a ``step.outcome`` repeats of its ``step.intent``: the intent key, the step and its units."""


def outcome_base(intent: Mapping[str, Any]) -> dict[str, Any]:
    """The start of the ``step.outcome`` that answers ``intent``."""
    return {k: intent[k] for k in OUTCOME_FIELDS if k in intent}


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
                       undo=[list(group) for group in self.undo], undo_refs=list(self.undo_refs))


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
    last_ts: str = ""
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


def apply(state: SessionState, record: RecordLike) -> SessionState:
    """Apply one journal record to ``state`` (in place) and return it."""
    kind, data = record.type, record.data
    state.last_ts = record.ts
    step_id = str(data.get("step", ""))
    if kind == "incident.opened":
        state.opened, state.opened_ts = dict(data), record.ts
    elif kind == "runbook.attached":  # an incident opened without a runbook gets one later
        state.opened.update(data)
    elif kind == "incident.status":
        state.status = str(data.get("status", state.status))
    elif kind == "incident.closed":
        state.closed = True
    elif kind == "milestone":
        state.milestones.append({**data, "ts": record.ts})
    elif kind == "note":
        state.notes.append({**data, "ts": record.ts})
    elif kind == "rollback.started":
        state.rollback = "running"
    elif kind == "rollback.finished":
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
    if kind == "step.started":
        rec.status, rec.error, rec.reason = StepStatus.RUNNING, None, None
        rec.attempts = max(rec.attempts, int(data.get("attempt", rec.attempts + 1)))
    elif kind == "step.previewed":
        if rec.status not in (StepStatus.RUNNING, StepStatus.AWAITING):
            rec.status = StepStatus.PREVIEWED
    elif kind == "step.awaiting_confirmation":
        if data.get("kind") == "rollback":  # asking to undo a step does not change what the step did
            rec.before_rollback = rec.status
        rec.status = StepStatus.AWAITING
    elif kind == "step.confirmed":
        rec.status, rec.before_rollback = StepStatus.RUNNING, None
    elif kind == "step.declined" and data.get("kind") == "rollback" and rec.before_rollback is not None:
        rec.status, rec.before_rollback = rec.before_rollback, None  # a declined undo leaves the step as it was
    elif kind == "step.declined":
        rec.status, rec.error = StepStatus.PREVIEWED, f"declined: {data.get('reason', '')}".rstrip(": ")
    elif kind == "step.intent":
        rec.status = StepStatus.RUNNING
        rec.open_intents[intent_key(data)] = dict(data)
    elif kind == "step.outcome":
        _apply_outcome(state, rec, record.seq, data)
    elif kind == "step.succeeded":
        rec.status, rec.error = StepStatus.SUCCEEDED, data.get("error")
        if "result" in data:
            rec.result = data["result"]
        state.last_step_ts = record.ts
    elif kind == "step.failed":
        rec.status, rec.error = StepStatus.FAILED, str(data.get("error", "failed"))
        if "result" in data:
            rec.result = data["result"]
        state.last_step_ts = record.ts
    elif kind == "step.skipped":
        rec.status, rec.reason = StepStatus.SKIPPED, str(data.get("reason", ""))
        state.last_step_ts = record.ts
    elif kind == "step.unknown":
        rec.status = StepStatus.UNKNOWN
        rec.error = str(data.get("error") or
                        "outcome unknown (the session stopped between intent and outcome): recheck it")
    elif kind == "check.result":
        rec.result = dict(data)
    elif kind == "manual.done":
        rec.status = StepStatus.SUCCEEDED
        state.last_step_ts = record.ts
    elif kind == "decision":
        rec.choice, rec.status = str(data.get("choice")), StepStatus.SUCCEEDED
        rec.result = {"choice": rec.choice}
        state.last_step_ts = record.ts
    elif kind == "gate":
        rec.result = dict(data)
    elif kind == "rollback.step":
        if data.get("ok"):
            rec.status, rec.undo, rec.undo_refs, rec.error = StepStatus.ROLLED_BACK, [], [], None
            rec.done.clear()
        else:
            rec.error = f"rollback: {data.get('message', 'failed')}"


def fold(records: Iterable[RecordLike]) -> SessionState:
    """The state after ``records``, in order. The only way state is derived."""
    state = SessionState()
    for record in records:
        apply(state, record)
    return state
