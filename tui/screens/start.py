"""Incident start: title, severity, commander, context (protected marked), runbook inputs.

Inputs are validated inline with the same coercion the CLI uses
(``mitigate.runbook.inputs.coerce_input``), so a value accepted here is accepted
by the engine. The runbook's inputs and the kubeconfig's contexts are read in a
worker before the form is built: no kubeconfig, or one that does not parse, is
a line on the form (and no context to pick), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select

from mitigate.errors import MitigateError
from mitigate.ports import ContextInfo
from mitigate.runbook.inputs import coerce_input
from mitigate.runbook.model import InputSpec
from tui.messages import StartIncident
from tui.protocols import Launcher, RunbookEntry, StartRequest
from tui.widgets.keybar import KeyBar


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__


class FormRead(Message):
    """The worker read the runbook's inputs and the contexts (or why it could not)."""

    def __init__(self, specs: dict[str, InputSpec], contexts: list[ContextInfo], load_error: str,
                 context_error: str) -> None:
        super().__init__()
        self.specs, self.contexts, self.load_error, self.context_error = specs, contexts, load_error, context_error

SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
CONTEXT_TYPES = ("kube-context",)


class StartScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("ctrl+s", "start", "Start incident")]

    def __init__(self, launcher: Launcher, runbook: RunbookEntry) -> None:
        super().__init__()
        self.launcher, self.runbook = launcher, runbook
        self.specs: dict[str, InputSpec] = {}
        self.contexts: list[ContextInfo] = []
        self.load_error = self.context_error = ""

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Start an incident: {self.runbook.title}"), id="start-title")
        yield Label("reading the runbook and the kubeconfig…", id="start-loading", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        launcher, runbook = self.launcher, self.runbook

        def read() -> None:
            specs: dict[str, InputSpec] = {}
            contexts: list[ContextInfo] = []
            load_error = context_error = ""
            try:
                specs = launcher.inputs(runbook)
            except Exception as exc:  # noqa: BLE001 - a runbook that does not load is a line on the form
                load_error = _why(exc)
            try:
                contexts = launcher.contexts()
            except Exception as exc:  # noqa: BLE001 - no kubeconfig (ClusterError) included
                context_error = _why(exc)
            self.post_message(FormRead(specs, contexts, load_error, context_error))

        self.run_worker(read, name="read the runbook", thread=True, exit_on_error=False)

    async def on_form_read(self, message: FormRead) -> None:
        self.specs, self.contexts = message.specs, message.contexts
        self.load_error, self.context_error = message.load_error, message.context_error
        if not self.contexts and not self.context_error:
            self.context_error = "no Kubernetes context found (is there a kubeconfig? --kubeconfig or $KUBECONFIG)"
        await self.query_one("#start-loading", Label).remove()
        await self.mount(VerticalScroll(*self._form(), id="start-form"), before=self.query_one(KeyBar))
        first = self.query("#f-commander")
        if first:
            first.first().focus()

    def _form(self) -> list[Any]:
        return list(self._fields())

    def _fields(self) -> Iterator[Any]:
        contexts = self.contexts
        yield Label(Text(self.load_error), classes="error", id="start-load-error")
        yield Label("Title")
        yield Input(value=self.runbook.title, id="f-title")
        yield Label("Severity")
        yield Select([(s, s) for s in SEVERITIES], value="SEV2", allow_blank=False, id="f-severity")
        yield Label("Incident commander")
        yield Input(placeholder="who leads", id="f-commander")
        yield Label("Kubernetes context")
        if contexts:
            options = [(f"{c.name}  ⚠ PROTECTED" if c.protected else c.name, c.name) for c in contexts]
            if len(contexts) == 1:  # the only context, preselected
                yield Select(options, prompt="pick a context", id="f-context", value=contexts[0].name)
            else:  # (Select.BLANK as a value is refused once the form is mounted after compose)
                yield Select(options, prompt="pick a context", id="f-context")
        yield Label(Text(self.context_error), classes="error", id="start-context-error")
        for name, spec in self.specs.items():
            if spec.type in CONTEXT_TYPES:
                continue  # the context picker above fills it
            yield Label(Text(f"{name}{' *' if spec.is_required else ''}  {spec.prompt}"))
            secret = spec.type == "secret"  # shown masked; blank reads the keyring (keyring: NAME)
            yield Input(value="" if spec.default is None else str(spec.default), id=f"in-{name}",
                        placeholder=f"secret (blank: keyring {spec.keyring})" if secret and spec.keyring
                        else spec.type, password=secret)
            yield Label("", id=f"err-{name}", classes="error")
        yield Label("", id="start-error", classes="error")
        yield Horizontal(Button("Start incident", id="start", variant="primary",
                                disabled=bool(self.load_error) or not contexts),
                         Button("Back", id="back"), id="start-buttons")

    def _check(self, name: str, raw: str) -> tuple[bool, Any]:
        spec = self.specs[name]
        label = self.query_one(f"#err-{name}", Label)
        if not raw.strip():
            ok = not spec.is_required or (spec.type == "secret" and bool(spec.keyring))  # the keyring fills it
            label.update("" if ok else "required")
            return ok, None
        try:
            value = coerce_input(spec, raw)
        except (ValueError, MitigateError) as exc:
            label.update(Text(str(exc)))
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
        if not self.query("#start-error"):
            return  # the form is still being read
        error = self.query_one("#start-error", Label)
        pickers = self.query("#f-context").results(Select)
        picker = next(pickers, None)
        context = picker.value if picker is not None else None
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
        self.post_message(StartIncident(request))
