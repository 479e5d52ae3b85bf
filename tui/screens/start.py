"""Incident start: title, severity, commander, context (protected marked), runbook inputs.

Inputs are validated inline with the same coercion the CLI uses
(``mitigate.runbook.inputs.coerce_input``), so a value accepted here is accepted
by the engine.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select

from mitigate.errors import MitigateError
from mitigate.runbook.inputs import coerce_input
from mitigate.runbook.model import InputSpec
from tui.protocols import Launcher, RunbookEntry, StartRequest

SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
CONTEXT_TYPES = ("kube-context",)


class StartScreen(Screen[None]):
    CSS_PATH = "../styles/home.tcss"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("ctrl+s", "start", "Start incident")]

    def __init__(self, launcher: Launcher, runbook: RunbookEntry) -> None:
        super().__init__()
        self.launcher, self.runbook = launcher, runbook
        self.specs: dict[str, InputSpec] = {}
        self.load_error = ""
        try:
            self.specs = launcher.inputs(runbook)
        except MitigateError as exc:
            self.load_error = str(exc)

    def compose(self) -> ComposeResult:
        contexts = self.launcher.contexts()
        with VerticalScroll(id="start-form"):
            yield Label(f"Start an incident: {self.runbook.title}", id="start-title")
            yield Label(self.load_error, classes="error", id="start-load-error")
            yield Label("Title")
            yield Input(value=self.runbook.title, id="f-title")
            yield Label("Severity")
            yield Select([(s, s) for s in SEVERITIES], value="SEV2", allow_blank=False, id="f-severity")
            yield Label("Incident commander")
            yield Input(placeholder="who leads", id="f-commander")
            yield Label("Kubernetes context")
            yield Select([(f"{c.name}  ⚠ PROTECTED" if c.protected else c.name, c.name) for c in contexts],
                         prompt="pick a context", id="f-context",
                         value=contexts[0].name if len(contexts) == 1 else Select.BLANK)
            for name, spec in self.specs.items():
                if spec.type in CONTEXT_TYPES:
                    continue  # the context picker above fills it
                yield Label(f"{name}{' *' if spec.is_required else ''}  {spec.prompt}")
                yield Input(value="" if spec.default is None else str(spec.default), id=f"in-{name}",
                            placeholder=spec.type)
                yield Label("", id=f"err-{name}", classes="error")
            yield Label("", id="start-error", classes="error")
            with Horizontal(id="start-buttons"):
                yield Button("Start incident", id="start", variant="primary", disabled=bool(self.load_error))
                yield Button("Back", id="back")
        yield Footer()

    def _check(self, name: str, raw: str) -> tuple[bool, Any]:
        spec = self.specs[name]
        label = self.query_one(f"#err-{name}", Label)
        if not raw.strip():
            ok = not spec.is_required
            label.update("" if ok else "required")
            return ok, None
        try:
            value = coerce_input(spec, raw)
        except (ValueError, MitigateError) as exc:
            label.update(str(exc))
            return False, None
        label.update("")
        return True, value

    @on(Input.Changed)
    def _validate(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("in-"):
            self._check(event.input.id[3:], event.value)

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from tui.app import MitigateApp
        from tui.messages import IncidentOpened

        error = self.query_one("#start-error", Label)
        context = self.query_one("#f-context", Select).value
        if not isinstance(context, str):
            error.update("pick a Kubernetes context")
            return
        inputs: dict[str, Any] = {}
        ok = True
        for name, spec in self.specs.items():
            if spec.type in CONTEXT_TYPES:
                inputs[name] = context
                continue
            good, value = self._check(name, self.query_one(f"#in-{name}", Input).value)
            ok = ok and good
            if value is not None:
                inputs[name] = value
        title = self.query_one("#f-title", Input).value.strip()
        if not title:
            error.update("the incident needs a title")
            return
        if not ok:
            error.update("fix the inputs marked above")
            return
        error.update("")
        request = StartRequest(runbook=self.runbook, title=title,
                               severity=str(self.query_one("#f-severity", Select).value),
                               commander=self.query_one("#f-commander", Input).value.strip(),
                               context=context, inputs=inputs)
        app = self.app
        assert isinstance(app, MitigateApp)
        app.session_call("start incident", lambda: app.post_message(
            IncidentOpened(self.launcher.start(request, app.confirmer))))
