"""A drill's brief, shown when the walker opens on a drill: the scenario, the runbook, the sandbox
contexts and what "mitigated" means (``Incident.brief``, written by the CLI's drill preparation)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.text import plain
from tui.widgets.keybar import KeyBar


class BriefScreen(ModalScreen[None]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape,enter", "close", "Start"), Binding("q", "app.quit", "Quit")]

    def __init__(self, brief: str) -> None:
        super().__init__(classes="modal")
        self.brief = brief

    def compose(self) -> ComposeResult:
        with Vertical(id="brief-box", classes="modal-box"):
            yield Label("Drill brief  (enter: start)", id="brief-title")
            with VerticalScroll(id="brief-body", classes="modal-body"):
                yield Static(plain(self.brief), id="brief-text")
        yield KeyBar()

    def action_close(self) -> None:
        self.dismiss(None)
