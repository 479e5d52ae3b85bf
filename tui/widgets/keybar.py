"""A one-line key bar: the screen's shown bindings, each clickable, drawn as a single widget.

Textual's ``Footer`` builds a widget per binding and rebuilds them all each
time the bindings change (focus moves, a screen is pushed): on the walker's
thirteen bindings that was more than half of its start-up time. The walker's
bindings do not change while it is open, so this bar renders them once.
"""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.widgets import Static


class KeyBar(Static):
    """The bindings of the screen it is on (``show=True`` ones), plus the command palette's."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; background: $footer-background; color: $footer-foreground; }
    """

    def on_mount(self) -> None:
        parts: list[Content] = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, (_node, binding, _enabled, _tooltip) in self.screen.active_bindings.items():
            if binding.action in seen or not (binding.show or key == palette):
                continue
            seen.add(binding.action)
            description = binding.description or ("palette" if key == palette else binding.action)
            display = escape(self.app.get_key_display(binding))
            parts.append(Content.from_markup(  # keys are plain names (enter, ctrl+p, question_mark)
                f"[@click=app.simulate_key('{key}')][bold $footer-key-foreground] {display} [/]"
                f"{escape(description)} [/]"))
        self.update(Content(" ").join(parts))
