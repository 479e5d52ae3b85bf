"""What a step kind is: one small protocol, and the narrow context a kind is handed.

Each kind of step (manual, decision, check, wait, gate, notify, silence, action) is one
module under :mod:`mitigate.engine.kinds` holding one :class:`StepKind`. The session looks
the kind up in a :class:`~mitigate.engine.registry.Registry` and calls it with a
:class:`StepContext`; a kind never sees the session, never imports another kind, and
reaches the journal, the responder and the cluster only through the context. See
docs/ARCHITECTURE.md ("The flow of a step") and CONTRIBUTING.md ("Add a step kind").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from mitigate.engine.checks import CheckOutcome, PollWatcher
from mitigate.engine.state import StepRecord
from mitigate.engine.types import BatchProgress, Ports, StepPlan
from mitigate.errors import MitigateError
from mitigate.events import Event
from mitigate.journal import Record
from mitigate.ports import ClusterPort, ConfirmRequest, Preview
from mitigate.runbook.model import Step

Progress = Callable[[BatchProgress], None]


@dataclass(frozen=True)
class StepContext:
    """Everything one call of a kind may use: the step, its template values, and the session's
    few capabilities as plain callables (journal a record, ask the responder, read this step's
    journal state). Built by the session for each call; a kind keeps none of it."""

    step: Step
    values: Mapping[str, Any]
    """The template names (inputs, steps, saved, incident, now) when the call began."""
    attempt: int
    """The attempt being run (for ``run``); the last one (``recheck``, ``rollback``); the next (``plan``)."""
    ports: Ports
    incident_id: str
    actor: str
    backups_dir: str
    drill: bool
    record: Callable[[Event, dict[str, Any]], Record]
    """Journal one event and apply it to the session state (thread-safe)."""
    confirm: Callable[[ConfirmRequest], tuple[bool, str]]
    """Ask the responder; journaled both ways; typed confirmation checked. (approved, reason)."""
    snapshot: Callable[[], StepRecord]
    """A copy of what the journal says about this step, taken now."""
    done_units: Callable[[str], set[str]]
    """The units of this step already applied in one kube context, read now."""
    contexts_for: Callable[[Mapping[str, Any]], list[str]]
    protected: Callable[[str], bool]
    template: Callable[..., dict[str, Any]]
    """Fresh template values, plus extra names (e.g. ``context=``, ``targets=``)."""
    keep_items: Callable[[list[dict[str, Any]]], None]
    """Keep a check's objects in memory for later templates (``steps.x.items``), not journaled."""
    cancel: threading.Event | None = None
    progress: Progress | None = None
    head: Callable[[], str] = lambda: ""
    """The journal's head hash now (status updates carry it: a later truncation shows)."""

    def contexts(self, values: Mapping[str, Any] | None = None) -> list[str]:
        """The kube contexts this step acts on (``contexts``, ``context``, or the inputs')."""
        return self.contexts_for(self.values if values is None else values)

    @property
    def cluster(self) -> ClusterPort:
        if self.ports.cluster is None:
            raise MitigateError("this step needs a cluster connection (none configured)")
        return self.ports.cluster

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


class StepKind:
    """One kind of step. Subclass, set ``name`` (the runbook key), override what the kind does.

    The defaults describe a kind that does nothing by itself: no preview, nothing to recheck,
    nothing to undo.
    """

    name: ClassVar[str] = ""
    read_only: ClassVar[bool] = False
    """Never changes anything, so a succeeded step may be run again (check, wait, gate)."""
    completed_by_responder: ClassVar[bool] = False
    """``run`` only evaluates ``when``; the responder completes the step (manual, decision)."""
    undoable: ClassVar[bool] = False
    """A rollback candidate once something of it is applied (action, silence)."""

    def run(self, ctx: StepContext) -> None:
        """Do the step, journaling through ``ctx.record``; end with ``step.succeeded`` or
        ``step.failed`` (or leave the step previewed when declined, ``unknown`` when uncertain).
        A MitigateError raised here fails the step with its message."""
        raise MitigateError(f"step {ctx.step.id}: a {self.name} step is completed by the responder")

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        """Describe the step in ``out`` without changing anything or journaling."""
        out.description = f"{self.name} step"

    def rehearse(self, ctx: StepContext, out: StepPlan) -> None:
        """For the whole-runbook plan: what the step would say now, read-only (a check really
        runs and is journaled, later templates need it). Default: nothing more."""

    def preview(self, ctx: StepContext) -> Preview:
        raise MitigateError(f"step {ctx.step.id} is a {self.name} step: only actions have a preview")

    def recheck(self, ctx: StepContext) -> None:
        """After a crash left the step ``unknown``: ask the world what happened; never redo it."""
        raise MitigateError(f"step {ctx.step.id}: a {self.name} step has nothing to recheck")

    def rollback(self, ctx: StepContext) -> str | None:
        """Undo what the step applied, confirmed and journaled. None when done, else why it stopped."""
        return f"a {self.name} step has nothing to undo"

    def check_rollback(self, ctx: StepContext) -> None:
        """Before a rollback sends anything: MitigateError when the journaled undo of this step
        cannot be trusted (a missing or altered backup, an undo that is not the step's inverse for
        its own objects). Default: nothing to check."""


def record_check(ctx: StepContext, outcome: CheckOutcome) -> None:
    """Journal a check's (or wait's) result and end the step by it; its objects stay in memory."""
    step_id = ctx.step.id
    ctx.keep_items(outcome.items)
    ctx.record(Event.CHECK_RESULT, outcome.journal_data(step_id))
    if outcome.ok:
        ctx.record(Event.STEP_SUCCEEDED, {"step": step_id})
    else:
        ctx.record(Event.STEP_FAILED, {"step": step_id, "error": outcome.message or "check failed"})


def poll_recorder(ctx: StepContext, until: str, timeout: str, **where: Any) -> PollWatcher:
    """A wait's watcher that journals ``wait.poll`` when what it observes changes (and when it
    holds): the responder sees the last observed value, and a 10-minute wait polled every 10 s
    writes a record per change, not one per poll. ``where``: the context and batch of a health gate."""
    last: list[tuple[Any, ...]] = []

    def watch(outcome: CheckOutcome, observed: dict[str, Any], remaining: float) -> None:
        seen = (outcome.ok, outcome.count, observed.get("current"), observed.get("need"))
        if last and last[0] == seen:
            return
        last[:] = [seen]
        data: dict[str, Any] = {"step": ctx.step.id, "poll": outcome.polls, "until": until, "ok": outcome.ok,
                                "count": outcome.count, "remaining": round(remaining, 1), "timeout": timeout,
                                **observed, **where}
        if outcome.listed is not None:
            data["listed"], data["kind"] = outcome.listed, outcome.kind
        ctx.record(Event.WAIT_POLL, data)

    return watch
