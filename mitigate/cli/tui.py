"""The bridge to the TUI: what the interactive commands hand to the Textual app.

:class:`CliLauncher` is the home screen's Launcher over the library search path, the journal
root and the kubeconfig (protection decided once, when it is built, by
:mod:`mitigate.cli.wiring`); :func:`incident_for` is the walker's view of a session;
:func:`walk` opens the walker on a session the caller builds with the TUI's confirmer.
textual and the adapters are imported inside the functions so the rest of the CLI stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mitigate.errors import MitigateError, UsageError
from mitigate.events import Event
from mitigate.timefmt import parse_ts

if TYPE_CHECKING:
    from mitigate.cli.drill import Drill
    from mitigate.cli.library import Library
    from mitigate.cli.wiring import Settings
    from mitigate.engine import Session
    from mitigate.ports import ClusterPort, ConfirmerPort, ContextInfo, Overrides
    from mitigate.runbook.model import InputSpec
    from tui.protocols import Incident, IncidentEntry, RunbookEntry, StartRequest


def need_terminal(command: str) -> None:
    """The TUI needs a terminal; say so in one line instead of drawing into a pipe."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"{command}: the TUI needs a terminal (use --plan or --auto-approve to run headless)"
                         if command == "run" else f"{command}: the TUI needs a terminal")


def _context_info(cluster: ClusterPort | None, name: str) -> ContextInfo:
    from mitigate.ports import ContextInfo

    for info in cluster.contexts() if cluster is not None else []:
        if info.name == name:
            return info
    return ContextInfo(name=name or "-", cluster="")


def incident_for(session: Session, cluster: ClusterPort | None, *, on_close: Callable[[], None] | None = None,
                 drill: Drill | None = None) -> Incident:
    """The walker's view of a session: title, context, drill flag, brief and verdict, step texts."""
    from tui.protocols import DrillOutcome, Incident, StepInfo

    records = session.journal.records()
    opened = next((r.data for r in records if r.type == Event.INCIDENT_OPENED), {})
    started = parse_ts(records[0].ts).timestamp() if records else None
    contexts = opened.get("contexts") or [session.inputs.get("context", "")]
    steps = {s.id: StepInfo(description=s.description, manual=s.manual or "",
                            options=tuple((o.id, o.label) for o in s.decision.options) if s.decision else ())
             for s in session.runbook.steps}

    def postmortem(fmt: str) -> str:
        from mitigate.postmortem import default_template, draft, render

        return render(draft(session.journal.dir.parent, session.journal.id), default_template(fmt))

    verdict: Callable[[], DrillOutcome] | None = None
    if drill is not None:
        def verdict() -> DrillOutcome:
            found = drill.verdict(session)
            return DrillOutcome(mitigated=found.mitigated, as_expected=found.as_expected, text=found.render())

    return Incident(session=session, journal=session.journal, title=str(opened.get("title") or ""),
                    context=_context_info(cluster, str(contexts[0]) if contexts else ""),
                    runbook_title=session.runbook.metadata.title, drill=bool(opened.get("drill")),
                    started=started, steps=steps, on_close=on_close, postmortem=postmortem,
                    brief=drill.brief_text() if drill is not None else "", verdict=verdict,
                    kubectl_flags=tuple(_overrides(cluster).kubectl_flags()))


def _overrides(cluster: ClusterPort | None) -> Overrides:
    """The --cluster/--user/--as the cluster adapter applies (none for a cluster without them)."""
    from mitigate.ports import Overrides

    found = getattr(getattr(cluster, "config", None), "overrides", None)
    return found if isinstance(found, Overrides) else Overrides()


def walk(build: Callable[[ConfirmerPort], Session], cluster: ClusterPort | None, *,
         on_close: Callable[[], None] | None = None, drill: Drill | None = None) -> int:
    """Open the walker on the session ``build`` makes with the TUI's confirmer; blocks until quit."""
    from tui import TuiConfirmer, launch_walker

    confirmer = TuiConfirmer()
    session = build(confirmer)

    def close() -> None:
        session.journal.close()
        if on_close is not None:
            on_close()

    return launch_walker(incident_for(session, cluster, on_close=close, drill=drill), confirmer=confirmer)


class CliLauncher:
    """The home screen's Launcher over the library, the journal root and the kubeconfig."""

    def __init__(self, root: Path, kubeconfig: str | Path | None, *, library: Library | Path | None = None,
                 config: str | Path | None = None, protect: tuple[str, ...] | list[str] = (),
                 overrides: Overrides | None = None, explicit: frozenset[str] = frozenset()) -> None:
        from mitigate.cli.wiring import settings

        self.root, self.kubeconfig = root, kubeconfig
        self._config_path, self._protect = config, tuple(protect)
        # protection (and --cluster/--user/--as) decided once, up front
        self.settings: Settings = settings(config, self._protect, overrides=overrides, explicit=explicit)
        self.library = self._library(library)
        self._cluster: ClusterPort | None = None

    def _library(self, library: Library | Path | None) -> Library:
        from mitigate.cli.library import Folder, Library, search_path

        if isinstance(library, Library):
            return library
        if library is not None:  # exactly this folder (tests)
            return Library((Folder(Path(library), "--library"),))
        return search_path((), self.settings.config.runbook_dirs())

    def cluster(self) -> ClusterPort:
        from mitigate.cli.wiring import live_cluster

        if self._cluster is None:
            self._cluster = live_cluster(self.kubeconfig, self.settings.protection, self.settings.overrides, tui=True)
        return self._cluster

    def runbooks(self) -> list[RunbookEntry]:
        from tui.protocols import RunbookEntry

        return [RunbookEntry(name=e.name, title=e.summary.title, path=e.summary.path, summary=e.summary.summary,
                             symptoms=tuple(getattr(e.summary, "symptoms", ()) or ()), tags=tuple(e.summary.tags),
                             origin=e.note)
                for e in self.library.entries()]

    def incidents(self) -> list[IncidentEntry]:
        from mitigate.journal import list_incidents
        from tui.protocols import IncidentEntry

        return [IncidentEntry(id=i.id, title=i.title, status=i.status, closed=i.closed, drill=i.drill,
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
        from mitigate.cli.wiring import open_incident, ports
        from mitigate.runbook.loader import load_runbook

        runbook = load_runbook(request.runbook.path)
        cluster = self.cluster()
        session = open_incident(self.root, runbook, request.runbook.path, request.inputs,
                                lambda folder: ports("live", cluster, confirmer, self.settings.config, folder),
                                self.settings.protection, title=request.title, severity=request.severity,
                                commander=request.commander)
        return incident_for(session, cluster, on_close=session.journal.close)

    def resume(self, incident_id: str, confirmer: ConfirmerPort,
               say: Callable[[str], None] | None = None) -> Incident:
        """Reopen an incident with the --cluster/--user/--as it journaled unless given again; what is
        reused or changed goes to ``say`` and into the journal (the timeline shows it)."""
        from mitigate.cli.wiring import live_cluster, ports, resume_incident

        clusters: list[ClusterPort] = []

        def build(chosen: Settings, folder: Path) -> Any:
            clusters.append(live_cluster(self.kubeconfig, chosen.protection, chosen.overrides, tui=True))
            return ports("live", clusters[0], confirmer, chosen.config, folder)

        session = resume_incident(self.root, incident_id, build, config=self._config_path, protect=self._protect,
                                  overrides=self.settings.overrides, explicit=self.settings.explicit, say=say)
        return incident_for(session, clusters[0], on_close=session.journal.close)
