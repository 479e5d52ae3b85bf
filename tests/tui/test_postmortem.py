"""The postmortem screen: `e` in the walker previews the draft and exports Markdown and HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.postmortem import PostmortemScreen
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio


async def test_e_previews_the_draft_and_exports_markdown_and_html(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path / "incidents")
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, PostmortemScreen))
        screen = app.screen
        assert isinstance(screen, PostmortemScreen)
        await until(pilot, lambda: bool(screen.markdown))
        assert "Nodes NotReady in par" in screen.markdown
        assert "find-notready" in screen.markdown or "Find NotReady nodes" in screen.markdown

        screen.query_one("#pm-path", Input).value = str(tmp_path / "draft.md")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: (tmp_path / "draft.md").exists())
        exported = (tmp_path / "draft.md").read_text()
        assert exported.startswith("# Postmortem") and "Nodes NotReady in par" in exported
        screen.query_one("#pm-path", Input).value = str(tmp_path / "draft.html")
        await pilot.click("#pm-save")                               # the mouse works too
        await until(pilot, lambda: (tmp_path / "draft.html").exists())
        assert "<html" in (tmp_path / "draft.html").read_text().lower()
        await until(pilot, lambda: "written to" in str(screen.query_one("#pm-status").render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
