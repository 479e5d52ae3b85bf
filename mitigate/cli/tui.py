"""TUI commands: ``mitigate home``, ``mitigate drill SCENARIO``, ``mitigate resume ID``.

This is the composition root for the interactive app: it builds the real
ports (kube adapter, sandbox for drills, notifiers and probes from the
integrations config), opens the journal, builds the engine Session and hands
it to the Textual app. textual, kubernetes and the sandbox are imported inside
the handlers so the rest of the CLI stays fast. ``mitigate run`` (cli/run.py)
opens the walker through :func:`open_walker`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mitigate.errors import MitigateError, UsageError
from mitigate.paths import journal_root, runbooks_dir

if TYPE_CHECKING:
    from mitigate.engine import Session
    from mitigate.ports import ClusterPort, ConfirmerPort, ContextInfo
    from mitigate.runbook.model import InputSpec, Runbook
    from tui.protocols import Incident, IncidentEntry, RunbookEntry, StartRequest


def register(sub: Any) -> None:
    h = sub.add_parser("home", help="open the TUI home screen: runbook picker and incidents to resume")
    h.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    h.set_defaults(handler=home)
    d = sub.add_parser("drill", help="rehearse a runbook against the sandbox seeded with an incident")
    d.add_argument("scenario", metavar="SCENARIO", help="runbooks/drills/<SCENARIO>.yaml or a path")
    d.add_argument("--runbook", help="runbook name or path (default: the scenario's name)")
    d.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE", help="runbook input")
    d.add_argument("--title", help="incident title (default: 'Drill: <runbook title>')")
    d.add_argument("--headless", action="store_true", help="run start to finish without the TUI, print a scorecard")
    d.add_argument("--auto-approve", action="store_true", help="with --headless: approve every step")
    d.add_argument("--decide", action="append", default=[], metavar="STEP=OPTION",
                   help="with --headless: answer a decision step (default: the scenario's drill block)")
    d.set_defaults(handler=drill)
    r = sub.add_parser("resume", help="reopen an incident in the walker, rebuilt from its journal")
    r.add_argument("incident", metavar="ID")
    r.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    r.set_defaults(handler=resume)


# --------------------------------------------------------------------------- wiring


def _cluster(kubeconfig: str | Path | None) -> ClusterPort:
    from integrations.config import load_config
    from integrations.kube import KubeCluster

    protected = load_config().protectedContexts
    return KubeCluster.from_kubeconfig(kubeconfig, protected_patterns=protected)


def _context_info(cluster: ClusterPort | None, name: str) -> ContextInfo:
    from mitigate.ports import ContextInfo

    for info in cluster.contexts() if cluster is not None else []:
        if info.name == name:
            return info
    return ContextInfo(name=name or "-", cluster="")


def _ports(cluster: ClusterPort | None, confirmer: ConfirmerPort, incident_dir: Path | None, *,
           drill: bool = False) -> Any:
    from integrations.config import build_ports, build_silencer, load_config
    from mitigate.cli.drill import DrillNotifier, DrillSilencer
    from mitigate.engine import Ports

    config = load_config()
    notifier, probes = build_ports(config, state_file=incident_dir / "notify-state.json"
                                   if incident_dir else None)
    if drill:  # a rehearsal never pages anyone nor silences real alerts: both only journal
        return Ports(cluster=cluster, confirmer=confirmer, notifier=DrillNotifier(), probes=probes,
                     silencer=DrillSilencer())
    return Ports(cluster=cluster, confirmer=confirmer, notifier=notifier, probes=probes,
                 silencer=build_silencer(config))


def _is_drill(journal: Any) -> bool:
    """Whether a journal's incident was opened as a drill (a resumed drill stays one)."""
    opened: dict[str, Any] = next((r.data for r in journal.records() if r.type == "incident.opened"), {})
    return bool(opened.get("drill"))


def incident_for(session: Session, cluster: ClusterPort | None, *,
                 on_close: Callable[[], None] | None = None) -> Incident:
    """The walker's view of a session: title, context, drill flag and step texts."""
    from tui.protocols import Incident, StepInfo

    records = session.journal.records()
    opened = next((r.data for r in records if r.type == "incident.opened"), {})
    started = datetime.fromisoformat(records[0].ts.replace("Z", "+00:00")).timestamp() if records else None
    contexts = opened.get("contexts") or [session.inputs.get("context", "")]
    steps = {s.id: StepInfo(description=s.description, manual=s.manual or "",
                            options=tuple((o.id, o.label) for o in s.decision.options) if s.decision else ())
             for s in session.runbook.steps}
    def postmortem(fmt: str) -> str:
        from mitigate.postmortem import default_template, draft, render

        return render(draft(session.journal.dir.parent, session.journal.id), default_template(fmt))

    return Incident(session=session, journal=session.journal, title=str(opened.get("title") or ""),
                    context=_context_info(cluster, str(contexts[0]) if contexts else ""),
                    runbook_title=session.runbook.metadata.title, drill=bool(opened.get("drill")),
                    started=started, steps=steps, on_close=on_close, postmortem=postmortem)


def open_walker(build: Callable[[ConfirmerPort], Session], cluster: ClusterPort | None, *,
                on_close: Callable[[], None] | None = None) -> int:
    """Open the walker on a session that ``build`` makes with the TUI's confirmer (for ``run``)."""
    from tui import TuiConfirmer, launch_walker

    confirmer = TuiConfirmer()
    session = build(confirmer)

    def close() -> None:
        session.journal.close()
        if on_close is not None:
            on_close()

    return launch_walker(incident_for(session, cluster, on_close=close), confirmer=confirmer)


def walk_runbook(args: argparse.Namespace, runbook: Runbook, path: Path, inputs: dict[str, Any],
                 cluster: ClusterPort) -> int:
    """``mitigate run RUNBOOK --context C``: a new incident, walked in the TUI with confirmations."""
    from mitigate.engine import IncidentMeta, Session
    from mitigate.journal import Journal

    _need_terminal("run")
    title = args.title or runbook.metadata.title

    def build(confirmer: ConfirmerPort) -> Session:
        journal = Journal.create(journal_root(args.journal_dir), title=title)
        try:
            meta = IncidentMeta(title=title, severity=args.severity, runbook_path=str(path.resolve()))
            return Session.start(runbook, inputs, journal, _ports(cluster, confirmer, journal.dir), meta=meta)
        except BaseException:
            journal.close()
            raise

    return open_walker(build, cluster)


def _need_terminal(command: str) -> None:
    """The TUI needs a terminal; say so in one line instead of drawing into a pipe."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"{command}: the TUI needs a terminal (use --plan or --auto-approve to run headless)"
                         if command == "run" else f"{command}: the TUI needs a terminal")


class CliLauncher:
    """The home screen's Launcher over the real library, journal root and kubeconfig."""

    def __init__(self, root: Path, kubeconfig: str | Path | None, *, library: Path | None = None) -> None:
        self.root, self.kubeconfig, self.library = root, kubeconfig, library
        self._cluster: ClusterPort | None = None

    def cluster(self) -> ClusterPort:
        if self._cluster is None:
            self._cluster = _cluster(self.kubeconfig)
        return self._cluster

    def runbooks(self) -> list[RunbookEntry]:
        from mitigate.runbook.loader import list_runbooks
        from tui.protocols import RunbookEntry

        return [RunbookEntry(name=s.name, title=s.title, path=s.path, summary=s.summary,
                             symptoms=tuple(getattr(s, "symptoms", ()) or ()), tags=tuple(s.tags))
                for s in list_runbooks(self.library) if not s.error]

    def incidents(self) -> list[IncidentEntry]:
        from mitigate.journal import list_incidents
        from tui.protocols import IncidentEntry

        return [IncidentEntry(id=i.id, title=i.title, status=i.status, closed=i.closed,
                              opened=i.opened.isoformat() if i.opened else "") for i in list_incidents(self.root)]

    def contexts(self) -> list[ContextInfo]:
        try:
            return self.cluster().contexts()
        except MitigateError:
            return []

    def inputs(self, runbook: RunbookEntry) -> dict[str, InputSpec]:
        from mitigate.runbook.loader import load_runbook

        return dict(load_runbook(runbook.path).inputs)

    def start(self, request: StartRequest, confirmer: ConfirmerPort) -> Incident:
        from mitigate.engine import IncidentMeta, Session
        from mitigate.journal import Journal
        from mitigate.runbook.loader import load_runbook

        runbook = load_runbook(request.runbook.path)
        journal = Journal.create(self.root, title=request.title)
        meta = IncidentMeta(title=request.title, severity=request.severity, commander=request.commander,
                            runbook_path=str(request.runbook.path))
        session = Session.start(runbook, request.inputs, journal, _ports(self.cluster(), confirmer, journal.dir),
                                meta=meta)
        return incident_for(session, self.cluster(), on_close=journal.close)

    def resume(self, incident_id: str, confirmer: ConfirmerPort) -> Incident:
        from mitigate.engine import Session
        from mitigate.journal import Journal

        journal = Journal.open(self.root, incident_id)
        try:
            if _is_drill(journal):
                # its sandbox lived in the mitigate process that ran it; resuming would point the
                # drill's steps at whatever the kubeconfig calls the same context, maybe a real one
                raise UsageError(f"incident {incident_id} is a drill: its sandbox is gone with the process "
                                 "that ran it, so it cannot be resumed (start the drill again; "
                                 f"`mitigate journal show {incident_id}` and `mitigate postmortem "
                                 f"{incident_id}` still read it)")
            session = Session.resume(journal, _ports(self.cluster(), confirmer, journal.dir))
        except BaseException:
            journal.close()
            raise
        return incident_for(session, self.cluster(), on_close=journal.close)


# --------------------------------------------------------------------------- handlers


def home(args: argparse.Namespace) -> int:
    from tui import make_app

    _need_terminal("home")
    make_app(launcher=CliLauncher(journal_root(args.journal_dir), getattr(args, "kubeconfig", None))).run()
    return 0


def home_or_help(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Bare ``mitigate``: the home screen on a terminal, the help text in a pipe or a script."""
    import sys

    if sys.stdin.isatty() and sys.stdout.isatty():
        return home(args)
    parser.print_help()
    return 0


def resume(args: argparse.Namespace) -> int:
    from tui import TuiConfirmer, launch_walker

    _need_terminal("resume")
    launcher = CliLauncher(journal_root(args.journal_dir), args.kubeconfig)
    confirmer = TuiConfirmer()
    return launch_walker(launcher.resume(args.incident, confirmer), confirmer=confirmer)


def _runbook_for(args: argparse.Namespace) -> tuple[Path, Runbook]:
    from mitigate.runbook.loader import load_runbook

    name = args.runbook or Path(args.scenario).stem
    path = Path(name) if Path(name).suffix in (".yaml", ".yml") else runbooks_dir() / f"{name}.yaml"
    if not path.is_file():
        raise UsageError(f"drill {args.scenario}: no runbook {path} (pass --runbook NAME)")
    return path, load_runbook(path)


def drill(args: argparse.Namespace) -> int:
    """Start the sandbox in-process, point a session at it, open the walker marked DRILL."""
    if getattr(args, "headless", False):
        from mitigate.cli.drill import headless

        return headless(args)
    from integrations.kube import KubeCluster
    from integrations.sandbox import Sandbox
    from mitigate.engine import IncidentMeta, Session
    from mitigate.journal import Journal
    from mitigate.runbook.inputs import resolve_inputs

    _need_terminal("drill")
    runbook_path, runbook = _runbook_for(args)
    given = dict(item.split("=", 1) for item in args.input if "=" in item)
    bad = [item for item in args.input if "=" not in item]
    if bad:
        raise UsageError(f"--input {bad[0]!r}: expected NAME=VALUE")
    sandbox = Sandbox.start(args.scenario)
    try:
        cluster = KubeCluster.from_kubeconfig(sandbox.kubeconfig)
        if "context" in runbook.inputs and "context" not in given:
            given["context"] = sandbox.contexts[0]
        inputs = resolve_inputs(runbook, given)
        root = journal_root(args.journal_dir)
        title = args.title or f"Drill: {runbook.metadata.title}"

        def build(confirmer: ConfirmerPort) -> Session:
            journal = Journal.create(root, title=title)
            meta = IncidentMeta(title=title, severity="drill", runbook_path=str(runbook_path),
                                drill=True, scenario=str(args.scenario))
            return Session.start(runbook, inputs, journal, _ports(cluster, confirmer, journal.dir, drill=True),
                                 meta=meta)

        return open_walker(build, cluster, on_close=sandbox.stop)
    except BaseException:
        sandbox.stop()
        raise
