"""The session: a runbook walked step by step, every event journaled first.

A session = runbook + inputs + journal + ports. It is UI-agnostic (the TUI and
the headless runner drive the same object) and safe to call from worker
threads: one lock guards the state and the journal appends, never a cluster
call, so the UI can read ``steps`` while a batch runs.

State is never kept beside the journal: every change is a journal record,
applied to the state by :func:`mitigate.engine.state.apply`; resume folds the
same records with the same function.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from mitigate.engine.checks import run_query
from mitigate.engine.kind import Progress, StepContext, StepKind
from mitigate.engine.registry import DEFAULT, Registry
from mitigate.engine.state import SessionState, StepRecord, apply, fold
from mitigate.engine.types import IncidentMeta, Ports, StepPlan, StepState
from mitigate.engine.views import StepView
from mitigate.errors import MitigateError
from mitigate.events import DONE_STATUSES, HALTING_STATUSES, MILESTONES, STATUSES, Event, StepStatus
from mitigate.journal import Journal, Record, resolve_declared
from mitigate.journal.lifecycle import forward_status, record_milestone
from mitigate.journal.redact import redact_text, register_secret
from mitigate.ports import ClusterError, ConfirmRequest, Preview
from mitigate.runbook.inputs import coerce_input, journaled_inputs, resolve_inputs, secret_names
from mitigate.runbook.model import Runbook, Step
from mitigate.runbook.templating import evaluate, render

_STEP_DONE = frozenset({Event.STEP_SUCCEEDED, Event.MANUAL_DONE, Event.DECISION})  # a step's success, by kind
# how a step's templates name earlier steps: steps['id'] / steps["id"] / steps.id, saved.name / saved['name']
_STEP_REF = re.compile(r"steps\[\s*\\?[\'\"]([a-z0-9][a-z0-9-]*)\\?[\'\"]\s*\]")
_STEP_ATTR = re.compile(r"steps\.([a-z][a-z0-9_]*)")
_SAVED_REF = re.compile(r"saved\.([A-Za-z_][A-Za-z0-9_]*)|saved\[\s*\\?[\'\"]([A-Za-z0-9_-]+)")


class Session:
    """One incident walked through one runbook. Build with :meth:`start` or :meth:`resume`.

    The facade over the step kinds: it orders, guards and journals; what a step does is its
    kind's (:mod:`mitigate.engine.kinds`), looked up in ``kinds``.
    """

    def __init__(self, runbook: Runbook, inputs: dict[str, Any], journal: Journal, ports: Ports,
                 state: SessionState, kinds: Registry = DEFAULT) -> None:
        self.runbook, self.inputs, self.journal, self.ports = runbook, inputs, journal, ports
        self.kinds = kinds
        self._state = state
        self._lock = threading.RLock()
        self._preflighted = False  # the runbook-wide RBAC preflight runs once, before the first change
        self._busy: set[str] = set()
        self._items: dict[str, list[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def start(cls, runbook: Runbook, inputs: Mapping[str, Any], journal: Journal, ports: Ports, *,
              meta: IncidentMeta, kinds: Registry = DEFAULT) -> Session:
        """Open the incident: check inputs, record ``incident.opened``, status and ``started``."""
        values = _with_keyring(runbook, resolve_inputs(runbook, {k: v for k, v in inputs.items() if v is not None}),
                               ports, required=True)
        session = cls(runbook, values, journal, ports, SessionState(), kinds)
        contexts = sorted({str(v) for k, v in values.items()
                           if runbook.inputs[k].type == "kube-context" and v}
                          | {str(c) for k, v in values.items()
                             if runbook.inputs[k].type == "kube-contexts" and v for c in v})
        session._append(Event.INCIDENT_OPENED, {
            "title": meta.title or runbook.metadata.title, "severity": meta.severity,
            "commander": meta.commander, "runbook": runbook.metadata.name,
            "runbook_version": runbook.metadata.version, "runbook_path": meta.runbook_path,
            "inputs": journaled_inputs(runbook, values), "contexts": contexts, "drill": meta.drill, "scenario": meta.scenario,
            "protection": {**meta.protection, "protected": [c for c in contexts if session.protected(c)]},
        })
        session._append(Event.INCIDENT_STATUS, {"status": "investigating"})
        session._append(Event.MILESTONE, {"name": "started"})
        return session

    @classmethod
    def attach(cls, runbook: Runbook, inputs: Mapping[str, Any], journal: Journal, ports: Ports, *,
               meta: IncidentMeta, kinds: Registry = DEFAULT) -> Session:
        """Run a runbook in an incident opened without one (``mitigate incident open``, an import):
        ``runbook.attached`` records what ``incident.opened`` records for a runbook, and the
        incident's title, status, roles and milestones stay as they are."""
        state = fold(journal.records())
        if not state.opened:
            raise MitigateError(f"incident {journal.id}: the journal has no incident.opened record")
        if state.closed:
            raise MitigateError(f"incident {journal.id} is closed: `mitigate incident reopen {journal.id}` first")
        if state.opened.get("runbook"):
            raise MitigateError(f"incident {journal.id} already runs runbook {state.opened['runbook']!r}: "
                                f"`mitigate resume {journal.id}` continues it")
        values = _with_keyring(runbook, resolve_inputs(runbook, {k: v for k, v in inputs.items() if v is not None}),
                               ports, required=True)
        session = cls(runbook, values, journal, ports, state, kinds)
        contexts = sorted({str(v) for k, v in values.items() if runbook.inputs[k].type == "kube-context" and v}
                          | {str(c) for k, v in values.items()
                             if runbook.inputs[k].type == "kube-contexts" and v for c in v})
        session._append(Event.RUNBOOK_ATTACHED, {
            "runbook": runbook.metadata.name, "runbook_version": runbook.metadata.version,
            "runbook_path": meta.runbook_path, "inputs": journaled_inputs(runbook, values), "contexts": contexts,
            "protection": {**meta.protection, "protected": [c for c in contexts if session.protected(c)]},
        })
        session._append(Event.MILESTONE, {"name": "started"})
        return session

    @classmethod
    def resume(cls, journal: Journal, ports: Ports, runbook: Runbook | None = None, *,
               kinds: Registry = DEFAULT, need_secrets: bool = True) -> Session:
        """Rebuild the session from the journal alone; interrupted mutations become ``unknown``.

        A ``secret`` input was never journaled: it is read again from the keyring or asked of the
        responder again (``Ports.ask_secret``). One the incident was opened with (or a required
        one) that cannot be had stops the resume with a message naming it, unless ``need_secrets``
        is False (a rollback, which restores from backups and renders no input, goes on without it)."""
        state = fold(journal.records())
        if not state.opened:
            raise MitigateError(f"incident {journal.id}: the journal has no incident.opened record")
        if runbook is None:
            from mitigate.runbook.loader import load_runbook

            path = str(state.opened.get("runbook_path") or "")
            if not path:
                raise MitigateError(f"incident {journal.id}: no runbook path recorded; pass the runbook")
            runbook = load_runbook(path)
        # a secret input was never journaled: read it again from the keyring, else ask for it again;
        # never render the journal's mask into the cluster
        journaled = dict(state.opened.get("inputs") or {})
        inputs = {k: v for k, v in journaled.items() if k not in secret_names(runbook)}
        inputs = _with_keyring(runbook, {**{n: None for n in secret_names(runbook)}, **inputs}, ports, required=False)
        if need_secrets:  # the ones the incident was opened with (journaled as the mask), or required
            given = {n for n in secret_names(runbook) if journaled.get(n) is not None or runbook.inputs[n].is_required}
            inputs = _ask_secrets(journal.id, runbook, inputs, ports, given)
        inputs = {k: v for k, v in inputs.items() if not (k in secret_names(runbook) and v is None)}
        session = cls(runbook, inputs, journal, ports, state, kinds)
        for step_id, rec in list(state.steps.items()):
            if rec.open_intents:
                session._append(Event.STEP_UNKNOWN, {"step": step_id})
            elif rec.status in (StepStatus.RUNNING, StepStatus.AWAITING):
                session._append(Event.STEP_FAILED, {"step": step_id,
                                                "error": "interrupted: the session ended while this step ran"})
        return session

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def incident_id(self) -> str:
        return self.journal.id

    @property
    def steps(self) -> list[StepState]:
        with self._lock:
            return [self._view(step) for step in self.runbook.steps]

    def step_state(self, step_id: str) -> StepState:
        with self._lock:
            return self._view(self._step(step_id))

    def current(self) -> StepState | None:
        """The first step that is not done (the one to act on), or None at the end."""
        with self._lock:
            for step in self.runbook.steps:
                if self._state.step(step.id).status not in DONE_STATUSES:
                    return self._view(step)
        return None

    def _view(self, step: Step) -> StepState:
        rec = self._state.steps.get(step.id)
        if rec is None:
            return StepState(step.id, step.kind, StepStatus.PENDING, 0, None, None, step.title or step.id)
        return StepState(step.id, step.kind, rec.status, rec.attempts, rec.result, rec.error,
                         step.title or step.id, rec.reason, rec.choice)

    def _step(self, step_id: str) -> Step:
        try:
            return self.runbook.step(step_id)
        except KeyError:
            raise MitigateError(f"no step {step_id!r} in runbook {self.runbook.metadata.name}") from None

    # ------------------------------------------------------------------ journal + template context

    def _append(self, type_: Event, data: dict[str, Any]) -> Record:
        with self._lock:
            record = self.journal.append(Event(type_).value, data)  # ValueError outside the vocabulary
            apply(self._state, record)
            if type_ in _STEP_DONE:
                self._runbook_milestone(str(data.get("step") or ""))
            elif type_ == Event.NOTIFY_SENT:
                self._follow_status_update(data)
            return record

    def _runbook_preflight(self, first: Step) -> None:
        """Before the runbook's first change: the RBAC preflight of every change still ahead whose
        targets are known now, so a responder who may cordon but not evict is stopped before the
        cordon, not half-way through the runbook. Journaled as ``runbook.preflight``; a denial fails
        this step (nothing has changed yet)."""
        self._preflighted = True
        ahead = self.runbook.steps[self.runbook.steps.index(first):]
        denied: list[str] = []
        checked: list[str] = []
        for step in ahead:
            kind = self.kinds.kind(step)
            if kind.read_only or self._state.step(step.id).status in DONE_STATUSES:
                continue
            try:
                plan = self.plan(step.id)
            except MitigateError:
                continue  # its targets depend on steps not run yet: its own preflight runs before it
            if plan.denied or any(note.startswith("RBAC on ") for note in plan.notes):
                checked.append(step.id)  # a kind that asks the cluster for nothing has nothing to check
            denied.extend(f"step {step.id} on {d}" for d in plan.denied)
        self._append(Event.RUNBOOK_PREFLIGHT, {"step": first.id, "checked": checked, "denied": denied})
        if denied:
            more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
            raise MitigateError(f"RBAC preflight: {denied[0].replace(': ', ': you cannot ', 1)}{more}; nothing "
                                "was changed: ask for these permissions or run as a user who has them")

    def _follow_status_update(self, data: Mapping[str, Any]) -> None:
        """A status-page update the responders sent moves the incident status with it (forward only,
        so a status a person set to something later stays)."""
        target = forward_status(self._state.status, str(data.get("status") or ""), closed=self._state.closed)
        if target is not None:
            self._append(Event.INCIDENT_STATUS, {"status": target, "source": "status-update",
                                             "step": str(data.get("step") or "")})

    def _runbook_milestone(self, step_id: str) -> None:
        """The milestone a step declares (``milestone:``), marked when it succeeds, once per incident:
        headless runs and drills get their metrics without hand entry, and a person's earlier mark wins."""
        step = next((s for s in self.runbook.steps if s.id == step_id), None)
        if step is None or step.milestone is None:
            return
        if any(m.get("name") == step.milestone for m in self._state.milestones):
            return
        self.milestone(step.milestone, source="runbook", step=step_id)

    def context(self, **extra: Any) -> dict[str, Any]:
        """The names templates see: inputs, steps, saved, incident, now (plus ``extra``)."""
        with self._lock:
            views = {s.id: StepView(s.id, self._state.step(s.id), self._items.get(s.id), self._loader(s))
                     for s in self.runbook.steps}
            opened = self._state.opened
            incident = {"id": self.journal.id, "title": opened.get("title", ""),
                        "severity": opened.get("severity", ""), "commander": opened.get("commander", ""),
                        "status": self._state.status, "started": self._state.opened_ts}
        saved = {s.save: views[s.id] for s in self.runbook.steps if s.save}
        return {"inputs": self.inputs, "steps": views, "saved": saved, "incident": incident,
                "now": self.ports.clock.now(), **extra}

    def _loader(self, step: Step) -> Callable[[], list[dict[str, Any]]] | None:
        """After a resume, check items are fetched again (read-only) when a template needs them."""
        spec = step.check or (step.wait.check if step.wait else None)
        if spec is None:
            return None

        def load() -> list[dict[str, Any]]:
            ctx = self.context()
            items = run_query(spec, ctx, cluster=self.ports.cluster, probes=self.ports.probes,
                              contexts=self.contexts_for(step, ctx) if spec.kube else []).items
            self._items[step.id] = items
            return items

        return load

    def contexts_for(self, step: Step, ctx: Mapping[str, Any]) -> list[str]:
        """The kube contexts a step acts on: ``contexts`` (fan-out), ``context``, or the inputs'."""
        if step.contexts is not None:
            value = render(step.contexts, ctx)
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
                raise MitigateError(f"step {step.id}: contexts must render to a list of context names")
            if not value:
                raise MitigateError(f"step {step.id}: contexts rendered to an empty list")
            return list(dict.fromkeys(value))
        if step.context is not None:
            return [str(render(step.context, ctx))]
        if self.inputs.get("context"):
            return [str(self.inputs["context"])]
        for name, spec in self.runbook.inputs.items():
            if spec.type == "kube-context" and self.inputs.get(name):
                return [str(self.inputs[name])]
        return []

    def protected(self, context: str) -> bool:
        cluster = self.ports.cluster
        if cluster is None:
            return False
        return any(info.protected for info in cluster.contexts() if info.name == context)

    # ------------------------------------------------------------------ confirmation

    def confirm(self, request: ConfirmRequest) -> tuple[bool, str]:
        """Ask the confirmer; the engine itself checks typed confirmation. Journaled both ways."""
        step = request.step_id
        fan_out = {"contexts": list(request.contexts)} if request.contexts else {}
        self._append(Event.STEP_AWAITING_CONFIRMATION, {
            "step": step, "context": request.context, "kind": request.kind,
            "destructive": request.destructive, "protected": request.protected, **fan_out})
        decision = self.ports.confirmer.confirm(_masked_request(request))
        reason = decision.reason or "declined by the responder"
        if decision.approved and request.needs_typed and decision.typed.strip() != request.context:
            what = ("count of clusters" if request.contexts and request.context not in request.contexts
                    else "protected context" if request.protected else "context of this cluster-wide step")
            decision_ok, reason = False, (f"typed confirmation {decision.typed.strip()!r} does not match "
                                          f"the {what} {request.context!r}")
        else:
            decision_ok = decision.approved
        if decision_ok:
            self._append(Event.STEP_CONFIRMED, {"step": step, "context": request.context,
                                            "kind": request.kind, "typed": request.needs_typed, **fan_out})
            return True, ""
        self._append(Event.STEP_DECLINED, {"step": step, "context": request.context, "kind": request.kind,
                                       "reason": reason, **fan_out})
        return False, reason

    # ------------------------------------------------------------------ running steps

    @contextmanager
    def _running(self, step_id: str, *, allow: tuple[StepStatus, ...] = ()) -> Iterator[None]:
        with self._lock:
            self._check_order(step_id)
            status = self._state.step(step_id).status
            if step_id in self._busy:
                raise MitigateError(f"step {step_id} is already running")
            if status == StepStatus.UNKNOWN:
                raise MitigateError(f"step {step_id}: outcome unknown after a crash: recheck it first")
            if status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED) and status not in allow:
                raise MitigateError(f"step {step_id} is already {status}")
            self._busy.add(step_id)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(step_id)

    def _check_order(self, step_id: str) -> None:
        """Failure halts the runbook: no step runs past a failed or unknown one."""
        for step in self.runbook.steps:
            if step.id == step_id:
                return
            status = self._state.step(step.id).status
            if status in HALTING_STATUSES:
                raise MitigateError(f"step {step_id} cannot run: step {step.id} is {status} "
                                    "(retry it, skip it with a reason, or roll back)")
            if status not in DONE_STATUSES:
                raise MitigateError(f"step {step_id} cannot run yet: step {step.id} is {status} "
                                    "(run or skip it first)")

    def run(self, step_id: str, *, cancel: threading.Event | None = None,
            on_progress: Progress | None = None) -> StepState:
        """Run a step. Manual and decision steps only evaluate ``when`` (tick or decide them)."""
        step = self._step(step_id)
        kind = self.kinds.kind(step)
        allow = (StepStatus.SUCCEEDED,) if kind.read_only else ()
        with self._running(step_id, allow=allow):
            values = self.context()
            try:
                if step.when is not None and not evaluate(step.when, values):
                    self._append(Event.STEP_SKIPPED, {"step": step_id, "reason": f"condition false: {step.when}"})
                    return self.step_state(step_id)
                if kind.completed_by_responder:
                    return self.step_state(step_id)
                attempt = self._state.step(step_id).attempts + 1
                if not kind.read_only and not self._preflighted:
                    self._runbook_preflight(step)
                self._append(Event.STEP_STARTED, {"step": step_id, "attempt": attempt, "kind": step.kind})
                kind.run(self._step_context(step, values, attempt, cancel, on_progress))
            except MitigateError as exc:  # ClusterError is one
                self._append(Event.STEP_FAILED, {"step": step_id, "error": str(exc)})
        return self.step_state(step_id)

    def advance(self) -> list[str]:
        """Skip the steps the walk has reached whose ``when`` is false; the ids skipped, in order.

        Each is journaled as ``run`` would (``step.skipped``, "condition false: ..."), so a
        branch not taken after a decision is recorded without the responder running its
        steps one by one. It stops at the first step that is not pending, has no ``when``, or
        whose ``when`` is true or cannot be evaluated yet (running it reports that error).
        """
        skipped: list[str] = []
        while (state := self.current()) is not None and state.status is StepStatus.PENDING:
            step = self._step(state.id)
            if step.when is None:
                break
            try:
                if evaluate(step.when, self.context()):
                    break
            except MitigateError:
                break
            self.run(step.id)
            if self.step_state(step.id).status is not StepStatus.SKIPPED:
                break  # the world changed between the two evaluations: leave it to the responder
            skipped.append(step.id)
        return skipped

    def _step_context(self, step: Step, values: Mapping[str, Any], attempt: int,
                      cancel: threading.Event | None = None, progress: Progress | None = None) -> StepContext:
        """What a step kind is handed instead of the session."""
        step_id = step.id

        def snapshot() -> StepRecord:
            with self._lock:
                return self._state.step(step_id).snapshot()

        def done_units(context: str) -> set[str]:
            with self._lock:
                return self._state.step(step_id).done_units(context)

        def keep_items(items: list[dict[str, Any]]) -> None:
            with self._lock:
                self._items[step_id] = items

        return StepContext(
            step=step, values=values, attempt=attempt, ports=self.ports, incident_id=self.journal.id,
            actor=self.journal.actor, backups_dir=str(self.journal.backups_dir),
            drill=bool(self._state.opened.get("drill")), record=self._append, confirm=self.confirm,
            snapshot=snapshot, done_units=done_units, contexts_for=lambda v: self.contexts_for(step, v),
            protected=self.protected, template=self.context, keep_items=keep_items, cancel=cancel,
            progress=progress, head=lambda: self.journal.head)

    # ------------------------------------------------------------------ responder decisions

    def retry(self, step_id: str, *, cancel: threading.Event | None = None,
              on_progress: Progress | None = None) -> StepState:
        """Run a failed step again; targets already applied are not redone."""
        if self.step_state(step_id).status != StepStatus.FAILED:
            raise MitigateError(f"step {step_id} is {self.step_state(step_id).status}: only a failed step is retried")
        return self.run(step_id, cancel=cancel, on_progress=on_progress)

    def skip(self, step_id: str, reason: str) -> StepState:
        self._step(step_id)
        if not reason.strip():
            raise MitigateError(f"skipping step {step_id} needs a reason")
        with self._lock:
            status = self._state.step(step_id).status
            if step_id in self._busy or status in (StepStatus.SUCCEEDED, StepStatus.ROLLED_BACK):
                raise MitigateError(f"step {step_id} is {status}: it cannot be skipped")
            self._append(Event.STEP_SKIPPED, {"step": step_id, "reason": reason.strip()})
        return self.step_state(step_id)

    def complete_manual(self, step_id: str) -> StepState:
        step = self._step(step_id)
        if step.kind != "manual":
            raise MitigateError(f"step {step_id} is a {step.kind} step, not a manual one")
        with self._running(step_id):
            self._append(Event.MANUAL_DONE, {"step": step_id})
        return self.step_state(step_id)

    def decide(self, step_id: str, choice: str) -> StepState:
        step = self._step(step_id)
        if step.decision is None:
            raise MitigateError(f"step {step_id} is a {step.kind} step, not a decision")
        options = [o.id for o in step.decision.options]
        if choice not in options:
            raise MitigateError(f"step {step_id}: {choice!r} is not an option ({', '.join(options)})")
        with self._running(step_id):
            self._append(Event.DECISION, {"step": step_id, "choice": choice})
        return self.step_state(step_id)

    def recheck(self, step_id: str) -> StepState:
        """After a crash: ask the cluster which targets are already changed; never re-execute."""
        step = self._step(step_id)
        if self.step_state(step_id).status != StepStatus.UNKNOWN:
            raise MitigateError(f"step {step_id} is {self.step_state(step_id).status}: only an unknown step "
                                "is rechecked")
        attempt = self._state.step(step_id).attempts
        self.kinds.kind(step).recheck(self._step_context(step, self.context(), attempt))
        return self.step_state(step_id)

    def plan(self, step_id: str) -> StepPlan:
        """What the step would do (kubectl, scope, targets), computed without any change."""
        step = self._step(step_id)
        return self._plan(self.kinds.kind(step), self._plan_context(step, self.context()))

    def _plan_context(self, step: Step, values: Mapping[str, Any]) -> StepContext:
        return self._step_context(step, values, self._state.step(step.id).attempts + 1)

    @staticmethod
    def _plan(kind: StepKind, ctx: StepContext) -> StepPlan:
        step = ctx.step
        out = StepPlan(description="", step_id=step.id, kind=step.kind, title=step.title or step.id)
        if step.when is not None:
            out.notes.append(f"only when: {step.when}")
        kind.plan(ctx, out)
        return _masked_plan(out)

    def plan_all(self, decisions: Mapping[str, str] | None = None) -> list[StepPlan]:
        """The whole runbook as a plan: read-only checks really run and are journaled (later
        templates need their results), actions are only prepared for their kubectl and scope,
        nothing is confirmed. ``decisions`` (``--decide``) are journaled when their step is
        reached, so the branches after them are planned as they would run.

        A step that cannot be computed because it uses what an earlier action, call or decision
        would produce says so; any other failure (a type error, an unknown context, a bad
        value) is the plan's ``error``, so ``--plan`` can fail on it."""
        decisions = dict(decisions or {})
        plans = []
        for step in self.runbook.steps:
            values = self.context()
            try:
                kind = self.kinds.kind(step)
                ctx = self._plan_context(step, values)
                out = self._plan(kind, ctx)
                if step.when is not None and not evaluate(step.when, values):
                    out.notes.append(f"would be skipped now: condition false: {step.when}")
                elif step.decision is not None:
                    self._plan_decision(step, decisions.pop(step.id, None), out)
                else:
                    kind.rehearse(ctx, out)
                waiting = self._waits_for(step)
                if waiting and step.decision is None:
                    out.notes.append(f"uses what {', '.join(waiting)} would produce, which the plan does not run: "
                                     "shown as it would be now")
            except MitigateError as exc:
                waiting = self._waits_on(step, values, exc)
                out = StepPlan(description=(f"cannot be computed before earlier steps run ({', '.join(waiting)}): "
                                            f"{exc}" if waiting else f"cannot be planned: {exc}"),
                               step_id=step.id, kind=step.kind, title=step.title or step.id,
                               error="" if waiting else str(exc))
            plans.append(_masked_plan(out))
        for step_id in decisions:
            plans.append(StepPlan(description="", step_id=step_id, kind="decision", title=step_id,
                                  error=f"--decide {step_id}: no decision step reached by that id"))
        return plans

    def _waits_on(self, step: Step, values: Mapping[str, Any], exc: Exception) -> list[str]:
        """The earlier steps a plan error may be waiting on; none means the error is the runbook's or
        the inputs' own (a type error, an unknown context) and the plan fails.

        A template that reads an earlier step (``steps[...]``, ``saved.*``) not yet succeeded waits
        on it; a cluster answer (e.g. "no PriorityLevelConfiguration") may wait on the earlier
        actions that would have created what is missing, when the step's contexts exist."""
        earlier = self.runbook.steps[: self.runbook.steps.index(step)]
        pending = [s for s in earlier if self._state.step(s.id).status != StepStatus.SUCCEEDED]
        text = step.model_dump_json()
        saved = {s.save: s.id for s in self.runbook.steps if s.save}
        named = set(_STEP_REF.findall(text)) | set(_STEP_ATTR.findall(text))
        named |= {saved[n] for n in {a or b for a, b in _SAVED_REF.findall(text)} if n in saved}
        waiting = [s.id for s in pending if s.id in named]
        if waiting or not isinstance(exc, ClusterError):
            return waiting
        cluster = self.ports.cluster
        try:
            known = {c.name for c in cluster.contexts()} if cluster is not None else set()
            if any(c not in known for c in self.contexts_for(step, values)):
                return []
        except MitigateError:
            return []
        return [s.id for s in pending if s.kind in ("action", "http", "command", "silence")]

    def _plan_decision(self, step: Step, choice: str | None, out: StepPlan) -> None:
        assert step.decision is not None
        options = [o.id for o in step.decision.options]
        if choice is None:
            out.notes.append(f"needs a decision: pass --decide {step.id}=OPTION ({', '.join(options)}); "
                             "the steps that depend on it are planned as undecided")
            return
        if choice not in options:
            raise MitigateError(f"--decide {step.id}={choice}: not an option ({', '.join(options)})")
        self._append(Event.DECISION, {"step": step.id, "choice": choice})
        out.notes.append(f"decided: {choice} (--decide)")

    def _waits_for(self, step: Step) -> list[str]:
        """The earlier steps this step's templates read that have not produced a result in the plan
        (actions, calls and decisions do not run while planning)."""
        from mitigate.runbook.templating import TemplateError, check_expression, check_template, references

        texts: list[tuple[str, bool]] = []

        def walk(value: Any, expr: bool) -> None:
            if isinstance(value, str):
                texts.append((value, expr))
            elif isinstance(value, Mapping):
                for k, v in value.items():
                    if isinstance(k, str) and "{{" in k:
                        texts.append((k, False))
                    walk(v, expr or k in ("when", "where", "expect", "until", "haltWhen", "require"))
            elif isinstance(value, list):
                for v in value:
                    walk(v, expr)

        walk(step.model_dump(by_alias=True, exclude_none=True), False)
        refs: set[str] = set()
        for text, expr in texts:
            try:
                ast = check_expression(text) if expr and "{{" not in text else check_template(text)
            except TemplateError:
                continue
            refs.update(references(ast, "steps"))
            refs.update(s.id for s in self.runbook.steps if s.save and s.save in references(ast, "saved"))
        return sorted(r for r in refs if self._state.step(r).status not in DONE_STATUSES)

    def preview(self, step_id: str) -> Preview:
        """Server-side dry run of the step's first request (journaled as ``step.previewed``)."""
        step = self._step(step_id)
        shown = self.kinds.kind(step).preview(self._plan_context(step, self.context()))
        return replace(shown, diff=redact_text(shown.diff), warnings=[redact_text(w) for w in shown.warnings])

    def rollback(self, cancel: threading.Event | None = None, *, only: str | None = None) -> list[StepState]:
        """Undo applied steps (actions, silences, http and command calls), most recently applied
        first, each confirmed and journaled; stops at the first that cannot be undone.

        ``only``: undo that one step only (the TUI's ``b`` on a step, ``mitigate rollback ID
        --step S``); the others keep their state. MitigateError when it has nothing to undo."""
        undoable = {s.id for s in self.runbook.steps if s.kind in self.kinds and self.kinds.kind(s).undoable}
        one = {"only": only} if only is not None else {}
        with self._lock:
            candidates = sorted(
                (sid for sid, rec in self._state.steps.items()
                 if rec.status != StepStatus.ROLLED_BACK and (rec.done or rec.undo) and sid in undoable
                 and (only is None or sid == only)),
                key=lambda sid: -self._state.step(sid).last_applied_seq)
            if only is not None:
                self._step(only)  # an unknown step id is an error, not "nothing to do"
                if only in self._busy:
                    raise MitigateError(f"step {only} is running")
                if self._state.step(only).open_intents:
                    raise MitigateError(f"step {only}: its outcome is unknown: recheck it before rolling back")
                if only not in candidates:
                    raise MitigateError(f"step {only} has nothing applied to roll back")
                candidates = [only]
            elif any(rec.open_intents for rec in self._state.steps.values()):
                raise MitigateError("a step's outcome is unknown: recheck it before rolling back")
        self._append(Event.ROLLBACK_STARTED, {"steps": candidates, **one})
        for sid in candidates:  # every journaled undo checked before anything is sent for any step
            step = self.runbook.step(sid)
            if step.undo == "none":
                continue
            try:
                self.kinds.kind(step).check_rollback(
                    self._step_context(step, self.context(), self._state.step(sid).attempts, cancel))
            except MitigateError as exc:
                self._append(Event.ROLLBACK_STEP, {"step": sid, "ok": False, "message": str(exc)})
                self._append(Event.ROLLBACK_FINISHED, {"ok": False, "stopped_at": sid, "rolled_back": [], **one})
                return []
        rolled: list[str] = []
        for sid in candidates:
            step = self.runbook.step(sid)
            if step.undo == "none":
                self._append(Event.ROLLBACK_STEP, {"step": sid, "ok": False,
                                               "message": "cannot be undone: the runbook declares undo: none"})
                continue
            try:
                ctx = self._step_context(step, self.context(), self._state.step(sid).attempts, cancel)
                stopped = self.kinds.kind(step).rollback(ctx)
            except MitigateError as exc:
                stopped = str(exc)
            if stopped is None:
                self._append(Event.ROLLBACK_STEP, {"step": sid, "ok": True})
                rolled.append(sid)
                continue
            self._append(Event.ROLLBACK_STEP, {"step": sid, "ok": False, "message": stopped})
            self._append(Event.ROLLBACK_FINISHED, {"ok": False, "stopped_at": sid, "rolled_back": rolled, **one})
            return [self.step_state(s) for s in rolled]
        self._append(Event.ROLLBACK_FINISHED, {"ok": True, "rolled_back": rolled, **one})
        return [self.step_state(s) for s in rolled]

    def rollback_step(self, step_id: str, cancel: threading.Event | None = None) -> StepState:
        """Undo one applied step (see :meth:`rollback`); its state afterwards."""
        self.rollback(cancel, only=step_id)
        return self.step_state(step_id)

    # ------------------------------------------------------------------ incident events

    def _declared(self, at: str | None, tz: str | None) -> dict[str, Any]:
        if at is None:
            return {}
        if tz is None:
            raise MitigateError(f"a backdated time needs its time zone (e.g. {at} Europe/Paris)")
        declared = resolve_declared(at, tz, reference_date=self.ports.clock.now().date())
        return {"at": declared.at, "declared": declared.to_data()}

    def note(self, text: str, *, at: str | None = None, tz: str | None = None) -> Record:
        if not text.strip():
            raise MitigateError("a note needs some text")
        return self._append(Event.NOTE, {"text": text, **self._declared(at, tz)})

    def milestone(self, name: str, *, at: str | None = None, tz: str | None = None,
                  source: str = "person", step: str | None = None, text: str = "") -> Record:
        """Mark a milestone (a known name); the status follows it, out-of-order times are warned
        about in the record's ``warnings``."""
        if not name.strip():
            raise MitigateError(f"a milestone needs a name (e.g. {', '.join(MILESTONES[1:])})")
        data = {**self._declared(at, tz), **({"step": step} if step else {}), **({"text": text} if text else {})}
        with self._lock:
            record, _ = record_milestone(self.journal, name, data, source=source, append=self._append)
        return record

    def set_status(self, status: str) -> Record:
        if status not in STATUSES:
            raise MitigateError(f"unknown incident status {status!r} (one of {', '.join(STATUSES)})")
        return self._append(Event.INCIDENT_STATUS, {"status": status})

    def close_incident(self) -> Record:
        return self._append(Event.INCIDENT_CLOSED, {})


def _with_keyring(runbook: Runbook, values: dict[str, Any], ports: Ports, *, required: bool) -> dict[str, Any]:
    """Secret inputs not given, read from the keyring (``keyring: NAME``); each value is registered
    for redaction by value, so it is masked wherever it would appear."""
    out = dict(values)
    for name, spec in runbook.inputs.items():
        if spec.type != "secret" or out.get(name) is not None or not spec.keyring:
            continue
        value = ports.secrets(spec.keyring) if ports.secrets is not None else None
        if value:
            register_secret(value)
            out[name] = value
        elif required and spec.is_required:
            raise MitigateError(f"secret input {name!r}: not given and keyring secret {spec.keyring!r} is not set "
                                f"(`mitigate secrets set {spec.keyring}`, or pass {name}=VALUE)")
    return out


ASK_SECRET_ATTEMPTS = 3


def _ask_secrets(incident: str, runbook: Runbook, values: dict[str, Any], ports: Ports,
                 names: set[str]) -> dict[str, Any]:
    """Secret inputs (of ``names``) still missing on resume, asked of the responder (masked; never
    journaled). One that cannot be had is an error naming it and where it can come from."""
    out = dict(values)
    for name, spec in runbook.inputs.items():
        if name not in names or out.get(name) is not None:
            continue
        question = (f"incident {incident}: secret input {name!r}" + (f" ({spec.prompt})" if spec.prompt else "")
                    + " is never journaled: type it again to resume")
        problem = ""
        ask = ports.ask_secret
        for _ in range(ASK_SECRET_ATTEMPTS):
            answer = ask(name, question + (f" [{problem}]" if problem else "")) if ask is not None else None
            if answer is None:  # declined, or nobody to ask
                break
            try:
                out[name] = coerce_input(spec, answer)
            except ValueError as exc:
                problem = str(exc)  # never the value: coerce_input says so for secrets
                continue
            register_secret(out[name])
            break
        if out.get(name) is None:
            where = [f"the keyring secret {spec.keyring!r} (`mitigate secrets set {spec.keyring}`)"] if spec.keyring \
                else []
            where.append("typing it when asked (the TUI, or a terminal)")
            raise MitigateError(f"incident {incident}: secret input {name!r} is never journaled and could not be "
                                f"had again{': ' + problem if problem else ''}; resume it from "
                                + " or ".join(where))
    return out


def _masked_request(request: ConfirmRequest) -> ConfirmRequest:
    """What the responder is shown: every text redacted (a secret input inside a printed patch,
    a registered value anywhere), as the journal is."""
    return replace(request, title=redact_text(request.title), description=redact_text(request.description),
                   kubectl=tuple(redact_text(line) for line in request.kubectl), scope=redact_text(request.scope),
                   diff=redact_text(request.diff))


def _masked_plan(plan: StepPlan) -> StepPlan:
    return replace(plan, description=redact_text(plan.description), kubectl=[redact_text(k) for k in plan.kubectl],
                   scope=redact_text(plan.scope), notes=[redact_text(n) for n in plan.notes],
                   error=redact_text(plan.error), targets=[redact_text(t) for t in plan.targets])
