"""The confirmation modal: y/n, or the context name typed for destructive steps on protected contexts."""

from __future__ import annotations

from rich.syntax import Syntax
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mitigate.ports import ConfirmDecision, ConfirmRequest
from tui.text import clip


class ConfirmScreen(ModalScreen[ConfirmDecision]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [
        Binding("y", "approve", "Yes", show=True),
        Binding("n", "decline", "No", show=True),
        Binding("escape", "decline", "Cancel", show=True),
    ]

    def __init__(self, request: ConfirmRequest) -> None:
        super().__init__(classes="modal")
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="confirm-box", classes="danger" if r.needs_typed else ""):
            yield Label(f"Confirm: {r.title}", id="confirm-title")
            yield Label(r.description, id="confirm-description")
            if r.context:  # a status update or a silence acts on no cluster: its scope names the target
                ctx = Label(f"context {r.context}" + ("  (PROTECTED)" if r.protected else ""), id="confirm-context")
                if r.protected:
                    ctx.add_class("protected")
                yield ctx
            yield Label(f"scope: {r.scope} · {r.target_count} target(s)"
                        + (" · DESTRUCTIVE" if r.destructive else ""), id="confirm-scope")
            yield Static(clip("\n".join(r.kubectl), "the walker's c copies all of it"), id="confirm-kubectl",
                         classes="kubectl")
            if r.diff:
                with VerticalScroll(id="confirm-diff"):
                    yield Static(Syntax(clip(r.diff, "p in the walker previews it; the journal holds all of it"),
                                        "diff", theme="ansi_dark", word_wrap=True))
            if r.needs_typed:
                yield Label(f"Type the context name [b]{r.context}[/b] to confirm:")
                yield Input(placeholder=r.context, id="confirm-typed")
            with Horizontal(id="confirm-buttons"):
                yield Button("Run it" if not r.needs_typed else "Confirm", id="confirm-yes",
                             variant="error" if r.destructive else "primary", disabled=r.needs_typed)
                yield Button("Cancel", id="confirm-no")

    def on_mount(self) -> None:
        if self.request.needs_typed:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#confirm-yes", Button).focus()

    @on(Input.Changed, "#confirm-typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-yes", Button).disabled = event.value != self.request.context

    @on(Input.Submitted, "#confirm-typed")
    def _submitted(self) -> None:
        self.action_approve()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.action_approve()

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.action_decline()

    def action_approve(self) -> None:
        if self.request.needs_typed:
            typed = self.query_one("#confirm-typed", Input).value
            if typed != self.request.context:
                return
            self.dismiss(ConfirmDecision(approved=True, typed=typed))
        else:
            self.dismiss(ConfirmDecision(approved=True))

    def action_decline(self) -> None:
        self.dismiss(ConfirmDecision(approved=False, reason="declined by responder"))
