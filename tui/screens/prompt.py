"""Small modals that ask one thing: a line of text, or one choice from a list."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.text import plain


class TextPrompt(ModalScreen[str | None]):
    """Ask for text (a skip reason, a note). Empty text is refused when ``required``."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, question: str, *, placeholder: str = "", required: bool = True, password: bool = False) -> None:
        super().__init__(classes="modal")
        self.question, self.placeholder, self.required = question, placeholder, required
        self.password = password  # a secret: typed masked

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield Label(plain(self.question), classes="prompt-question")
            yield Input(placeholder=self.placeholder, id="prompt-input", password=self.password)
            yield Label("", id="prompt-error", classes="error")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.query_one("#prompt-error", Label).update("required: type something, or esc to cancel")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of ``choices`` (id, label): milestones, incident status, decision options."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, question: str, choices: Sequence[tuple[str, str]]) -> None:
        super().__init__(classes="modal")
        self.question, self.choices = question, list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield Label(plain(self.question), classes="prompt-question")
            yield OptionList(*[Option(plain(label), id=cid) for cid, label in self.choices], id="prompt-choices")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
