"""The UI event loop keeps ticking while a 5,000-target batch runs through the real engine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.tui.conftest import status, until
from tests.tui.engine_rig import engine_incident
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio
TARGET_MS = 50  # DESIGN.md section 13, printed
# Asserted: max gap 28-75 ms over 6 runs on this loaded 2-core machine (load ~2), 0-3 ticks over 50 ms;
# the bound leaves 2x for a busier machine (it was 300 ms when the max gap was 65-280 ms).
BOUND_MS = 150
MAX_OVER_SHARE = 0.1  # at most this share of the 10 ms ticks may come more than TARGET_MS apart


async def test_no_event_loop_stall_while_a_5000_target_batch_runs(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path, nodes=5000, notready=5000)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    ticks: list[float] = []
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                   # the check finds 5,000 NotReady nodes
        await until(pilot, lambda: status(app, "find-notready") == "succeeded", timeout=60)
        await pilot.press("enter")                                   # the manual step, ticked
        await until(pilot, lambda: status(app, "page-owner") == "succeeded")
        await until(pilot, lambda: app.screen.selected() == "cordon")  # type: ignore[attr-defined]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
        pressed = time.perf_counter()
        await pilot.press("y")  # returns when the app is next idle: the batch may be half done by then
        await until(pilot, lambda: status(app, "cordon") == "succeeded", timeout=120)
    ticks = [t for t in ticks if t >= pressed]  # from the confirmation (the modal closing) to the end
    gaps = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    worst = max(gaps)
    over = sum(g > TARGET_MS for g in gaps)
    print(f"\n5,000-target batch: {len(gaps)} ticks, max gap {worst:.1f} ms, {over} over {TARGET_MS} ms")
    outcomes = [r for r in rig.session.journal.records() if r.type == "step.outcome"]
    assert len(outcomes) == 100 and sum(len(r.data["results"]) for r in outcomes) == 5000
    assert len(rig.cluster.mutations) == 5000
    assert len(gaps) > 20, "the batch ran too briefly to measure the loop"
    assert worst < BOUND_MS
    assert over <= MAX_OVER_SHARE * len(gaps)
