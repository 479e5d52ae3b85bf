"""The journal's vocabulary: every event type, its payload, and the words payloads use.

One module for what a journal record can say, so that the engine that writes records, the
state fold, the postmortem, the TUI and the launcher that read them agree by construction:

- :class:`Event`, every record ``type`` (a ``StrEnum``: ``Event.STEP_FAILED == "step.failed"``);
- one ``TypedDict`` per event naming its ``data`` keys (:data:`PAYLOADS`), checked by
  :func:`payload_problems` (the test suite checks every record it writes);
- the intent key that pairs a ``step.intent`` with its ``step.outcome`` (:func:`intent_key`,
  :func:`outcome_base`);
- the vocabularies payloads use: incident statuses, milestones, step statuses.

docs/CONTRACTS.md ("Journal events") describes each event; a test keeps the two in step. A leaf
module: it imports nothing from mitigate.
"""

# No ``from __future__ import annotations`` here: Python 3.11's TypedDict reads NotRequired
# only from evaluated annotations.
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, NotRequired, Protocol, TypedDict, get_args, get_type_hints


class Event(StrEnum):
    """Every journal record type."""

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_STATUS = "incident.status"
    INCIDENT_ROLES = "incident.roles"
    INCIDENT_CLOSED = "incident.closed"
    INCIDENT_REOPENED = "incident.reopened"
    RUNBOOK_ATTACHED = "runbook.attached"
    RUNBOOK_PREFLIGHT = "runbook.preflight"
    CONTEXT_IDENTITY = "context.identity"
    MILESTONE = "milestone"
    NOTE = "note"
    STEP_STARTED = "step.started"
    STEP_PREVIEWED = "step.previewed"
    STEP_PREFLIGHT = "step.preflight"
    STEP_AWAITING_CONFIRMATION = "step.awaiting_confirmation"
    STEP_CONFIRMED = "step.confirmed"
    STEP_DECLINED = "step.declined"
    STEP_INTENT = "step.intent"
    STEP_OUTCOME = "step.outcome"
    STEP_SUCCEEDED = "step.succeeded"
    STEP_FAILED = "step.failed"
    STEP_SKIPPED = "step.skipped"
    STEP_CONTEXT_SKIPPED = "step.context_skipped"
    STEP_UNKNOWN = "step.unknown"
    CHECK_RESULT = "check.result"
    MANUAL_DONE = "manual.done"
    DECISION = "decision"
    GATE = "gate"
    WAIT_POLL = "wait.poll"
    NOTIFY_SENT = "notify.sent"
    NOTIFY_FAILED = "notify.failed"
    BATCH_PROGRESS = "batch.progress"
    BATCH_CANCELLED = "batch.cancelled"
    ROLLBACK_STARTED = "rollback.started"
    ROLLBACK_STEP = "rollback.step"
    ROLLBACK_FINISHED = "rollback.finished"
    DRILL_VERDICT = "drill.verdict"


class RecordLike(Protocol):
    """What readers of the journal use of a record (``mitigate.journal.Record`` fits)."""

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



# --------------------------------------------------------------------------- vocabularies

IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
STATUSES: tuple[str, ...] = get_args(IncidentStatus)
"""Incident statuses, in the order an incident moves through them."""

ORDERED_MILESTONES = ("impact-start", "detected", "acknowledged", "identified", "mitigated", "resolved")
"""The incident's milestones, in their natural order."""
MILESTONES = ("started", *ORDERED_MILESTONES)
"""Every milestone name: ``started`` is the tool's own (the session opened)."""
MILESTONE_STATUS = {"identified": "identified", "mitigated": "monitoring", "resolved": "resolved"}
"""The incident status each milestone implies once it is reached."""
Source = Literal["person", "runbook", "import", "milestone", "drill", "status-update"]


class StepStatus(StrEnum):
    """A step's status, as the fold of its records leaves it."""

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

# --------------------------------------------------------------------------- the intent key

IntentKey = tuple[str, int, int, bool]
"""(context, attempt, batch, rollback): pairs a ``step.intent`` with its ``step.outcome``."""

OUTCOME_FIELDS = ("step", "attempt", "batch", "context", "items", "rollback")
"""What a ``step.outcome`` repeats of its ``step.intent``: the intent key, the step and its units."""


def intent_key(data: Mapping[str, Any]) -> IntentKey:
    return (str(data.get("context", "")), int(data.get("attempt", 0)), int(data.get("batch", 0)),
            bool(data.get("rollback", False)))


def outcome_base(intent: Mapping[str, Any]) -> dict[str, Any]:
    """The start of the ``step.outcome`` that answers ``intent``."""
    return {k: intent[k] for k in OUTCOME_FIELDS if k in intent}


# --------------------------------------------------------------------------- payloads


class IncidentOpened(TypedDict):
    title: str
    severity: str
    commander: str
    runbook: str
    drill: bool
    runbook_version: NotRequired[str]
    runbook_path: NotRequired[str]
    inputs: NotRequired[dict[str, Any]]
    contexts: NotRequired[list[str]]
    scenario: NotRequired[str]
    protection: NotRequired[dict[str, Any]]
    at: NotRequired[str]
    declared: NotRequired[dict[str, Any]]  # mitigate.journal.timeparse.Declared.to_data()
    imported_from: NotRequired[str]


class RunbookAttached(TypedDict):
    """``run --incident ID``: a runbook for an incident opened without one (folded into ``incident.opened``)."""

    runbook: str
    runbook_version: str
    runbook_path: str
    inputs: dict[str, Any]
    contexts: list[str]
    protection: NotRequired[dict[str, Any]]


class RunbookPreflight(TypedDict):
    """The RBAC preflight of every action of the runbook, once, before its first change."""

    step: str
    checked: list[str]
    denied: list[str]


ContextIdentity = TypedDict("ContextIdentity", {  # "as" is a keyword: the functional form
    "context": str, "server": str, "cluster": str, "user": str,
    "auth": str,  # token | client-certificate | exec:<cmd> (<apiVersion>) | auth-provider:<name> | basic | none
    "override": NotRequired[dict[str, str]],  # --cluster/--user: the kubeconfig entries given instead of the context's
    "as": NotRequired[dict[str, Any]],  # whom the user impersonates
    "proxy": NotRequired[str],  # the cluster's proxy-url, its password removed
    "warnings": NotRequired[list[str]],
    "resumed": NotRequired[bool],  # written when the incident was resumed
    "said": NotRequired[list[str]],  # on resume: the journaled identity reused, or changed by the command line
})
"""Who acts on one kube context, when the incident opens or is resumed (never a credential)."""


class IncidentStatusChanged(TypedDict):
    status: IncidentStatus
    source: NotRequired[Source]
    milestone: NotRequired[str]
    step: NotRequired[str]


class IncidentRoles(TypedDict):
    commander: NotRequired[str]
    scribe: NotRequired[str]
    comms: NotRequired[str]
    handover_from: NotRequired[dict[str, str]]


class IncidentClosed(TypedDict):
    status: NotRequired[str]
    drill: NotRequired[bool]


class Empty(TypedDict):
    pass


class Milestone(TypedDict):
    name: str
    text: NotRequired[str]
    at: NotRequired[str]
    declared: NotRequired[dict[str, Any]]  # mitigate.journal.timeparse.Declared.to_data()
    source: NotRequired[Source]
    step: NotRequired[str]
    line: NotRequired[int]
    warnings: NotRequired[list[str]]


class Note(TypedDict):
    text: NotRequired[str]
    at: NotRequired[str]
    declared: NotRequired[dict[str, Any]]  # mitigate.journal.timeparse.Declared.to_data()
    line: NotRequired[int]


class StepOnly(TypedDict):
    step: str


class StepInContext(StepOnly):
    """Most step events: the step, and the kube context one of its calls acts on."""

    context: str


class StepStarted(StepOnly):
    attempt: int
    kind: str


class StepPreviewed(StepInContext):
    kubectl: list[str]
    diff: str
    targets: list[str]
    description: str
    kubectlTotal: NotRequired[int]
    warnings: NotRequired[list[str]]
    batches: NotRequired[int]
    items: NotRequired[list[str]]  # forEach: the item keys still to do


class StepPreflight(StepInContext):
    """The RBAC preflight of an action on one context (SelfSubjectAccessReviews), before confirming."""

    checked: int
    denied: list[str]
    uncertain: list[str]


class StepAwaitingConfirmation(StepInContext):
    kind: str
    destructive: bool
    protected: bool
    contexts: NotRequired[list[str]]  # a fan-out confirmed once: every context it covers (``context``: the word typed)


class StepConfirmed(StepInContext):
    kind: str
    typed: bool
    contexts: NotRequired[list[str]]


class StepDeclined(StepInContext):
    kind: str
    reason: str
    contexts: NotRequired[list[str]]


class StepContextSkipped(StepInContext):
    """A context of a fan-out with nothing to change: not asked about, not run."""

    reason: str


class StepIntent(StepInContext):
    """Written (fsynced) before anything is changed; :func:`intent_key` pairs it with its outcome."""

    attempt: int
    batch: int
    verb: str
    params: dict[str, Any]
    items: list[str]
    targets: list[str]
    kubectl: list[str]
    description: str
    batches: NotRequired[int]
    rollback: NotRequired[bool]
    alertmanager: NotRequired[str]
    marker: NotRequired[str]


class TargetResult(TypedDict):
    target: str
    ok: bool
    message: str
    backup: NotRequired[str | None]
    backup_sha256: NotRequired[str | None]
    applied: NotRequired[bool | None]


class StepOutcome(StepInContext):
    attempt: int
    batch: int
    ok: bool
    results: list[TargetResult]
    undo: list[dict[str, Any]]
    api_errors_absorbed: int
    undo_backup: NotRequired[dict[str, str]]
    items: NotRequired[list[str]]
    rollback: NotRequired[bool]
    error: NotRequired[str]
    recheck: NotRequired[bool]
    alertmanager: NotRequired[str]
    silence_id: NotRequired[str | None]
    marker: NotRequired[str]
    status: NotRequired[int | None]  # http steps: the answer's status and the start of its body
    body: NotRequired[str]
    exit_code: NotRequired[int | None]  # command steps: how the program ended, and its output
    program: NotRequired[str]
    output: NotRequired[str]


class StepSucceeded(StepOnly):
    result: NotRequired[dict[str, Any]]
    error: NotRequired[str | None]


class StepFailed(StepOnly):
    error: str
    result: NotRequired[dict[str, Any]]


class StepSkipped(StepOnly):
    reason: str


class StepUnknown(StepOnly):
    error: NotRequired[str]


class CheckResult(StepOnly):
    ok: bool
    count: int
    names: list[str]
    value: Any
    rows: list[dict[str, Any]]
    message: str
    contexts: dict[str, Any]
    polls: int
    listed: NotRequired[int]
    kind: NotRequired[str]


class DecisionMade(StepOnly):
    choice: str


class Observed(TypedDict):
    """What an ``until``/``require`` expression sees now: ``ready >= 9`` -> current "7", need ">= 9"."""

    current: NotRequired[str]
    need: NotRequired[str]


class GateRequirement(Observed):
    expr: str
    ok: bool


class GateResult(StepOnly):
    open: bool
    failed: list[str]
    observed: NotRequired[list[GateRequirement]]  # each requirement with its current value


class WaitPoll(StepOnly):
    """A wait (a wait step, or a batched step's health gate) observed something new."""

    poll: int
    until: str
    ok: bool
    count: int
    remaining: float  # seconds left before the timeout
    timeout: str
    current: NotRequired[str]
    need: NotRequired[str]
    listed: NotRequired[int]
    kind: NotRequired[str]
    context: NotRequired[str]  # a health gate: the context and the batch it follows
    batch: NotRequired[int]


class NotifyResult(StepOnly):
    channel: str
    status: str | None
    ok: bool
    message: str
    remote_id: NotRequired[str | None]
    title: NotRequired[str]
    text: NotRequired[str]


class BatchProgress(StepInContext):
    batch: int
    batches: int
    done: int
    total: int
    failures: int


class BatchCancelled(StepInContext):
    done: int
    total: int


class RollbackStarted(TypedDict):
    steps: list[str]
    only: NotRequired[str]  # ``rollback --step``: one step only


class RollbackStep(StepOnly):
    ok: bool
    message: NotRequired[str]


class RollbackFinished(TypedDict):
    ok: bool
    rolled_back: list[str]
    stopped_at: NotRequired[str]
    only: NotRequired[str]


class DrillVerdict(TypedDict):
    mitigated: bool
    expected: bool
    as_expected: bool
    checks: Any
    message: str


PAYLOADS: dict[Event, type] = {
    Event.INCIDENT_OPENED: IncidentOpened,
    Event.INCIDENT_STATUS: IncidentStatusChanged,
    Event.INCIDENT_ROLES: IncidentRoles,
    Event.INCIDENT_CLOSED: IncidentClosed,
    Event.INCIDENT_REOPENED: Empty,
    Event.RUNBOOK_ATTACHED: RunbookAttached,
    Event.RUNBOOK_PREFLIGHT: RunbookPreflight,
    Event.CONTEXT_IDENTITY: ContextIdentity,
    Event.MILESTONE: Milestone,
    Event.NOTE: Note,
    Event.STEP_STARTED: StepStarted,
    Event.STEP_PREVIEWED: StepPreviewed,
    Event.STEP_PREFLIGHT: StepPreflight,
    Event.STEP_AWAITING_CONFIRMATION: StepAwaitingConfirmation,
    Event.STEP_CONFIRMED: StepConfirmed,
    Event.STEP_DECLINED: StepDeclined,
    Event.STEP_INTENT: StepIntent,
    Event.STEP_OUTCOME: StepOutcome,
    Event.STEP_SUCCEEDED: StepSucceeded,
    Event.STEP_FAILED: StepFailed,
    Event.STEP_SKIPPED: StepSkipped,
    Event.STEP_CONTEXT_SKIPPED: StepContextSkipped,
    Event.STEP_UNKNOWN: StepUnknown,
    Event.CHECK_RESULT: CheckResult,
    Event.MANUAL_DONE: StepOnly,
    Event.DECISION: DecisionMade,
    Event.GATE: GateResult,
    Event.WAIT_POLL: WaitPoll,
    Event.NOTIFY_SENT: NotifyResult,
    Event.NOTIFY_FAILED: NotifyResult,
    Event.BATCH_PROGRESS: BatchProgress,
    Event.BATCH_CANCELLED: BatchCancelled,
    Event.ROLLBACK_STARTED: RollbackStarted,
    Event.ROLLBACK_STEP: RollbackStep,
    Event.ROLLBACK_FINISHED: RollbackFinished,
    Event.DRILL_VERDICT: DrillVerdict,
}


def payload_problems(type_: str, data: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``data`` as the payload of a ``type_`` record: an unknown type, a
    missing key, a key the payload does not declare. Empty when it fits. (Value types are
    left to mypy at the writers.)"""
    try:
        event = Event(type_)
    except ValueError:
        return [f"unknown event type {type_!r}"]
    model = PAYLOADS[event]
    keys = set(get_type_hints(model))
    required: frozenset[str] = getattr(model, "__required_keys__", frozenset())
    problems = [f"{event}: missing {key!r}" for key in sorted(required - set(data))]
    problems += [f"{event}: undeclared {key!r}" for key in sorted(set(data) - keys)]
    return problems
