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
from typing import Generic, TypeVar

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

WHEEL_LINES = 3
T = TypeVar("T")


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
        self._built: tuple[tuple[int, int], Sequence[Strip]] | None = None
        self._paint: tuple[Sequence[Strip], int, int, int, Style] | None = None

    # ------------------------------------------------------------------ for subclasses

    def build(self, width: int) -> Sequence[Strip]:
        raise NotImplementedError

    def changed(self) -> None:
        """The content changed: rebuild at the next paint (a repaint only: the size is fixed)."""
        self._version += 1
        self.refresh()

    # ------------------------------------------------------------------ the window

    def lines(self) -> Sequence[Strip]:
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

    def _window_state(self) -> tuple[Sequence[Strip], int, int, int, Style]:
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


class ListPane(LinePane, Generic[T], can_focus=True):
    """A list of items, one highlighted: up/down/home/end/page keys and a click move the highlight.

    Subclasses render an item with :meth:`item_lines`; the step list and the home screen's
    runbook and incident lists are built on this. Posts :class:`ListPane.Highlighted` when the
    highlight moves (by key, click or :meth:`highlight`).
    """

    DIM_WHEN_BLURRED = False  # two lists side by side: only the focused one shows a bright highlight
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("home", "move_to(0)", "First", show=False),
        Binding("end", "move_to(-1)", "Last", show=False),
    ]

    class Highlighted(Message):
        def __init__(self, pane: ListPane[object], item_id: str) -> None:
            super().__init__()
            self.pane, self.item_id = pane, item_id

        @property
        def control(self) -> ListPane[object]:
            return self.pane

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._items: list[tuple[str, T]] = []  # (id, item)
        self._starts: list[int] = []  # the first line of each item, from the last build
        self.highlighted: int | None = None

    # ------------------------------------------------------------------ for subclasses

    def item_lines(self, item: T, width: int, *, highlighted: bool) -> list[Strip]:
        raise NotImplementedError

    def row_highlight_style(self) -> Style:
        """The highlight: muted in a list without the focus when DIM_WHEN_BLURRED (where enter acts is plain)."""
        name = "primary" if self.has_focus or not self.DIM_WHEN_BLURRED else "primary-background"
        return Style(bgcolor=self.app.theme_variables.get(name, "blue"), bold=True)

    def on_focus(self) -> None:
        if self.DIM_WHEN_BLURRED:
            self.changed()

    def on_blur(self) -> None:
        if self.DIM_WHEN_BLURRED:
            self.changed()

    def set_items(self, items: Sequence[tuple[str, T]]) -> None:
        """New items; the highlight stays on the same id when it is still there."""
        selected = self.selected_id
        self._items = list(items)
        ids = [i for i, _ in self._items]
        self.highlighted = ids.index(selected) if selected in ids else (
            min(self.highlighted, len(ids) - 1) if self.highlighted is not None and ids else None)
        self.changed()

    def build(self, width: int) -> Sequence[Strip]:
        lines: list[Strip] = []
        self._starts = []
        for n, (_, item) in enumerate(self._items):
            self._starts.append(len(lines))
            lines += self.item_lines(item, width, highlighted=n == self.highlighted)
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
    def selected(self) -> T | None:
        return None if self.selected_id is None or self.highlighted is None else self._items[self.highlighted][1]

    @property
    def option_count(self) -> int:
        return len(self._items)

    @property
    def ids(self) -> list[str]:
        return [i for i, _ in self._items]

    def highlight(self, index: int) -> None:
        if not self._items:
            return
        index = max(0, min(index, len(self._items) - 1))
        moved = index != self.highlighted
        self.highlighted = index
        self.changed()
        self._keep_in_view()
        if moved:
            self.post_message(self.Highlighted(self, self._items[index][0]))  # type: ignore[arg-type]

    def _keep_in_view(self) -> None:
        lines = self.lines()  # built for the current width (none before the first layout)
        index = self.highlighted
        if index is None or index >= len(self._starts):
            return
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(lines)
        self.show_line(self._starts[index], end - self._starts[index])

    def on_resize(self) -> None:
        self._keep_in_view()

    def select_id(self, item_id: str) -> None:
        ids = self.ids
        if item_id in ids:
            self.highlight(ids.index(item_id))

    def action_move(self, delta: int) -> None:
        self.highlight((self.highlighted if self.highlighted is not None else -1) + delta)

    def action_move_to(self, index: int) -> None:
        self.highlight(index if index >= 0 else len(self._items) - 1)

    def action_page(self, direction: int) -> None:
        """Move the highlight by about a window of lines."""
        if not self._items:
            return
        self.lines()
        here = self.highlighted if self.highlighted is not None else 0
        target_line = self._starts[here] + direction * max(1, self.window - 2)
        item = self._item_at(max(0, target_line))
        self.highlight(item if item is not None else 0)

    def on_click(self, event: events.Click) -> None:
        line = self.content_row(event)
        item = None if line is None else self._item_at(line)
        if item is not None:
            self.highlight(item)
