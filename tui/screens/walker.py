"""The runbook walker: steps, the current step's detail, live timeline and batch progress.

Every engine call goes through ``MitigateApp.session_call`` (a thread worker);
this screen only reacts to typed messages: journal records as they are
appended, plans and previews, and "the session changed".
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Label, OptionList, Static

from tui.messages import PlanReady, PreviewReady, SessionChanged, StepsRead
from tui.protocols import Incident, StepInfo, StepStateLike
from tui.screens.prompt import ChoicePrompt, TextPrompt
from tui.text import clip
from tui.widgets.batch import BatchPanel
from tui.widgets.header import IncidentHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.steps import StepList, status_name
from tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from tui.app import MitigateApp
    from tui.screens.entry import Entry

# Modules only some screens or keys need (rich.syntax, Markdown, the dialogs) are imported
# where they are used: they are not on the first screen and cost start-up time.

MILESTONES = [("impact-start", "impact started"), ("detected", "detected"), ("acknowledged", "acknowledged"),
              ("mitigated", "mitigated"), ("resolved", "resolved")]
STATUSES = [("investigating", "investigating"), ("identified", "identified"),
            ("monitoring", "monitoring"), ("resolved", "resolved")]
MAX_TABLE_ROWS = 200
MAX_BACKFILL = 200  # timeline lines shown from the journal when the walker opens
DONE = frozenset({"succeeded", "skipped", "rolled-back"})  # the highlight moves on from these


def markdown(text: str) -> RenderableType:
    """Step text as Markdown, rendered by rich (the Markdown widget costs a widget per block)."""
    from rich.markdown import Markdown

    return Markdown(text) if text else ""


class WalkerScreen(Screen[None]):
    CSS_PATH = "../styles/walker.tcss"
    BINDINGS = [
        Binding("enter,r", "run_step", "Run"),
        Binding("p", "preview", "Preview"),
        Binding("c", "copy_kubectl", "Copy kubectl"),
        Binding("s", "skip", "Skip"),
        Binding("t", "retry", "Retry"),
        Binding("b", "rollback", "Roll back"),
        Binding("escape", "cancel_batch", "Cancel batch", show=False),
        Binding("n", "note", "Note"),
        Binding("m", "milestone", "Milestone"),
        Binding("i", "status", "Status"),
        Binding("e", "postmortem", "Postmortem"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_walker", "Quit"),
    ]

    def __init__(self, incident: Incident, *, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.incident = incident
        self._now = now
        self._cancel: threading.Event | None = None
        self._kubectl: dict[str, list[str]] = {}
        self._diffs: dict[str, str] = {}
        self._checks: dict[str, dict[str, Any]] = {}
        self._batch_step: str | None = None
        self._dirty = False  # journal records arrived; the step list is re-read at most every 100 ms
        self._follow = False
        self._reading = False  # a worker is reading the step states
        # the journal's subscriber runs on the appending (worker) thread: it only appends here,
        # so a batch never wakes the UI thread per record; _flush drains it every 100 ms
        self._inbox: deque[Any] = deque()
        self._steps: list[StepStateLike] = []  # the last read: the UI thread never waits on the engine's lock
        self._current: str | None = None
        self._shown: dict[str, object] = {}  # what each detail widget shows now, to skip re-rendering

    @property
    def mapp(self) -> MitigateApp:
        from tui.app import MitigateApp

        assert isinstance(self.app, MitigateApp)
        return self.app

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        inc = self.incident
        yield IncidentHeader(now=self._now, title=f"{inc.journal.id} · {inc.title}", context=inc.context,
                             drill=inc.drill, started=inc.started)
        with Horizontal(id="walker-body"):
            yield StepList(id="steps")
            with VerticalScroll(id="detail"):
                yield Label("", id="step-title")
                yield Static("", id="step-text")
                yield Label("kubectl equivalent  (c copies)", classes="section", id="kubectl-label")
                yield Static("", id="kubectl", classes="kubectl")
                yield Label("check results", classes="section", id="checks-label")
                yield Label("preview diff  (p refreshes)", classes="section", id="diff-label")
                yield Static("", id="diff")
            yield Timeline(id="timeline")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#steps", StepList).border_title = self.incident.runbook_title or "steps"
        self.query_one(Timeline).border_title = "timeline"
        self._absorb(self.incident.journal.records(), live=False)
        self.incident.journal.subscribe(self._inbox.append)
        session = self.incident.session  # nothing runs yet: a direct read is safe here
        current = session.current()
        self._show_steps(session.steps, current.id if current else None, follow=True)
        self.set_interval(0.1, self._flush)

    def _flush(self) -> None:
        """Every 100 ms: take the records appended since (a 5,000-target batch) and redraw once."""
        if self._inbox:
            burst = [self._inbox.popleft() for _ in range(len(self._inbox))]
            self._absorb(burst, live=True)
        if self._dirty and not self._reading:
            self._dirty, follow, self._follow = False, self._follow, False
            self._read_steps(follow=follow)

    def _read_steps(self, *, follow: bool) -> None:
        """Read step states in a thread: the engine holds its lock across journal fsyncs."""
        session = self.incident.session
        self._reading = True

        def read() -> None:
            try:
                current = session.current()
                self.post_message(StepsRead(session.steps, current.id if current else None, follow=follow))
            finally:
                self._reading = False

        self.run_worker(read, name="read steps", group="read", thread=True, exit_on_error=False)

    def on_steps_read(self, message: StepsRead) -> None:
        self._show_steps(message.steps, message.current, follow=message.follow)

    # ------------------------------------------------------------------ state -> widgets

    @property
    def step_states(self) -> list[StepStateLike]:
        """The steps as last read from the session (refreshed as journal records arrive)."""
        return self._steps

    def selected(self) -> str | None:
        return self.query_one("#steps", StepList).selected_id

    def _show_steps(self, steps: Sequence[StepStateLike], current: str | None, *, follow: bool) -> None:
        self._steps, self._current = list(steps), current
        step_list = self.query_one("#steps", StepList)
        step_list.show(self._steps, current)
        selected = self.selected()
        finished = selected is None or status_name(self._step(selected).status) in DONE
        if (step_list.highlighted is None or (follow and finished)) and self._steps:
            step_list.select_step(current or self._steps[-1].id)
        self._show_detail()

    def _show_detail(self) -> None:
        sid = self.selected()
        if sid is None:
            return
        state = self._step(sid)
        info = self.incident.steps.get(sid, StepInfo())
        line = f"{state.title or state.id}  [{status_name(state.status)}]"
        if state.error:
            line += f"  — {state.error}"
        if self._changed("title", line):
            self.query_one("#step-title", Label).update(line)
        if self._changed("text", sid):
            self.query_one("#step-text", Static).update(markdown(info.description or info.manual or ""))
        kubectl = self._kubectl.get(sid)
        self._set_visible("kubectl", kubectl is not None)
        if self._changed("kubectl", kubectl):
            self.query_one("#kubectl", Static).update(clip("\n".join(kubectl or []), "c copies all of it"))
        check = self._checks.get(sid)
        self._set_visible("checks", check is not None)
        if check is not None and self._changed("checks", check):
            self._fill_table(check)
        diff = self._diffs.get(sid, "")
        self._set_visible("diff", bool(diff))
        if self._changed("diff", diff):
            from rich.syntax import Syntax

            self.query_one("#diff", Static).update(Syntax(clip(diff, "the journal holds all of it"), "diff",
                                                          theme="ansi_dark", word_wrap=True))
        for panel in self.query(BatchPanel).results(BatchPanel):
            panel.display = panel.has_progress and sid == self._batch_step
        if state.kind == "action" and sid not in self._kubectl:
            self._kubectl[sid] = []  # asked once; PlanReady fills it
            self.mapp.session_call(f"plan {sid}", lambda: self.post_message(
                PlanReady(sid, self.incident.session.plan(sid))), quiet=True)

    def _changed(self, widget: str, value: object) -> bool:
        if self._shown.get(widget) is value or self._shown.get(widget) == value:
            return False
        self._shown[widget] = value
        return True

    def _set_visible(self, name: str, visible: bool) -> None:
        if self._changed(f"{name}-visible", visible):
            for w in self.query(f"#{name}, #{name}-label"):
                w.display = visible

    def _panel(self) -> BatchPanel:
        """The batch panel, built at the first run: a walker that is only read starts faster."""
        panel = next(self.query(BatchPanel).results(BatchPanel), None)
        if panel is None:
            panel = BatchPanel(id="batch")
            panel.display = False
            self.query_one("#detail").mount(panel)
        return panel

    def _fill_table(self, check: dict[str, Any]) -> None:
        tables = self.query("#checks").results(DataTable)
        table = next(tables, None)
        if table is None:  # built the first time a check has results: not every screen needs one
            table = DataTable(id="checks", zebra_stripes=True, cursor_type="row")
            self.query_one("#detail").mount(table, after="#checks-label")
        table.clear(columns=True)
        rows: list[dict[str, Any]] = list(check.get("rows") or [])[:MAX_TABLE_ROWS]
        if rows:
            columns = list(dict.fromkeys(k for r in rows for k in r))
            table.add_columns(*columns)
            table.add_rows([[str(r.get(c, "")) for c in columns] for r in rows])
        else:
            table.add_columns("ok", "count", "value", "message")
            table.add_row(str(check.get("ok")), str(check.get("count")), str(check.get("value")),
                          str(check.get("message") or ""))

    # ------------------------------------------------------------------ messages

    @on(OptionList.OptionHighlighted, "#steps")
    def _highlighted(self) -> None:
        self._show_detail()

    @on(OptionList.OptionSelected, "#steps")
    def _selected(self) -> None:
        self.action_run_step()

    def _absorb(self, records: Sequence[Any], *, live: bool) -> None:
        """Fold a burst of journal records into the screen: O(1) widget work per burst, not per record.

        Batch bookkeeping (intents, outcomes, progress) reaches the timeline as the
        latest progress line only; per-target results are summarised by the batch panel.
        """
        lines: list[Any] = []
        progress: Any = None
        results: list[dict[str, Any]] = []
        cancelled: dict[str, Any] | None = None
        for rec in records:
            rtype: str = getattr(rec, "type", "")
            data: dict[str, Any] = getattr(rec, "data", None) or {}
            step = str(data.get("step", ""))
            batched = "batch" in data
            if rtype == "step.previewed":
                self._kubectl[step] = list(data.get("kubectl") or [])
                self._diffs[step] = str(data.get("diff") or "")
            elif rtype == "step.intent" and data.get("kubectl") and not (batched and self._kubectl.get(step)):
                # a batch's intent holds that batch's commands: the step's plan already shows them all
                self._kubectl[step] = list(data["kubectl"])
            elif rtype == "check.result":
                self._checks[step] = data
            elif rtype == "batch.progress":
                progress = rec
            elif rtype == "step.outcome" and live and self._batch_step == step:
                results.extend(data.get("results") or [])
            elif rtype == "batch.cancelled":
                cancelled = data
            if rtype == "batch.progress" or (batched and rtype in ("step.intent", "step.outcome")):
                continue
            lines.append(rec)
            if rtype.startswith(("step.", "check.", "batch.", "manual.", "decision", "gate")):
                self._dirty = True
                self._follow = self._follow or rtype in ("step.succeeded", "step.skipped", "manual.done",
                                                         "decision")
        if progress is not None:  # shown by the batch panel; the timeline keeps to events
            self._dirty = True
        if not live:  # a resumed incident: the journal holds everything, the timeline its recent end
            self.query_one(Timeline).add_records(lines[-MAX_BACKFILL:])
            return
        self.query_one(Timeline).add_records(lines)
        if progress is None and not results and cancelled is None:
            return
        panel = self._panel()
        if progress is not None:
            self._batch_step = str(progress.data.get("step", ""))
            panel.progress(progress.data)
            panel.display = self._batch_step == self.selected()
        if results:
            panel.results(results)
        if cancelled is not None:
            panel.cancelled(cancelled)

    def on_plan_ready(self, message: PlanReady) -> None:
        self._kubectl[message.step_id] = list(message.plan.kubectl)
        if message.step_id == self.selected():
            self._show_detail()

    def on_preview_ready(self, message: PreviewReady) -> None:
        self._diffs[message.step_id] = message.preview.diff or "(no changes)"
        if message.step_id == self.selected():
            self._show_detail()

    def on_session_changed(self, _: SessionChanged) -> None:
        self._cancel = None
        self._dirty, self._follow = True, True
        self._flush()

    def show_error(self, message: str) -> None:
        self.query_one(Timeline).add_error(self._now().strftime("%Y-%m-%dT%H:%M:%SZ"), message)

    # ------------------------------------------------------------------ actions

    def _then(self, label: str, call: Callable[[str], object]) -> Callable[[str | None], None]:
        """A modal's dismiss callback that hands a non-empty answer to a session call."""

        def callback(value: str | None) -> None:
            if value:
                self.mapp.session_call(f"{label} {value}", lambda: call(value))

        return callback

    def _step(self, sid: str) -> StepStateLike:
        return next(s for s in self._steps if s.id == sid)

    def action_run_step(self) -> None:
        sid = self.selected()
        if sid is None or self.mapp.busy():
            return
        session, kind = self.incident.session, self._step(sid).kind
        if kind == "manual":
            self.mapp.session_call(f"complete {sid}", lambda: session.complete_manual(sid))
        elif kind == "decision":
            options = self.incident.steps.get(sid, StepInfo()).options
            self.app.push_screen(ChoicePrompt(f"{sid}: choose", options),
                                 self._then(f"decide {sid}", lambda c: session.decide(sid, c)))
        else:
            cancel = self._cancel = threading.Event()
            self._batch_step = sid
            self._panel().begin(sid)
            self.mapp.session_call(f"run {sid}", lambda: session.run(sid, cancel=cancel))

    def action_retry(self) -> None:
        sid = self.selected()
        if sid is None or self.mapp.busy():
            return
        self._cancel, self._batch_step = threading.Event(), sid
        self._panel().begin(sid)
        self.mapp.session_call(f"retry {sid}", lambda: self.incident.session.retry(sid))

    def action_preview(self) -> None:
        sid = self.selected()
        if sid is None or self._step(sid).kind != "action":
            self.notify("only action steps have a preview", severity="warning")
            return
        self.mapp.session_call(f"preview {sid}", lambda: self.post_message(
            PreviewReady(sid, self.incident.session.preview(sid))))

    def action_copy_kubectl(self) -> None:
        sid = self.selected()
        lines = self._kubectl.get(sid or "") or []
        if not lines:
            self.notify("no kubectl equivalent for this step", severity="warning")
            return
        self.app.copy_to_clipboard("\n".join(lines))
        self.notify("kubectl command copied")

    def action_skip(self) -> None:
        sid = self.selected()
        if sid is None or self.mapp.busy():
            return
        self.app.push_screen(TextPrompt(f"Why skip {sid}?", placeholder="reason (journalled)"),
                             self._then(f"skip {sid}", lambda reason: self.incident.session.skip(sid, reason)))

    def action_rollback(self) -> None:
        if self.mapp.busy():
            return
        cancel = self._cancel = threading.Event()
        self.mapp.session_call("roll back", lambda: self.incident.session.rollback(cancel=cancel))

    def action_cancel_batch(self) -> None:
        if self._cancel is not None and self.mapp.busy():
            self._cancel.set()
            self.notify("cancelling after the current batch")

    def _record(self, label: str, call: Callable[..., object]) -> Callable[[Entry | None], None]:
        """An entry dialog's dismiss callback: the entry, backdated when a time was given."""

        def callback(entry: Entry | None) -> None:
            if entry is not None:
                self.mapp.session_call(f"{label} {entry.value}", lambda: call(entry.value, at=entry.at, tz=entry.tz))

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

        self.app.push_screen(PostmortemScreen(self.incident.journal.id, render))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_quit_walker(self) -> None:
        self.mapp.quit_incident()

    def go_to_step(self, step_id: str) -> None:
        self.query_one("#steps", StepList).select_step(step_id)
