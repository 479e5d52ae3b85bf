"""A step over many clusters is confirmed once in the walker (issue 13): the modal says "2 of 4
clusters, 4 objects", names the protected and the skipped clusters, and at 80x24 the protected
cluster's name is typed without scrolling. Real engine, in-memory clusters."""

from __future__ import annotations

from pathlib import Path

import pytest

from mitigate.cli.tui import incident_for
from mitigate.engine import IncidentMeta, Ports, Session
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock
from tests.engine.test_fan_out import FAN_OUT, four_clusters
from tests.tui.helpers import status, until
from tui import TuiConfirmer, make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.walker import WalkerScreen
from tui.widgets.batch import BatchPanel

pytestmark = pytest.mark.anyio
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
async def test_a_fan_out_is_confirmed_once_typing_the_protected_cluster(tmp_path: Path, size: tuple[int, int]) -> None:
    cluster = four_clusters(protected={"prod-par"})
    clock, confirmer = FakeClock(), TuiConfirmer()
    journal = Journal.create(tmp_path, "2026-05-04T1405Z-fan-out", actor="oncall@host", clock=clock)
    session = Session.start(load_runbook_text(FAN_OUT, "fan-out.yaml"),
                            {"clusters": "prod-par,lab-ams,lab-fra,lab-waw"}, journal,
                            Ports(cluster=cluster, confirmer=confirmer, clock=clock),
                            meta=IncidentMeta(title="NotReady nodes in four clusters"))
    session.run("find")
    app = make_app(incident=incident_for(session, cluster, on_close=journal.close), confirmer=confirmer,
                   now=clock.now)
    asked: list[ConfirmScreen] = []
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                   # the delete, over the four clusters
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        modal = app.screen
        assert isinstance(modal, ConfirmScreen)
        asked.append(modal)
        said = str(modal.query_one("#confirm-description").render())
        assert said.startswith("2 of 4 clusters, 4 objects; 2 with nothing to change, skipped")
        assert "prod-par (PROTECTED): 2 object(s)" in said and "lab-ams: 2 object(s)" in said
        assert str(modal.query_one("#confirm-protected").render()) == "PROTECTED: prod-par"
        assert str(modal.query_one("#confirm-skipped").render()) == "nothing to change, skipped: lab-fra, lab-waw"
        typed = modal.query_one("#confirm-typed")
        assert typed.region.bottom <= size[1] and typed.region.y >= 0 and app.screen.focused is typed
        await pilot.press(*"prod-par", "enter")                      # typed without scrolling
        await until(pilot, lambda: status(app, "delete") == "succeeded")
        assert isinstance(app.screen, WalkerScreen)
        timeline = app.screen.query_one("#timeline").text  # type: ignore[attr-defined]
        assert ("delete action: nothing to change in 2 cluster(s), skipped: lab-fra, lab-waw; confirmed with the "
                "context typed; delete 4/4 target(s); succeeded") in timeline
        panel = app.screen.query_one(BatchPanel)
        await until(pilot, lambda: "delete: done · 4 target(s) ok" in " ".join(
            s.text for s in panel.render_lines(panel.region.reset_offset)))  # not the last batch's "running"
    assert len(asked) == 1
    assert sorted(cluster.mutations) == [(c, "delete", n) for c in ("lab-ams", "prod-par") for n in ("n0", "n1")]
    records = [r for r in journal.records() if r.type in ("step.awaiting_confirmation", "step.context_skipped")]
    assert [r.type for r in records] == ["step.context_skipped", "step.context_skipped", "step.awaiting_confirmation"]
