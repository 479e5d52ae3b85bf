"""The Textual application and its ``make_app`` factory (shared by the CLI and the tests).

All engine calls run in thread workers started by :meth:`MitigateApp.session_call`;
their failures land in the one ``on_worker_state_changed`` handler, which shows
the error modal and writes a timeline entry. An API error never ends the app.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui.commands import WalkerCommands
from tui.confirmer import TuiConfirmer
from tui.messages import (
    IncidentOpened,
    LeaveIncident,
    ResumeIncident,
    SessionCall,
    SessionChanged,
    StartIncident,
)
from tui.protocols import Incident, Launcher
from tui.screens.error import ErrorScreen
from tui.screens.walker import WalkerScreen
from tui.text import ControlFilter

SESSION_GROUP = "session"
COLLECT_AFTER_S = 2.0  # idle this long after an engine call: the full collection runs then


def utc_now() -> datetime:
    return datetime.now(UTC)


def error_text(exc: BaseException) -> str:
    """One line for the responder: our errors speak for themselves, others get their type."""
    from mitigate.errors import MitigateError
    from mitigate.ports import ClusterError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, (MitigateError, ClusterError, OSError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class MitigateApp(App[None]):
    # the first screen's CSS goes here: Textual does not load a default screen's CSS_PATH
    CSS_PATH = ["styles/app.tcss", "styles/walker.tcss", "styles/home.tcss"]
    TITLE = "mitigate"
    COMMANDS = App.COMMANDS | {WalkerCommands}

    def __init__(self, *, launcher: Launcher | None = None, incident: Incident | None = None,
                 confirmer: TuiConfirmer | None = None, now: Callable[[], datetime] = utc_now) -> None:
        super().__init__()
        self.launcher, self.incident, self.now = launcher, incident, now
        self.confirmer = confirmer or TuiConfirmer()
        self.confirmer.attach(self)
        self._filters.append(ControlFilter())  # no control byte from any widget reaches the terminal
        self.walker: WalkerScreen | None = None
        self._collect_timer: Timer | None = None  # the idle collection after a session call
        # Start-up allocates a screen's worth of widgets, styles and lines on top of everything
        # imported: a full collection then rescans all of it (70-80 ms, measured with
        # bench/tui_start.py, a visible stall before the first paint). What is alive now is
        # parked out of the collector's reach until the app is idle (on_mount arms the timer).
        gc.freeze()

    def on_mount(self) -> None:
        self._collect_timer = self.set_timer(COLLECT_AFTER_S, self._collect_when_idle)

    def get_default_screen(self) -> Screen[Any]:
        """The first screen is the walker (opened on an incident) or home: no blank screen is
        painted first and then covered (that was a third of the home screen's start-up)."""
        if self.incident is not None:
            self.walker = WalkerScreen(self.incident, now=self.now)
            return self.walker
        if self.launcher is not None:
            from tui.screens.home import HomeScreen

            return HomeScreen(self.launcher, now=self.now)
        return super().get_default_screen()

    def open_walker(self, incident: Incident) -> None:
        self.incident = incident
        self.walker = WalkerScreen(incident, now=self.now)
        if len(self.screen_stack) > 1:
            self.switch_screen(self.walker)
        else:
            self.push_screen(self.walker)

    def on_incident_opened(self, message: IncidentOpened) -> None:
        self.open_walker(message.incident)

    # ------------------------------------------------------------------ what screens ask for

    def on_session_call(self, message: SessionCall) -> None:
        """A screen's engine call: one that changes the session waits for none other to be running."""
        if not message.quiet and self.busy():
            return
        if message.on_start is not None:
            message.on_start()
        self.session_call(message.label, message.fn, quiet=message.quiet)

    def on_start_incident(self, message: StartIncident) -> None:
        launcher, request = self.launcher, message.request
        if launcher is None or self.busy():
            return
        self.session_call("start incident", lambda: self.post_message(
            IncidentOpened(launcher.start(request, self.confirmer))))

    def on_resume_incident(self, message: ResumeIncident) -> None:
        launcher, incident_id = self.launcher, message.incident_id
        if launcher is None or self.busy():
            return
        self.session_call(f"resume {incident_id}", lambda: self.post_message(
            IncidentOpened(launcher.resume(incident_id, self.confirmer))))

    def on_leave_incident(self, _: LeaveIncident) -> None:
        self.quit_incident()

    # ------------------------------------------------------------------ workers

    def _session_running(self) -> list[Worker[None]]:
        return [w for w in self.workers if w.group == SESSION_GROUP and not w.is_finished]

    def busy(self) -> bool:
        """A step is running; one session call at a time keeps the journal's story linear."""
        running = self._session_running()
        if running:
            self.notify(f"busy: {running[0].name}", severity="warning")
        return bool(running)

    def session_call(self, label: str, fn: Callable[[], object], *, quiet: bool = False) -> Worker[None]:
        """Run ``fn`` (an engine call) in a thread worker; ``quiet`` calls only read."""

        def work() -> None:
            fn()
            if not quiet and self.incident is not None:
                # a decision (or any step) may have made the next steps' `when:` false: those are
                # skipped and journaled now, so the walker stops at the next step that applies
                self.incident.session.advance()

        if not quiet:
            # A full collection scans every live object (5,000 nodes, the journal, the widget
            # tree): 100-500 ms with the GIL held, a visible stall. Objects alive before the
            # call are parked out of the collector's reach while it runs; see on_worker_state_changed.
            if self._collect_timer is not None:
                self._collect_timer.stop()
                self._collect_timer = None
            gc.freeze()
        return self.run_worker(work, name=label, group="read" if quiet else SESSION_GROUP,
                               thread=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == SESSION_GROUP and worker.is_finished and not self._session_running():
            # Not at once: the walker redraws the step list and the next step's detail right after
            # a step ends, and an unfrozen heap made the next allocation run a full collection then.
            self._collect_timer = self.set_timer(COLLECT_AFTER_S, self._collect_when_idle)
        if event.state == WorkerState.ERROR and worker.error is not None:
            message = error_text(worker.error)
            if self.walker is not None and self.walker.is_attached:
                self.walker.show_error(f"{worker.name}: {message}")
                if worker.group == SESSION_GROUP:
                    self.walker.post_message(SessionChanged())
            if worker.group != "read":
                self.push_screen(ErrorScreen(f"{worker.name} failed", message))
        elif event.state == WorkerState.SUCCESS and worker.group == SESSION_GROUP and self.walker is not None:
            self.walker.post_message(SessionChanged())

    def _collect_when_idle(self) -> None:
        """Nothing has run for a while: give the collector everything back, and collect now."""
        self._collect_timer = None
        gc.unfreeze()
        gc.collect()

    # ------------------------------------------------------------------ leaving

    def quit_incident(self) -> None:
        self.exit()

    def farewell(self) -> str:
        """What the terminal says once the app is gone: the incident's ID and how to come back."""
        inc = self.incident
        if inc is None:
            return ""
        iid = inc.journal.id
        folder = getattr(inc.journal, "dir", None)
        root = ""
        if folder is not None:
            from mitigate.paths import journal_root

            if journal_root().resolve() != folder.parent.resolve():
                root = f" --journal-dir {folder.parent}"
        if inc.drill:
            return (f"drill {iid} ended (its sandbox is gone with it).\n"
                    f"  read it again:  mitigate{root} journal show {iid}\n"
                    f"  postmortem:     mitigate{root} postmortem {iid}")
        return (f"incident {iid} is still open.\n"
                f"  resume it:  mitigate{root} resume {iid}")

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the app; on exit, print the incident's ID and the resume command (not when headless)."""
        result = super().run(*args, **kwargs)
        text = self.farewell()
        if text and not kwargs.get("headless"):
            print(text)
        return result

    async def action_quit(self) -> None:
        self.exit()

    def on_unmount(self) -> None:
        self.confirmer.decline_all("the app closed")
        for w in self.workers:
            if w.group == SESSION_GROUP:
                w.cancel()
        if self.incident is not None and self.incident.on_close is not None:
            self.incident.on_close()
        if self._collect_timer is not None:
            self._collect_timer.stop()
        gc.unfreeze()  # the app is gone: whatever it parked is the collector's again


def make_app(*, launcher: Launcher | None = None, incident: Incident | None = None,
             confirmer: TuiConfirmer | None = None, now: Callable[[], datetime] = utc_now) -> MitigateApp:
    """The one way to build the app: the CLI and the tests both come through here."""
    return MitigateApp(launcher=launcher, incident=incident, confirmer=confirmer, now=now)


def launch_walker(incident: Incident, *, confirmer: TuiConfirmer) -> int:
    """Open straight into the walker (``mitigate run``/``drill``/``resume``); blocks until quit."""
    return run_app(make_app(incident=incident, confirmer=confirmer))


def run_app(app: MitigateApp) -> int:
    """Run the app; after a crash (Textual has printed the traceback and set ``return_code``),
    exit non-zero and say which incident stays open and how to pick it up again."""
    app.run()
    return exit_status(app)


def exit_status(app: MitigateApp) -> int:
    """The exit code of an app that has stopped, with the resume hint after a crash."""
    import sys

    code = app.return_code or 0
    if code == 0:
        return 0

    incident = app.incident
    where = (f"; incident {incident.journal.id} is safe in its journal: resume it with "
             f"'mitigate resume {incident.journal.id}'") if incident is not None else ""
    print(f"mitigate: the TUI stopped on an error (exit {code}){where}", file=sys.stderr)
    return code

