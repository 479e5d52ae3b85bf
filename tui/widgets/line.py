"""A fixed-size line of text: updating it repaints the line, not the screen's layout."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class Line(Widget):
    """One line of text whose updates repaint only itself.

    ``Label.update`` asks for a new layout of the whole screen, every 100 ms while a
    batch reports; this line has a fixed size, so a new text is only a repaint.
    """

    DEFAULT_CSS = "Line { height: 1; width: 1fr; }"  # a fixed width (CSS) works as well

    def __init__(self, *, id: str) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._text: Text | str = ""

    def update(self, text: Text | str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Text | str:
        return self._text
