"""The key bar names only what works for the highlighted step (issue 13): never Run on a finished
step; B where the step's change can be undone; enter named for what it does (run, mark done,
decide, move on). Driven on the real engine at two sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.app import MitigateApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen
from tui.widgets.keybar import KeyBar

pytestmark = pytest.mark.anyio
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def keys_on(pilot: Pilot[None], app: MitigateApp, step: str) -> tuple[list[str], str]:
    """Highlight ``step``; the working keys' names and the bar as drawn."""
    walker = app.screen
    assert isinstance(walker, WalkerScreen)
    walker.go_to_step(step)
    await pilot.pause()
    await pilot.pause()
    bar = walker.query_one(KeyBar)
    return list(bar.working), bar.text


@pytest.mark.parametrize("size", SIZES)
async def test_the_key_bar_follows_the_highlighted_steps_state(tmp_path: Path, size: tuple[int, int]) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        working, drawn = await keys_on(pilot, app, "find-notready")     # the current step, a check
        assert working[0] == "Run" and "Run" in drawn and "Skip" in working
        assert not {"Next step", "Preview", "Retry", "Roll back", "Roll back step"} & set(working)  # nothing applied
        working, _ = await keys_on(pilot, app, "cordon")                # a later step: enter goes back
        assert "Go to current" in working and "Run" not in working
        await pilot.press("enter")
        assert app.screen.selected() == "find-notready"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        working, drawn = await keys_on(pilot, app, "find-notready")     # finished
        assert working[0] == "Next step" and "Next step" in drawn
        assert not {"Run", "Skip", "Retry", "Preview", "Roll back step"} & set(working)
        working, drawn = await keys_on(pilot, app, "page-owner")        # current, manual
        assert working[0] == "Mark done" and "Mark done" in drawn and "Run" not in working
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await keys_on(pilot, app, "cordon")                             # current, an action
        bar = app.screen.query_one(KeyBar)
        await until(pilot, lambda: "Copy" in bar.working)               # once its plan is read
        assert {"Run", "Preview", "Skip"} <= set(bar.working)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status(app, "cordon") == "succeeded")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        working, drawn = await keys_on(pilot, app, "cordon")            # finished, its change undoable
        assert working[0] == "Next step" and "Run" not in drawn
        assert {"Roll back step", "Roll back", "Copy"} <= set(working)
        assert not {"Run", "Skip", "Retry", "Preview"} & set(working)
        working, _ = await keys_on(pilot, app, "find-notready")         # a check cannot be undone
        assert "Roll back step" not in working and "Roll back" in working  # the incident's cordon can
        await pilot.press("enter")                                      # moves to the step to act on
        assert app.screen.selected() == "delete-nodes"  # type: ignore[attr-defined]
