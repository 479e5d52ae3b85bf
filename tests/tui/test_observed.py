"""The detail pane and the batch panel show what a wait or gate sees (issue 13): a wait's condition,
timeout and last observed value; a gate's requirements with their current values; a health gate's
value between batches. Real engine, two sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.engine_rig import RUNBOOK, engine_incident
from tests.tui.helpers import status, until
from tests.tui.snapshot_apps import PAUSED_RUNBOOK, walker_app
from tui import make_app
from tui.screens.walker import WalkerScreen
from tui.widgets.batch import BatchPanel
from tui.widgets.detail import DetailPane

pytestmark = pytest.mark.anyio
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]

WAITING = RUNBOOK.replace("  - id: page-owner", """\
  - id: nodes-back
    title: Wait for the nodes
    wait:
      check: {kube: {apiVersion: v1, kind: Node}, where: "is_ready(item)"}
      until: count >= 5
      interval: 10s
      timeout: 1m
  - id: small-batches
    title: Batches small enough
    gate:
      require: ["inputs.batchSize <= 10", "steps['find-notready'].count > 0"]
      message: Lower the batch size first.
  - id: page-owner""")


def pane_text(app: Any) -> str:
    pane = app.screen.query_one(DetailPane)
    return " ".join(" ".join(s.text for s in pane.lines()).split())


@pytest.mark.parametrize("size", SIZES)
async def test_a_wait_and_a_gate_show_what_they_saw(tmp_path: Path, size: tuple[int, int]) -> None:
    rig = engine_incident(tmp_path, runbook=WAITING)  # 2 of 5 nodes Ready: the wait times out
    rig.session.run("find-notready")
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        app.screen.go_to_step("nodes-back")  # type: ignore[attr-defined]
        await pilot.pause()
        shown = pane_text(app)
        assert "wait until count >= 5" in shown and "timeout 1m · polled every 10s" in shown
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "nodes-back") == "failed")
        await until(pilot, lambda: "last seen" in pane_text(app))
        assert "✘ last seen: now 2, need >= 5 (2 of 5 Node listed)" in pane_text(app)
        rig.session.skip("nodes-back", "the nodes are replaced anyway")
        await until(pilot, lambda: status(app, "nodes-back") == "skipped")
        app.screen.go_to_step("small-batches")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "small-batches") == "failed")
        await until(pilot, lambda: "inputs.batchSize <= 10: now 50, need <= 10" in pane_text(app))
        shown = pane_text(app)
        assert "✘ inputs.batchSize <= 10: now 50, need <= 10" in shown
        assert "✔ steps['find-notready'].count > 0: now 3, need > 0" in shown


@pytest.mark.parametrize("size", SIZES)
async def test_the_batch_panel_shows_the_health_gates_value_between_batches(size: tuple[int, int]) -> None:
    app, rig = walker_app(protected=True, runbook=PAUSED_RUNBOOK)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        walker.model.batch_step = "cordon"  # type: ignore[attr-defined]
        journal = rig.session.journal
        journal.append("step.intent", {"step": "cordon", "batch": 1, "batches": 3, "kubectl": []})
        journal.append("batch.progress", {"step": "cordon", "context": "prod-par", "batch": 1, "batches": 3,
                                          "done": 1, "total": 3, "failures": 0})
        await until(pilot, lambda: any(p.waiting().startswith("pausing") for p in walker.query(BatchPanel)))
        rig.clock.elapsed += 31.0                                      # the pause is over: the gate is polled
        journal.append("wait.poll", {"step": "cordon", "poll": 2, "until": "steps['find-notready'].count > 0",
                                     "ok": False, "count": 0, "remaining": 250.0, "timeout": "5m",
                                     "current": "0", "need": "> 0", "context": "prod-par", "batch": 1})
        panel = walker.query_one(BatchPanel)
        await until(pilot, lambda: "now 0, need > 0" in panel.waiting())
        assert panel.waiting() == "waiting for the health gate: now 0, need > 0 · steps['find-notready'].count > 0"
        await pilot.pause()
        assert panel.display and any("now 0, need > 0" in s.text for s in panel.render_lines(panel.region.reset_offset))
