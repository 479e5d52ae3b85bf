"""The incident header: context (red when protected), DRILL, elapsed time, UTC clock.

One widget drawing one line: the header is on every screen, and each widget costs
start-up time and a style pass whenever a modal closes. It ticks once a second
from an injected ``now`` function so snapshots are deterministic; a tick repaints
this line only (its size never changes, so the screen is not laid out again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.content import Content
from textual.widget import Widget

from mitigate.ports import ContextInfo
from tui.text import safe


def format_elapsed(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class IncidentHeader(Widget):
    """One line that always says where the responder is pointed and for how long."""

    DEFAULT_CSS = """
    IncidentHeader { dock: top; height: 1; width: 1fr; background: $panel; }
    """

    def __init__(self, *, now: Callable[[], datetime], title: str = "mitigate", context: ContextInfo | None = None,
                 drill: bool = False, started: float | None = None) -> None:
        super().__init__(id="incident-header")
        self._now = now
        self._title = safe(title, multiline=False)
        self._ctx = context
        self._drill = drill
        self._started = started
        self._line = ""  # what the clock part says now: a tick that changes nothing repaints nothing

    @property
    def context_text(self) -> str:
        ctx = self._ctx
        return f" ⎈ {safe(ctx.name, multiline=False)}{'  PROTECTED' if ctx.protected else ''} " if ctx else " no context "

    def on_mount(self) -> None:
        if self._started is None and self._ctx is not None:
            self._started = self._now().timestamp()
        self.tick()
        self.set_interval(1.0, self.tick)

    def _clock(self) -> str:
        now: datetime = self._now()
        elapsed = f"⏱ {format_elapsed(now.timestamp() - self._started)}  " if self._started is not None else ""
        return f" {elapsed}{now.strftime('%H:%M:%S UTC')} "

    def tick(self) -> None:
        line = self._clock()
        if line != self._line:
            self._line = line
            self.refresh()

    def render(self) -> Content:
        protected = self._ctx is not None and self._ctx.protected
        left = Content.assemble(
            (self.context_text, "bold white on $error" if protected else "bold $text on $primary-darken-2"),
            *([(" DRILL ", "bold black on $warning")] if self._drill else []),
            " ", self._title)
        right = Content.styled(self._line, "$text-muted")
        room = max(0, self.size.width - right.cell_length)
        return Content.assemble(left.truncate(room, ellipsis=True).pad_right(room - min(room, left.cell_length)),
                                right)
