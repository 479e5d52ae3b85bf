"""Plain data the engine hands to its callers (TUI, headless runner, tests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mitigate.clock import SystemClock
from mitigate.events import StepStatus
from mitigate.ports import (
    ActionRequest,
    Clock,
    ClusterPort,
    CommandPort,
    ConfirmerPort,
    HttpPort,
    NotifierPort,
    ProbePort,
    SilencerPort,
)


@dataclass
class Ports:
    """Everything a session reaches outside itself."""

    cluster: ClusterPort | None
    confirmer: ConfirmerPort
    notifier: NotifierPort | None = None
    probes: ProbePort | None = None
    clock: Clock = field(default_factory=SystemClock)
    silencer: SilencerPort | None = None  # Alertmanager silences (``silence`` steps); drills record them
    secrets: Callable[[str], str | None] | None = None
    """Reads a keyring secret by name (``secret`` inputs with ``keyring:``); None: no keyring."""
    ask_secret: Callable[[str, str], str | None] | None = None
    """Asks the responder for a secret input's value (input name, question), masked, never journaled:
    on resume, where the journal does not have it. None (or a None answer): nobody to ask."""
    http: HttpPort | None = None  # ``http`` steps; drills record them
    commands: CommandPort | None = None  # ``command`` steps; drills record them


@dataclass(frozen=True)
class IncidentMeta:
    """What ``incident.opened`` records besides the runbook and inputs."""

    title: str = ""
    severity: str = ""
    commander: str = ""
    runbook_path: str = ""
    drill: bool = False
    scenario: str = ""
    protection: dict[str, Any] = field(default_factory=dict)  # mitigate.protection.Protection.to_data()


@dataclass(frozen=True)
class StepState:
    """One step as the UI shows it."""

    id: str
    kind: str
    status: StepStatus
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    title: str
    reason: str | None = None
    choice: str | None = None


@dataclass
class StepPlan:
    """What a step would do, computed without changing the cluster."""

    description: str
    kubectl: list[str] = field(default_factory=list)
    scope: str = ""
    targets: list[str] = field(default_factory=list)
    destructive: bool = False
    protected: bool = False
    step_id: str = ""
    kind: str = ""
    title: str = ""
    contexts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)  # RBAC preflight: "context: verb resource in ns"
    error: str = ""  # set when the step cannot be planned for a reason other than waiting on earlier steps


@dataclass(frozen=True)
class BatchProgress:
    """Sent to ``on_progress`` after each batch (the TUI's progress bar and ETA)."""

    step: str
    context: str
    batch: int
    batches: int
    done: int
    total: int
    failures: int


def request_data(request: ActionRequest) -> dict[str, Any]:
    """An ActionRequest as journal data (``step.outcome.undo``)."""
    return {"context": request.context, "verb": request.verb, "params": _plain(request.params),
            "step_id": request.step_id, "cluster_scope": request.cluster_scope,
            "backup_dir": request.backup_dir}


def request_from(data: Mapping[str, Any]) -> ActionRequest:
    return ActionRequest(context=str(data["context"]), verb=str(data["verb"]), params=dict(data["params"]),
                         step_id=str(data.get("step_id", "")), cluster_scope=bool(data.get("cluster_scope")),
                         backup_dir=data.get("backup_dir"))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
