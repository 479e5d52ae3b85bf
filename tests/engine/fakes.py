"""Test doubles for the engine's ports, with realistic behaviour.

The fake cluster holds Nodes per context and really changes them (cordon sets
``spec.unschedulable``, delete removes the object), records every mutation,
fails targets on demand, and can "crash" mid-execute: it applies some targets
and then raises :class:`Crash`, a BaseException like SystemExit, so nothing in
the engine can swallow it and the journal is left with an intent and no outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mitigate.ports import (
    AccessAnswer,
    AccessCheck,
    ActionOutcome,
    ActionRequest,
    ClusterError,
    ConfirmDecision,
    ConfirmRequest,
    ContextInfo,
    Notification,
    NotifyResult,
    Preview,
    ProbeResult,
    Query,
    TargetResult,
)
from mitigate.runbook.actions import is_destructive


class Crash(BaseException):  # noqa: N818 - it models a process dying, not an error
    """The process died between the intent and the outcome."""


def node(name: str, ready: bool = True, unschedulable: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@dataclass
class FakeCluster:
    nodes: dict[str, dict[str, dict[str, Any]]]  # context -> name -> Node
    protected: set[str] = field(default_factory=set)
    fail_targets: set[str] = field(default_factory=set)  # node names whose mutation fails
    crash_after: int | None = None  # apply this many targets, then Crash
    mutations: list[tuple[str, str, str]] = field(default_factory=list)  # (context, verb, node)
    queries: int = 0
    absorbed_per_call: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    denied: set[str] = field(default_factory=set)  # AccessCheck texts the fake RBAC denies
    reviews_fail: bool = False  # the access review API is down: every answer uncertain

    def contexts(self) -> list[ContextInfo]:
        return [ContextInfo(name=c, cluster=c, protected=c in self.protected) for c in self.nodes]

    def query(self, context: str, query: Query) -> list[dict[str, Any]]:
        if context not in self.nodes:
            raise ClusterError(f"unknown context {context!r}")
        self.queries += 1
        objs = list(self.nodes[context].values())
        if query.name is not None:
            objs = [o for o in objs if o["metadata"]["name"] == query.name]
        return [dict(o) for o in objs]

    def access(self, context: str, checks: Sequence[AccessCheck]) -> list[AccessAnswer]:
        if self.reviews_fail:
            return [AccessAnswer(c, None, "the access review failed: 503") for c in checks]
        return [AccessAnswer(c, c.text not in self.denied) for c in checks]

    def prepare(self, request: ActionRequest) -> FakeAction:
        if request.context not in self.nodes:
            raise ClusterError(f"unknown context {request.context!r}")
        if request.verb not in ("cordon", "uncordon", "delete"):
            raise ClusterError(f"fake cluster does not implement {request.verb}")
        return FakeAction(self, request)


class FakeAction:
    def __init__(self, cluster: FakeCluster, request: ActionRequest) -> None:
        self.cluster, self.request = cluster, request
        self.names = [str(n) for n in request.params.get("names") or []]
        self.targets: Sequence[str] = [f"Node/{n}" for n in self.names]
        self.destructive = is_destructive(request.verb, request.params)

    def describe(self) -> str:
        return f"{self.request.verb} {len(self.names)} node(s) in {self.request.context}"

    def kubectl(self) -> list[str]:
        return [f"kubectl --context {self.request.context} {self.request.verb} node {n}" for n in self.names]

    def preview(self) -> Preview:
        return Preview(diff=f"-unschedulable: false\n+unschedulable: {self.request.verb == 'cordon'}",
                       targets=list(self.targets))

    def _applied(self, name: str) -> bool:
        obj = self.cluster.nodes[self.request.context].get(name)
        if self.request.verb == "delete":
            return obj is None
        return obj is not None and obj["spec"]["unschedulable"] == (self.request.verb == "cordon")

    def execute(self, *, on_target: Callable[[TargetResult], None] | None = None,
                cancel: threading.Event | None = None) -> ActionOutcome:
        results, undo = [], []
        for name in self.names:
            c = self.cluster
            with c.lock:
                if c.crash_after is not None and len(c.mutations) >= c.crash_after:
                    raise Crash(f"crashed before {name}")
                c.mutations.append((self.request.context, self.request.verb, name))
                if name in c.fail_targets:
                    result = TargetResult(f"Node/{name}", False, "503 Service Unavailable")
                elif self.request.verb == "delete":
                    c.nodes[self.request.context].pop(name, None)
                    result = TargetResult(f"Node/{name}", True, "deleted")
                else:
                    c.nodes[self.request.context][name]["spec"]["unschedulable"] = self.request.verb == "cordon"
                    result = TargetResult(f"Node/{name}", True, self.request.verb + "ed")
            results.append(result)
            if on_target:
                on_target(result)
        ok_names = [n for n, r in zip(self.names, results, strict=True) if r.ok]
        if self.request.verb in ("cordon", "uncordon") and ok_names:
            back = "uncordon" if self.request.verb == "cordon" else "cordon"
            undo.append(ActionRequest(self.request.context, back, {"names": ok_names}, self.request.step_id))
        return ActionOutcome(results, undo, api_errors_absorbed=self.cluster.absorbed_per_call)

    def recheck(self) -> list[TargetResult]:
        return [TargetResult(f"Node/{n}", True, applied=self._applied(n)) for n in self.names]

    def permissions(self) -> list[AccessCheck]:
        verb = "delete" if self.request.verb == "delete" else "patch"
        return [AccessCheck(verb, "nodes", name=n) for n in self.names]


@dataclass
class FakeClock:
    start: datetime = field(default_factory=lambda: datetime(2024, 2, 13, 9, 0, tzinfo=UTC))
    elapsed: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[int], None] | None = None  # called with the sleep's index (to cancel, to heal)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))
        if cancel is not None and cancel.is_set():
            return False
        self.elapsed += seconds
        return True


@dataclass
class FakeConfirmer:
    """Approves (typing the context when asked) unless told otherwise; records every request."""

    approve: bool = True
    typed: str | None = None  # what to type; None = the right context name
    requests: list[ConfirmRequest] = field(default_factory=list)

    def confirm(self, request: ConfirmRequest) -> ConfirmDecision:
        self.requests.append(request)
        if not self.approve:
            return ConfirmDecision(False, reason="not now")
        typed = request.context if self.typed is None else self.typed
        return ConfirmDecision(True, typed=typed if request.needs_typed else "")


@dataclass
class FakeNotifier:
    failing: set[str] = field(default_factory=set)
    sent: list[Notification] = field(default_factory=list)

    def channels(self) -> list[str]:
        return ["slack", "statuspage"]

    def preview(self, note: Notification) -> str:
        return f"[{note.channel}] {note.title}\n{note.body}"

    def send(self, note: Notification) -> NotifyResult:
        if note.channel in self.failing:
            return NotifyResult(False, note.channel, "HTTP 500 from webhook")
        self.sent.append(note)
        return NotifyResult(True, note.channel, "sent", remote_id="42")


@dataclass
class FakeProbes:
    values: list[Any]  # successive Prometheus values
    calls: list[Mapping[str, Any]] = field(default_factory=list)

    def probe(self, kind: str, params: Mapping[str, Any]) -> ProbeResult:
        self.calls.append(params)
        value = self.values[min(len(self.calls), len(self.values)) - 1]
        return ProbeResult(True, value=value)
