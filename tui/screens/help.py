"""The help screen (``?``): every key the walker understands."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown

HELP = """\
# Walking a runbook

| key | what it does |
|---|---|
| `↑` `↓` `home` `end` (or a click) | highlight a step |
| `enter` / `r` | run the highlighted step (asks for confirmation first) |
| `p` | preview: server-side dry run and diff, nothing changes |
| `c` | copy the kubectl equivalent to the clipboard |
| `s` | skip the step (asks for a reason) |
| `t` | retry a failed step |
| `b` | roll back what this incident changed |
| `esc` | cancel a running batch (between batches) |
| `n` | add a note to the timeline; give a time and zone to enter something that happened earlier |
| `e` | postmortem draft: preview and export (`ctrl+s`; a `.html` path gives a standalone page) |
| `m` | mark a milestone: impact started, detected, acknowledged, mitigated, resolved (optionally backdated) |
| `i` | set the incident status |
| `pgup` / `pgdn` (or the wheel) | scroll the step's detail; the wheel scrolls the timeline back |
| `ctrl+p` | command palette: every step and action |
| `q` | quit (the incident stays open; `mitigate resume ID`) |

Everything you do is written to the incident journal first.
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", show=True)]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Markdown(HELP)
            yield Label("esc closes", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
