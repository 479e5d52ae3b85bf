"""Batch progress: a bar with ETA, counts, and the targets that failed, drawn as one widget.

Successful targets are counted, not listed: a 5,000-node batch must not write
5,000 lines (or one line per batch) while it runs; failures need attention and
the newest are listed (the journal holds every one).

One widget, not a ProgressBar (four widgets) and a log: the panel is fed ten
times a second while a batch runs, and each update is then a repaint of these
few lines; the screen is laid out again only when the number of lines changes.
The ETA comes from the journal records' monotonic times, so it is the same on a
replay as it was live.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widget import Widget

from mitigate.events import Event
from tui.text import safe
from tui.widgets.header import format_elapsed


class BatchPanel(Widget):
    """Fed from ``batch.progress`` and ``step.outcome`` journal records of the running step."""

    DEFAULT_CSS = """
    BatchPanel { height: auto; border: round $warning; margin-top: 1; padding: 0 1; }
    """
    FAILURE_LINES = 5  # the newest failures shown; the count says how many there are in all

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._clock = clock  # seconds, for the pause's countdown (the walker's clock: fixed in tests)
        self.has_progress = False  # shown once a batch reported; hidden while another step is selected
        self._label = ""
        self._ok = self._failed = 0
        self._done = self._total = 0
        self._started: float | None = None  # mono of the run's first batch record
        self._now: float | None = None  # mono of the latest progress record
        self._failures: list[str] = []
        self._pause = ""  # the runbook's pause between batches ("30s"), when it has one
        self._gate = ""  # the health gate's condition, when it has one
        self._gate_poll: dict[str, Any] | None = None  # what the gate saw last (wait.poll)
        self._paused_at: float | None = None  # the clock at the last batch's end, while pausing
        self._more = False  # batches remain after the last one reported
        self._over = False  # the step ended: no ETA, the bar is what was done
        self._timer: Any = None
        self._lines = 0  # lines drawn at the last layout

    def begin(self, step_id: str, *, preparing: bool = False) -> None:
        """Reset for a new run. An action shows the panel at once (its preview is computed before
        the confirmation, which can take a while on a big target list); others at their first batch."""
        self.display = self.has_progress = preparing
        self._label = (f"⧗ {step_id}: planning and previewing before the confirmation…" if preparing
                       else f"{step_id}: starting…")
        self._ok = self._failed = self._done = self._total = 0
        self._started = self._now = None
        self._failures = []
        self._paused_at, self._more = None, False
        self._over = False
        self._lines = 0
        self.refresh(layout=True)

    def started_at(self, mono: float | None, intent: dict[str, Any] | None = None) -> None:
        """A batch began (its intent): shown from the first target; the ETA counts from the first."""
        if self._started is None and mono is not None:
            self._started = mono
        if intent is not None:
            self.display = self.has_progress = True
            self._paused_at = None
            self._label = (f"{intent.get('step')}: batch {intent.get('batch')}/{intent.get('batches')} running · "
                           f"{self._done:,}/{self._total or '?'} targets done")
            self._repaint()

    def batching(self, pause: str, gate: str) -> None:
        """The runbook's pause and health gate between batches, to say what the wait is."""
        self._pause, self._gate = pause, gate

    def progress(self, data: dict[str, Any], mono: float | None = None) -> None:
        self.display = self.has_progress = True
        self._total, self._done = int(data.get("total") or 0), int(data.get("done") or 0)
        if mono is not None:
            self.started_at(mono)
            self._now = mono
        batch, batches = int(data.get("batch") or 0), int(data.get("batches") or 0)
        self._label = (f"{data.get('step')}: batch {batch}/{batches} done · "
                       f"{self._done:,}/{self._total:,} targets · {data.get('failures', 0)} failed")
        self._more = batch < batches
        self._paused_at = self._clock() if self._more and (self._pause or self._gate) else None
        self._gate_poll = None  # a new batch: the gate is polled afresh
        if self._paused_at is not None and self._timer is None:
            self._timer = self.set_interval(1.0, self.refresh)
        self._repaint()

    def _repaint(self) -> None:
        """A repaint; the screen is laid out again only when the panel's number of lines changes."""
        lines = 3 + len(self._failures) + (1 if self._paused_at is not None else 0)
        self.refresh(layout=lines != self._lines)
        self._lines = lines

    def waiting(self) -> str:
        """Between batches: the pause's countdown, then the health gate it waits for."""
        if self._paused_at is None:
            return ""
        from mitigate.runbook.model import parse_duration

        try:
            left = parse_duration(self._pause) - (self._clock() - self._paused_at) if self._pause else 0.0
        except (ValueError, TypeError):
            left = 0.0
        if left > 0:
            return f"pausing {self._pause} before the next batch: {format_elapsed(left)} left"
        if self._gate:
            poll = self._gate_poll
            if poll is not None and not poll.get("ok"):
                from tui.widgets.detail import observed

                return f"waiting for the health gate: {observed(poll)} · {self._gate}"  # the value first: kept when cut
            return f"waiting for the health gate: {self._gate}"
        return "starting the next batch…"

    def finished(self, rtype: str, data: dict[str, Any]) -> None:
        """The step ended: the title says so (not the last batch's "running")."""
        ok = rtype == Event.STEP_SUCCEEDED
        self._paused_at, self._more, self._over = None, False, True
        # An unbatched action reports its results, never a batch's progress: the counts are the bar's.
        self._done = max(self._done, self._ok + self._failed)
        self._total = max(self._total, self._done)
        self._label = (f"{data.get('step')}: done · {self._ok:,} target(s) ok" if ok else
                       f"{data.get('step')}: failed · {safe(str(data.get('error') or ''), multiline=False)}")
        self._repaint()

    def gate_polled(self, data: dict[str, Any]) -> None:
        """The health gate observed something new (its current value, what it needs)."""
        self._gate_poll = data
        self._repaint()

    def results(self, results: list[dict[str, Any]]) -> None:
        """Count every target; keep the newest failures to list."""
        failed = [r for r in results if not r.get("ok")]
        self._ok += len(results) - len(failed)
        self._failed += len(failed)
        self._failures = (self._failures + [f"✘ {r.get('target')} {r.get('message') or ''}".rstrip()
                                            for r in failed[-self.FAILURE_LINES:]])[-self.FAILURE_LINES:]
        self._repaint()

    def cancelled(self, data: dict[str, Any]) -> None:
        self._paused_at = None
        self._repaint()
        self._label = f"{data.get('step')}: cancelled at {data.get('done')}/{data.get('total')} targets"
        self.refresh()

    def eta(self) -> str:
        """Time left at the rate so far; ``--:--:--`` until there is a rate."""
        if self._started is None or self._now is None or self._now <= self._started or not self._done:
            return "--:--:--"
        rate = self._done / (self._now - self._started)
        return format_elapsed((self._total - self._done) / rate)

    def render(self) -> RenderableType:
        # Plain Text lines drawn here (not rich's ProgressBar in a table grid): this renders
        # ten times a second while a batch runs, and those cost 4-8 ms a paint.
        width = max(20, self.content_size.width)
        title = Text(safe(self._label, multiline=False), style="bold", no_wrap=True, overflow="ellipsis")
        total = max(self._total, 1)
        figures = f"  {100 * self._done // total:3d}%" + ("" if self._over else f"  ETA {self.eta()}")
        room = max(1, width - len(figures))
        filled = room * self._done // total
        bar = Text(no_wrap=True)
        bar.append("━" * filled, style="magenta")
        bar.append("━" * (room - filled), style="grey30")
        bar.append(figures)
        counts = Text(no_wrap=True, overflow="ellipsis")
        counts.append(f"✔ {self._ok:,} target(s) ok", style="green")
        if self._failed:
            counts.append(f"   ✘ {self._failed:,} failed", style="bold red")
            if self._failed > len(self._failures):
                counts.append(f"  (newest {len(self._failures)} below; the journal holds all)", style="dim")
        if self._more:
            counts.append("   esc cancels before the next batch", style="dim")
        lines = [title, bar, counts]
        waiting = self.waiting()
        if waiting:
            lines.append(Text(waiting, style="bold yellow", no_wrap=True, overflow="ellipsis"))
        lines += [Text(safe(f, multiline=False), style="red", no_wrap=True, overflow="ellipsis") for f in self._failures]
        return Group(*lines)
