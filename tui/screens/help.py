"""The help screen (``?``): every key the walker understands."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from tui.widgets.keybar import KeyBar

HELP = """\
# Walking a runbook

| key | what it does |
|---|---|
| `↑` `↓` `j` `k` `home` `end` (or a click) | highlight a step (only you move the highlight) |
| `enter` / `r` | run the highlighted step (asks for confirmation first); a manual step: mark it done; a decision: choose. The key bar names what it does |
| `enter` | on a finished step: move to the next one; on a later step: go to the one to act on now |
| `p` | preview: server-side dry run and diff, nothing changes |
| `c` | copy the kubectl equivalent to the clipboard |
| `s` | skip the step (asks for a reason) |
| `t` | retry a failed step |
| `b` | roll back what this incident changed |
| `B` | roll back the highlighted step only (the others keep their state) |
| `esc` | cancel a running batch (before its next batch) |
| `l` | show or hide the timeline (shown beside the detail from 120 columns, under it when asked below) |
| `v` | drills: the verdict and scorecard (shown by itself when the last step is done) |
| `n` | add a note to the timeline; give a time and zone to enter something that happened earlier |
| `e` | postmortem draft: preview and export (`ctrl+s`; a `.html` path gives a standalone page) |
| `m` | mark a milestone: impact started, detected, acknowledged, mitigated, resolved (optionally backdated) |
| `i` | set the incident status |
| `pgup` / `pgdn` (or the wheel) | scroll the step's detail; the wheel scrolls the timeline back |
| `ctrl+p` | command palette: every step and action |
| `q` | quit (the incident stays open; the exit prints its ID and `mitigate resume ID`) |

# In the confirmation

| key | what it does |
|---|---|
| `y` / `enter` on Run it | run it |
| `n` / `esc` | decline (the step stays as it was) |
| type the context name, `enter` | confirm a destructive step on a protected context |
| `pgup` / `pgdn` / `ctrl+home` / `ctrl+end`, `tab` | scroll the details, move between input and buttons |

# On the home screen

| key | what it does |
|---|---|
| `/` | search runbooks by symptom, tag or title (best match first) |
| `↓` / `enter` | from the search: into the list / open the best match |
| `tab` | between runbooks and incidents to resume |
| `q` / `esc` | quit (`esc` in the search goes back to the list first) |

Everything you do is written to the incident journal first.
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "../styles/modals.tcss"
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", show=True),
                Binding("pagedown", "scroll('page_down')", "Scroll"),
                Binding("pageup", "scroll('page_up')", "Up", show=False),
                Binding("down,j", "scroll('down')", "Down", show=False),
                Binding("up,k", "scroll('up')", "Up", show=False),
                Binding("end", "scroll('end')", "End", show=False),
                Binding("home", "scroll('home')", "Top", show=False)]

    def __init__(self) -> None:
        super().__init__(classes="modal")

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            with VerticalScroll(id="help-body", can_focus=False):
                yield Markdown(HELP)
        yield KeyBar()

    def action_scroll(self, how: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        {"page_down": body.scroll_page_down, "page_up": body.scroll_page_up, "down": body.scroll_down,
         "up": body.scroll_up, "end": body.scroll_end, "home": body.scroll_home}[how](animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
