"""A small in-test stand-in for mitigate.engine.Session and mitigate.journal.Journal.

It follows docs/CONTRACTS.md (event types and data keys, confirmation through
the ConfirmerPort, batches with a cancel Event) so the TUI tests exercise the
same messages the real engine writes. Time is a counter, so snapshots are stable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mitigate.ports import ClusterError, ConfirmerPort, ConfirmRequest, ContextInfo, Preview

T0 = datetime(2026, 5, 4, 14, 5, 0, tzinfo=UTC)


class FixedClock:
    """Advances one second per reading: deterministic timestamps and header clock."""

    def __init__(self) -> None:
        self.t = T0
        self.lock = threading.Lock()

    def now(self) -> datetime:
        return self.t

    def tick(self) -> datetime:
        with self.lock:
            self.t += timedelta(seconds=1)
            return self.t


@dataclass
class Rec:
    seq: int
    ts: str
    actor: str
    type: str
    data: dict[str, Any]


class FakeJournal:
    def __init__(self, clock: FixedClock, incident_id: str = "INC-20260504-0001") -> None:
        self.id = incident_id
        self.clock = clock
        self._records: list[Rec] = []
        self._subs: list[Callable[[Rec], None]] = []
        self._lock = threading.Lock()

    def append(self, type: str, data: dict[str, Any]) -> Rec:
        with self._lock:
            ts = self.clock.tick().strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            rec = Rec(len(self._records) + 1, ts, "oncall@host", type, data)
            self._records.append(rec)
        for cb in list(self._subs):
            cb(rec)
        return rec

    def records(self) -> list[Rec]:
        return list(self._records)

    def subscribe(self, callback: Callable[[Rec], None]) -> None:
        self._subs.append(callback)

    def types(self) -> list[str]:
        return [r.type for r in self._records]

    def of(self, type: str) -> list[dict[str, Any]]:
        return [r.data for r in self._records if r.type == type]


@dataclass
class FakeStep:
    id: str
    kind: str
    title: str
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    result: Any = None
    targets: list[str] = field(default_factory=list)
    destructive: bool = False
    batch: int = 0  # batch size; 0 = one request
    fail_first: bool = False
    raise_error: bool = False


@dataclass
class FakePlan:
    description: str
    kubectl: list[str]
    scope: str
    targets: list[str]
    destructive: bool
    protected: bool


class FakeSession:
    """Session API over FakeSteps; journal writes in the contract's shapes."""

    def __init__(self, steps: list[FakeStep], journal: FakeJournal, confirmer: ConfirmerPort,
                 context: ContextInfo, *, batch_delay: float = 0.0) -> None:
        self._steps = steps
        self.journal = journal
        self.confirmer = confirmer
        self.context = context
        self.batch_delay = batch_delay

    @property
    def steps(self) -> list[FakeStep]:
        return self._steps

    def _get(self, sid: str) -> FakeStep:
        return next(s for s in self._steps if s.id == sid)

    def current(self) -> FakeStep | None:
        return next((s for s in self._steps if s.status not in ("succeeded", "skipped")), None)

    def plan(self, sid: str) -> FakePlan:
        s = self._get(sid)
        verb = "drain" if s.destructive else "cordon"
        cmd = [f"kubectl --context {self.context.name} {verb} {' '.join(s.targets[:3])}"
               + (f" … (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")]
        return FakePlan(f"{verb} {len(s.targets)} node(s)", cmd, "names", s.targets, s.destructive,
                        self.context.protected)

    def preview(self, sid: str) -> Preview:
        s = self._get(sid)
        diff = "".join(f"--- node/{t}\n+++ node/{t}\n@@ spec @@\n-unschedulable: false\n+unschedulable: true\n"
                       for t in s.targets[:2])
        p = self.plan(sid)
        self.journal.append("step.previewed", {"step": sid, "kubectl": p.kubectl, "diff": diff,
                                               "targets": len(s.targets), "description": p.description})
        return Preview(diff=diff, targets=list(s.targets))

    def run(self, sid: str, *, cancel: threading.Event | None = None,
            on_progress: Callable[..., None] | None = None) -> FakeStep:
        s = self._get(sid)
        s.attempts += 1
        s.status, s.error = "running", None
        self.journal.append("step.started", {"step": sid})
        if s.kind == "check":
            rows = [{"name": f"node-{i}", "ready": "False", "age": f"{i + 3}m"} for i in range(3)]
            self.journal.append("check.result", {"step": sid, "ok": True, "count": 3, "names": [],
                                                 "value": None, "rows": rows, "message": "3 NotReady nodes"})
            s.status = "succeeded"
            self.journal.append("step.succeeded", {"step": sid})
            return s
        p = self.plan(sid)
        decision = self.confirmer.confirm(ConfirmRequest(
            step_id=sid, title=s.title, description=p.description, kubectl=tuple(p.kubectl),
            context=self.context.name, scope="names: " + ", ".join(s.targets[:3]), target_count=len(s.targets),
            destructive=s.destructive, protected=self.context.protected,
            diff="-unschedulable: false\n+unschedulable: true\n"))
        if not decision.approved or (s.destructive and self.context.protected
                                     and decision.typed != self.context.name):
            s.status = "pending"
            self.journal.append("step.declined", {"step": sid, "reason": decision.reason or "typed name mismatch"})
            return s
        self.journal.append("step.confirmed", {"step": sid, "typed": bool(decision.typed)})
        if s.raise_error:
            s.status, s.error = "failed", "apiserver unreachable"
            self.journal.append("step.failed", {"step": sid, "error": s.error})
            raise ClusterError(f"context {self.context.name}: connection refused (https://127.0.0.1:1)")
        size = s.batch or len(s.targets) or 1
        chunks = [s.targets[i:i + size] for i in range(0, len(s.targets), size)] or [[]]
        done = 0
        for n, chunk in enumerate(chunks, 1):
            if n > 1 and cancel is not None and cancel.is_set():
                self.journal.append("batch.cancelled", {"step": sid, "done": done, "total": len(s.targets)})
                s.status, s.error = "failed", "cancelled by responder"
                self.journal.append("step.failed", {"step": sid, "error": s.error})
                return s
            self.journal.append("step.intent", {"step": sid, "attempt": s.attempts, "batch": n,
                                                "context": self.context.name, "verb": "cordon",
                                                "params": {"names": chunk}, "targets": chunk,
                                                "kubectl": p.kubectl, "description": p.description})
            ok = not (s.fail_first and s.attempts == 1)
            results = [{"target": f"node/{t}", "ok": ok, "message": "" if ok else "conflict", "backup": None}
                       for t in chunk]
            self.journal.append("step.outcome", {"step": sid, "attempt": s.attempts, "batch": n,
                                                 "context": self.context.name, "ok": ok, "results": results,
                                                 "undo": [], "api_errors_absorbed": 0})
            done += len(chunk)
            if len(chunks) > 1:
                self.journal.append("batch.progress", {"step": sid, "batch": n, "batches": len(chunks),
                                                       "done": done, "total": len(s.targets),
                                                       "failures": 0 if ok else len(chunk)})
            if self.batch_delay:
                threading.Event().wait(self.batch_delay)
            if not ok:
                s.status, s.error = "failed", "1 target(s) failed: conflict"
                self.journal.append("step.failed", {"step": sid, "error": s.error})
                return s
        s.status = "succeeded"
        self.journal.append("step.succeeded", {"step": sid})
        return s

    def retry(self, sid: str) -> FakeStep:
        return self.run(sid)

    def skip(self, sid: str, reason: str) -> FakeStep:
        s = self._get(sid)
        s.status = "skipped"
        self.journal.append("step.skipped", {"step": sid, "reason": reason})
        return s

    def complete_manual(self, sid: str) -> FakeStep:
        s = self._get(sid)
        s.status = "succeeded"
        self.journal.append("manual.done", {"step": sid})
        self.journal.append("step.succeeded", {"step": sid})
        return s

    def decide(self, sid: str, choice: str) -> FakeStep:
        s = self._get(sid)
        s.status = "succeeded"
        self.journal.append("decision", {"step": sid, "choice": choice})
        return s

    def rollback(self, cancel: threading.Event | None = None) -> list[FakeStep]:
        self.journal.append("rollback.started", {})
        self.journal.append("rollback.finished", {})
        return []

    def note(self, text: str) -> None:
        self.journal.append("note", {"text": text})

    def milestone(self, name: str) -> None:
        self.journal.append("milestone", {"name": name})

    def set_status(self, status: str) -> None:
        self.journal.append("incident.status", {"status": status})


def demo_incident(confirmer: ConfirmerPort, *, protected: bool = False, drain_targets: int = 120,
                  batch_delay: float = 0.0, clock: FixedClock | None = None) -> tuple[Any, FakeSession]:
    """A small NotReady-nodes incident: check, manual, cordon, batched drain, flaky restart, verify."""
    from tui.protocols import Incident, StepInfo

    clock = clock or FixedClock()
    ctx = ContextInfo(name="prod-par" if protected else "drill-par", cluster="par", protected=protected)
    journal = FakeJournal(clock)
    journal.append("incident.opened", {"title": "Nodes NotReady in par", "severity": "SEV2",
                                       "commander": "alice", "runbook": "replace-notready-nodes",
                                       "contexts": [ctx.name], "drill": not protected})
    nodes = [f"node-{i}" for i in range(3)]
    steps = [
        FakeStep("find-notready", "check", "Find NotReady nodes"),
        FakeStep("page-owner", "manual", "Page the node-pool owner"),
        FakeStep("cordon", "action", "Cordon NotReady nodes", targets=nodes),
        FakeStep("drain", "action", "Drain nodes in batches", targets=[f"node-{i}" for i in range(drain_targets)],
                 destructive=True, batch=50),
        FakeStep("restart-kubelet", "action", "Restart kubelet DaemonSet", targets=["kubelet"], fail_first=True),
        FakeStep("verify", "check", "Verify nodes Ready"),
    ]
    session = FakeSession(steps, journal, confirmer, ctx, batch_delay=batch_delay)
    info = {
        "find-notready": StepInfo(description="List nodes whose **Ready** condition is not `True`."),
        "page-owner": StepInfo(manual="Page the owning team in `#inc-par` and note who acknowledged."),
        "cordon": StepInfo(description="Stop new pods landing on the broken nodes."),
        "drain": StepInfo(description="Evict workloads, honouring PodDisruptionBudgets, 50 nodes at a time."),
    }
    incident = Incident(session=session, journal=journal, title="Nodes NotReady in par", context=ctx,
                        runbook_title="Replace NotReady nodes", drill=not protected,
                        started=T0.timestamp(), steps=info)
    return incident, session
