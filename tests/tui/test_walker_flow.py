"""Drive a whole incident through the walker with keys, as a responder would, then resume it."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui.conftest import until
from tests.tui.fakes import FixedClock, demo_incident
from tui import TuiConfirmer, make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.prompt import ChoicePrompt, TextPrompt
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio


def status(session: object, sid: str) -> str:
    return next(s.status for s in session.steps if s.id == sid)  # type: ignore[attr-defined]


async def test_a_full_drill_confirm_skip_fail_retry_cancel_notes_quit_and_resume() -> None:
    clock = FixedClock()
    confirmer = TuiConfirmer()
    incident, session = demo_incident(confirmer, protected=True, drain_targets=400, batch_delay=0.3, clock=clock)
    journal = session.journal
    app = make_app(incident=incident, confirmer=confirmer, now=clock.now)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                   # check step
        await until(pilot, lambda: status(session, "find-notready") == "succeeded")
        await pilot.press("enter")                                   # manual step ticked
        await until(pilot, lambda: status(session, "page-owner") == "succeeded")
        await pilot.press("r")                                       # cordon: ordinary y/n
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status(session, "cordon") == "succeeded")

        await pilot.press("r")                                       # drain: destructive on protected
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.query_one("#confirm-yes").disabled
        await pilot.press("y", *"prod-pa")                           # 'y' is a letter here, not a yes
        assert app.screen.query_one(Input).value == "yprod-pa"
        assert app.screen.query_one("#confirm-yes").disabled
        app.screen.query_one(Input).value = ""
        await pilot.press(*"prod-par", "enter")
        await until(pilot, lambda: "batch.progress" in journal.types())
        await pilot.press("escape")                                  # cancel between batches
        await until(pilot, lambda: status(session, "drain") != "running", timeout=10)
        assert status(session, "drain") == "failed", (journal.types()[-6:], app.focused)
        cancelled = journal.of("batch.cancelled")
        assert cancelled and cancelled[0]["done"] < 400

        await pilot.press("down", "r")                               # restart fails on first attempt
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status(session, "restart-kubelet") == "failed")
        await pilot.press("t")                                       # retry
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status(session, "restart-kubelet") == "succeeded")

        await pilot.press("ctrl+p")                                  # palette: go to a step
        await pilot.press(*"step verify")
        await until(pilot, lambda: "Go to step: Verify" in str(app.screen.query("CommandList").first().get_option_at_index(0).prompt) if app.screen.query("CommandList") else False)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen) and app.screen.selected() == "verify")
        await pilot.press("s")                                       # skip with a reason
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("enter")                                   # empty reason refused
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"nodes back", "enter")
        await until(pilot, lambda: status(session, "verify") == "skipped")

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*"kubelet cert expired", "enter")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("down", "down", "enter")                  # detected, acknowledged, *mitigated*
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("down", "down", "enter")                  # monitoring
        await until(pilot, lambda: "incident.status" in journal.types())
        await pilot.press("q")
    assert not app.is_running

    # resume: a new app over the same journal and session; finish the drain
    confirmer2 = TuiConfirmer()
    session.confirmer = confirmer2
    app2 = make_app(incident=incident, confirmer=confirmer2, now=clock.now)
    async with app2.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app2.screen, WalkerScreen))
        walker = app2.screen
        assert isinstance(walker, WalkerScreen)
        assert walker.selected() == "drain"                         # the engine's current step
        session.steps[3].batch = 400
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app2.screen, ConfirmScreen))
        await pilot.press(*"prod-par", "enter")
        await until(pilot, lambda: status(session, "drain") == "succeeded")
        await pilot.press("q")

    types = journal.types()
    for expected in ("check.result", "manual.done", "step.confirmed", "batch.cancelled", "step.skipped",
                     "note", "milestone", "incident.status"):
        assert expected in types, expected
    assert journal.of("step.skipped") == [{"step": "verify", "reason": "nodes back"}]
    assert journal.of("note") == [{"text": "kubelet cert expired"}]
    assert journal.of("milestone") == [{"name": "mitigated"}]
    assert journal.of("incident.status") == [{"status": "monitoring"}]
    assert [d["typed"] for d in journal.of("step.confirmed") if d["step"] == "drain"] == [True, True]
    assert len([d for d in journal.of("step.failed") if d["step"] == "restart-kubelet"]) == 1


async def test_an_api_error_shows_the_error_modal_and_a_timeline_entry_and_the_app_carries_on() -> None:
    confirmer = TuiConfirmer()
    incident, session = demo_incident(confirmer)
    session.steps[2].raise_error = True
    app = make_app(incident=incident, confirmer=confirmer)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        await pilot.press("down", "down", "r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "connection refused" in app.screen.message  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is walker)
        timeline = "\n".join(str(line.text) for line in walker.query_one("#timeline").lines)  # type: ignore[attr-defined]
        assert "connection refused" in timeline
        assert app.is_running


async def test_declining_keeps_the_step_open_and_c_copies_the_kubectl_equivalent() -> None:
    confirmer = TuiConfirmer()
    incident, session = demo_incident(confirmer)
    app = make_app(incident=incident, confirmer=confirmer)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("down", "down")
        await until(pilot, lambda: bool(app.screen._kubectl.get("cordon")))  # type: ignore[attr-defined]
        await pilot.press("c")
        assert copied == ["kubectl --context drill-par cordon node-0 node-1 node-2"]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: "step.declined" in session.journal.types())
        assert status(session, "cordon") == "pending"
