"""Home: pick a runbook (search by symptom, tag or title, best match first) or resume an incident.

The library and the incident list are read in a worker (they are files on disk,
maybe many): the screen paints at once and fills in. Keys: ``/`` searches,
``↓`` goes from the search into the list, ``enter`` opens, ``q`` or ``esc``
quits (``esc`` in the search returns to the list first).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Label

from mitigate.timefmt import parse_rfc3339
from tui.messages import LibraryLoaded, ResumeIncident
from tui.protocols import IncidentEntry, Launcher, RunbookEntry
from tui.text import safe
from tui.widgets.header import IncidentHeader
from tui.widgets.keybar import KeyBar
from tui.widgets.picklist import Pick, PickList

_FOLD = re.compile(r"[^a-z0-9]+")
# how much a match in each field counts: a runbook named for the symptom beats one that mentions it
FUZZY_FLOOR = 1 / 3  # letters in at most three runs: "ntrdy" finds "NotReady", not any long paragraph
WEIGHTS = (("name", 1.0), ("title", 1.0), ("symptoms", 0.9), ("tags", 0.8), ("summary", 0.5))


def _fold(text: str) -> str:
    """``"Nodes NotReady"``, ``"not-ready"`` -> ``"nodesnotready"``, ``"notready"``: spelling-blind."""
    return _FOLD.sub("", text.lower())


@lru_cache(maxsize=4096)
def _fields(rb: RunbookEntry) -> tuple[tuple[float, str, tuple[str, ...]], ...]:
    """Each searchable value folded once: (weight, folded value, its words folded)."""
    values = {"name": [rb.name], "title": [rb.title], "symptoms": list(rb.symptoms), "tags": list(rb.tags),
              "summary": [rb.summary]}
    return tuple((weight, _fold(value), tuple(_fold(w) for w in re.split(r"[\s\-_/,.;:()]+", value) if w))
                 for field, weight in WEIGHTS for value in values[field] if value)


def subsequence(word: str, text: str) -> float:
    """How well ``word``'s letters appear in order in ``text`` (folded): 0 (not all) to 1 (contiguous).

    One linear pass, greedy: Textual's fuzzy matcher explores every alignment, which on a
    runbook's summary paragraph froze the home screen for minutes as a search was typed.
    """
    if not word:
        return 0.0
    at, runs, last = 0, 0, -2
    for index, char in enumerate(text):
        if char == word[at]:
            if index != last + 1:
                runs += 1
            last = index
            at += 1
            if at == len(word):
                return 1.0 / runs
    return 0.0


def relevance(rb: RunbookEntry, query: str) -> float:
    """How well ``rb`` answers ``query``: every word must be found, in a field that counts.

    A word found whole (case, spaces and hyphens aside) scores by its field's weight, more
    at the start of a word or of the field; a word found only as a fuzzy subsequence scores
    at most 40 times the weight (fewer, longer runs score more), below any whole match in a
    field that counts as much. 0 when some word is found nowhere.
    """
    words = [w for w in (_fold(w) for w in query.split()) if w]
    if not words:
        return 0.0
    total = 0.0
    for word in words:
        best = 0.0
        for weight, folded, parts in _fields(rb):
            at = folded.find(word)
            if at >= 0:
                starts = at == 0 or any(part.startswith(word) for part in parts)
                best = max(best, weight * (100 + (30 if starts else 0) + 20 * len(word) / max(len(folded), 1)))
            elif len(word) > 2 and weight >= 0.8:  # a summary paragraph holds most letters in order
                fuzzy = subsequence(word, folded)
                if fuzzy >= FUZZY_FLOOR:
                    best = max(best, weight * 40 * fuzzy)
        if best == 0.0:
            return 0.0
        total += best
    return total


def search_runbooks(runbooks: list[RunbookEntry], query: str) -> list[RunbookEntry]:
    """Best matches first (ties keep the library order); an empty query keeps the library order."""
    if not query.strip():
        return list(runbooks)
    scored = [(relevance(rb, query), n, rb) for n, rb in enumerate(runbooks)]
    return [rb for score, _, rb in sorted(scored, key=lambda p: (-p[0], p[1])) if score > 0]


def age(opened: str, now: datetime) -> str:
    """``"2026-05-04T14:05:00+00:00"`` -> ``"3h ago"`` (empty when the time is unknown)."""
    try:
        then = parse_rfc3339(opened)
        seconds = (now - then).total_seconds()
    except (ValueError, TypeError, AttributeError):
        return ""
    if seconds < 0:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


ID_LINE = frozenset({2})  # the ID is the third line of an incident: cut in the middle when narrow


def incident_line(entry: IncidentEntry, now: datetime) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    if entry.drill:
        line.append(" DRILL ", style="bold black on yellow")
        line.append(" ")
    line.append(safe(entry.title or entry.id, multiline=False), style="bold")
    line.append(f"\n  {entry.status or 'open'}", style="cyan")
    when = age(entry.opened, now)
    if when:
        line.append(f" · {when}", style="dim")
    line.append(f"\n  {entry.id}", style="dim")
    return line


def first_sentence(text: str) -> str:
    """The summary's first sentence on one line (the list cuts it to the width with an ellipsis):
    a folded YAML paragraph's first line stops mid-sentence, with nothing to say it goes on."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[:end + 1]


def runbook_lines(rb: RunbookEntry) -> Text:
    """A runbook's lines in the list: title, what it is for, tags, and where it comes from."""
    text = Text(safe(rb.title, multiline=False), style="bold")
    about = ", ".join(rb.symptoms[:2]) or first_sentence(rb.summary) or rb.name
    text.append("\n  " + safe(about, multiline=False), style="dim")
    if rb.tags:
        text.append("\n  [" + safe(", ".join(rb.tags), multiline=False) + "]", style="dim cyan")
    if rb.origin:  # a library of the team's own, and what it shadows
        text.append("\n  " + safe(rb.origin, multiline=False), style="italic")
    return text


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("enter", "open", "Open", show=False),
        Binding("tab", "app.focus_next", "Next pane"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "back", "Back / quit"),
        Binding("q", "quit", "Quit"),
        Binding("down", "to_list", "Down", show=False),
    ]

    def __init__(self, launcher: Launcher, *, now: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.launcher = launcher
        self._now = now
        self._runbooks: list[RunbookEntry] = []
        self._incidents: list[IncidentEntry] = []
        self._shown: list[RunbookEntry] = []

    def compose(self) -> ComposeResult:
        if self._now is not None:
            yield IncidentHeader(now=self._now, title="mitigate · incident-response runbooks")
        with Horizontal(id="home-body"):
            with Vertical(id="runbook-pane"):
                yield Input(placeholder="/ search by symptom, tag or title", id="search")
                yield PickList(id="runbooks")
            with Vertical(id="incident-pane"):
                yield Label("Incidents to resume", classes="section")
                yield PickList(id="incidents")
        yield Label("", id="home-error", classes="error")
        yield KeyBar()

    def on_mount(self) -> None:
        runbooks = self.query_one("#runbooks", PickList)
        runbooks.border_title = "runbooks"
        runbooks.show_items([], empty="reading the runbook library…")
        runbooks.focus()
        launcher = self.launcher

        def read() -> None:
            runbooks: list[RunbookEntry] = []
            incidents: list[IncidentEntry] = []
            errors: list[str] = []
            try:
                runbooks = launcher.runbooks()
            except Exception as exc:  # noqa: BLE001 - a broken library is shown, not a traceback
                errors.append(f"runbook library: {str(exc).strip() or type(exc).__name__}")
            try:
                incidents = launcher.incidents()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"incidents: {str(exc).strip() or type(exc).__name__}")
            self.post_message(LibraryLoaded(runbooks, incidents, "; ".join(errors)))

        self.run_worker(read, name="read the library", thread=True, exit_on_error=False)

    def on_library_loaded(self, message: LibraryLoaded) -> None:
        self._runbooks, self._incidents = message.runbooks, message.incidents
        if message.error:
            self.query_one("#home-error", Label).update(Text(message.error))
        self._show_runbooks(search_runbooks(self._runbooks, self.query_one("#search", Input).value))
        open_ones = [i for i in self._incidents if not i.closed]
        now = self._now() if self._now is not None else datetime.now().astimezone()
        self.query_one("#incidents", PickList).show_items(
            [(i.id, Pick(incident_line(i, now), middle=ID_LINE)) for i in open_ones], empty="no open incidents")

    def _show_runbooks(self, runbooks: list[RunbookEntry]) -> None:
        self._shown = runbooks
        self.query_one("#runbooks", PickList).show_items(
            [(rb.name, Pick(runbook_lines(rb))) for rb in runbooks],
            empty="no runbook matches" if self._runbooks else "no runbooks in the library")

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        self._show_runbooks(search_runbooks(self._runbooks, event.value))

    @on(Input.Submitted, "#search")
    def _pick_first(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        incidents = self.query_one("#incidents", PickList)
        if self.focused is incidents:
            if incidents.picked_id:
                self.resume(incidents.picked_id)
            return
        name = self.query_one("#runbooks", PickList).picked_id
        if name:
            self._open_runbook(name)

    @on(PickList.Picked, "#runbooks")
    def _picked(self, event: PickList.Picked) -> None:
        event.stop()
        self._open_runbook(event.item_id)

    def _open_runbook(self, name: str | None) -> None:
        from tui.screens.start import StartScreen

        entry = next((rb for rb in self._runbooks if rb.name == name), None)
        if entry is not None:
            self.app.push_screen(StartScreen(self.launcher, entry))

    @on(PickList.Picked, "#incidents")
    def _resume(self, event: PickList.Picked) -> None:
        event.stop()
        self.resume(event.item_id)

    def resume(self, incident_id: str) -> None:
        """The app opens the journal and rebuilds the session in a worker (it may reach the cluster)."""
        self.post_message(ResumeIncident(incident_id))

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_to_list(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#runbooks", PickList).focus()

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#runbooks", PickList).focus()
        else:
            self.app.exit()

    def action_quit(self) -> None:
        self.app.exit()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
