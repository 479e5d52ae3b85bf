"""The postmortem screen: preview the draft rendered from the journal so far, export it to a file.

Rendering and writing run in thread workers (a 10,000-event journal takes a
moment); the renderer is ``mitigate.postmortem``, handed in by the composition
root as :attr:`tui.protocols.Incident.postmortem`, the same one the
``mitigate postmortem`` command uses.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from tui.protocols import RenderPostmortem
from tui.text import plain, safe


class PostmortemScreen(Screen[None]):
    CSS_PATH = "../styles/walker.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "save", "Export (.md or .html)"),
        Binding("f5", "refresh_preview", "Refresh"),
    ]

    def __init__(self, incident_id: str, render: RenderPostmortem, *, folder: Path | None = None) -> None:
        super().__init__()
        self.incident_id, self._draft = incident_id, render
        self.markdown = ""
        # exports land in the incident's own folder unless another path is typed
        self.default_path = (folder / "postmortem.md") if folder is not None else Path(f"{incident_id}.md")

    def compose(self) -> ComposeResult:
        yield Label(plain(f"Postmortem draft · {self.incident_id}  (rendered from the journal so far)"), id="pm-title")
        with VerticalScroll(id="pm-preview"):
            yield Static("rendering…", id="pm-text")
        with Horizontal(id="pm-export"):
            yield Input(value=str(self.default_path), id="pm-path")
            yield Button("Export", id="pm-save", variant="primary")
        yield Label("", id="pm-status")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh_preview()

    def action_refresh_preview(self) -> None:
        self._preview()

    @work(thread=True, exclusive=True, group="postmortem", exit_on_error=False)
    def _preview(self) -> None:
        text = self._draft("md")
        self.app.call_from_thread(self._show, text)

    def _show(self, text: str) -> None:
        from rich.markdown import Markdown

        self.markdown = text
        self.query_one("#pm-text", Static).update(Markdown(safe(text)))

    @on(Button.Pressed, "#pm-save")
    @on(Input.Submitted, "#pm-path")
    def action_save(self) -> None:
        """Export to the path typed; its extension picks the format (.html/.htm: a standalone page)."""
        path = Path(self.query_one("#pm-path", Input).value.strip() or self.default_path)
        self._export("html" if path.suffix.lower() in (".html", ".htm") else "md", path)

    @work(thread=True, group="postmortem-export", exit_on_error=False)
    def _export(self, fmt: str, path: Path) -> None:
        text = self._draft(fmt)
        target = path.expanduser()
        partial = target.with_name(f".{target.name}.partial")
        try:  # written whole, then renamed: a reader (or a crash) never sees half a draft
            partial.write_text(text, encoding="utf-8")
            partial.replace(target)
        except OSError as exc:
            message = f"cannot write {path}: {exc.strerror or exc}"
        else:
            message = f"postmortem draft written to {path.expanduser().resolve()}"
        self.app.call_from_thread(self.query_one("#pm-status", Label).update, message)
