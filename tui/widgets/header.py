"""The incident header: context (red when protected), DRILL, elapsed time, UTC clock.

It ticks once a second from an injected ``now`` function so snapshots are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from mitigate.ports import ContextInfo
from tui.widgets.line import Line


def format_elapsed(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class IncidentHeader(Horizontal):
    """One line that always says where the responder is pointed and for how long."""

    def __init__(self, *, now: Callable[[], datetime], title: str = "mitigate", context: ContextInfo | None = None,
                 drill: bool = False, started: float | None = None) -> None:
        super().__init__(id="incident-header")
        self._now = now
        self._title = title
        self._ctx = context
        self._drill = drill
        self._started = started

    def compose(self) -> ComposeResult:
        ctx = self._ctx
        label = Label(f" ⎈ {ctx.name}{'  PROTECTED' if ctx.protected else ''} " if ctx else " no context ",
                      id="hdr-context")
        if ctx and ctx.protected:
            label.add_class("protected")
        yield label
        drill = Label(" DRILL ", id="hdr-drill")
        drill.display = self._drill
        yield drill
        yield Label(self._title, id="hdr-title")
        elapsed = Line(id="hdr-elapsed")  # ticking every second: a repaint, not a layout of the screen
        elapsed.display = self._started is not None or ctx is not None  # no incident: no elapsed time
        yield elapsed
        yield Line(id="hdr-clock")

    def on_mount(self) -> None:
        if self._started is None and self._ctx is not None:
            self._started = self._now().timestamp()
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        now: datetime = self._now()
        if self._started is not None:
            self.query_one("#hdr-elapsed", Line).update(f"⏱ {format_elapsed(now.timestamp() - self._started)}")
        self.query_one("#hdr-clock", Line).update(now.strftime("%H:%M:%S UTC"))
