"""Ports: the only ways the core engine reaches the outside world.

The engine (mitigate.engine) is UI-agnostic and adapter-agnostic. Adapters in
``integrations`` implement these Protocols (the Kubernetes adapter implements
``ClusterPort``, the HTTP integrations implement ``NotifierPort``, ``ProbePort`` and
``SilencerPort``), the TUI and the headless runner implement ``ConfirmerPort``.
Tests use small fakes. Everything crossing a port is plain data (dicts, lists,
strings, dataclasses) so that it can be written to the journal as JSON.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from mitigate.errors import MitigateError

JSON = Any
"""A JSON-compatible value (dict/list/str/int/float/bool/None)."""


# --------------------------------------------------------------------------- clock


@runtime_checkable
class Clock(Protocol):
    """Wall clock (UTC), monotonic clock and sleep, injectable for tests."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep; return False early if ``cancel`` was set."""
        ...


# --------------------------------------------------------------------------- cluster


@dataclass(frozen=True)
class ContextInfo:
    name: str
    cluster: str
    namespace: str = "default"
    protected: bool = False
    server: str = ""
    user: str = ""  # the kubeconfig user entry
    auth: str = ""  # token | client-certificate | exec:<command> | auth-provider:<name> | basic | none
    warnings: tuple[str, ...] = ()  # e.g. insecure-skip-tls-verify
    proxy: str = ""  # the cluster's proxy-url, its password removed


@dataclass(frozen=True)
class Impersonation:
    """``--as``/``--as-group``/``--as-uid``: act as another user, as kubectl does (Impersonate-* headers)."""

    user: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    def kubectl_flags(self) -> list[str]:
        return ([f"--as={self.user}"] + [f"--as-group={g}" for g in self.groups]
                + ([f"--as-uid={self.uid}"] if self.uid else []))

    def data(self) -> dict[str, object]:
        return {"user": self.user, "groups": list(self.groups), **({"uid": self.uid} if self.uid else {})}

    @classmethod
    def from_data(cls, data: object) -> Impersonation | None:
        """The inverse of :meth:`data` (a journaled ``as``); None for anything else."""
        if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not data["user"]:
            return None
        groups = data.get("groups") if isinstance(data.get("groups"), list) else []
        return cls(data["user"], tuple(str(g) for g in groups or ()), str(data.get("uid") or ""))


@dataclass(frozen=True)
class Overrides:
    """``--cluster``, ``--user`` and ``--as``/``--as-group``/``--as-uid``: what a command changes about
    every context it acts on, with kubectl's meaning (the context's cluster entry, its user entry, and
    whom the server authorises the requests as). Journaled in ``context.identity``, printed in every
    kubectl equivalent."""

    cluster: str = ""
    user: str = ""
    impersonation: Impersonation | None = None

    def __bool__(self) -> bool:
        return bool(self.cluster or self.user or self.impersonation)

    def kubectl_flags(self) -> list[str]:
        return ([f"--cluster={self.cluster}"] if self.cluster else []) + (
            [f"--user={self.user}"] if self.user else []) + (
            self.impersonation.kubectl_flags() if self.impersonation else [])

    def data(self) -> dict[str, str]:
        """The ``override`` of a ``context.identity`` record: the kubeconfig entries given on the command line."""
        return {k: v for k, v in (("cluster", self.cluster), ("user", self.user)) if v}


@dataclass(frozen=True)
class Query:
    """A read-only Kubernetes query (``check`` and ``wait`` steps).

    ``kind`` is the Kind (``Node``) and ``api_version`` its group/version (``v1``).
    """

    api_version: str
    kind: str
    namespace: str | None = None  # None = all namespaces (or cluster-scoped)
    name: str | None = None  # get one object instead of a list
    label_selector: str | None = None
    field_selector: str | None = None


@dataclass(frozen=True)
class ActionRequest:
    """One action invocation after templates are rendered.

    ``verb`` is a catalogue verb (see mitigate.runbook.actions.CATALOGUE) and
    ``params`` its rendered, validated parameters as plain data. For batched
    steps the engine issues one request per batch, with the batch's slice of
    targets placed in ``params["names"]`` (or the parameter the step's
    ``batch.param`` names).
    """

    context: str
    verb: str
    params: Mapping[str, JSON]
    step_id: str = ""
    cluster_scope: bool = False  # the runbook stated ``scope: cluster``
    backup_dir: str | None = None  # where to write backups before delete/change


@dataclass
class TargetResult:
    """The outcome for one target object of an action."""

    target: str  # "<kind>/<name>" or "<kind>/<namespace>/<name>"
    ok: bool
    message: str = ""
    applied: bool | None = None  # re-check result: is the change in place?
    backup: str | None = None  # path of the backup file, if one was written


@dataclass
class Preview:
    """What an action would do, from a server-side dry run."""

    diff: str  # unified YAML diff, before -> after, all targets
    changed_fields: list[str] = field(default_factory=list)  # e.g. "spec.unschedulable"
    targets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ActionOutcome:
    results: list[TargetResult]
    undo: list[ActionRequest] = field(default_factory=list)  # run in order to undo this action
    api_errors_absorbed: int = 0  # retried transient errors

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass(frozen=True)
class AccessCheck:
    """One permission a step needs (``kubectl auth can-i`` terms). ``resource`` is the plural;
    a read check may give ``kind``/``api_version`` instead and the adapter resolves it."""

    verb: str
    resource: str = ""
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    kind: str = ""
    api_version: str = ""

    @property
    def text(self) -> str:
        what = (self.resource or self.kind) + (f"/{self.subresource}" if self.subresource else "")
        group = f".{self.group}" if self.group else ""
        named = f" {self.name}" if self.name else ""
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {what}{group}{named}{where}"


@dataclass(frozen=True)
class AccessAnswer:
    """The cluster's answer for one AccessCheck: ``allowed`` True/False, or None when it could not
    be asked (the review API failed): then the responder decides, with a typed override."""

    check: AccessCheck
    allowed: bool | None
    reason: str = ""


@runtime_checkable
class PreparedAction(Protocol):
    """An action bound to its targets, ready to preview or execute."""

    request: ActionRequest
    destructive: bool  # deletes, drains, evictions: needs typed confirmation on protected contexts
    targets: Sequence[str]

    def describe(self) -> str:
        """One line: what this does, to what, where."""
        ...

    def kubectl(self) -> list[str]:
        """Exact, copy-pasteable kubectl command line(s), with --context and -n."""
        ...

    def preview(self) -> Preview:
        """Server-side dry run and diff. Must not change the cluster."""
        ...

    def execute(
        self,
        *,
        on_target: Callable[[TargetResult], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ActionOutcome:
        """Perform the change. ``on_target`` is called as each target finishes."""
        ...

    def recheck(self) -> list[TargetResult]:
        """After a crash: for each target, is the change already in place (``applied``)?"""
        ...

    def permissions(self) -> list[AccessCheck]:
        """Every verb/resource/namespace the action will ask the API server for (the RBAC preflight)."""
        ...


class ClusterError(MitigateError):
    """A one-line, user-facing cluster problem (unreachable, 401/403, unknown context...)."""


class CircuitOpen(ClusterError):
    """Repeated failures: the adapter stopped and hands the decision back to the responder."""


class PartialOutcome(ClusterError):
    """Execution stopped part-way: ``outcome`` records every target, attempted or not, so the
    engine journals what was applied (and its undo) before it halts."""

    def __init__(self, message: str, outcome: ActionOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome


@runtime_checkable
class ClusterPort(Protocol):
    def contexts(self) -> list[ContextInfo]: ...

    def query(self, context: str, query: Query) -> list[dict[str, JSON]]:
        """Objects as plain dicts (raw JSON); a ``name`` query returns 0 or 1 item."""
        ...

    def prepare(self, request: ActionRequest) -> PreparedAction:
        """Bind an action. Raises ClusterError (unknown verb, unscoped, bad context)."""
        ...

    def access(self, context: str, checks: Sequence[AccessCheck]) -> list[AccessAnswer]:
        """Ask the API server (SelfSubjectAccessReview, as the impersonated user if any) about each check."""
        ...


# --------------------------------------------------------------------------- probes (Prometheus, HTTP)


@dataclass
class ProbeResult:
    ok: bool
    value: JSON = None  # scalar for Prometheus instant queries, status code for HTTP
    rows: list[dict[str, JSON]] = field(default_factory=list)  # table for the TUI
    message: str = ""
    latency_ms: float | None = None


@runtime_checkable
class ProbePort(Protocol):
    def probe(self, kind: Literal["prometheus", "http"], params: Mapping[str, JSON]) -> ProbeResult: ...


# --------------------------------------------------------------------------- notifications


@dataclass
class Notification:
    channel: str  # a channel name from the user's integrations config
    title: str
    body: str  # Markdown, rendered from templates/status-update.md.j2
    status: str | None = None  # investigating | identified | monitoring | resolved
    incident_id: str = ""
    dedup_key: str = ""
    journal_head: str = ""  # the journal's head hash when sent: a journal cut short later shows another


@dataclass
class NotifyResult:
    ok: bool
    channel: str
    message: str = ""
    remote_id: str | None = None  # e.g. Statuspage incident id, PagerDuty dedup key


@runtime_checkable
class NotifierPort(Protocol):
    def channels(self) -> list[str]: ...

    def preview(self, note: Notification) -> str:
        """Exactly what would be sent (secrets redacted)."""
        ...

    def send(self, note: Notification) -> NotifyResult:
        """Send; never raises for remote failures (returns ok=False with a message)."""
        ...


# --------------------------------------------------------------------------- Alertmanager silences


@dataclass(frozen=True)
class SilenceMatcher:
    """One label matcher: ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def operator(self) -> str:
        return ("=" if self.is_equal else "!") + ("~" if self.is_regex else ("" if self.is_equal else "="))

    def text(self) -> str:
        return f"{self.name}{self.operator}{self.value}"


@dataclass(frozen=True)
class SilenceRequest:
    """A silence for the incident window, rendered and checked by the engine."""

    alertmanager: str  # the integration name, as ``SilencerPort.resolve`` returned it
    matchers: tuple[SilenceMatcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str  # carries the incident/step/attempt marker that ``find`` looks for
    created_by: str


@dataclass
class SilenceResult:
    ok: bool
    silence_id: str | None = None
    message: str = ""
    uncertain: bool = False  # no answer after the request may have been received: it may exist


@runtime_checkable
class SilencerPort(Protocol):
    """Alertmanager silences (``silence`` steps) and their undo (expire)."""

    records_only: bool  # True when nothing leaves the process (drills); a drill refuses any other

    def resolve(self, alertmanager: str | None) -> tuple[str, str]:
        """``(name, url)`` of the named Alertmanager (None: the default). MitigateError when none is
        configured; nothing is sent."""
        ...

    def create(self, request: SilenceRequest) -> SilenceResult:
        """Create the silence; never raises for remote failures. Not retried once it may have arrived."""
        ...

    def expire(self, alertmanager: str, silence_id: str) -> SilenceResult:
        """Expire (the undo); idempotent, never raises for remote failures."""
        ...

    def find(self, alertmanager: str, marker: str) -> list[str]:
        """Ids of the silences that are not expired and whose comment contains ``marker`` (after a
        crash or an unanswered create). MitigateError when the Alertmanager cannot be asked."""
        ...


# --------------------------------------------------------------------------- http and command steps


@dataclass(frozen=True)
class HttpCall:
    """One rendered ``http`` step request. The credential is named, never carried: the port
    reads ``auth_secret`` from the keyring and adds ``auth_header`` itself."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    auth_secret: str | None = None
    auth_scheme: str | None = "Bearer"
    auth_header: str = "Authorization"
    timeout: float = 30.0


@dataclass
class HttpReply:
    status: int | None  # None: no answer (``error`` says why)
    body: str = ""  # the start of the body, secrets masked by the port
    error: str = ""
    uncertain: bool = False  # no answer after the request may have been received


@runtime_checkable
class HttpPort(Protocol):
    """Outbound calls of ``http`` steps (cloud and vendor APIs)."""

    records_only: bool  # drills: nothing is sent, the call is recorded

    def send(self, call: HttpCall) -> HttpReply:
        """Send once (no retry once it may have arrived); never raises for remote failures.
        MitigateError when the secret is missing."""
        ...


@dataclass(frozen=True)
class CommandCall:
    """One rendered ``command`` step: an argv list run without a shell."""

    argv: tuple[str, ...]
    cwd: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    timeout: float = 300.0


@dataclass
class CommandReply:
    exit_code: int | None  # None: it did not run to completion (``error`` says why)
    output: str = ""  # stdout and stderr interleaved, capped
    error: str = ""
    program: str = ""  # the resolved path of argv[0]


@runtime_checkable
class CommandPort(Protocol):
    """Local programs of ``command`` steps."""

    records_only: bool

    def resolve(self, program: str) -> str:
        """The absolute path that would run for ``program``; MitigateError when there is none."""
        ...

    def run(self, call: CommandCall) -> CommandReply:
        """Run to completion or timeout (then killed); never raises for the program's failures."""
        ...


# --------------------------------------------------------------------------- confirmation


@dataclass(frozen=True)
class ConfirmRequest:
    step_id: str
    title: str
    description: str  # the action's one-line description
    kubectl: tuple[str, ...]
    context: str
    scope: str  # e.g. "namespace kube-system, names: a, b" or "cluster"
    target_count: int
    destructive: bool
    protected: bool  # context matches a protected pattern
    diff: str = ""
    kind: Literal["action", "notify", "silence", "rollback", "decision", "http", "command"] = "action"
    cluster_scope: bool = False  # the step stated ``scope: cluster``: it acts on everything
    preflight: tuple[str, ...] = ()  # what the RBAC preflight found (shown above the buttons)
    uncertain: bool = False  # the cluster could not answer the preflight: the responder decides, typed
    # A fan-out asked once for many contexts: every context it covers, the protected ones among
    # them, and the contexts skipped with nothing to change. ``context`` is then what to type.
    contexts: tuple[str, ...] = ()
    protected_contexts: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def needs_typed(self) -> bool:
        """The context name must be typed for destructive steps on protected contexts, for every
        cluster-wide (``scope: cluster``) step, and to override an RBAC preflight the cluster could
        not answer. A fan-out's ``context`` is the word to type: the protected context's name when
        one is, else "<n> clusters"."""
        return (self.protected and self.destructive) or self.cluster_scope or self.uncertain


@dataclass(frozen=True)
class ConfirmDecision:
    approved: bool
    typed: str = ""  # what the responder typed, checked by the engine against the context
    reason: str = ""


@runtime_checkable
class ConfirmerPort(Protocol):
    def confirm(self, request: ConfirmRequest) -> ConfirmDecision: ...
