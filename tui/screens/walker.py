"""The runbook walker: steps, the highlighted step's detail, live timeline and batch progress.

Attributes down, messages up: the screen gets its incident and clock; it asks
the app for engine calls by posting :class:`tui.messages.SessionCall` and
reacts to typed messages (journal records as they are appended, plans,
previews, briefs, "the session changed"). What the records mean for the
screen is :class:`tui.model.WalkerModel`'s fold; this screen only draws it.

The layout follows the terminal's width (``HORIZONTAL_BREAKPOINTS``): from
120 columns steps, detail and timeline side by side; below, the timeline is a
pane that ``l`` opens under the detail; below 100 columns the step list shows
icons and ids. The highlight moves only when the responder moves it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from tui.brief import Brief
from tui.messages import (
    BriefsReady,
    LeaveIncident,
    PlanReady,
    PreviewReady,
    SessionCall,
    SessionChanged,
    StepsRead,
)
from tui.model import WalkerModel
from tui.protocols import Incident, StepInfo, StepStateLike
from tui.screens.prompt import ChoicePrompt, TextPrompt
from tui.text import plain
from tui.widgets.batch import BatchPanel
from tui.widgets.detail import DetailPane, detail_parts
from tui.widgets.header import IncidentHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.steps import StepList, status_name
from tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from tui.screens.entry import Entry

# Modules only some screens or keys need (rich.syntax, Markdown, the dialogs) are imported
# where they are used: they are not on the first screen and cost start-up time.

MILESTONES = [("impact-start", "impact started"), ("detected", "detected"), ("acknowledged", "acknowledged"),
              ("mitigated", "mitigated"), ("resolved", "resolved")]
STATUSES = [("investigating", "investigating"), ("identified", "identified"),
            ("monitoring", "monitoring"), ("resolved", "resolved")]
MAX_BACKFILL = 200  # timeline rows shown from the journal when the walker opens
DONE = frozenset({"succeeded", "skipped", "rolled-back"})
RUNNABLE = frozenset({"check", "wait", "gate", "notify", "silence", "action"})
UNDOABLE = frozenset({"action", "silence", "http", "command"})  # kinds whose change B / b can undo
APPLIED = frozenset({"succeeded", "failed"})  # a step of an undoable kind that may have changed something
# what enter does on the highlighted step, by its kind: the key bar names it (one binding each)
RUN_AS = {"manual": "manual", "decision": "decision"}


class WalkerScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-medium"), (120, "-wide"), (160, "-xwide")]
    BINDINGS = [
        # enter is one of these, whichever applies to the highlighted step (check_action hides the rest)
        Binding("enter,r", "run_step('run')", "Run"),
        Binding("enter,r", "run_step('manual')", "Mark done"),
        Binding("enter,r", "run_step('decision')", "Decide"),
        Binding("enter", "next_step", "Next step"),
        Binding("enter", "to_current", "Go to current"),
        Binding("p", "preview", "Preview"),
        Binding("c", "copy_kubectl", "Copy"),
        Binding("s", "skip", "Skip"),
        Binding("t", "retry", "Retry"),
        Binding("l", "toggle_timeline", "Timeline"),
        Binding("b", "rollback", "Roll back"),
        Binding("B", "rollback_step", "Roll back step"),
        Binding("escape", "cancel_batch", "Cancel batch"),
        Binding("n", "note", "Note"),
        Binding("m", "milestone", "Milestone"),
        Binding("i", "status", "Status"),
        Binding("e", "postmortem", "Postmortem"),
        Binding("v", "verdict", "Verdict"),
        Binding("question_mark", "help", "Help"),
        Binding("pageup", "scroll_detail(-10)", "Detail up", show=False),
        Binding("pagedown", "scroll_detail(10)", "Detail down", show=False),
        Binding("q", "quit_walker", "Quit"),
    ]

    def __init__(self, incident: Incident, *, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.incident = incident
        self._now = now
        self.model = WalkerModel(drill=incident.drill)
        self._briefs: dict[str, Brief] = {}
        self._cancel: threading.Event | None = None
        # a session call of this screen is under way (the app runs one at a time); not `_running`,
        # which is Textual's own flag on every message pump (is_running)
        self._in_call = False
        self._dirty = False  # journal records arrived; the step list is re-read at most every 100 ms
        self._reading = False  # a worker is reading the step states
        self._planned: set[str] = set()  # steps whose plan was asked for
        # the journal's subscriber runs on the appending (worker) thread: it only appends here,
        # so a batch never wakes the UI thread per record; _flush drains it every 100 ms
        self._inbox: deque[Any] = deque()
        self._steps: list[StepStateLike] = []  # the last read: the UI thread never waits on the engine's lock
        self._current: str | None = None
        self._timeline: bool | None = None  # None: the size decides (shown from 120 columns)
        self._verdict_shown = False
        self._keys_for: tuple[object, ...] = ()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Few widgets, none of them a Textual scrolling widget (tui/widgets/pane.py says why): every
        # widget costs start-up time, and a style pass and a repaint each time a modal closes over
        # the walker (the moment a batch starts). The batch panel joins the detail at the first run.
        inc = self.incident
        # the width class now, as the first resize would set it: the panes are styled and laid out
        # once, not once at the default widths and again for the terminal's
        width = self.app.size.width
        self.add_class(next(name for edge, name in reversed(self.HORIZONTAL_BREAKPOINTS) if width >= edge))
        yield IncidentHeader(now=self._now, title=f"{inc.journal.id} · {inc.title}", context=inc.context,
                             drill=inc.drill, started=inc.started)
        yield StepList(id="steps")
        with Vertical(id="detail"):
            yield DetailPane(id="detail-body")
        yield Timeline(id="timeline", drill=inc.drill)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#steps", StepList).border_title = plain(self.incident.runbook_title or "steps", multiline=False)
        self.query_one(Timeline).border_title = "timeline  (l hides)"
        records = self.incident.journal.records()
        self.model.fold(records, live=False)
        self.query_one(Timeline).add_records(records, keep=MAX_BACKFILL)
        self.incident.journal.subscribe(self._inbox.append)
        session = self.incident.session  # nothing runs yet: a direct read is safe here
        current = session.current()
        self._show_steps(session.steps, current.id if current else None, initial=True)
        self.set_interval(0.1, self._flush)
        self._read_briefs()
        if self.incident.brief:  # a drill starts with its brief on screen
            from tui.screens.brief import BriefScreen

            self.call_after_refresh(self.app.push_screen, BriefScreen(self.incident.brief))

    def _keys_changed(self) -> None:
        """Which keys work changed: the key bar reads them again once this round of messages is done
        (Textual's bindings signal alone left it showing a key that had stopped working)."""
        self.refresh_bindings()
        for bar in self.query(KeyBar).results(KeyBar):
            bar.call_after_refresh(bar.collect)

    def action_toggle_timeline(self) -> None:
        shown = self._timeline_shown()
        self._timeline = not shown
        self.set_class(not shown, "-show-timeline")
        self.set_class(shown, "-hide-timeline")
        self.query_one(Timeline).border_title = "timeline  (l hides)" if not shown else "timeline"

    def _timeline_shown(self) -> bool:
        if self._timeline is not None:
            return self._timeline
        return self.has_class("-wide") or self.has_class("-xwide")

    # ------------------------------------------------------------------ engine calls

    def _call(self, label: str, fn: Callable[[], object], *, quiet: bool = False,
              on_start: Callable[[], None] | None = None) -> None:
        self.post_message(SessionCall(label, fn, quiet=quiet, on_start=on_start))

    def _flush(self) -> None:
        """Every 100 ms: take the records appended since (a 5,000-target batch) and redraw once."""
        if self._inbox:
            burst = [self._inbox.popleft() for _ in range(len(self._inbox))]
            self._absorb(burst)
        if self._dirty and not self._reading:
            self._dirty = False
            self._read_steps()

    def _read_steps(self) -> None:
        """Read step states in a thread: the engine holds its lock across journal fsyncs."""
        session = self.incident.session
        self._reading = True

        def read() -> None:
            try:
                current = session.current()
                self.post_message(StepsRead(session.steps, current.id if current else None, follow=False))
            finally:
                self._reading = False

        self.run_worker(read, name="read steps", group="read", thread=True, exit_on_error=False)

    def _read_briefs(self) -> None:
        """Render every step's text, question and message in a thread (templates read the session)."""
        from tui.brief import brief

        session, context = self.incident.session, self.incident.context.name
        flags = tuple(self.incident.kubectl_flags)

        def read() -> None:
            runbook = getattr(session, "runbook", None)
            if runbook is None:
                return
            ctx = session.context()
            self.post_message(BriefsReady({s.id: brief(s, ctx, context=context, flags=flags)
                                           for s in runbook.steps}))

        self.run_worker(read, name="render steps", group="read", thread=True, exit_on_error=False)

    def on_briefs_ready(self, message: BriefsReady) -> None:
        self._briefs = dict(message.briefs)
        self._show_detail()
        self._keys_changed()  # a check's kubectl equivalent is in its brief: c copies it

    def on_steps_read(self, message: StepsRead) -> None:
        self._show_steps(message.steps, message.current)

    # ------------------------------------------------------------------ state -> widgets

    @property
    def step_states(self) -> list[StepStateLike]:
        """The steps as last read from the session (refreshed as journal records arrive)."""
        return self._steps

    def selected(self) -> str | None:
        return self.query_one("#steps", StepList).selected_id

    def _show_steps(self, steps: Sequence[StepStateLike], current: str | None, *, initial: bool = False) -> None:
        self._steps, self._current = list(steps), current
        step_list = self.query_one("#steps", StepList)
        step_list.show(self._steps, current, status=self.model.status_of)
        if (initial or step_list.highlighted is None) and self._steps:
            # the highlight starts on the engine's current step; after that only the responder moves it
            step_list.select_step(current or self._steps[-1].id)
        self._show_detail()
        keys = (self.selected(), current, self._in_call, self._anything_applied(),
                tuple(status_name(s.status) for s in self._steps if s.id in (self.selected(), current)))
        if keys != self._keys_for:  # which keys work changed: the key bar is redrawn
            self._keys_for = keys
            self._keys_changed()
        if current is None and self._steps and not self._in_call:
            self._maybe_verdict()

    def _brief(self, sid: str) -> Brief:
        brief = self._briefs.get(sid)
        if brief is not None:
            return brief
        info = self.incident.steps.get(sid, StepInfo())
        # until the rendered briefs arrive: the static text (a template shows as it is for a moment)
        return Brief(kind=self._step(sid).kind, text="\n\n".join(t for t in (info.description, info.manual) if t),
                     options=info.options)

    def _show_detail(self) -> None:
        sid = self.selected()
        if sid is None:
            return
        state = self._step(sid)
        status = self.model.status_of(sid, status_name(state.status))
        from tui.model import delivery_warning

        error = state.error
        if status == "warning":
            error = delivery_warning(self.model.evidence.get(sid))
        next_step = self._current if self._current not in (None, sid) else None
        parts = detail_parts(sid, state.title or state.id, status, error, self._brief(sid), self.model.of(sid),
                             self.app.theme_variables, drill=self.incident.drill, next_step=next_step)
        self.query_one("#detail-body", DetailPane).show(sid, parts)
        for panel in self.query(BatchPanel).results(BatchPanel):
            panel.display = panel.has_progress and sid == self.model.batch_step
        if state.kind == "action" and sid not in self._planned:
            self._planned.add(sid)  # asked once; PlanReady fills it
            self._call(f"plan {sid}", lambda: self.post_message(PlanReady(sid, self.incident.session.plan(sid))),
                       quiet=True)

    def _panel(self) -> BatchPanel:
        """The batch panel, built at the first run: a walker that is only read starts faster."""
        panel = next(self.query(BatchPanel).results(BatchPanel), None)
        if panel is None:
            panel = BatchPanel(id="batch", clock=lambda: self._now().timestamp())
            panel.display = False
            self.query_one("#detail").mount(panel)
        return panel

    # ------------------------------------------------------------------ messages

    def on_step_list_highlighted(self) -> None:
        self._show_detail()
        self._keys_changed()

    def _absorb(self, records: Sequence[Any]) -> None:
        """Fold a burst of journal records into the screen: O(1) widget work per burst, not per record."""
        out = self.model.fold(records, live=True)
        self._dirty = self._dirty or out.steps_changed
        self.query_one(Timeline).add_records(records)  # the timeline folds a step's bookkeeping into its row
        if self.selected() in out.evidence:
            self._show_detail()
        if (out.progress is None and not out.results and out.cancelled is None and out.started is None
                and out.started_data is None and out.gate_poll is None and out.finished is None):
            return
        panel = self._panel()
        if out.started is not None or out.started_data is not None:
            panel.started_at(out.started, out.started_data)
            panel.display = self.model.batch_step == self.selected()
        if out.progress is not None:
            brief = self._brief(str(out.progress.data.get("step", "")))
            panel.batching(brief.pause, brief.gate)
            panel.progress(out.progress.data, getattr(out.progress, "mono", None))
            panel.display = self.model.batch_step == self.selected()
        if out.results:
            panel.results(out.results)
        if out.cancelled is not None:
            panel.cancelled(out.cancelled)
        if out.gate_poll is not None:
            panel.gate_polled(out.gate_poll)
        if out.finished is not None:
            panel.finished(*out.finished)

    def on_plan_ready(self, message: PlanReady) -> None:
        self.model.planned(message.step_id, message.plan.kubectl)
        if message.step_id == self.selected():
            self._show_detail()
            self._keys_changed()  # its kubectl lines are known now: c copies them

    def on_preview_ready(self, message: PreviewReady) -> None:
        self.model.previewed(message.step_id, message.preview.diff or "")
        if message.step_id == self.selected():
            self._show_detail()

    def on_session_changed(self, _: SessionChanged) -> None:
        self._cancel = None
        self._in_call = False
        self._dirty = True
        # a plan read before an earlier step ran had nothing to target yet: read it again when shown
        self._planned = {sid for sid in self._planned if self.model.of(sid).kubectl}
        self._flush()
        self._keys_changed()
        self._read_briefs()  # what a step just found is in the next steps' text and messages now

    def show_error(self, message: str) -> None:
        self.query_one(Timeline).add_error(self._now().strftime("%Y-%m-%dT%H:%M:%SZ"), message)

    # ------------------------------------------------------------------ which keys work now

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that work for the highlighted step are bound (False: not shown, and the key
        falls through to the binding that does apply, as enter does between run, next and current)."""
        try:
            sid = self.selected()
        except Exception:  # noqa: BLE001 - asked before the step list is mounted
            return True
        allowed = self._allowed(action, parameters, sid)
        return True if allowed is None else allowed

    def _allowed(self, action: str, parameters: tuple[object, ...], sid: str | None) -> bool | None:
        """Whether ``action`` works now on step ``sid``; None for the keys that do not depend on it."""
        state = next((s for s in self._steps if s.id == sid), None)
        status = status_name(state.status) if state is not None else ""
        kind = state.kind if state is not None else ""
        idle = not self._in_call  # the app runs one session call at a time: others are refused meanwhile
        current = self._current
        if action == "run_step":  # the engine's current step, not finished (a failed one runs again)
            runnable = (state is not None and idle and sid == current and status not in DONE
                        and status not in ("running", "unknown"))
            return runnable and (parameters[:1] or ("run",))[0] == RUN_AS.get(kind, "run")
        if action == "next_step":  # a finished step: enter moves the highlight on
            return state is not None and status in DONE and current not in (None, sid)
        if action == "to_current":  # a later step, or one that cannot run now
            return state is not None and status not in DONE and current not in (None, sid)
        if action == "preview":
            return kind == "action" and idle and status not in DONE and status != "running"
        if action == "copy_kubectl":
            return bool(sid and (self.model.of(sid).kubectl or self._brief(sid).kubectl))
        if action == "retry":
            return status == "failed" and idle
        if action == "skip":
            return state is not None and idle and status not in ("succeeded", "rolled-back", "skipped", "running")
        if action == "cancel_batch":
            return self._in_call and self._cancel is not None
        if action == "rollback_step":  # a step that changed something and is not yet undone
            return kind in UNDOABLE and status in APPLIED and idle
        if action == "rollback":
            return idle and self._anything_applied()
        if action in ("note", "milestone", "status"):
            return idle
        if action == "postmortem":
            return self.incident.postmortem is not None
        if action == "verdict":
            return self.incident.verdict is not None
        return None

    def _anything_applied(self) -> bool:
        return any(s.kind in UNDOABLE and status_name(s.status) in APPLIED for s in self._steps)

    # ------------------------------------------------------------------ actions

    def _then(self, label: str, call: Callable[[str], object]) -> Callable[[str | None], None]:
        """A modal's dismiss callback that hands a non-empty answer to a session call."""

        def callback(value: str | None) -> None:
            if value:
                self._session(f"{label} {value}", lambda: call(value))

        return callback

    def _session(self, label: str, fn: Callable[[], object], *, batch: str | None = None,
                 cancel: threading.Event | None = None) -> None:
        """A call that changes the session; ``batch`` names the step whose progress the panel follows."""

        def started() -> None:
            self._in_call = True
            self._cancel = cancel
            if batch is not None:
                self.model.batch_step = batch
                panel = self._panel()
                panel.begin(batch, preparing=self._step(batch).kind == "action")
                panel.batching(self._brief(batch).pause, self._brief(batch).gate)
            self._keys_changed()

        self._call(label, fn, on_start=started)

    def _step(self, sid: str) -> StepStateLike:
        return next(s for s in self._steps if s.id == sid)

    def action_next_step(self) -> None:
        if self._current is not None:
            self.go_to_step(self._current)

    def action_to_current(self) -> None:
        self.action_next_step()

    def action_run_step(self, _as: str = "") -> None:
        """Run (tick, decide) the highlighted step; ``_as`` only names it in the key bar."""
        sid = self.selected()
        if sid is None:
            return
        session, state = self.incident.session, self._step(sid)
        status = status_name(state.status)
        if status in DONE:
            if self._current is not None and self._current != sid:
                self.go_to_step(self._current)  # the responder asked to move on: the highlight follows
            else:
                self.notify(f"{sid} is {status}", severity="warning")
            return
        if state.kind == "manual":
            self._session(f"complete {sid}", lambda: session.complete_manual(sid))
        elif state.kind == "decision":
            options = self._brief(sid).options or self.incident.steps.get(sid, StepInfo()).options
            question = self._brief(sid).question or f"{sid}: choose"
            self.app.push_screen(ChoicePrompt(question, options),
                                 self._then(f"decide {sid}", lambda c: session.decide(sid, c)))
        else:
            cancel = threading.Event()
            self._session(f"run {sid}", lambda: session.run(sid, cancel=cancel), batch=sid, cancel=cancel)

    def action_retry(self) -> None:
        sid = self.selected()
        if sid is None:
            return
        if status_name(self._step(sid).status) != "failed":
            self.notify("only a failed step is retried", severity="warning")
            return
        cancel = threading.Event()
        self._session(f"retry {sid}", lambda: self.incident.session.retry(sid), batch=sid, cancel=cancel)

    def action_preview(self) -> None:
        sid = self.selected()
        if sid is None or self._step(sid).kind != "action":
            self.notify("only action steps have a preview", severity="warning")
            return
        self.notify(f"computing the preview of {sid}…", timeout=3)
        self._call(f"preview {sid}", lambda: self.post_message(
            PreviewReady(sid, self.incident.session.preview(sid))))

    def action_copy_kubectl(self) -> None:
        sid = self.selected()
        lines = (self.model.of(sid).kubectl or list(self._brief(sid).kubectl)) if sid else []
        if not lines:
            self.notify("no kubectl equivalent for this step", severity="warning")
            return
        self.app.copy_to_clipboard("\n".join(lines))
        self.notify("kubectl command copied")

    def action_skip(self) -> None:
        sid = self.selected()
        if sid is None:
            return
        self.app.push_screen(TextPrompt(f"Why skip {sid}?", placeholder="reason (journalled)"),
                             self._then(f"skip {sid}", lambda reason: self.incident.session.skip(sid, reason)))

    def action_rollback(self) -> None:
        cancel = threading.Event()
        self._session("roll back", lambda: self.incident.session.rollback(cancel=cancel), cancel=cancel)

    def action_rollback_step(self) -> None:
        """Undo the highlighted step only (its undo is confirmed like any change); the others stay."""
        sid = self.selected()
        if sid is None:
            return
        cancel = threading.Event()
        self._session(f"roll back {sid}", lambda: self.incident.session.rollback_step(sid, cancel=cancel),
                      cancel=cancel)

    def action_cancel_batch(self) -> None:
        if self._cancel is not None and self._in_call:
            self._cancel.set()
            self.notify("cancelling after the current batch")

    def _record(self, label: str, call: Callable[..., object]) -> Callable[[Entry | None], None]:
        """An entry dialog's dismiss callback: the entry, backdated when a time was given."""

        def callback(entry: Entry | None) -> None:
            if entry is not None:
                self._session(f"{label} {entry.value}", lambda: call(entry.value, at=entry.at, tz=entry.tz))

        return callback

    def action_note(self) -> None:
        from tui.screens.entry import EntryPrompt

        self.app.push_screen(EntryPrompt("Note for the timeline", today=lambda: self._now().date(),
                                         placeholder="what happened, what you saw"),
                             self._record("note", self.incident.session.note))

    def action_milestone(self) -> None:
        from tui.screens.entry import EntryPrompt

        self.app.push_screen(EntryPrompt("Mark milestone", today=lambda: self._now().date(), choices=MILESTONES),
                             self._record("milestone", self.incident.session.milestone))

    def action_status(self) -> None:
        self.app.push_screen(ChoicePrompt("Incident status", STATUSES),
                             self._then("status", self.incident.session.set_status))

    def action_postmortem(self) -> None:
        render = self.incident.postmortem
        if render is None:
            self.notify("no postmortem for this incident", severity="warning")
            return
        from tui.screens.postmortem import PostmortemScreen

        folder = getattr(self.incident.journal, "dir", None)
        self.app.push_screen(PostmortemScreen(self.incident.journal.id, render, folder=folder))

    def _maybe_verdict(self) -> None:
        """A drill whose last step is done ends with its verdict on screen, once."""
        if self.incident.verdict is None or self._verdict_shown:
            return
        self._verdict_shown = True
        self.action_verdict()

    def action_verdict(self) -> None:
        judge = self.incident.verdict
        if judge is None:
            self.notify("only a drill has a verdict", severity="warning")
            return
        from tui.screens.verdict import VerdictScreen

        screen = VerdictScreen(self.incident.journal.id)
        self.app.push_screen(screen)

        def work() -> None:
            verdict = judge()
            self.app.call_from_thread(screen.show, verdict)

        self.run_worker(work, name="judge the drill", group="read", thread=True, exit_on_error=False)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_scroll_detail(self, lines: int) -> None:
        self.query_one("#detail-body", DetailPane).scroll_lines(lines)

    def action_quit_walker(self) -> None:
        self.post_message(LeaveIncident())

    def go_to_step(self, step_id: str) -> None:
        self.query_one("#steps", StepList).select_step(step_id)
