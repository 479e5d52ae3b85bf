"""Pilot tests, one per bug a responder hit (issue 13): each fails on the code before its fix."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Label

from mitigate.cli.tui import CliLauncher
from mitigate.ports import ConfirmDecision
from tests.tui.engine_rig import RUNBOOK, engine_incident
from tests.tui.helpers import status, until
from tests.tui.snapshot_apps import StaticLauncher, home_app, long_confirm_request, walker_app
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.home import HomeScreen
from tui.screens.start import StartScreen
from tui.screens.walker import WalkerScreen
from tui.widgets.detail import DetailPane
from tui.widgets.steps import StepList

pytestmark = pytest.mark.anyio


def pane_text(app: Any) -> str:
    """The detail pane's lines as one line of words (wrapping aside)."""
    pane = app.screen.query_one(DetailPane)
    return " ".join(" ".join(s.text for s in pane.lines()).split())


async def test_no_kubeconfig_on_home_is_a_line_on_the_form_not_a_traceback(tmp_path: Path) -> None:
    app = make_app(launcher=CliLauncher(tmp_path, tmp_path / "no-such-kubeconfig"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and bool(app.screen._shown))  # noqa: SLF001
        await pilot.press("enter")                                   # the first runbook
        await until(pilot, lambda: isinstance(app.screen, StartScreen) and bool(app.screen.query("#start-form")))
        said = str(app.screen.query_one("#start-context-error", Label).render())
        assert "no-such-kubeconfig" in said or "kubeconfig" in said
        assert app.screen.query_one("#start").disabled                # nothing to start against
        assert app.is_running and not isinstance(app.screen, ErrorScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))


class LongLibrary(StaticLauncher):
    """200 runbooks whose summaries are paragraphs: what froze the search (an exponential matcher)."""

    def runbooks(self) -> list[Any]:
        para = " ".join(["When every node retries authentication at once the API server cannot recover"] * 6)
        base = super().runbooks()
        return [dataclasses.replace(rb, name=f"{rb.name}-{n}", summary=para) for n in range(67) for rb in base]


async def test_search_then_down_then_enter_opens_the_best_match_at_once() -> None:
    app = make_app(launcher=LongLibrary(), now=home_app().now)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and bool(app.screen._shown))  # noqa: SLF001
        started = time.monotonic()
        await pilot.press("slash", *"notready", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, StartScreen), timeout=30)
        # Textual's fuzzy matcher took minutes here (and gigabytes); a loaded CI machine takes seconds
        assert time.monotonic() - started < 15, "typing a search must not stall the screen"
        assert app.screen.runbook.title == "Replace NotReady nodes"  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["q", "escape"])
async def test_q_and_esc_quit_home(key: str) -> None:
    app = home_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("slash", *"nodes")
        assert app.screen.query_one("#search", Input).value == "nodes"  # q would be typed here
        await pilot.press("escape")                                  # out of the search, to the list
        assert app.is_running
        await pilot.press(key)
        await until(pilot, lambda: not app.is_running, timeout=5)


async def test_a_check_result_stays_in_view_and_the_cursor_never_jumps(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.pause(0.3)
        assert app.screen.query_one(StepList).selected_id == "find-notready"
        shown = pane_text(app)
        assert "check result" in shown and "node-0" in shown
        assert "next: page-owner" in shown
        from tui.widgets.keybar import KeyBar

        bar = app.screen.query_one(KeyBar).text
        assert "Cancel batch" not in bar and "Help" in bar and "Quit" in bar  # the keys that work now
        await pilot.press("enter")                                   # the responder moves on
        assert app.screen.query_one(StepList).selected_id == "page-owner"


NOTIFY = RUNBOOK.replace("  - id: page-owner", """\
  - id: tell-status
    title: Tell the status page
    notify:
      channels: [status]
      status: identified
      message: "{{ incident.title }}: we found the NotReady nodes"
  - id: page-owner""")


async def test_a_failed_notify_is_a_warning_not_a_green_tick(tmp_path: Path) -> None:
    rig = engine_incident(tmp_path, runbook=NOTIFY)  # no notifier configured: the delivery fails
    app = make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")
        await until(pilot, lambda: status(app, "find-notready") == "succeeded")
        await pilot.press("enter", "enter")                          # move on; send
        await until(pilot, lambda: status(app, "tell-status") == "succeeded")
        await pilot.pause(0.3)
        steps = app.screen.query_one(StepList)
        line = next(s.text for s in steps.lines() if "Tell the status page" in s.text)
        assert line.startswith("⚠") and "✔" not in line
        shown = pane_text(app)
        assert "[warning]" in shown and "not delivered to status" in shown
        assert "Nodes NotReady in par: we found the NotReady nodes" in shown  # the rendered message


async def test_declining_a_rollback_leaves_the_step_succeeded(tmp_path: Path) -> None:
    app, rig = walker_app(protected=False)
    rig.confirmer.confirm = lambda request: ConfirmDecision(approved=True)  # type: ignore[method-assign]
    rig.session.run("cordon")  # applied before the walker opens
    del rig.confirmer.confirm  # from here on the modal answers
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await until(pilot, lambda: status(app, "cordon") == "succeeded")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await until(pilot, lambda: "rollback.finished" in [r.type for r in rig.session.journal.records()])
        await pilot.pause(0.3)
        assert status(app, "cordon") == "succeeded"
        assert str(rig.session.step_state("cordon").status) == "succeeded"
        assert rig.session.current() is not None and rig.session.current().id == "delete-nodes"  # not blocked


async def test_a_protected_delete_is_confirmed_at_80x24_by_typing_without_scrolling() -> None:
    app, _ = walker_app(protected=True)
    decided: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        app.push_screen(ConfirmScreen(long_confirm_request()), decided.append)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        screen = app.screen
        for selector in ("#confirm-typed", "#confirm-yes", "#confirm-no"):
            region = screen.query_one(selector).region
            assert region.y >= 0 and region.bottom <= 24 and region.height > 0, (selector, region)
        assert screen.query_one("#confirm-body").max_scroll_y > 0     # the diff is what scrolls
        await pilot.press(*"prod-par", "enter")
        await until(pilot, lambda: bool(decided))
    assert decided[0].approved and decided[0].typed == "prod-par"
