"""The step list: one line per step with a status icon."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.protocols import StepStateLike

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
}


def status_name(status: Any) -> str:
    """``StepStatus.SUCCEEDED`` or ``"succeeded"`` -> ``"succeeded"``."""
    return str(getattr(status, "value", status)).lower()


def step_line(step: StepStateLike, *, current: bool) -> Text:
    name = status_name(step.status)
    icon, style = ICONS.get(name, ("·", ""))
    text = Text()
    text.append(f"{icon} ", style=style)
    text.append(step.title or step.id, style="bold" if current else "")
    if step.attempts > 1:
        text.append(f" ×{step.attempts}", style="dim")
    return text


class StepList(OptionList):
    """Highlight = the step the keys act on; the engine's current step is bold."""

    _shown: tuple[object, ...] = ()

    def show(self, steps: Sequence[StepStateLike], current: str | None) -> None:
        """Redraw only when a line would change (this runs up to ten times a second in a batch)."""
        shown = (current, *((s.id, status_name(s.status), s.attempts, s.title) for s in steps))
        if shown == self._shown:
            return
        self._shown = shown
        highlighted = self.highlighted
        self.clear_options()
        self.add_options([Option(step_line(s, current=s.id == current), id=s.id) for s in steps])
        if highlighted is not None and highlighted < len(steps):
            self.highlighted = highlighted

    def select_step(self, step_id: str) -> None:
        self.highlighted = self.get_option_index(step_id)

    @property
    def selected_id(self) -> str | None:
        if self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id
