"""Typed messages that thread workers and the journal feed post to the UI thread.

Workers never touch widgets: they call the engine and post one of these;
``post_message`` is thread-safe, so the journal's subscriber callback (which
runs on whichever thread appended) can post too.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from mitigate.ports import Preview
from tui.protocols import Incident, StepPlanLike


class JournalAppended(Message):
    """A record was appended to the incident journal."""

    def __init__(self, record: Any) -> None:
        super().__init__()
        self.record = record


class SessionChanged(Message):
    """A session call finished: step states may have moved."""


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
