"""How a drill ended: the scenario's verdict (MITIGATED or NOT MITIGATED) and the scorecard, on screen."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.protocols import DrillOutcome
from tui.widgets.keybar import KeyBar


class VerdictScreen(ModalScreen[None]):
    """Opened by the walker when a drill's last step is done (and by ``v``); judged in a worker."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape,enter,v", "close", "Close"), Binding("q", "app.quit", "Quit")]

    def __init__(self, incident_id: str) -> None:
        super().__init__(classes="modal")
        self.incident_id = incident_id
        self.verdict: DrillOutcome | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="verdict-box", classes="modal-box"):
            yield Label(f"Drill over · {self.incident_id}", id="verdict-title")
            yield Static("judging the scenario's health…", id="verdict-headline")
            with VerticalScroll(id="verdict-body", classes="modal-body"):
                yield Static("", id="verdict-text")
        yield KeyBar()

    def show(self, verdict: DrillOutcome) -> None:
        self.verdict = verdict
        headline = self.query_one("#verdict-headline", Static)
        word = "MITIGATED" if verdict.mitigated else "NOT MITIGATED"
        line = Text(f"{'✔' if verdict.mitigated else '✘'} {word}",
                    style="bold green" if verdict.mitigated else "bold red")
        if not verdict.as_expected:  # a wrong-fix rehearsal expects NOT MITIGATED
            line.append("  (not the outcome this scenario expects)", style="yellow")
        headline.update(line)
        self.query_one("#verdict-box").set_class(not verdict.mitigated, "danger")
        self.query_one("#verdict-text", Static).update(Text(verdict.text))

    def action_close(self) -> None:
        self.dismiss(None)
