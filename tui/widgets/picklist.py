"""A list to pick from (the home screen's runbooks and incidents): lines drawn only when in view.

Each item is a few lines of text, each line cut to the width with an ellipsis, never
wrapped: an item's height is known without rendering it, so a library of 200 runbooks
costs the lines in view, not 600 rendered lines (Textual's ``OptionList`` lays out every
option's text whenever the list changes: measured with ``bench/tui_start.py``, it was
most of the home screen's start-up and the work behind every key typed in the search).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from tui.widgets.pane import ListPane, to_strips


@dataclass(frozen=True)
class Pick:
    """One item: its lines (``\\n`` separated, each cut to the width), and whether it can be picked.

    Lines in ``middle`` are cut in the middle instead of at the end (an incident ID keeps its
    date and its unique tail: ``2026-05-04T1405Z…par-773c``).
    """

    text: Text
    enabled: bool = True
    middle: frozenset[int] = frozenset()

    @property
    def height(self) -> int:
        return self.text.plain.count("\n") + 1


def cut_middle(line: Text, width: int) -> Text:
    """``line`` cut to ``width`` cells by taking out its middle (an ellipsis in its place);
    two thirds are kept from the start (an incident ID's date and time) and the rest from the end."""
    if width < 3:
        return line[:width]
    head = 2 * (width - 1) // 3
    tail = width - 1 - head
    return Text.assemble(line[:head], "…", line[len(line) - tail:])


class _Lines(Sequence[Strip]):
    """The list's lines, rendered on first access (what is in view) and kept for this width."""

    def __init__(self, pane: PickList, width: int) -> None:
        self._pane, self._width = pane, width
        self._owner: list[int] = []  # line -> item index
        for n, (_, pick) in enumerate(pane.items):
            self._owner += [n] * pick.height
        self._rendered: dict[int, list[Strip]] = {}

    def __len__(self) -> int:
        return len(self._owner)

    @overload
    def __getitem__(self, index: int) -> Strip: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Strip]: ...

    def __getitem__(self, index: int | slice) -> Strip | Sequence[Strip]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        item = self._owner[index]
        strips = self._rendered.get(item)
        if strips is None:
            strips = self._rendered[item] = self._pane.render_pick(item, self._width)
        return strips[index - self._pane.starts[item]]

    def __iter__(self) -> Iterator[Strip]:
        return (self[i] for i in range(len(self)))


class PickList(ListPane[Pick]):
    """Up/down/page/home/end or a click highlight an item; enter (or a second click) picks it."""

    DIM_WHEN_BLURRED = True
    BINDINGS = [
        Binding("enter", "pick", "Open", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
    ]

    class Picked(Message):
        def __init__(self, pane: PickList, item_id: str) -> None:
            super().__init__()
            self.pane, self.item_id = pane, item_id

        @property
        def control(self) -> PickList:
            return self.pane

    @property
    def items(self) -> list[tuple[str, Pick]]:
        return self._items

    @property
    def starts(self) -> list[int]:
        return self._starts

    def show_items(self, items: Sequence[tuple[str, Pick]], *, empty: str) -> None:
        """New items, the first highlighted (``empty``, greyed, when there are none)."""
        picks = list(items) or [("", Pick(Text(empty, style="dim italic"), enabled=False))]
        self._top = 0
        self.highlighted = None
        self.set_items(picks)
        if items:
            self.highlighted = 0
            self.changed()

    def build(self, width: int) -> Sequence[Strip]:
        self._starts = []
        at = 0
        for _, pick in self._items:
            self._starts.append(at)
            at += pick.height
        return _Lines(self, width)

    def render_pick(self, index: int, width: int) -> list[Strip]:
        _, pick = self._items[index]
        lines = pick.text.split("\n", allow_blank=True)
        for n, line in enumerate(lines):
            line.no_wrap, line.overflow = True, "ellipsis"
            if n in pick.middle and line.cell_len > width:
                lines[n] = cut_middle(line, width)
        strips = [to_strips(self, [line], width)[0] if line.plain else Strip.blank(width) for line in lines]
        if index == self.highlighted and pick.enabled:
            style = self.row_highlight_style()
            strips = [s.apply_style(style) for s in strips]
        return strips

    def item_lines(self, item: Pick, width: int, *, highlighted: bool) -> list[Strip]:  # pragma: no cover
        raise AssertionError("PickList renders its lines lazily (render_pick)")

    @property
    def picked_id(self) -> str | None:
        """The highlighted item's id when it can be picked."""
        pick = self.selected
        return self.selected_id if pick is not None and pick.enabled and self.selected_id else None

    def action_pick(self) -> None:
        item_id = self.picked_id
        if item_id is not None:
            self.post_message(self.Picked(self, item_id))

    def on_click(self, event: events.Click) -> None:
        super().on_click(event)
        if event.chain >= 2:  # a double click opens what the first click highlighted
            self.action_pick()
