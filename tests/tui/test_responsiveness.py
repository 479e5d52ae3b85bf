"""The UI event loop keeps ticking while a 5,000-target batch runs through the real engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.tui.engine_rig import engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio
TARGET_MS = 50  # docs/ARCHITECTURE.md, Performance budgets: no stall over 50 ms
# Two figures per gap between 10 ms ticks of the UI loop: wall time, and the UI thread's own CPU
# time (time.thread_time). CPU on the UI thread in a gap is a stall our code caused; wall time also
# counts the batch worker holding the GIL and other processes on this shared 2-core machine.
# Measured over 16 runs (2026-11-22): wall 20-37 ms at most, UI-thread CPU 17-29 ms at most.
# The wall target is asserted on the best of ATTEMPTS runs, so one burst of load from another
# process does not fail CI while a stall our code makes every run still does.
ATTEMPTS = 3


async def measure(tmp_path: Path) -> tuple[list[float], list[float]]:
    """One 5,000-target cordon through the real engine; the gaps (wall, UI-thread CPU) in ms."""
    rig = engine_incident(tmp_path, nodes=5000, notready=5000)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    ticks: list[tuple[float, float]] = []
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                   # the check finds 5,000 NotReady nodes
        await until(pilot, lambda: status(app, "find-notready") == "succeeded", timeout=60)
        await pilot.press("enter", "enter")                          # move on; the manual step, ticked
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await pilot.press("enter")                                   # move on to the cordon
        await until(pilot, lambda: app.screen.selected() == "cordon")  # type: ignore[attr-defined]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.set_interval(0.01, lambda: ticks.append((time.perf_counter(), time.thread_time())))
        pressed = time.perf_counter()
        await pilot.press("y")  # returns when the app is next idle: the batch may be half done by then
        await until(pilot, lambda: status(app, "cordon") == "succeeded", timeout=120)
    outcomes = [r for r in rig.session.journal.records() if r.type == "step.outcome"]
    assert len(outcomes) == 100 and sum(len(r.data["results"]) for r in outcomes) == 5000
    assert len(rig.cluster.mutations) == 5000
    ticks = [t for t in ticks if t[0] >= pressed]  # from the confirmation (the modal closing) to the end
    gaps = [(b[0] - a[0]) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    busy = [(b[1] - a[1]) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(gaps) > 20, "the batch ran too briefly to measure the loop"
    return gaps, busy


async def test_no_event_loop_stall_while_a_5000_target_batch_runs(tmp_path: Path) -> None:
    runs: list[tuple[float, float]] = []
    for attempt in range(ATTEMPTS):
        gaps, busy = await measure(tmp_path / str(attempt))
        worst, worst_busy = max(gaps), max(busy)
        runs.append((worst, worst_busy))
        print(f"\n5,000-target batch: {len(gaps)} ticks, max gap {worst:.1f} ms wall "
              f"({sum(g > TARGET_MS for g in gaps)} over {TARGET_MS} ms), max UI-thread CPU in a gap {worst_busy:.1f} ms")
        assert worst_busy < TARGET_MS, "the UI thread itself was busy past the target: a stall in our code"
        if worst < TARGET_MS:
            break
    assert min(wall for wall, _ in runs) < TARGET_MS, f"every run had a gap over {TARGET_MS} ms: {runs}"
