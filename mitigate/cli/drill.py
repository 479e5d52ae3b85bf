"""Headless drills: ``mitigate drill SCENARIO --headless --auto-approve``.

A drill proves a runbook end to end without a person at the keyboard: the sandbox
starts in-process seeded with the scenario's incident, the runbook runs through the
real engine and Kubernetes adapter with :class:`AutoApprove` (manual steps are
acknowledged, decisions come from the scenario's ``drill:`` block or ``--decide``), and
the scenario's own health checks decide whether the incident was mitigated. The exit
code is 0 only when every step finished and every health check passes, so CI can
run the whole runbook library as drills.

Status updates are never sent anywhere from a drill: :class:`DrillNotifier` journals
what would have been sent, so a rehearsal cannot page customers. Likewise no real
Alertmanager is touched: :class:`DrillSilencer` records silences (the journal holds
their intent and outcome) and expires them on rollback.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mitigate.cli.run import parse_pairs
from mitigate.errors import MitigateError, UsageError
from mitigate.paths import journal_root, runbooks_dir

if TYPE_CHECKING:
    from integrations.sandbox import Sandbox
    from mitigate.engine import Session
    from mitigate.ports import Notification, NotifyResult, SilenceRequest, SilenceResult
    from mitigate.runbook.model import Runbook

_PLACEHOLDER = re.compile(r"\$\{(context|contexts|url|ingress)(?::([^}]*))?\}")


class DrillNotifier:
    """A NotifierPort that records status updates instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def channels(self) -> list[str]:
        return []

    def preview(self, note: Notification) -> str:
        return f"[drill: not sent] {note.channel}: {note.title}\n\n{note.body}"

    def send(self, note: Notification) -> NotifyResult:
        from mitigate.ports import NotifyResult

        self.sent.append(note)
        return NotifyResult(ok=True, channel=note.channel, message="drill: recorded, not sent")


class DrillSilencer:
    """A SilencerPort that records silences instead of creating them (ids ``drill-1``, ...)."""

    URL = "drill://not-sent"
    records_only = True

    def __init__(self) -> None:
        self.silences: dict[str, tuple[SilenceRequest, bool]] = {}  # id -> (request, active)

    def resolve(self, alertmanager: str | None) -> tuple[str, str]:
        return alertmanager or "default", self.URL

    def create(self, request: SilenceRequest) -> SilenceResult:
        from mitigate.ports import SilenceResult

        sid = f"drill-{len(self.silences) + 1}"
        self.silences[sid] = (request, True)
        return SilenceResult(True, sid, f"drill: silence {sid} recorded, not sent")

    def expire(self, alertmanager: str, silence_id: str) -> SilenceResult:
        from mitigate.ports import SilenceResult

        if silence_id in self.silences:
            self.silences[silence_id] = (self.silences[silence_id][0], False)
        return SilenceResult(True, silence_id, f"drill: silence {silence_id} expired, not sent")

    def find(self, alertmanager: str, marker: str) -> list[str]:
        return [sid for sid, (req, active) in self.silences.items() if active and marker in req.comment]


class DrillBlock(BaseModel):
    """A scenario's ``drill:`` block: which runbook to run, with which inputs and decisions."""

    model_config = ConfigDict(extra="forbid")
    runbook: str | None = None
    inputs: dict[str, str | int | float | bool] = {}
    decisions: dict[str, str] = {}
    warmup_seconds: float = Field(default=0.0, alias="warmupSeconds", ge=0, le=60)
    """How long the incident runs before the responder arrives (e.g. for OOM restarts to show)."""


def drill_block(data: Any, where: str) -> DrillBlock:
    try:
        return DrillBlock.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = f"unknown field {loc!r}" if err["type"] == "extra_forbidden" else f"{loc}: {err['msg']}"
        raise MitigateError(f"{where}: drill: {msg} (expected runbook, inputs, decisions)") from None


@dataclass
class DrillResult:
    """What a headless drill did: the scorecard plus the scenario's verdict."""

    incident_id: str
    finished: bool  # every step succeeded or was skipped
    halted_at: str | None
    health_ok: bool
    health_checks: dict[str, bool]
    health_message: str
    seconds_to_mitigated: float | None  # wall-clock from the first step to the health checks passing
    seconds_total: float
    scorecard: str
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.finished and self.health_ok


def expand(value: str, sb: Sandbox) -> str:
    """Fill ``${context}``, ``${contexts[:glob]}``, ``${url[:ctx]}``, ``${ingress[:ctx]}`` from the sandbox.

    Drill inputs name things only known once the sandbox runs (ports) or that are long
    to spell out (40 contexts).
    """
    def one(m: re.Match[str]) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "contexts":
            chosen = [c for c in sb.contexts if arg is None or fnmatch.fnmatchcase(c, arg)]
            if not chosen:
                raise MitigateError(f"drill input {value!r}: no sandbox context matches {arg!r}")
            return ",".join(chosen)
        ctx = arg or sb.contexts[0]
        if ctx not in sb.contexts:
            raise MitigateError(f"drill input {value!r}: no sandbox context {ctx!r}")
        if kind == "context":
            return ctx
        if kind == "url":
            return sb.url(ctx)
        url = sb.ingress_url(ctx)
        if url is None:
            raise MitigateError(f"drill input {value!r}: context {ctx} has no ingress behaviour")
        return url
    return _PLACEHOLDER.sub(one, value)


def _runbook_path(name: str) -> Path:
    from mitigate.runbook.loader import find_runbook

    if Path(name).suffix in (".yaml", ".yml"):
        return Path(name)
    candidate = runbooks_dir() / f"{name}.yaml"
    return candidate if candidate.is_file() else find_runbook(name)


def _health(sb: Sandbox) -> tuple[bool, dict[str, bool], str]:
    checks: dict[str, bool] = {}
    messages = []
    for ctx in sb.contexts:
        report = sb.health(ctx)
        multi = len(sb.contexts) > 1
        checks.update({(f"{ctx}: {k}" if multi else k): v for k, v in report.checks.items()})
        if not report.ok:
            messages.append(f"{ctx}: {report.message}" if multi else report.message)
    return all(checks.values()), checks, "; ".join(messages) or "all health checks pass"


def run_drill(scenario: str, *, root: Path, runbook: str | None = None, inputs: dict[str, str] | None = None,
              decisions: dict[str, str] | None = None, title: str | None = None,
              echo: bool = True) -> DrillResult:
    """Run one drill headless, start to finish, and stop the sandbox (the library entry point)."""
    from integrations.sandbox import Sandbox

    sb = Sandbox.start(scenario)
    try:
        return run_in_sandbox(sb, str(scenario), root=root, runbook=runbook, inputs=inputs,
                              decisions=decisions, title=title, echo=echo)
    finally:
        sb.stop()


def resolve_drill(sb: Sandbox, scenario: str, runbook: str | None,
                  given: dict[str, str] | None) -> tuple[Path, Runbook, dict[str, Any], dict[str, str]]:
    """The runbook, its resolved inputs and the scenario's decisions for a running sandbox."""
    from mitigate.runbook.inputs import resolve_inputs
    from mitigate.runbook.loader import load_runbook

    drill = drill_block(sb.scenario.drill, sb.scenario.path)
    name = runbook or drill.runbook or Path(scenario).stem
    path = _runbook_path(name)
    if not path.is_file():
        raise UsageError(f"drill {scenario}: no runbook {name!r} (pass --runbook NAME)")
    book = load_runbook(path)
    raw: dict[str, str] = {k: expand(str(v), sb) for k, v in drill.inputs.items()}
    raw.update({k: expand(v, sb) for k, v in (given or {}).items()})
    for key, spec in book.inputs.items():
        if spec.type == "kube-context" and key == "context" and key not in raw:
            raw[key] = sb.contexts[0]
    return path, book, resolve_inputs(book, raw), dict(drill.decisions)


def run_in_sandbox(sb: Sandbox, scenario: str, *, root: Path, runbook: str | None = None,
                   inputs: dict[str, str] | None = None, decisions: dict[str, str] | None = None,
                   title: str | None = None, echo: bool = True) -> DrillResult:
    """Run the drill against an already started sandbox (tests inspect it afterwards)."""
    from integrations.kube import KubeCluster
    from integrations.probes import build_prober
    from mitigate.engine import AutoApprove, IncidentMeta, Ports, StepStatus, scorecard
    from mitigate.journal import Journal

    path, book, resolved, chosen = resolve_drill(sb, scenario, runbook, inputs)
    time.sleep(drill_block(sb.scenario.drill, sb.scenario.path).warmup_seconds)
    chosen.update(decisions or {})
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        if echo:
            print(text, flush=True)

    from integrations.config import IntegrationsConfig

    cluster = KubeCluster.from_kubeconfig(sb.kubeconfig)
    heading = title or f"Drill: {book.metadata.title}"
    journal = Journal.create(root, title=f"drill-{book.metadata.name}")
    start = time.monotonic()
    mitigated_at: float | None = None
    halted: str | None = None
    try:
        from mitigate.engine import Session

        ports = Ports(cluster=cluster, confirmer=AutoApprove(), notifier=DrillNotifier(),
                      probes=build_prober(IntegrationsConfig.model_validate({})), silencer=DrillSilencer())
        meta = IncidentMeta(title=heading, severity="drill", runbook_path=str(path.resolve()), drill=True,
                            scenario=str(scenario))
        session = Session.start(book, resolved, journal, ports, meta=meta)
        say(f"drill {sb.scenario.name}: incident {journal.id}, runbook {book.metadata.name}")
        while (current := session.current()) is not None:
            state = _step(session, book, current.id, chosen, say)
            if state.status not in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
                halted = current.id
                break
            if mitigated_at is None and _health(sb)[0]:
                mitigated_at = time.monotonic()
                session.milestone("mitigated")
        if halted is None and mitigated_at is None and _health(sb)[0]:
            mitigated_at = time.monotonic()
            session.milestone("mitigated")
        card = scorecard(session.state, len(book.steps), client_absorbed=cluster.absorbed_total()).render()
    finally:
        journal.close()
    ok, checks, message = _health(sb)
    return DrillResult(incident_id=journal.id, finished=halted is None, halted_at=halted, health_ok=ok,
                       health_checks=checks, health_message=message,
                       seconds_to_mitigated=None if mitigated_at is None else mitigated_at - start,
                       seconds_total=time.monotonic() - start, scorecard=card, lines=lines)


def _step(session: Session, book: Runbook, step_id: str, decisions: dict[str, str], say: Any) -> Any:
    from mitigate.engine import StepStatus

    step = book.step(step_id)
    state = session.run(step_id)
    if state.status == StepStatus.PENDING and step.manual is not None:
        say(f"  manual, acknowledged: {step.manual.strip().splitlines()[0]}")
        state = session.complete_manual(step_id)
    elif state.status == StepStatus.PENDING and step.decision is not None:
        if step_id not in decisions:
            options = ", ".join(o.id for o in step.decision.options)
            raise UsageError(f"step {step_id} needs a decision ({step.decision.prompt}): add it to the scenario's "
                             f"drill.decisions or pass --decide {step_id}=OPTION ({options})")
        state = session.decide(step_id, decisions[step_id])
    detail = state.reason or state.error or ""
    say(f"{state.status:>10}  {step_id}" + (f": {detail}" if detail else ""))
    return state


def render(result: DrillResult) -> str:
    ttm = ("health never passed" if result.seconds_to_mitigated is None
           else f"health passed after {result.seconds_to_mitigated:.1f}s")
    out = [result.scorecard, f"  drill wall-clock    {result.seconds_total:.1f}s ({ttm})",
           "Scenario health: " + ("MITIGATED" if result.health_ok else "NOT MITIGATED")]
    out += [f"  {'ok  ' if v else 'FAIL'} {k}" for k, v in result.health_checks.items()]
    if not result.health_ok:
        out.append(f"  {result.health_message}")
    return "\n".join(out)


def headless(args: argparse.Namespace) -> int:
    """The ``drill --headless`` handler (registered by cli/tui.py, which owns ``drill``)."""
    if not args.auto_approve:
        raise UsageError("drill --headless needs --auto-approve (a headless drill has nobody to confirm steps)")
    root = journal_root(args.journal_dir)
    result = run_drill(args.scenario, root=root, runbook=args.runbook, inputs=parse_pairs(args.input, "--input"),
                       decisions=parse_pairs(getattr(args, "decide", []) or [], "--decide"), title=args.title)
    print(render(result))
    if not result.finished:
        print(f"mitigate: drill halted at step {result.halted_at}; incident {result.incident_id}", file=sys.stderr)
    elif not result.health_ok:
        print(f"mitigate: drill finished but the scenario is not mitigated: {result.health_message}",
              file=sys.stderr)
    return 0 if result.ok else 1
