"""A one-line key bar: the keys that work now, each clickable, drawn as a single widget.

Textual's ``Footer`` builds a widget per binding and rebuilds them all each
time the bindings change (focus moves, a screen is pushed): on the walker's
bindings that was more than half of its start-up time. This bar is one
widget; it redraws when the screen says its bindings changed (the walker's
``check_action`` hides the keys that do nothing for the highlighted step).

Help (``?``) and quit (``q``) are drawn at the right and never cut off: the
other keys give way first, the last ones first, and a ``…`` says some did.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.markup import escape
from textual.widget import Widget

ESSENTIAL = ("help", "quit", "close", "cancel", "decline")  # action names (or their last dotted part)
_PARTS: dict[tuple[str, str, str], Content] = {}  # (key, shown key, description) -> its clickable part


class KeyBar(Widget):
    """The bindings of the screen it is on (``show=True`` ones that are enabled), plus the palette's."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[Content, bool]] = []  # (key + label, essential)
        self.working: list[str] = []  # the descriptions of the keys that work now, shown or cut off
        self._signature: tuple[object, ...] = ()  # the bindings the keys were built from

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.collect()

    def _bindings_changed(self, _screen: object) -> None:
        self.collect()

    def collect(self) -> None:
        """Read the screen's working keys; redraw when they changed."""
        if not self.is_attached:  # a deferred call after its screen went away (a modal, a quit): nothing to show
            return
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        chosen: list[tuple[str, Any]] = []
        seen: set[str] = set()
        for key, (_node, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            if binding.action in seen or not (binding.show or key == palette) or not enabled:
                continue
            seen.add(binding.action)
            chosen.append((key, binding))
        signature = tuple((key, binding.action, binding.description) for key, binding in chosen)
        if signature == self._signature:  # the same keys work as before: nothing to redraw
            return
        self._signature = signature
        self.working = [binding.description for _, binding in chosen]
        parts: list[tuple[Content, bool]] = []
        for key, binding in chosen:
            description = binding.description or ("palette" if key == palette else binding.action)
            display = self.app.get_key_display(binding)
            part = _PARTS.get((key, display, description))
            if part is None:  # keys are plain names (enter, ctrl+p, question_mark)
                part = _PARTS[(key, display, description)] = Content.from_markup(
                    f"[@click=app.simulate_key('{key}')][bold $footer-key-foreground] {escape(display)} [/]"
                    f"{escape(description)} [/]")
            name = binding.action.split("(")[0].rsplit(".", 1)[-1]
            parts.append((part, any(e in name for e in ESSENTIAL)))
        self._keys = parts
        self.refresh()

    @property
    def text(self) -> str:
        """The bar as plain text (tests read it)."""
        return self.render().plain

    def render(self) -> Content:
        width = max(1, self.size.width or 200)
        essential = [c for c, e in self._keys if e]
        others = [c for c, e in self._keys if not e]
        right = Content("").join(essential)
        room = width - right.cell_length
        shown: list[Content] = []
        used = 0
        for n, part in enumerate(others):
            more = n < len(others) - 1
            if used + part.cell_length + (2 if more else 0) > room:
                shown.append(Content(" …"))
                break
            shown.append(part)
            used += part.cell_length
        left = Content("").join(shown)
        pad = max(0, width - left.cell_length - right.cell_length)
        return Content.assemble(left, " " * pad, right)
