"""The step list: one entry per step with a status icon; the highlight is the step the keys act on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.strip import Strip

from tui.protocols import StepStateLike
from tui.text import safe
from tui.widgets.pane import ListPane, to_strips

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


class StepList(ListPane[tuple[StepStateLike, bool, str]]):
    """Highlight = the step the keys act on; the engine's current step is bold.

    Up/down/home/end move the highlight, and so does a click; Enter is the
    walker's (it runs the highlighted step). Posts :class:`StepList.Highlighted`.
    """

    class Highlighted(ListPane.Highlighted):
        """The highlighted step changed."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._shown: tuple[object, ...] = ()

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
        self.set_items([(s.id, (s, s.id == current, st)) for s, st in zip(steps, shown_status, strict=True)])

    def item_lines(self, item: tuple[StepStateLike, bool, str], width: int, *, highlighted: bool) -> list[Strip]:
        state, current, status = item
        strips = to_strips(self, [step_line(state, current=current, status=status, compact=width < COMPACT_BELOW)],
                           width)
        if highlighted:
            style = self.row_highlight_style()
            strips = [s.apply_style(style) for s in strips]
        return strips

    def select_step(self, step_id: str) -> None:
        self.select_id(step_id)
