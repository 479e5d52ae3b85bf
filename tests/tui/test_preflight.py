"""The RBAC preflight in the TUI (real engine, in-memory cluster with a fake RBAC): a change the user
may not make fails before its confirmation, the walker says which permission, and nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
async def test_a_denied_permission_is_shown_before_any_confirmation(tmp_path: Path, size: tuple[int, int]) -> None:
    rig = engine_incident(tmp_path)
    rig.cluster.denied = {"delete nodes node-1 (cluster-wide)"}  # may cordon, may not delete node-1
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("enter", "enter")                          # move on, tick the manual step
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await pilot.press("enter")                                   # move on to the cordon
        await pilot.press("enter")                                   # run it: the runbook-wide preflight
        await until(pilot, lambda: status(app, "cordon") == "failed")
        assert not isinstance(app.screen, ConfirmScreen)
        error = rig.session.step_state("cordon").error or ""
        assert error.startswith("RBAC preflight: step delete-nodes on drill-par: you cannot delete nodes node-1")
        timeline = str(walker.query_one("#timeline").text)  # type: ignore[attr-defined]
        assert "RBAC preflight" in timeline
        assert rig.cluster.mutations == []
