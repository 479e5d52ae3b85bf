"""A pane that shows a window onto lines it builds for its width; the wheel and keys move the window.

The walker's three panes (steps, step detail, timeline) are built on this instead
of Textual's scrolling widgets (OptionList, VerticalScroll, RichLog). Measured
with ``bench/tui_start.py``: each scrolling widget brings scrollbar widgets, a
second layout pass and, for RichLog, writes deferred until its size is known,
so the walker painted its panes two or three times before it was ready; the
same screen drawn this way paints them once. It also keeps the repaint after
a modal closes (the moment a batch starts) short: a window of cached lines.

What is out of view is never hidden silently: the first and last rows say how
many lines are above and below, and the mouse wheel (or the pane's keys) scroll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

WHEEL_LINES = 3


def to_strips(widget: Widget, renderables: Sequence[RenderableType], width: int) -> list[Strip]:
    """Render rich renderables into lines exactly ``width`` cells wide."""
    console = widget.app.console
    options = console.options.update_width(max(1, width))
    strips: list[Strip] = []
    for renderable in renderables:
        for line in console.render_lines(renderable, options, pad=False):
            strips.append(Strip(line).adjust_cell_length(width))
    return strips


class LinePane(Widget):
    """Subclasses say what to show with :meth:`build`; :meth:`changed` asks for a new build."""

    DEFAULT_CSS = "LinePane { height: 1fr; }"
    FOLLOW_END = False  # a log: new lines keep the window at the end unless scrolled back

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._top = 0  # the first line shown (from the end when FOLLOW_END: lines scrolled back)
        self._version = 0
        self._built: tuple[tuple[int, int], list[Strip]] | None = None
        self._paint: tuple[list[Strip], int, int, int, Style] | None = None

    # ------------------------------------------------------------------ for subclasses

    def build(self, width: int) -> list[Strip]:
        raise NotImplementedError

    def changed(self) -> None:
        """The content changed: rebuild at the next paint (a repaint only: the size is fixed)."""
        self._version += 1
        self.refresh()

    # ------------------------------------------------------------------ the window

    def lines(self) -> list[Strip]:
        width = self.content_size.width
        key = (width, self._version)
        if self._built is None or self._built[0] != key:
            self._built = (key, self.build(width) if width > 0 else [])
        return self._built[1]

    @property
    def window(self) -> int:
        return max(1, self.content_size.height)

    def _bottom(self) -> int:
        """The furthest the window's first line can be from the top."""
        return max(0, len(self.lines()) - self.window)

    @property
    def first_shown(self) -> int:
        """Index of the first line in view."""
        bottom = self._bottom()
        return max(0, bottom - self._top) if self.FOLLOW_END else min(self._top, bottom)

    def scroll_lines(self, delta: int) -> None:
        """Move the window ``delta`` lines down (negative: up); a move that changes nothing repaints nothing."""
        top = min(self._bottom(), max(0, self._top + (-delta if self.FOLLOW_END else delta)))
        if top != self._top:
            self._top = top
            self.refresh()

    def show_line(self, index: int, count: int = 1) -> None:
        """Scroll as little as needed to bring lines ``index`` .. ``index + count - 1`` into view."""
        first, height = self.first_shown, self.window
        # rows 0 and height-1 carry the "more" markers when there is more: keep the lines off them
        if index <= first:
            self.scroll_lines(index - first - (1 if index > 0 else 0))
        elif index + count > first + height - 1:
            self.scroll_lines(index + count - (first + height - 1))

    def _window_state(self) -> tuple[list[Strip], int, int, int, Style]:
        """Lines, window height, width, first line shown and base style: what every row needs."""
        return self.lines(), self.window, self.content_size.width, self.first_shown, self.rich_style

    @staticmethod
    def _marker_row(y: int, total: int, height: int, first: int) -> int | None:
        """How many lines are out of view past row ``y`` when that row carries a marker, else None.

        A marker takes the place of a line, which is counted with those out of view.
        """
        if y == 0 and first:
            return first + 1
        below = total - first - height
        if y == height - 1 and below > 0:
            return below + 1
        return None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._window_state()  # worked out once per paint (rich_style walks the ancestors)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        lines, height, width, first, style = self._paint or self._window_state()
        hidden = self._marker_row(y, len(lines), height, first)
        if hidden is not None:
            return self._marker(f"{'▲' if y == 0 else '▼'} {hidden} more line(s) {'above' if y == 0 else 'below'}",
                                width, style)
        index = first + y
        strip = lines[index] if index < len(lines) else Strip.blank(width)
        return strip.apply_style(style)

    def _marker(self, text: str, width: int, base: Style) -> Strip:
        style = base + Style(dim=True, italic=True)
        return Strip([Segment(text[:width], style)]).adjust_cell_length(width, style)

    def content_row(self, event: events.MouseEvent) -> int | None:
        """The line index under the mouse, or None off the content (or on a marker row)."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        lines, height, first = self.lines(), self.window, self.first_shown
        if self._marker_row(offset.y, len(lines), height, first) is not None:
            return None
        index = first + offset.y
        return index if index < len(lines) else None

    # ------------------------------------------------------------------ mouse

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_lines(WHEEL_LINES)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_lines(-WHEEL_LINES)


class RenderablePane(LinePane):
    """Shows rich renderables top to bottom (the walker's step detail), each part kept as lines.

    :meth:`update` takes ``(key, make)`` parts, ``make`` building the part's renderable; a
    part whose key is unchanged keeps the lines it was rendered to and is not built again, so
    a step's status changing re-renders its title line, not its Markdown, a 200-row check
    table or a diff (measured: 15-20 ms of a paint).
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._parts: list[tuple[object, Callable[[], RenderableType]]] = []
        self._rendered: dict[tuple[object, int], list[Strip]] = {}

    def update(self, parts: Sequence[tuple[object, Callable[[], RenderableType]]], *,
               keep_scroll: bool = False) -> None:
        """New content, shown from its top unless ``keep_scroll`` (the same subject, refreshed)."""
        self._parts = list(parts)
        if not keep_scroll:
            self._top = 0
        self.changed()

    def build(self, width: int) -> list[Strip]:
        rendered: dict[tuple[object, int], list[Strip]] = {}
        lines: list[Strip] = []
        for key, make in self._parts:
            strips = self._rendered.get((key, width))
            if strips is None:
                strips = to_strips(self, [make()], width)
            rendered[(key, width)] = strips
            lines += strips
        self._rendered = rendered  # only what is shown now is kept
        return lines
