"""Snapshots of each screen as a responder sees it (fixed 140x40 terminal, fixed clock and ids)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from tests.tui.conftest import until
from tests.tui.snapshot_apps import confirm_request, home_app, walker_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen

SIZE = (140, 40)


def test_home_screen(snap_compare: Any) -> None:
    assert snap_compare(home_app(), terminal_size=SIZE)


def test_home_search_by_symptom(snap_compare: Any) -> None:
    assert snap_compare(home_app(), press=["slash", *"ingress"], terminal_size=SIZE)


def test_walker(snap_compare: Any) -> None:
    assert snap_compare(walker_app(protected=True)[0], terminal_size=SIZE)


def _modal(screen: Any) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.push_screen(screen)
        await pilot.pause()
    return run_before


def test_confirmation_ordinary(snap_compare: Any) -> None:
    assert snap_compare(walker_app()[0], run_before=_modal(ConfirmScreen(confirm_request(protected=False))),
                        terminal_size=SIZE)


def test_confirmation_protected_typed(snap_compare: Any) -> None:
    assert snap_compare(walker_app(protected=True)[0], run_before=_modal(ConfirmScreen(confirm_request(protected=True))),
                        terminal_size=SIZE)


def test_error_modal(snap_compare: Any) -> None:
    screen = ErrorScreen("run drain failed", "context prod-par: connection refused (https://127.0.0.1:6443)")
    assert snap_compare(walker_app(protected=True)[0], run_before=_modal(screen), terminal_size=SIZE)


def test_batch_progress(snap_compare: Any) -> None:
    """Two of three batches done, one target failed, as the engine journals them."""
    app, rig = walker_app(protected=True)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        walker = pilot.app.screen
        walker.model.batch_step = "cordon"  # type: ignore[attr-defined]
        journal = rig.session.journal
        journal.append("step.intent", {"step": "cordon", "batch": 1, "kubectl": []})  # the run starts at 0 s
        for n in (1, 2):
            rig.clock.elapsed += 30.0  # 50 targets per 30 s: 20 left, an ETA of 12 s
            journal.append("step.outcome", {"step": "cordon", "batch": n, "ok": n == 1, "results": [
                {"target": f"Node/node-{i}", "ok": i != 57, "message": "" if i != 57 else "409 Conflict"}
                for i in range((n - 1) * 50, n * 50)]})
            journal.append("batch.progress", {"step": "cordon", "batch": n, "batches": 3,
                                              "done": n * 50, "total": 120, "failures": n - 1})
        from tui.widgets.batch import BatchPanel

        await until(pilot, lambda: any(p._ok == 99 and p._done == 100 and p.display  # noqa: SLF001
                                       for p in walker.query(BatchPanel)))
        await pilot.pause(0.2)  # the step list's re-read after the last record
        from tui.widgets.header import IncidentHeader

        walker.query_one(IncidentHeader).tick()  # the clock moved a minute: shown now, not at the next tick
        await pilot.pause()
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
