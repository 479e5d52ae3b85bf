"""The note and milestone dialogs: the entry itself, plus an optional "when" and time zone.

Events from before the tool was opened are entered here as they are with
``mitigate journal add --at --tz``. The dialog resolves the time with the
journal's own parser before returning, so a bad time is refused inline and a
zone that does not fit the date (CET in July) is shown to the responder, who
submits again to record it anyway (the journal keeps the flag and its note).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from mitigate.errors import MitigateError
from mitigate.journal.timeparse import resolve_declared
from tui.text import plain


@dataclass(frozen=True)
class Entry:
    """What the responder entered: ``at``/``tz`` are both None for "now"."""

    value: str
    at: str | None = None
    tz: str | None = None


class EntryPrompt(ModalScreen[Entry | None]):
    """A note (free text) or a milestone (one of ``choices``), optionally backdated."""

    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=True)]

    def __init__(self, question: str, *, today: Callable[[], date], placeholder: str = "",
                 choices: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(classes="modal")
        self.question, self.placeholder, self.choices = question, placeholder, list(choices)
        self._today = today
        self._accepted: tuple[str, str] | None = None  # a flagged (when, zone) the responder saw once

    def compose(self) -> ComposeResult:
        with Vertical(classes="prompt-box"):
            yield Label(plain(self.question), classes="prompt-question")
            if self.choices:
                yield OptionList(*[Option(plain(label), id=cid) for cid, label in self.choices], id="prompt-choices")
            else:
                yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Label("when (optional, for events before now): local time and its zone", classes="hint")
            with Horizontal(id="entry-when-row"):
                yield Input(placeholder="YYYY-MM-DD HH:MM or HH:MM (blank: now)", id="entry-when")
                yield Input(placeholder="zone: Europe/Paris, UTC, +02:00, CET", id="entry-tz")
            yield Label("", id="prompt-error", classes="error")

    def _error(self, text: str) -> None:
        self.query_one("#prompt-error", Label).update(plain(text))

    def _when(self) -> tuple[str | None, str | None] | None:
        """The declared time, or None (and a message shown) when it cannot be recorded yet."""
        at = self.query_one("#entry-when", Input).value.strip()
        tz = self.query_one("#entry-tz", Input).value.strip()
        if not at and not tz:
            return None, None
        if not at:
            self._error("a zone without a time: type the time too, or clear the zone")
            return None
        if not tz:
            self._error(f"a backdated time needs its zone (e.g. {at} Europe/Paris)")
            return None
        try:
            declared = resolve_declared(at, tz, reference_date=self._today())
        except MitigateError as exc:
            self._error(str(exc))
            return None
        if declared.mismatch and self._accepted != (at, tz):
            self._accepted = (at, tz)
            self._error(f"zone mismatch: {declared.note}. Submit again to record it as is (flagged).")
            return None
        return at, tz

    def _submit(self, value: str) -> None:
        when = self._when()
        if when is not None:
            self.dismiss(Entry(value, *when))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if self.choices:
            chosen = self.query_one("#prompt-choices", OptionList)
            option = chosen.highlighted_option
            if option is None or option.id is None:
                self._error("pick a milestone")
                return
            self._submit(option.id)
            return
        text = self.query_one("#prompt-input", Input).value.strip()
        if not text:
            self._error("required: type something, or esc to cancel")
            return
        self._submit(text)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._submit(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
