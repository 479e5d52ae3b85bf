"""Snapshots of each screen as a responder sees it, at the sizes people use (fixed clock and ids).

80x24 (a laptop split, a jump host), 120x40 and 160x45: the walker's layout changes with the
width (tui/screens/walker.py), and every modal must keep its answer in view at each size.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.helpers import until
from tests.tui.snapshot_apps import (
    PAUSED_RUNBOOK,
    confirm_request,
    home_app,
    long_confirm_request,
    walker_app,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40"),
         pytest.param((160, 45), id="160x45")]


def _modal(screen: Any) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.push_screen(screen)
        await pilot.pause()
    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(home_app(), terminal_size=size)


def test_home_search_by_symptom(snap_compare: Any) -> None:
    assert snap_compare(home_app(), press=["slash", *"ingress"], terminal_size=(120, 40))


@pytest.mark.parametrize("size", SIZES)
def test_walker(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(walker_app(protected=True)[0], terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_confirmation_ordinary(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(walker_app()[0], run_before=_modal(ConfirmScreen(confirm_request(protected=False))),
                        terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_confirmation_protected_typed(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(walker_app(protected=True)[0], run_before=_modal(ConfirmScreen(confirm_request(protected=True))),
                        terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_confirmation_long_diff(snap_compare: Any, size: tuple[int, int]) -> None:
    """51 lines of YAML diff: the body scrolls, the typed input and the buttons stay in view."""
    assert snap_compare(walker_app(protected=True)[0], run_before=_modal(ConfirmScreen(long_confirm_request())),
                        terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(walker_app()[0], run_before=_modal(HelpScreen()), terminal_size=size)


def test_error_modal(snap_compare: Any) -> None:
    screen = ErrorScreen("run drain failed", "context prod-par: connection refused (https://127.0.0.1:6443)")
    assert snap_compare(walker_app(protected=True)[0], run_before=_modal(screen), terminal_size=(120, 40))


def _batch(rig: Any, batches: int, *, pause: bool) -> Any:
    """``batches`` of three done, one target failed, as the engine journals them."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        walker = pilot.app.screen
        walker.model.batch_step = "cordon"  # type: ignore[attr-defined]
        journal = rig.session.journal
        journal.append("step.intent", {"step": "cordon", "batch": 1, "batches": 3, "kubectl": []})  # starts at 0 s
        for n in range(1, batches + 1):
            rig.clock.elapsed += 30.0  # 50 targets per 30 s: 20 left, an ETA of 12 s
            journal.append("step.outcome", {"step": "cordon", "batch": n, "ok": n == 1, "results": [
                {"target": f"Node/node-{i}", "ok": i != 57, "message": "" if i != 57 else "409 Conflict"}
                for i in range((n - 1) * 50, n * 50)]})
            journal.append("batch.progress", {"step": "cordon", "batch": n, "batches": 3,
                                              "done": n * 50, "total": 120, "failures": int(n > 1)})
        from tui.widgets.batch import BatchPanel
        from tui.widgets.header import IncidentHeader

        done = batches * 50
        await until(pilot, lambda: any(p._done == done and p.display  # noqa: SLF001
                                       and (p.waiting() != "") == pause for p in walker.query(BatchPanel)))
        await pilot.pause(0.2)  # the step list's re-read after the last record
        walker.query_one(IncidentHeader).tick()  # the clock moved: shown now, not at the next tick
        await pilot.pause()
    return run_before


def test_batch_progress(snap_compare: Any) -> None:
    """Two of three batches done, one target failed."""
    app, rig = walker_app(protected=True)
    assert snap_compare(app, run_before=_batch(rig, 2, pause=False), terminal_size=(140, 40))


@pytest.mark.parametrize("size", SIZES)
def test_batch_in_pause(snap_compare: Any, size: tuple[int, int]) -> None:
    """After batch 1 of 3 the runbook pauses 30 s, then waits for its health gate: the panel counts down."""
    app, rig = walker_app(protected=True, runbook=PAUSED_RUNBOOK)
    assert snap_compare(app, run_before=_batch(rig, 1, pause=True), terminal_size=size)
