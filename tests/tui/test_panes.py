"""The walker's panes on a small terminal: styled, windows that follow the highlight and the log,
markers for what is out of view, and the mouse (click, wheel) working on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events

from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import until
from tui import make_app
from tui.screens.walker import WalkerScreen
from tui.widgets.pane import LinePane, RenderablePane
from tui.widgets.steps import StepList
from tui.widgets.timeline import Timeline

pytestmark = pytest.mark.anyio


def row(pane: LinePane, y: int) -> str:
    return pane.render_line(y).text


def wheel(pane: LinePane, up: bool) -> None:
    """One notch of the mouse wheel over ``pane`` (Pilot has clicks, not wheels)."""
    kind = events.MouseScrollUp if up else events.MouseScrollDown
    pane.post_message(kind(pane, 5, 5, 0, -1 if up else 1, 0, False, False, False))


async def test_the_walker_opened_straight_into_an_incident_has_its_styles(tmp_path: Path) -> None:
    # Textual does not read a default screen's CSS_PATH: the walker's layout once fell back to
    # unstyled stacked widgets when mitigate opened straight into an incident.
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        steps, timeline = app.screen.query_one(StepList), app.screen.query_one(Timeline)
        assert steps.outer_size.width == 30 and timeline.outer_size.width == 36  # the -wide layout (120+)
        assert steps.region.x == 0 and timeline.region.right == 140
        assert steps.styles.border_top[0] == "round"


async def test_the_step_window_follows_the_highlight_and_says_what_is_out_of_view(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(100, 8)) as pilot:  # room for 4 lines of steps: 5 steps do not fit
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        steps = app.screen.query_one(StepList)
        await pilot.pause()
        assert steps.window == 4 and steps.selected_id == "find-notready"
        assert "more line(s) below" in row(steps, 3) and "Find NotReady" in row(steps, 0)
        await pilot.press("end")
        await pilot.pause()
        assert steps.selected_id == "verify"
        assert "more line(s) above" in row(steps, 0)
        assert any("Verify nodes Ready" in row(steps, y) for y in range(1, 4))
        await pilot.press("home", "down")
        await pilot.pause()
        assert steps.selected_id == "page-owner"
        assert app.screen.selected() == "page-owner"  # type: ignore[attr-defined]
        assert any("Page the node-pool" in row(steps, y) for y in range(4))


async def test_a_click_highlights_a_step_and_the_wheel_scrolls_the_timeline_back(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path)
    for n in range(30):
        rig.session.note(f"note number {n}")
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(140, 16)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.pause()
        steps, timeline = app.screen.query_one(StepList), app.screen.query_one(Timeline)
        # border 1 + padding 0: content row 2 is the third step (one line each at this width)
        await pilot.click(StepList, offset=(4, 1 + 2))
        await pilot.pause()
        assert steps.selected_id == "cordon"
        last = timeline.window - 1
        assert "note number 29" in row(timeline, last)  # the newest entry at the bottom
        assert "more line(s) above" in row(timeline, 0)
        wheel(timeline, up=True)
        await pilot.pause()
        assert "note number 29" not in row(timeline, last - 1)
        assert "more line(s) below" in row(timeline, last)
        reading = [row(timeline, y) for y in range(timeline.window)]
        timeline.add_record("2024-02-13T09:00:00Z", "note", {"text": "a new note"})  # while scrolled back
        await pilot.pause()
        assert [row(timeline, y) for y in range(timeline.window - 1)] == reading[:-1]  # the view stays put
        for _ in range(3):
            wheel(timeline, up=False)
        await pilot.pause()
        assert "a new note" in row(timeline, last)


async def test_the_detail_pane_scrolls_with_page_keys(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path, nodes=40, notready=40)
    rig.session.run("find-notready")  # a 40-row check table: longer than the pane
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(140, 20)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("home")
        await pilot.pause()
        detail = app.screen.query_one("#detail-body", RenderablePane)
        assert "Find NotReady nodes" in row(detail, 0) and "more line(s) below" in row(detail, detail.window - 1)
        await pilot.press("pagedown")
        await pilot.pause()
        assert detail.first_shown == 10
        assert "▲ 11 more line(s) above" in row(detail, 0)  # the 10 scrolled past and the one under the marker
        await pilot.press("pageup")
        await pilot.pause()
        assert detail.first_shown == 0
