"""Walker behaviours on the real engine (fast in-memory cluster): errors, declining, copying kubectl."""

from __future__ import annotations

from pathlib import Path

import pytest

from mitigate.ports import ClusterError
from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.walker import WalkerScreen
from tui.widgets.keybar import KeyBar

pytestmark = pytest.mark.anyio


def journal_types(rig: object) -> list[str]:
    return [r.type for r in rig.session.journal.records()]  # type: ignore[attr-defined]


async def test_an_api_error_shows_the_error_modal_and_a_timeline_entry_and_the_app_carries_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("enter", "enter")                          # move on, tick the manual step
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await pilot.press("enter")                                   # move on to the cordon

        def refused(request: object) -> object:
            raise ClusterError("context drill-par: connection refused (https://127.0.0.1:1)")

        monkeypatch.setattr(rig.cluster, "prepare", refused)
        await pilot.press("p")                                       # preview: a server-side dry run
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "connection refused" in app.screen.message  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is walker)
        timeline = str(walker.query_one("#timeline").text)  # type: ignore[attr-defined]
        assert "connection refused" in timeline
        assert app.is_running


async def test_declining_keeps_the_step_open_and_c_copies_the_kubectl_equivalent(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("enter", "enter")                          # move on, tick the manual step
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await pilot.press("enter")                                   # move on to the cordon
        await until(pilot, lambda: bool(app.screen.model.of("cordon").kubectl))  # type: ignore[attr-defined]
        await pilot.press("c")
        assert copied == ["\n".join(f"kubectl --context drill-par cordon node node-{i}" for i in range(3))]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: "step.declined" in journal_types(rig))
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        assert status(app, "cordon") not in ("succeeded", "running")
        assert rig.cluster.mutations == []


async def test_the_key_bar_lists_the_walker_keys_and_a_click_runs_one(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        bar = app.screen.query_one(KeyBar)
        shown = str(bar.render())
        for key in ("Run", "Skip", "Note", "Milestone", "Help", "Quit", "palette"):
            assert key in shown
        assert "Roll back" not in shown  # nothing changed yet: nothing to roll back (tests/tui/test_keys.py)
        await pilot.click(KeyBar, offset=(shown.index("? Help") + 1, 0))
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
