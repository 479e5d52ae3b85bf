"""The walker's model: journal records folded into what each step's detail and the batch panel show.

Pure Python, no Textual: the walker screen feeds it bursts of records (its
journal subscription) and plans/previews from its workers, and draws what the
fold returns. Unit tests drive it with plain records (``tests/tui/test_model.py``).

The journal is the one truth: the step statuses come from the engine's own
fold (read in a worker); this model keeps the evidence around them, the
things a responder must still see after a step ran: its kubectl lines, diff,
check table, notification deliveries, decision, gate, and the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mitigate.events import Event

# A step whose delivery or outcome needs a second look although it succeeded: shown as a warning.
WARNING = "warning"


@dataclass
class Absorbed:
    """What one burst of records changes on screen."""

    steps_changed: bool = False  # a step may have changed state: re-read the session
    progress: Any = None  # the latest batch.progress record of the burst
    results: list[dict[str, Any]] = field(default_factory=list)  # per-target results of the batch step
    cancelled: dict[str, Any] | None = None
    gate_poll: dict[str, Any] | None = None  # the latest wait.poll of the batch step's health gate
    finished: tuple[str, dict[str, Any]] | None = None  # the batch step's end: (record type, data)
    started: float | None = None  # monotonic time of the batch step's first intent in the burst
    started_data: dict[str, Any] | None = None  # that intent (its batch and batch count)
    evidence: set[str] = field(default_factory=set)  # steps whose detail has new evidence


@dataclass
class Evidence:
    """What one step left behind: shown in its detail until the responder moves on (and after)."""

    kubectl: list[str] = field(default_factory=list)
    diff: str = ""
    check: dict[str, Any] | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # notify.sent / notify.failed
    choice: str | None = None  # a decision's answer
    gate: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None  # a wait's last observed value (wait.poll): what until sees, time left
    result: dict[str, Any] | None = None  # step.succeeded / step.failed data
    declined: str | None = None  # the last declined confirmation's reason
    version: int = 0  # bumped on every change: the detail pane's part keys use it

    def touch(self) -> None:
        self.version += 1


def delivery_warning(evidence: Evidence | None) -> str | None:
    """A succeeded notify that did not reach every channel: the warning to show, else None."""
    if evidence is None or not evidence.deliveries:
        return None
    failed = [str(d.get("channel")) for d in evidence.deliveries if not d.get("ok")]
    if not failed:
        return None
    return f"not delivered to {', '.join(failed)}"


class WalkerModel:
    """Folds journal records; holds each step's evidence and the running batch's step."""

    def __init__(self, *, drill: bool = False) -> None:
        self.drill = drill
        self.evidence: dict[str, Evidence] = {}
        self.batch_step: str | None = None  # the step whose batches the panel follows

    def of(self, step: str) -> Evidence:
        ev = self.evidence.get(step)
        if ev is None:
            ev = self.evidence[step] = Evidence()
        return ev

    def status_of(self, step: str, engine_status: str) -> str:
        """The status to show: the engine's, except a succeeded notify that was not delivered everywhere."""
        if engine_status == "succeeded" and delivery_warning(self.evidence.get(step)):
            return WARNING
        return engine_status

    # ------------------------------------------------------------------ inputs besides the journal

    def planned(self, step: str, kubectl: Sequence[str]) -> None:
        ev = self.of(step)
        if list(kubectl) != ev.kubectl:
            ev.kubectl = list(kubectl)
            ev.touch()

    def previewed(self, step: str, diff: str) -> None:
        ev = self.of(step)
        ev.diff = diff or "(no changes)"
        ev.touch()

    # ------------------------------------------------------------------ the fold

    def fold(self, records: Sequence[Any], *, live: bool) -> Absorbed:
        """Fold a burst of records: O(1) widget work per burst follows, not per record.

        Per-target results are summarised by the batch panel; the timeline folds the same
        records into its rows itself (``tui.timeline_rows``).
        """
        out = Absorbed()
        for rec in records:
            rtype: str = getattr(rec, "type", "")
            data: dict[str, Any] = getattr(rec, "data", None) or {}
            step = str(data.get("step", ""))
            batched = "batch" in data
            if step:
                self._evidence(rtype, step, data, batched, out)
            if rtype == Event.STEP_INTENT and batched and live and step == self.batch_step and out.started is None:
                out.started, out.started_data = getattr(rec, "mono", None), data
            elif rtype == Event.BATCH_PROGRESS:
                out.progress = rec
                self.batch_step = step or self.batch_step
            elif rtype == Event.STEP_OUTCOME and live and self.batch_step == step:
                out.results.extend(data.get("results") or [])
            elif rtype == Event.BATCH_CANCELLED:
                out.cancelled = data
            elif rtype == Event.WAIT_POLL and "batch" in data and step == self.batch_step:
                out.gate_poll = data
            elif rtype in (Event.STEP_SUCCEEDED, Event.STEP_FAILED) and live and step == self.batch_step:
                out.finished = (rtype, data)
            if rtype.startswith(("step.", "check.", "batch.", "manual.", Event.DECISION, Event.GATE, "rollback.",
                                 "notify.")):
                out.steps_changed = True
        return out

    def _evidence(self, rtype: str, step: str, data: dict[str, Any], batched: bool, out: Absorbed) -> None:
        ev = self.of(step)
        before = ev.version
        if rtype == Event.STEP_PREVIEWED:
            if "kubectlTotal" not in data or not ev.kubectl:  # capped: keep the plan's whole list
                ev.kubectl = list(data.get("kubectl") or [])
            ev.diff = str(data.get("diff") or "")
            ev.touch()
        elif rtype == Event.STEP_INTENT and data.get("kubectl") and not (batched and ev.kubectl):
            # a batch's intent holds that batch's commands: the step's plan already shows them all
            ev.kubectl = list(data["kubectl"])
            ev.touch()
        elif rtype == Event.CHECK_RESULT:
            ev.check = data
            ev.touch()
        elif rtype in (Event.NOTIFY_SENT, Event.NOTIFY_FAILED):
            ev.deliveries = [d for d in ev.deliveries if d.get("channel") != data.get("channel")] + [data]
            ev.touch()
        elif rtype == Event.DECISION:
            ev.choice = str(data.get("choice"))
            ev.touch()
        elif rtype == Event.GATE:
            ev.gate = data
            ev.touch()
        elif rtype == Event.WAIT_POLL and "batch" not in data:  # a wait step's (a gate's shows in the panel)
            ev.poll = data
            ev.touch()
        elif rtype in (Event.STEP_SUCCEEDED, Event.STEP_FAILED):
            ev.result = data
            ev.declined = None
            ev.touch()
        elif rtype == Event.STEP_DECLINED:
            ev.declined = str(data.get("reason") or "declined")
            ev.touch()
        elif rtype == Event.STEP_STARTED:
            # a new attempt: the last attempt's deliveries and result no longer describe the step
            ev.deliveries, ev.result, ev.declined, ev.poll = [], None, None, None
            ev.touch()
        if ev.version != before:
            out.evidence.add(step)
