"""The error modal: one clear message; the incident carries on underneath."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.text import plain


class ErrorScreen(ModalScreen[None]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape,enter", "dismiss_error", "Close", show=True)]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="modal")
        self.error_title, self.message = title, message

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Label(plain(f"✘ {self.error_title}"), id="error-title")
            yield Static(plain(self.message), id="error-message")
            yield Label("The incident is still open; the error is in the timeline.", classes="hint")
            yield Button("Close", id="error-close", variant="primary")

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_dismiss_error(self) -> None:
        self.dismiss(None)
