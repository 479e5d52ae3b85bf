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

from textual.content import Content
from textual.markup import escape
from textual.widget import Widget

ESSENTIAL = ("help", "quit", "close", "cancel", "decline")  # action names (or their last dotted part)


class KeyBar(Widget):
    """The bindings of the screen it is on (``show=True`` ones that are enabled), plus the palette's."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[Content, bool]] = []  # (key + label, essential)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._collect()

    def _bindings_changed(self, _screen: object) -> None:
        self._collect()

    def _collect(self) -> None:
        parts: list[tuple[Content, bool]] = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, (_node, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            if binding.action in seen or not (binding.show or key == palette) or not enabled:
                continue
            seen.add(binding.action)
            description = binding.description or ("palette" if key == palette else binding.action)
            display = escape(self.app.get_key_display(binding))
            name = binding.action.split("(")[0].rsplit(".", 1)[-1]
            essential = any(e in name for e in ESSENTIAL)
            parts.append((Content.from_markup(  # keys are plain names (enter, ctrl+p, question_mark)
                f"[@click=app.simulate_key('{key}')][bold $footer-key-foreground] {display} [/]"
                f"{escape(description)} [/]"), essential))
        if parts != self._keys:
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
