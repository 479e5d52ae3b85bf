"""The one drill preparation, used by the TUI drill, the headless drill and ``mitigate test``.

A drill rehearses a runbook against the sandbox seeded with a scenario's incident. Whatever
drives it, :func:`prepare` reads the scenario's ``drill:`` block the same way: the runbook
(``--runbook``, else ``drill.runbook``, else the scenario's name, resolved on the library
search path), its inputs (``drill.inputs`` with ``${context}``, ``${contexts[:glob]}``,
``${url[:ctx]}``, ``${ingress[:ctx]}`` filled from the running sandbox, then ``--input``), the
decisions (``drill.decisions``, then ``--decide``), the warm-up (``warmupSeconds``, how long the
incident runs before the responder arrives), the expected verdict (``expect: mitigated`` or
``not-mitigated`` for a wrong-fix case) and the brief shown at the start. :meth:`Drill.open`
opens the incident (named ``drill-<runbook>`` by both drill modes) with the drill ports of
:mod:`mitigate.cli.wiring`; :meth:`Drill.verdict` asks the scenario's health checks whether the
incident was mitigated and renders the scorecard.

Headless (:func:`run_in_sandbox`): every step runs through :func:`mitigate.cli.headless.drive`
with :class:`AutoApprove`; the exit code is 0 only when every step finished and the verdict
is the expected one, so CI can run the whole runbook library as drills.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mitigate.errors import MitigateError, UsageError
from mitigate.events import Event
from mitigate.protection import Protection, decide

if TYPE_CHECKING:
    from integrations.sandbox import Sandbox
    from mitigate.cli.library import Library
    from mitigate.engine import Session
    from mitigate.ports import ClusterPort, ConfirmerPort, Overrides
    from mitigate.runbook.model import Runbook

_PLACEHOLDER = re.compile(r"\$\{(context|contexts|url|ingress)(?::([^}]*))?\}")
Expect = Literal["mitigated", "not-mitigated"]


class DrillBlock(BaseModel):
    """A scenario's ``drill:`` block: which runbook to run, with which inputs and decisions."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    runbook: str | None = None
    inputs: dict[str, str | int | float | bool] = {}
    decisions: dict[str, str] = {}
    warmup_seconds: float = Field(default=0.0, alias="warmupSeconds", ge=0, le=60)
    """How long the incident runs before the responder arrives (e.g. for OOM restarts to show)."""
    expect: Expect = "mitigated"
    """``not-mitigated``: a wrong-fix case, the runbook must leave the incident unmitigated."""
    brief: str = ""
    """What the responder is told at the start (default: the scenario's description)."""


def drill_block(data: Any, where: str) -> DrillBlock:
    try:
        return DrillBlock.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = f"unknown field {loc!r}" if err["type"] == "extra_forbidden" else f"{loc}: {err['msg']}"
        raise MitigateError(f"{where}: drill: {msg} (expected runbook, inputs, decisions, warmupSeconds, "
                            "expect, brief)") from None


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


def _reflow(text: str) -> str:
    """A YAML block's hard-wrapped lines joined back into paragraphs (the screen wraps them)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def scenario_target(path: Path) -> tuple[str, Expect]:
    """The runbook a scenario file rehearses (``drill.runbook``, else its file name) and its
    expected verdict, read without starting a sandbox (``mitigate test`` pairs them up)."""
    from integrations.sandbox import load_scenario

    scenario = load_scenario(path)
    block = drill_block(scenario.drill, scenario.path)
    return beside(block.runbook, scenario.path) or Path(path).stem, block.expect


def beside(ref: str | None, scenario_path: str) -> str | None:
    """A runbook path in a scenario is relative to the scenario file (a name is looked up on the library)."""
    if ref and (ref.endswith((".yaml", ".yml")) or "/" in ref) and not Path(ref).is_absolute() \
            and not scenario_path.startswith("<"):
        return str(Path(scenario_path).parent / ref)
    return ref


def check_scenario(path: Path) -> str:
    """Validate a scenario file (LocatedError(s) on problems); a one-line summary when it is valid."""
    from integrations.sandbox import load_scenario

    scenario = load_scenario(path)
    drill_block(scenario.drill, scenario.path)
    objects = sum(len(c.objects) + len(c.generators) for c in scenario.clusters)
    return (f"scenario {scenario.name}, {len(scenario.clusters)} cluster(s), {objects} objects/generators, "
            f"{sum(len(c.health) for c in scenario.clusters)} health checks")


SCENARIO_KEYS = frozenset({"clusters", "objects", "generators", "behaviours", "faults", "health", "drill"})


def is_scenario(path: Path) -> bool:
    """A YAML file written as a scenario (no runbook apiVersion/kind, scenario keys at the top)."""
    from mitigate.errors import LocatedError
    from mitigate.yamlloc import load_yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path)).data
    except (OSError, UnicodeDecodeError, LocatedError, ValueError):
        return False
    return isinstance(data, dict) and "kind" not in data and "steps" not in data and bool(SCENARIO_KEYS & set(data))


@dataclass(frozen=True)
class Verdict:
    """The scenario's health after (or during) a drill, with the scorecard."""

    mitigated: bool
    expected: Expect
    checks: dict[str, bool]
    message: str
    scorecard: str

    @property
    def as_expected(self) -> bool:
        return self.mitigated == (self.expected == "mitigated")

    def render(self) -> str:
        return "\n".join([self.scorecard, *health_lines(self.mitigated, self.expected, self.checks, self.message)])


def health_lines(mitigated: bool, expected: Expect, checks: dict[str, bool], message: str) -> list[str]:
    """``Scenario health: ...`` and one line per check; with many (40 clusters), the passing ones are counted."""
    out = ["Scenario health: " + ("MITIGATED" if mitigated else "NOT MITIGATED")
           + ("" if expected == "mitigated" else " (expected: not-mitigated, a wrong-fix case)")]
    many = len(checks) > 12
    out += [f"  {'ok  ' if v else 'FAIL'} {k}" for k, v in checks.items() if not (many and v)]
    if many and any(checks.values()):
        out.append(f"  ok   {sum(checks.values())} more check(s) pass")
    if not mitigated and not many:
        out.append(f"  {message}")
    return out


@dataclass
class Drill:
    """A running sandbox with the runbook, inputs and decisions its scenario's drill block asks for."""

    sandbox: Sandbox
    scenario: str  # as named on the command line (or the scenario's name)
    runbook_path: Path
    runbook: Runbook
    inputs: dict[str, Any]
    decisions: dict[str, str]
    warmup_seconds: float
    expect: Expect
    brief: str
    title: str
    protection: Protection
    _cluster: ClusterPort | None = field(default=None, repr=False)
    overrides: Overrides | None = None  # --cluster/--user/--as: the drill acts as this user (its RBAC applies)
    tui: bool = False  # the walker holds the terminal (no exec plugin may prompt on it)
    began: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the scenario's incident began: its cluster is broken from the moment the sandbox serves."""

    @property
    def name(self) -> str:
        """The incident's name, the same in the TUI and headless: ``drill-<runbook>``."""
        return f"drill-{self.runbook.metadata.name}"

    @property
    def cluster(self) -> ClusterPort:
        if self._cluster is None:
            from mitigate.cli.wiring import drill_cluster

            self._cluster = drill_cluster(self.sandbox.kubeconfig, self.protection, self.overrides, tui=self.tui)
        return self._cluster

    def brief_text(self) -> str:
        """What the responder reads before the first step."""
        contexts = ", ".join(self.sandbox.contexts[:6]) + (f" (+{len(self.sandbox.contexts) - 6} more)"
                                                           if len(self.sandbox.contexts) > 6 else "")
        checks = list(self.sandbox.health(self.sandbox.contexts[0]).checks)[:8]
        lines = [f"DRILL {self.sandbox.scenario.name}: {self.runbook.metadata.title} ({self.runbook.metadata.name})",
                 f"sandbox contexts: {contexts}", "", _reflow(self.brief) or "(the scenario has no description)"]
        if checks:
            lines += ["", "Mitigated when: " + "; ".join(checks)]
        if self.expect == "not-mitigated":
            lines += ["", "This is a wrong-fix case: the runbook is expected to leave it NOT MITIGATED."]
        return "\n".join(lines)

    def warm_up(self) -> None:
        time.sleep(self.warmup_seconds)

    def health(self) -> tuple[bool, dict[str, bool], str]:
        sb = self.sandbox
        checks: dict[str, bool] = {}
        messages = []
        multi = len(sb.contexts) > 1
        for ctx in sb.contexts:
            report = sb.health(ctx)
            checks.update({(f"{ctx}: {k}" if multi else k): v for k, v in report.checks.items()})
            if not report.ok:
                messages.append(f"{ctx}: {report.message}" if multi else report.message)
        return all(checks.values()), checks, "; ".join(messages) or "all health checks pass"

    def open(self, root: Path, confirmer: ConfirmerPort) -> Session:
        """The drill's incident: journal ``drill-<runbook>``, drill ports, ``incident.opened`` says drill."""
        from mitigate.cli.wiring import open_incident, ports

        def build(incident_dir: Path) -> Any:
            return ports("drill", self.cluster, confirmer, None, incident_dir)

        session = open_incident(root, self.runbook, self.runbook_path, self.inputs, build, self.protection,
                                name=self.name, title=self.title, severity="drill", drill=True,
                                scenario=self.scenario)
        # known, not guessed: the scenario's impact started when its sandbox did (before any warm-up)
        session.milestone("impact-start", at=self.began.strftime("%Y-%m-%d %H:%M:%S.%f"), tz="UTC", source="drill",
                          text="the scenario's incident is in place from the sandbox's start")
        return session

    def mark_if_mitigated(self, session: Session) -> bool:
        """Journal the ``mitigated`` milestone the first time the health checks pass."""
        if any(m.get("name") == "mitigated" for m in session.state.milestones):
            return True
        if self.health()[0]:
            session.milestone("mitigated", source="drill")
            return True
        return False

    def close(self, session: Session, verdict: Verdict) -> None:
        """A drill ends when its verdict is in: journal the verdict and close the incident, so drills
        never pile up as open incidents (``incidents --open``). Works after the walker closed its writer."""
        from mitigate.journal import Journal
        from mitigate.journal.lifecycle import fold_lifecycle

        journal = session.journal
        own = not journal.writable  # the session's writer is closed: reopen briefly
        writer = Journal.open(journal.dir.parent, journal.id) if own else journal
        try:
            if fold_lifecycle(writer.records()).closed:
                return
            writer.append(Event.DRILL_VERDICT, {"mitigated": verdict.mitigated, "expected": verdict.expected,
                                            "as_expected": verdict.as_expected, "checks": verdict.checks,
                                            "message": verdict.message})
            writer.append(Event.INCIDENT_CLOSED, {"drill": True, "status": session.state.status})
        finally:
            if own:
                writer.close()

    def verdict(self, session: Session, *, mark: bool = True) -> Verdict:
        """``mark``: journal ``mitigated`` if the checks pass now (not for a drill that halted)."""
        from mitigate.engine import scorecard

        if mark:
            self.mark_if_mitigated(session)
        ok, checks, message = self.health()
        absorbed = getattr(self.cluster, "absorbed_total", None)
        card = scorecard(session.state, len(self.runbook.steps),
                         client_absorbed=absorbed() if callable(absorbed) else None).render()
        return Verdict(ok, self.expect, checks, message, card)


def prepare(sb: Sandbox, scenario: str, *, library: Library | None = None, runbook: str | None = None,
            inputs: dict[str, str] | None = None, decisions: dict[str, str] | None = None,
            title: str | None = None, protection: Protection | None = None) -> Drill:
    """Read the scenario's drill block against a running sandbox (the one preparation)."""
    from mitigate.cli.library import search_path
    from mitigate.runbook.inputs import resolve_inputs
    from mitigate.runbook.loader import load_runbook

    lib = library or search_path()
    block = drill_block(sb.scenario.drill, sb.scenario.path)
    name = runbook or beside(block.runbook, sb.scenario.path) or Path(scenario).stem
    try:
        path = lib.find(name)
    except UsageError as exc:
        raise UsageError(f"drill {scenario}: {exc} (pass --runbook NAME)") from None
    book = load_runbook(path)
    raw: dict[str, Any] = {k: expand(str(v), sb) for k, v in block.inputs.items()}
    raw.update({k: expand(v, sb) for k, v in (inputs or {}).items()})
    for key, spec in book.inputs.items():
        if spec.type == "kube-context" and key == "context" and key not in raw:
            raw[key] = sb.contexts[0]
    return Drill(sandbox=sb, scenario=str(scenario), runbook_path=path, runbook=book,
                 inputs=resolve_inputs(book, raw), decisions={**block.decisions, **(decisions or {})},
                 warmup_seconds=block.warmup_seconds, expect=block.expect,
                 brief=block.brief or sb.scenario.description, title=title or f"Drill: {book.metadata.title}",
                 protection=protection or decide())


def start(scenario: str | Path | dict[str, Any], *, library: Library | None = None, **kwargs: Any) -> Drill:
    """Start the sandbox for a scenario (a name on the library's drill path, or a file) and prepare it."""
    from integrations.sandbox import Sandbox

    if isinstance(scenario, dict):
        source: Any = scenario
        label = str(scenario.get("name") or "scenario")
    else:
        from mitigate.cli.library import search_path

        source = (library or search_path()).find_scenario(str(scenario))
        label = str(scenario)
    sb = Sandbox.start(source)
    try:
        return prepare(sb, label, library=library, **kwargs)
    except BaseException:
        sb.stop()
        raise


# --------------------------------------------------------------------------- headless


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
    expect: Expect = "mitigated"
    runbook: str = ""
    scenario: str = ""

    @property
    def ok(self) -> bool:
        """As expected: finished and mitigated, or (a wrong-fix case) not mitigated."""
        if self.expect == "not-mitigated":
            return not self.health_ok
        return self.finished and self.health_ok


def run(drill: Drill, *, root: Path, echo: bool = True, say: Callable[[str], None] | None = None) -> DrillResult:
    """Run a prepared drill headless, start to finish, with :class:`AutoApprove` (the sandbox keeps running)."""
    from mitigate.cli.headless import drive
    from mitigate.engine import AutoApprove

    lines: list[str] = []

    def out(text: str) -> None:
        lines.append(text)
        if say is not None:
            say(text)
        elif echo:
            print(text, flush=True)

    drill.warm_up()
    session = drill.open(root, AutoApprove())
    start_time = time.monotonic()
    mitigated_at: float | None = None
    try:
        out(f"drill {drill.sandbox.scenario.name}: incident {session.incident_id}, runbook "
            f"{drill.runbook.metadata.name}")

        def after(_: Any) -> None:
            nonlocal mitigated_at
            if mitigated_at is None and drill.mark_if_mitigated(session):
                mitigated_at = time.monotonic()

        walk = drive(session, decisions=drill.decisions, say=out, after_step=after,
                     decision_hint="add it to the scenario's drill.decisions or pass --decide {step}=OPTION "
                                   "({options})")
        if walk.finished and mitigated_at is None and drill.mark_if_mitigated(session):
            mitigated_at = time.monotonic()
        verdict = drill.verdict(session, mark=walk.finished)
        drill.close(session, verdict)
    finally:
        session.journal.close()
    return DrillResult(incident_id=session.incident_id, finished=walk.finished, halted_at=walk.halted_at,
                       health_ok=verdict.mitigated, health_checks=verdict.checks, health_message=verdict.message,
                       seconds_to_mitigated=None if mitigated_at is None else mitigated_at - start_time,
                       seconds_total=time.monotonic() - start_time, scorecard=verdict.scorecard, lines=lines,
                       expect=drill.expect, runbook=drill.runbook.metadata.name, scenario=drill.scenario)


def run_in_sandbox(sb: Sandbox, scenario: str, *, root: Path, runbook: str | None = None,
                   inputs: dict[str, str] | None = None, decisions: dict[str, str] | None = None,
                   title: str | None = None, echo: bool = True, library: Library | None = None,
                   protection: Protection | None = None) -> DrillResult:
    """Prepare and run a drill against an already started sandbox (tests inspect it afterwards)."""
    drill = prepare(sb, scenario, library=library, runbook=runbook, inputs=inputs, decisions=decisions,
                    title=title, protection=protection)
    return run(drill, root=root, echo=echo)


def run_drill(scenario: str, *, root: Path, echo: bool = True, library: Library | None = None,
              **kwargs: Any) -> DrillResult:
    """Start the sandbox, run one drill headless, stop the sandbox (the library entry point)."""
    drill = start(scenario, library=library, **kwargs)
    try:
        return run(drill, root=root, echo=echo)
    finally:
        drill.sandbox.stop()


def render(result: DrillResult) -> str:
    ttm = ("health never passed" if result.seconds_to_mitigated is None
           else f"health passed after {result.seconds_to_mitigated:.1f}s")
    return "\n".join([result.scorecard, f"  drill wall-clock    {result.seconds_total:.1f}s ({ttm})",
                      *health_lines(result.health_ok, result.expect, result.health_checks, result.health_message)])
