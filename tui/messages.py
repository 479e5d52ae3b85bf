"""Typed messages that thread workers and the journal feed post to the UI thread.

Workers never touch widgets: they call the engine and post one of these;
``post_message`` is thread-safe, so the journal's subscriber callback (which
runs on whichever thread appended) can post too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from textual.message import Message

from mitigate.ports import Preview
from tui.brief import Brief
from tui.protocols import Incident, IncidentEntry, RunbookEntry, StartRequest, StepPlanLike, StepStateLike


class SessionChanged(Message):
    """A session call finished: step states may have moved."""


class StepsRead(Message):
    """A worker read the session's step states (the engine's lock is never taken on the UI thread)."""

    def __init__(self, steps: Sequence[StepStateLike], current: str | None, *, follow: bool) -> None:
        super().__init__()
        self.steps, self.current, self.follow = steps, current, follow


class PlanReady(Message):
    def __init__(self, step_id: str, plan: StepPlanLike) -> None:
        super().__init__()
        self.step_id, self.plan = step_id, plan


class PreviewReady(Message):
    def __init__(self, step_id: str, preview: Preview) -> None:
        super().__init__()
        self.step_id, self.preview = step_id, preview


class IncidentOpened(Message):
    """The home screen's worker opened (started or resumed) an incident."""

    def __init__(self, incident: Incident) -> None:
        super().__init__()
        self.incident = incident


class SessionCall(Message):
    """A screen asks the app to run an engine call in a worker (one session call at a time).

    ``quiet`` calls only read and may run beside a step. ``on_start`` runs on the UI thread
    when the call is accepted (the walker resets its batch panel then); a call refused because
    another step is running is reported to the responder and does not start.
    """

    def __init__(self, label: str, fn: Callable[[], object], *, quiet: bool = False,
                 on_start: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.label, self.fn, self.quiet, self.on_start = label, fn, quiet, on_start


class StartIncident(Message):
    """The start form's request: the app opens the incident with its confirmer, in a worker."""

    def __init__(self, request: StartRequest) -> None:
        super().__init__()
        self.request = request


class ResumeIncident(Message):
    """The home screen's pick: the app reopens the incident from its journal, in a worker."""

    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id


class BriefsReady(Message):
    """A worker rendered the steps' briefs (text, question, message, kubectl equivalent)."""

    def __init__(self, briefs: Mapping[str, Brief]) -> None:
        super().__init__()
        self.briefs = briefs


class LibraryLoaded(Message):
    """The home screen's worker read the runbook library and the incidents."""

    def __init__(self, runbooks: Sequence[RunbookEntry], incidents: Sequence[IncidentEntry],
                 error: str = "") -> None:
        super().__init__()
        self.runbooks, self.incidents, self.error = list(runbooks), list(incidents), error


class LeaveIncident(Message):
    """The walker's q: the app exits and says how to come back."""
