"""The confirmation modal: y/n, or the context name typed for destructive steps on protected contexts.

The box fits the terminal at any size: its title and the answer (the typed
context input and the Run/Cancel buttons) are always in view, and what is
being confirmed (description, scope, kubectl, diff) scrolls between them:
PgUp/PgDn, Home/End and the wheel scroll it from anywhere in the box, Tab
moves between the body, the input and the buttons. The key bar shows the
modal's keys.
"""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mitigate.ports import ConfirmDecision, ConfirmRequest
from tui.text import clip, safe
from tui.widgets.keybar import KeyBar


class ConfirmScreen(ModalScreen[ConfirmDecision]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [
        Binding("y", "approve", "Yes"),
        Binding("n", "decline", "No"),
        Binding("escape", "cancel", "Cancel"),
        Binding("pagedown", "scroll_body('page_down')", "Scroll", priority=True),
        Binding("pageup", "scroll_body('page_up')", "Scroll up", show=False, priority=True),
        Binding("ctrl+end", "scroll_body('end')", "End", show=False, priority=True),
        Binding("ctrl+home", "scroll_body('home')", "Top", show=False, priority=True),
    ]

    def __init__(self, request: ConfirmRequest) -> None:
        super().__init__(classes="modal")
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="confirm-box", classes="modal-box danger" if r.needs_typed or r.destructive
                      else "modal-box"):
            yield Label(f"Confirm: {r.title}", id="confirm-title", markup=False)
            with VerticalScroll(id="confirm-body", classes="modal-body"):
                yield Label(r.description, id="confirm-description", markup=False)
                if r.contexts:  # one confirmation for many clusters: which, which are protected, which skipped
                    yield Label(f"{len(r.contexts)} clusters: {', '.join(r.contexts)}", id="confirm-contexts",
                                markup=False)
                    if r.protected_contexts:
                        yield Label(f"PROTECTED: {', '.join(r.protected_contexts)}", id="confirm-protected",
                                    classes="protected", markup=False)
                    if r.skipped:
                        yield Label(f"nothing to change, skipped: {', '.join(r.skipped)}", id="confirm-skipped",
                                    classes="hint", markup=False)
                elif r.context:  # a status update or a silence acts on no cluster: its scope names the target
                    ctx = Label(f"context {r.context}" + ("  (PROTECTED)" if r.protected else ""),
                                id="confirm-context", markup=False)
                    if r.protected:
                        ctx.add_class("protected")
                    yield ctx
                yield Label(f"scope: {r.scope} · {r.target_count} target(s)"
                            + (" · DESTRUCTIVE" if r.destructive else ""), id="confirm-scope", markup=False)
                if r.kubectl:
                    yield Static(clip("\n".join(r.kubectl), "the walker's c copies all of it"), id="confirm-kubectl",
                                 classes="kubectl", markup=False)
                if r.diff:
                    yield Static(Syntax(safe(clip(r.diff, "p in the walker previews it; the journal holds all of it")),
                                        "diff", theme="ansi_dark", word_wrap=True), id="confirm-diff")
            with Vertical(id="confirm-answer"):
                if r.needs_typed:
                    count = bool(r.contexts) and r.context not in r.contexts  # a fan-out: how many clusters
                    word = safe(r.context, multiline=False)
                    yield Label(Text.assemble("Type ", (f'"{word}"', "bold"), " to confirm them all:") if count else
                                Text.assemble("Type the context name ", (word, "bold"), " to confirm:"),
                                id="confirm-typed-label")
                    yield Input(placeholder=r.context, id="confirm-typed")
                with Horizontal(id="confirm-buttons"):
                    yield Button("Run it" if not r.needs_typed else "Confirm", id="confirm-yes",
                                 variant="error" if r.destructive else "primary", disabled=r.needs_typed)
                    yield Button("Cancel", id="confirm-no")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.request.needs_typed:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#confirm-yes", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # y and n are letters of the typed context: while the input has focus they type
        if action in ("approve", "decline") and isinstance(self.focused, Input):
            return False
        return True

    def action_scroll_body(self, how: str) -> None:
        body = self.query_one("#confirm-body", VerticalScroll)
        {"page_down": body.scroll_page_down, "page_up": body.scroll_page_up,
         "end": body.scroll_end, "home": body.scroll_home}[how](animate=False)

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
                self.notify(f"type {self.request.context} exactly to confirm", severity="warning")
                return
            self.dismiss(ConfirmDecision(approved=True, typed=typed))
        else:
            self.dismiss(ConfirmDecision(approved=True))

    def action_cancel(self) -> None:
        self.action_decline()

    def action_decline(self) -> None:
        self.dismiss(ConfirmDecision(approved=False, reason="declined by responder"))
