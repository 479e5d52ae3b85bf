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

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from tui.messages import PlanReady, PreviewReady, SessionChanged, StepsRead
from tui.protocols import Incident, StepInfo, StepStateLike
from tui.screens.prompt import ChoicePrompt, TextPrompt
from tui.text import clip
from tui.widgets.batch import BatchPanel
from tui.widgets.header import IncidentHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.pane import RenderablePane
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
MAX_TABLE_ROWS = 100  # rows drawn in the check table; the journal holds them all
MAX_BACKFILL = 200  # timeline lines shown from the journal when the walker opens
DONE = frozenset({"succeeded", "skipped", "rolled-back"})  # the highlight moves on from these


def section(title: str, colour: str) -> Text:
    return Text(f"\n{title}", style=f"bold {colour}")


def check_table(check: dict[str, Any]) -> Table:
    """The check's rows (the runbook's ``columns``), or its verdict when it has none."""
    table = Table(box=box.SIMPLE_HEAD, row_styles=["", "dim"], expand=False, pad_edge=False)
    rows: list[dict[str, Any]] = list(check.get("rows") or [])
    if not rows:
        for column in ("ok", "count", "value", "message"):
            table.add_column(column)
        table.add_row(str(check.get("ok")), str(check.get("count")), str(check.get("value")),
                      str(check.get("message") or ""))
        return table
    columns = list(dict.fromkeys(k for r in rows[:MAX_TABLE_ROWS] for k in r))
    for column in columns:
        table.add_column(column, overflow="fold")  # the whole name, over two lines if it must
    for row in rows[:MAX_TABLE_ROWS]:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    if len(rows) > MAX_TABLE_ROWS:
        table.caption = f"first {MAX_TABLE_ROWS} of {len(rows):,} rows; the journal holds all of them"
    return table


def detail(sid: str, title: str, text: str, kubectl: list[str], check: dict[str, Any] | None,
           diff: str, theme: dict[str, str]) -> list[tuple[object, Callable[[], RenderableType]]]:
    """The step's detail, top to bottom: title, its Markdown, kubectl equivalent, check table, diff.

    Each part comes with a key that changes when the part does, and is built only when the pane
    has no lines for that key yet (parsing Markdown or highlighting a diff again for an unchanged
    part cost milliseconds on every status change). ``theme`` is the app's theme variables: the
    section titles take its accent.
    """
    accent = theme.get("accent", "cyan")

    def markdown() -> RenderableType:
        from rich.markdown import Markdown  # not every walker shows a step with text at once

        return Markdown(text)

    def commands() -> RenderableType:
        body = Padding(Text(clip("\n".join(kubectl), "c copies all of it"), style=theme.get("success", "green")),
                       (0, 1), style=f"on {theme.get('surface', 'grey15')}", expand=True)
        return Group(section("kubectl equivalent  (c copies)", accent), body)

    def changes() -> RenderableType:
        from rich.syntax import Syntax

        return Group(section("preview diff  (p refreshes)", accent),
                     Syntax(clip(diff, "the journal holds all of it"), "diff", theme="ansi_dark", word_wrap=True))

    parts: list[tuple[object, Callable[[], RenderableType]]] = [
        (("title", title), lambda: Group(Text(title, style="bold"), Text("")))]
    if text:
        parts.append((("text", sid, text), markdown))
    if kubectl:
        parts.append((("kubectl", sid, tuple(kubectl)), commands))
    if check is not None:
        parts.append((("check", sid, id(check)), lambda: Group(section("check results", accent), check_table(check))))
    if diff:
        parts.append((("diff", sid, diff), changes))
    return parts


class WalkerScreen(Screen[None]):
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
        Binding("pageup", "scroll_detail(-10)", "Detail up", show=False),
        Binding("pagedown", "scroll_detail(10)", "Detail down", show=False),
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
        self._shown: tuple[object, ...] = ()  # what the detail pane shows now, to skip re-rendering

    @property
    def mapp(self) -> MitigateApp:
        from tui.app import MitigateApp

        assert isinstance(self.app, MitigateApp)
        return self.app

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # Six widgets, none of them a Textual scrolling widget (tui/widgets/pane.py says why): every
        # widget costs start-up time, and a style pass and a repaint each time a modal closes over
        # the walker (the moment a batch starts). The detail pane draws the step's title, text,
        # kubectl, check table and diff together; the batch panel joins it at the first run.
        inc = self.incident
        yield IncidentHeader(now=self._now, title=f"{inc.journal.id} · {inc.title}", context=inc.context,
                             drill=inc.drill, started=inc.started)
        yield StepList(id="steps")
        with Vertical(id="detail"):
            yield RenderablePane(id="detail-body")
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
        self._dirty = self._follow = False  # that read covered the backfill: no second read, no jump
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
        text = info.description or info.manual or ""
        kubectl, check, diff = self._kubectl.get(sid) or [], self._checks.get(sid), self._diffs.get(sid, "")
        shown = (sid, line, text, tuple(kubectl), id(check), diff)
        if shown != self._shown:  # the same step redrawn (a batch reports ten times a second): nothing to do
            same_step = bool(self._shown) and self._shown[0] == sid
            self._shown = shown
            self.query_one("#detail-body", RenderablePane).update(
                detail(sid, line, text, kubectl, check, diff, self.app.theme_variables), keep_scroll=same_step)
        for panel in self.query(BatchPanel).results(BatchPanel):
            panel.display = panel.has_progress and sid == self._batch_step
        if state.kind == "action" and sid not in self._kubectl:
            self._kubectl[sid] = []  # asked once; PlanReady fills it
            self.mapp.session_call(f"plan {sid}", lambda: self.post_message(
                PlanReady(sid, self.incident.session.plan(sid))), quiet=True)

    def _panel(self) -> BatchPanel:
        """The batch panel, built at the first run: a walker that is only read starts faster."""
        panel = next(self.query(BatchPanel).results(BatchPanel), None)
        if panel is None:
            panel = BatchPanel(id="batch")
            panel.display = False
            self.query_one("#detail").mount(panel)
        return panel

    # ------------------------------------------------------------------ messages

    def on_step_list_highlighted(self) -> None:
        self._show_detail()

    def _absorb(self, records: Sequence[Any], *, live: bool) -> None:
        """Fold a burst of journal records into the screen: O(1) widget work per burst, not per record.

        Batch bookkeeping (intents, outcomes, progress) reaches the timeline as the
        latest progress line only; per-target results are summarised by the batch panel.
        """
        lines: list[Any] = []
        progress: Any = None
        results: list[dict[str, Any]] = []
        cancelled: dict[str, Any] | None = None
        started: float | None = None  # the monotonic time of the run's first batch (for the ETA)
        for rec in records:
            rtype: str = getattr(rec, "type", "")
            data: dict[str, Any] = getattr(rec, "data", None) or {}
            step = str(data.get("step", ""))
            batched = "batch" in data
            if rtype == "step.previewed":
                if "kubectlTotal" not in data or not self._kubectl.get(step):  # capped: keep the plan's whole list
                    self._kubectl[step] = list(data.get("kubectl") or [])
                self._diffs[step] = str(data.get("diff") or "")
            elif rtype == "step.intent" and data.get("kubectl") and not (batched and self._kubectl.get(step)):
                # a batch's intent holds that batch's commands: the step's plan already shows them all
                self._kubectl[step] = list(data["kubectl"])
            if rtype == "step.intent" and batched and live and step == self._batch_step and started is None:
                started = getattr(rec, "mono", None)
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
        if progress is None and not results and cancelled is None and started is None:
            return
        panel = self._panel()
        if started is not None:
            panel.started_at(started)
        if progress is not None:
            self._batch_step = str(progress.data.get("step", ""))
            panel.progress(progress.data, getattr(progress, "mono", None))
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

    def action_scroll_detail(self, lines: int) -> None:
        self.query_one("#detail-body", RenderablePane).scroll_lines(lines)

    def action_quit_walker(self) -> None:
        self.mapp.quit_incident()

    def go_to_step(self, step_id: str) -> None:
        self.query_one("#steps", StepList).select_step(step_id)
