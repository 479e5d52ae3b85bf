"""Typed messages that thread workers and the journal feed post to the UI thread.

Workers never touch widgets: they call the engine and post one of these;
``post_message`` is thread-safe, so the journal's subscriber callback (which
runs on whichever thread appended) can post too.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from mitigate.ports import Preview
from tui.protocols import Incident, StepPlanLike, StepStateLike


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
