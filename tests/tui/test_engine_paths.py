"""Decision steps, roll back and backdated entries driven through the walker on the real engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from tests.tui.engine_rig import Rig, engine_incident
from tests.tui.helpers import status, until
from tui import make_app
from tui.app import MitigateApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.entry import EntryPrompt
from tui.screens.prompt import ChoicePrompt
from tui.screens.walker import WalkerScreen

pytestmark = pytest.mark.anyio

PATHS = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: pick-a-path, title: Pick a path, source: tests/tui}
inputs:
  context: {type: kube-context}
steps:
  - id: which
    title: Cordon or page?
    decision:
      prompt: Cordon the broken nodes ourselves, or page the pool owner?
      options:
        - {id: cordon, label: Cordon them}
        - {id: page, label: Page the owner}
  - id: cordon-a
    title: Cordon node-0
    when: steps['which'].choice == 'cordon'
    action: {cordon: {names: [node-0]}}
  - id: cordon-b
    title: Cordon node-1
    when: steps['which'].choice == 'cordon'
    action: {cordon: {names: [node-1]}}
  - id: page
    title: Page the owner
    when: steps['which'].choice == 'page'
    manual: Page the node-pool owner.
"""


def walker_app(tmp_path: Path, runbook: str = PATHS) -> tuple[MitigateApp, Rig]:
    rig = engine_incident(tmp_path, runbook=runbook)
    return make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now), rig


def timeline_text(app: MitigateApp) -> str:
    walker = app.walker
    assert walker is not None
    return str(walker.query_one("#timeline").text)  # type: ignore[attr-defined]  (one line per entry)


def cordoned(rig: Rig, name: str) -> bool:
    return bool(rig.cluster.nodes["drill-par"][name]["spec"].get("unschedulable"))


def is_selected(app: MitigateApp, step: str) -> Callable[[], bool]:
    return lambda: app.walker is not None and app.walker.selected() == step


def has_status(app: MitigateApp, step: str, value: str) -> Callable[[], bool]:
    return lambda: status(app, step) == value


async def choose(pilot: object, app: MitigateApp, option: str) -> None:
    """Pick ``option`` in the decision modal with the keyboard."""
    await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))  # type: ignore[arg-type]
    options = app.screen.query_one(OptionList)
    for _ in range(options.option_count):
        if options.highlighted_option is not None and options.highlighted_option.id == option:
            break
        await pilot.press("down")  # type: ignore[attr-defined]
    assert options.highlighted_option is not None and options.highlighted_option.id == option
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_a_decision_routes_the_walk_to_the_chosen_branch(tmp_path: Path) -> None:
    app, rig = walker_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")
        await choose(pilot, app, "page")
        await until(pilot, lambda: status(app, "which") == "succeeded")
        # their when: is now false: skipped and journaled as the decision lands, no key pressed;
        # the highlight stays on the decision until the responder moves on, straight to the branch taken
        await until(pilot, lambda: status(app, "cordon-b") == "skipped")
        assert app.screen.selected() == "which"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.selected() == "page")  # type: ignore[attr-defined]
        assert status(app, "cordon-a") == status(app, "cordon-b") == "skipped"
        await pilot.press("enter")                                     # the manual step, ticked
        await until(pilot, lambda: status(app, "page") == "succeeded")
        await until(pilot, lambda: "page" in timeline_text(app).split("which decision: chose page")[-1])
        assert "cordon-a skipped: condition false" in timeline_text(app)
    records = rig.session.journal.records()
    assert [r.data for r in records if r.type == "decision"] == [{"step": "which", "choice": "page"}]
    assert [r.data["step"] for r in records if r.type == "step.skipped"] == ["cordon-a", "cordon-b"]
    assert rig.cluster.mutations == []                               # the cordon branch never ran


async def _cordon_both(pilot: Any, app: MitigateApp) -> None:
    """Choose the cordon branch and run cordon-a then cordon-b, each confirmed with y."""
    await pilot.press("enter")
    await choose(pilot, app, "cordon")
    for step in ("cordon-a", "cordon-b"):
        await until(pilot, lambda: status(app, "which") == "succeeded")
        await pilot.press("enter")                                 # move on from the finished step
        await until(pilot, is_selected(app, step))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, has_status(app, step, "succeeded"))


async def test_b_rolls_back_confirmed_steps_most_recent_first(tmp_path: Path) -> None:
    app, rig = walker_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await _cordon_both(pilot, app)
        assert cordoned(rig, "node-0") and cordoned(rig, "node-1")
        await pilot.press("b")
        for step in ("cordon-b", "cordon-a"):                          # each undo is confirmed, newest first
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert app.screen.request.step_id == step  # type: ignore[attr-defined]
            await pilot.press("y")
            await until(pilot, has_status(app, step, "rolled-back"))
        await until(pilot, lambda: "cordon-a rollback: undone" in timeline_text(app))
        shown = timeline_text(app)
        assert shown.index("cordon-b rollback: undone") < shown.index("cordon-a rollback: undone")
    assert not cordoned(rig, "node-0") and not cordoned(rig, "node-1")
    rolled = [r.data["step"] for r in rig.session.journal.records() if r.type == "rollback.step"]
    assert rolled == ["cordon-b", "cordon-a"]


async def type_entry(pilot: object, app: MitigateApp, *, text: str | None, when: str, tz: str) -> None:
    """Fill the note/milestone dialog's fields (``text`` None: the milestone list keeps its pick)."""
    screen = app.screen
    assert isinstance(screen, EntryPrompt)
    if text is not None:
        screen.query_one("#prompt-input").value = text  # type: ignore[attr-defined]
    screen.query_one("#entry-when").value = when  # type: ignore[attr-defined]
    screen.query_one("#entry-tz").value = tz  # type: ignore[attr-defined]
    screen.query_one("#entry-tz").focus()
    await pilot.press("enter")  # type: ignore[attr-defined]


async def test_notes_and_milestones_can_be_backdated_and_a_zone_mismatch_is_shown(tmp_path: Path) -> None:
    app, rig = walker_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, EntryPrompt))
        await type_entry(pilot, app, text="alerts fired in #inc-par", when="2026-05-04 13:50", tz="")
        error = str(app.screen.query_one("#prompt-error").render())
        assert "needs its zone" in error                              # refused inline, the dialog stays
        await type_entry(pilot, app, text="alerts fired in #inc-par", when="2026-05-04 13:50", tz="Europe/Paris")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))

        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, EntryPrompt))
        assert app.screen.query_one(OptionList).highlighted_option.id == "impact-start"  # type: ignore[union-attr]
        await type_entry(pilot, app, text=None, when="2026-05-04 13:40", tz="CET")  # CET in May: Paris is on CEST
        assert isinstance(app.screen, EntryPrompt)
        assert "zone mismatch" in str(app.screen.query_one("#prompt-error").render())
        await pilot.press("enter")                                   # recorded anyway, flagged
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await until(pilot, lambda: "milestone impact-start" in timeline_text(app))
        shown = timeline_text(app)
        # short times (HH:MM:SS UTC), and the time as it was typed with its zone
        assert "note: alerts fired in #inc-par · at 4 May 11:50:00 UTC (13:50 Europe/Paris)" in shown
        assert "milestone impact-start · at 4 May 12:40:00 UTC (13:40 CET) ⚠ CET does not fit" in shown
    records = {r.type: r.data for r in rig.session.journal.records() if r.type in ("note", "milestone")}
    assert records["note"]["at"].startswith("2026-05-04T11:50:00")
    assert records["note"]["declared"]["mismatch"] is False
    assert records["milestone"]["name"] == "impact-start"
    assert records["milestone"]["at"].startswith("2026-05-04T12:40:00")
    assert records["milestone"]["declared"]["mismatch"] is True


async def test_shift_b_rolls_back_the_highlighted_step_only(tmp_path: Path) -> None:
    app, rig = walker_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await _cordon_both(pilot, app)
        await pilot.press("up")                                      # highlight cordon-a, the older one
        await until(pilot, is_selected(app, "cordon-a"))
        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.request.step_id == "cordon-a"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, has_status(app, "cordon-a", "rolled-back"))
        assert status(app, "cordon-b") == "succeeded"
    assert not cordoned(rig, "node-0") and cordoned(rig, "node-1")
