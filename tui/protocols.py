"""What the TUI needs from the core, written down as Protocols.

The TUI drives ``mitigate.engine.Session`` (docs/CONTRACTS.md "Engine") and
reads the journal's live feed; it never touches a cluster client. Typing
against these Protocols instead of the concrete classes keeps the screens
testable with small fakes and keeps the TUI free of the engine's internals.
The composition root (mitigate/cli) builds the real objects and hands them in
through a :class:`Launcher` or :class:`Incident`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mitigate.ports import ConfirmerPort, ContextInfo, Preview

if TYPE_CHECKING:  # the runbook models (pydantic) load with the first runbook, not with the TUI
    from mitigate.runbook.model import InputSpec


class JournalLike(Protocol):
    id: str

    @property
    def dir(self) -> Path: ...  # the incident's folder (postmortem exports land there)

    def subscribe(self, callback: Callable[[Any], None]) -> None: ...

    def records(self) -> Sequence[Any]: ...


class StepStateLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> Any: ... # StepStatus enum (its .value is the state name) or a plain string
    @property
    def attempts(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def title(self) -> str: ...


class StepPlanLike(Protocol):
    @property
    def description(self) -> str: ...
    @property
    def kubectl(self) -> Sequence[str]: ...
    @property
    def scope(self) -> str: ...
    @property
    def targets(self) -> Sequence[str]: ...
    @property
    def destructive(self) -> bool: ...
    @property
    def protected(self) -> bool: ...


class SessionLike(Protocol):
    """The subset of ``mitigate.engine.Session`` the walker calls."""

    @property
    def steps(self) -> Sequence[StepStateLike]: ...

    def current(self) -> StepStateLike | None: ...

    def plan(self, step_id: str) -> StepPlanLike: ...

    def preview(self, step_id: str) -> Preview: ...

    def run(self, step_id: str, *, cancel: threading.Event | None = None,
            on_progress: Callable[..., None] | None = None) -> Any: ...

    def retry(self, step_id: str) -> Any: ...

    def skip(self, step_id: str, reason: str) -> Any: ...

    def complete_manual(self, step_id: str) -> Any: ...

    def decide(self, step_id: str, choice: str) -> Any: ...

    def advance(self) -> list[str]: ...

    def rollback(self, cancel: threading.Event | None = None) -> Any: ...

    def rollback_step(self, step_id: str, cancel: threading.Event | None = None) -> Any: ...

    def note(self, text: str, *, at: str | None = None, tz: str | None = None) -> Any: ...

    def milestone(self, name: str, *, at: str | None = None, tz: str | None = None) -> Any: ...

    def set_status(self, status: str) -> Any: ...

    @property
    def runbook(self) -> Any: ...  # mitigate.runbook.model.Runbook: the steps' specs, for their briefs

    def context(self) -> Mapping[str, Any]: ...  # what the runbook's templates see now


@dataclass(frozen=True)
class StepInfo:
    """Static facts about a step from the runbook: shown by the walker, never changed."""

    description: str = ""
    options: tuple[tuple[str, str], ...] = ()  # decision steps: (id, label)
    manual: str = ""


RenderPostmortem = Callable[[str], str]  # format ("md" | "html") -> the draft postmortem


@dataclass(frozen=True)
class DrillOutcome:
    """A drill's verdict from the scenario's health checks, with the scorecard (``text``)."""

    mitigated: bool
    as_expected: bool  # a wrong-fix case expects NOT MITIGATED
    text: str  # scorecard, "Scenario health: ...", one line per health check


@dataclass
class Incident:
    """Everything the walker shows for one open incident."""

    session: SessionLike
    journal: JournalLike
    title: str
    context: ContextInfo
    runbook_title: str = ""
    drill: bool = False
    started: float | None = None  # epoch seconds of incident.opened; None = now
    steps: Mapping[str, StepInfo] = field(default_factory=dict)
    on_close: Callable[[], None] | None = None  # release the journal lock, stop a sandbox
    postmortem: RenderPostmortem | None = None  # None: no postmortem screen (e.g. no journal on disk)
    brief: str = ""  # a drill's brief (scenario, runbook, what "mitigated" means): shown at the start
    verdict: Callable[[], DrillOutcome] | None = None  # a drill's verdict now (call at the end; it checks health)
    kubectl_flags: tuple[str, ...] = ()  # --cluster/--user/--as...: in every kubectl line the walker shows


@dataclass(frozen=True)
class RunbookEntry:
    """One runbook in the picker (mitigate.runbook.loader.list_runbooks summary)."""

    name: str
    title: str
    path: Path
    summary: str = ""
    symptoms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    origin: str = ""  # where it came from when not bundled, and what it shadows ("--library: ./rb; shadows ...")

    @property
    def haystack(self) -> str:
        """What fuzzy search looks at: title, symptoms, tags and summary."""
        return " ".join((self.title, *self.symptoms, *self.tags, self.summary, self.name))


@dataclass(frozen=True)
class IncidentEntry:
    """One incident in the resume list (mitigate.journal.list_incidents)."""

    id: str
    title: str
    status: str = ""
    opened: str = ""
    closed: bool = False
    drill: bool = False


@dataclass(frozen=True)
class StartRequest:
    """What the start form collected."""

    runbook: RunbookEntry
    title: str
    severity: str
    commander: str
    context: str
    inputs: dict[str, Any]


class Launcher(Protocol):
    """Opens incidents for the home screen; implemented by the CLI composition root."""

    def runbooks(self) -> list[RunbookEntry]: ...

    def incidents(self) -> list[IncidentEntry]: ...

    def contexts(self) -> list[ContextInfo]: ...

    def inputs(self, runbook: RunbookEntry) -> dict[str, InputSpec]:
        """The runbook's declared inputs (loading it; MitigateError if it does not load)."""
        ...

    def start(self, request: StartRequest, confirmer: ConfirmerPort) -> Incident: ...

    def resume(self, incident_id: str, confirmer: ConfirmerPort) -> Incident: ...
