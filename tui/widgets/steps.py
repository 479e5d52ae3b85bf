"""The step list: one entry per step with a status icon; the highlight is the step the keys act on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from tui.protocols import StepStateLike
from tui.text import safe
from tui.widgets.pane import LinePane, to_strips

ICONS: dict[str, tuple[str, str]] = {
    "pending": ("○", "dim"),
    "previewed": ("◇", "cyan"),
    "awaiting-confirmation": ("?", "yellow"),
    "running": ("▶", "bold yellow"),
    "succeeded": ("✔", "green"),
    "failed": ("✘", "bold red"),
    "skipped": ("↷", "magenta"),
    "unknown": ("⚠", "bold red"),
    "rolled-back": ("↺", "magenta"),
    "warning": ("⚠", "bold yellow"),  # succeeded, but a notification was not delivered
}
COMPACT_BELOW = 24  # content columns: under this (the narrow layout), one line per step: icon and id


def status_name(status: Any) -> str:
    """``StepStatus.SUCCEEDED`` or ``"succeeded"`` -> ``"succeeded"``."""
    return str(getattr(status, "value", status)).lower()


def step_line(step: StepStateLike, *, current: bool, status: str | None = None, compact: bool = False) -> Text:
    name = status or status_name(step.status)
    icon, style = ICONS.get(name, ("·", ""))
    text = Text(no_wrap=compact, overflow="ellipsis")
    text.append(f"{icon} ", style=style)
    text.append(safe(step.id if compact else (step.title or step.id), multiline=False), style="bold" if current else "")
    if step.attempts > 1:
        text.append(f" ×{step.attempts}", style="dim")
    return text


class StepList(LinePane, can_focus=True):
    """Highlight = the step the keys act on; the engine's current step is bold.

    Up/down/home/end move the highlight, and so does a click; Enter is the
    walker's (it runs the highlighted step). Posts :class:`StepList.Highlighted`.
    """

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
    ]

    class Highlighted(Message):
        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._items: list[tuple[str, StepStateLike, bool, str]] = []  # id, state, current, status
        self._shown: tuple[object, ...] = ()
        self._starts: list[int] = []  # the first line of each item, from the last build
        self.highlighted: int | None = None

    # ------------------------------------------------------------------ content

    def show(self, steps: Sequence[StepStateLike], current: str | None,
             status: Callable[[str, str], str] | None = None) -> None:
        """Redraw only when a line would change (this runs up to ten times a second in a batch).

        ``status(step id, engine status)`` is the status to show (a failed delivery is a warning).
        """
        shown_status = [status(s.id, status_name(s.status)) if status else status_name(s.status) for s in steps]
        shown = (current, *((s.id, st, s.attempts, s.title) for s, st in zip(steps, shown_status, strict=True)))
        if shown == self._shown:
            return
        self._shown = shown
        selected = self.selected_id
        self._items = [(s.id, s, s.id == current, st) for s, st in zip(steps, shown_status, strict=True)]
        ids = [i for i, *_ in self._items]
        self.highlighted = ids.index(selected) if selected in ids else (
            min(self.highlighted, len(ids) - 1) if self.highlighted is not None and ids else None)
        self.changed()

    def build(self, width: int) -> list[Strip]:
        lines: list[Strip] = []
        self._starts = []
        highlight = Style(bgcolor=self.app.theme_variables.get("primary", "blue"), bold=True)
        compact = width < COMPACT_BELOW
        for n, (_, state, current, status) in enumerate(self._items):
            self._starts.append(len(lines))
            strips = to_strips(self, [step_line(state, current=current, status=status, compact=compact)], width)
            if n == self.highlighted:
                strips = [s.apply_style(highlight) for s in strips]
            lines += strips
        return lines

    def _item_at(self, line: int) -> int | None:
        self.lines()  # built for the current width
        for n in range(len(self._starts) - 1, -1, -1):
            if self._starts[n] <= line:
                return n
        return None

    # ------------------------------------------------------------------ highlight

    @property
    def selected_id(self) -> str | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self._items):
            return None
        return self._items[self.highlighted][0]

    @property
    def option_count(self) -> int:
        return len(self._items)

    def highlight(self, index: int) -> None:
        if not self._items:
            return
        index = max(0, min(index, len(self._items) - 1))
        moved = index != self.highlighted
        self.highlighted = index
        self.changed()
        self._keep_in_view()
        if moved:
            self.post_message(self.Highlighted(self._items[index][0]))

    def _keep_in_view(self) -> None:
        lines = self.lines()  # built for the current width (none before the first layout)
        index = self.highlighted
        if index is None or index >= len(self._starts):
            return
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(lines)
        self.show_line(self._starts[index], end - self._starts[index])

    def on_resize(self) -> None:
        self._keep_in_view()

    def select_step(self, step_id: str) -> None:
        ids = [i for i, *_ in self._items]
        if step_id in ids:
            self.highlight(ids.index(step_id))

    def action_move(self, delta: int) -> None:
        self.highlight((self.highlighted if self.highlighted is not None else -1) + delta)

    def action_move_to(self, index: int) -> None:
        self.highlight(index if index >= 0 else len(self._items) - 1)

    def on_click(self, event: events.Click) -> None:
        line = self.content_row(event)
        item = None if line is None else self._item_at(line)
        if item is not None:
            self.highlight(item)
