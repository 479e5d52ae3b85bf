"""Home: pick a runbook (fuzzy search over title, symptoms, tags) or resume an incident."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.fuzzy import Matcher
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.protocols import IncidentEntry, Launcher, RunbookEntry
from tui.widgets.header import IncidentHeader


def search_runbooks(runbooks: list[RunbookEntry], query: str) -> list[RunbookEntry]:
    """Best matches first; an empty query keeps the library order."""
    if not query.strip():
        return list(runbooks)
    matcher = Matcher(query)
    scored = [(max(matcher.match(rb.title), matcher.match(rb.haystack)), rb) for rb in runbooks]
    return [rb for score, rb in sorted(scored, key=lambda p: -p[0]) if score > 0]


class HomeScreen(Screen[None]):
    CSS_PATH = "../styles/home.tcss"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, launcher: Launcher) -> None:
        super().__init__()
        self.launcher = launcher
        self._runbooks: list[RunbookEntry] = []
        self._incidents: list[IncidentEntry] = []

    def compose(self) -> ComposeResult:
        from tui.app import MitigateApp

        now = self.app.now if isinstance(self.app, MitigateApp) else None
        if now is not None:
            yield IncidentHeader(now=now, title="mitigate · incident-response runbooks")
        with Horizontal(id="home-body"):
            with Vertical(id="runbook-pane"):
                yield Input(placeholder="search by symptom, tag or title  (/)", id="search")
                yield OptionList(id="runbooks")
            with Vertical(id="incident-pane"):
                yield Label("Incidents to resume", classes="section")
                yield OptionList(id="incidents")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runbooks", OptionList).border_title = "runbooks"
        self._runbooks = self.launcher.runbooks()
        self._incidents = self.launcher.incidents()
        self._show_runbooks(self._runbooks)
        incidents = self.query_one("#incidents", OptionList)
        open_ones = [i for i in self._incidents if not i.closed]
        incidents.add_options([Option(f"{i.id}  {i.title}  [{i.status}]", id=i.id) for i in open_ones]
                              or [Option("no open incidents", disabled=True)])
        if open_ones:
            incidents.highlighted = 0
        self.query_one("#search", Input).focus()

    def _show_runbooks(self, runbooks: list[RunbookEntry]) -> None:
        ol = self.query_one("#runbooks", OptionList)
        ol.clear_options()
        ol.add_options([Option(Text.assemble(rb.title, "\n  ", (", ".join(rb.tags) or rb.name, "dim"),
                                             *((("  " + rb.origin, "italic"),) if rb.origin else ())), id=rb.name)
                        for rb in runbooks] or [Option("no runbook matches", disabled=True)])
        if runbooks:
            ol.highlighted = 0

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        self._show_runbooks(search_runbooks(self._runbooks, event.value))

    @on(Input.Submitted, "#search")
    def _pick_first(self) -> None:
        ol = self.query_one("#runbooks", OptionList)
        if ol.option_count and ol.highlighted is not None:
            self._open_runbook(ol.get_option_at_index(ol.highlighted).id)

    @on(OptionList.OptionSelected, "#runbooks")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._open_runbook(event.option.id)

    def _open_runbook(self, name: str | None) -> None:
        from tui.screens.start import StartScreen

        entry = next((rb for rb in self._runbooks if rb.name == name), None)
        if entry is not None:
            self.app.push_screen(StartScreen(self.launcher, entry))

    @on(OptionList.OptionSelected, "#incidents")
    def _resume(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.resume(event.option.id)

    def resume(self, incident_id: str) -> None:
        """Open the journal and rebuild the session in a worker (it may reach the cluster)."""
        from tui.app import MitigateApp
        from tui.messages import IncidentOpened

        app = self.app
        assert isinstance(app, MitigateApp)
        app.session_call(f"resume {incident_id}", lambda: app.post_message(
            IncidentOpened(self.launcher.resume(incident_id, app.confirmer))))

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()
