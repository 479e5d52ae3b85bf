"""The home screen over a large library: lines drawn only when in view, keys that reach every
runbook, incident IDs that fit at 80 columns, and a TUI import that leaves the runbook models
for later (issue 13, start-up; bench/tui_start.py measures the time)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.tui.helpers import until
from tests.tui.snapshot_apps import StaticLauncher
from tui import make_app
from tui.protocols import IncidentEntry
from tui.screens.home import HomeScreen
from tui.screens.start import StartScreen
from tui.widgets.picklist import PickList

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
LONG_ID = "2026-12-02T0026Z-nodes-notready-in-the-par-cluste-773c"


class Library200(StaticLauncher):
    def runbooks(self) -> list[Any]:
        base = super().runbooks()
        return [dataclasses.replace(rb, name=f"{rb.name}-{n:03d}", title=f"{rb.title} ({n:03d})")
                for n, rb in enumerate(base[n % len(base)] for n in range(200))]

    resumed: list[str]

    def resume(self, incident_id: str, confirmer: object) -> Any:
        self.resumed = [*getattr(self, "resumed", []), incident_id]
        raise OSError("not resumed in this test")

    def incidents(self) -> list[IncidentEntry]:
        return [IncidentEntry(LONG_ID, "Nodes NotReady in the par cluster after kernel upgrade", "investigating"),
                *super().incidents()]


def now() -> Any:
    from tests.engine.fakes import FakeClock

    return FakeClock().now


def rows(pane: PickList) -> list[str]:
    """What the pane shows, row by row."""
    return [pane.render_line(y).text for y in range(pane.window)]


@pytest.mark.parametrize("size", SIZES)
async def test_a_library_of_200_is_drawn_as_far_as_it_is_seen_and_every_runbook_is_reachable(
        size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    render_pick = PickList.render_pick

    def counting(self: PickList, index: int, width: int) -> Any:
        if self.id == "runbooks":
            drawn.append(index)
        return render_pick(self, index, width)

    monkeypatch.setattr(PickList, "render_pick", counting)
    app = make_app(launcher=Library200(), now=now())
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and len(app.screen._shown) == 200)  # noqa: SLF001
        await pilot.pause()
        pane = app.screen.query_one("#runbooks", PickList)
        in_view = pane.window // 3 + 1  # three lines a runbook (title, symptoms, tags)
        assert drawn and len(set(drawn)) <= in_view + 1, "only the runbooks in view are drawn"
        assert "▼" in rows(pane)[-1] and "more line(s) below" in rows(pane)[-1]
        await pilot.press("pagedown")
        assert pane.highlighted is not None and pane.highlighted >= in_view - 2  # about a window on
        shown = " ".join(rows(pane))
        assert f"({pane.highlighted:03d})" in shown, "the page moved the window with the highlight"
        await pilot.press("end")
        assert pane.highlighted == 199 and "(199)" in " ".join(rows(pane))
        assert len(set(drawn)) < 3 * in_view + 4, "paging draws what it shows, not the whole library"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.screen.runbook.name == pane.ids[199]  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", SIZES)
async def test_incident_ids_fit_their_column_keeping_the_date_and_the_unique_tail(size: tuple[int, int]) -> None:
    launcher = Library200()
    app = make_app(launcher=launcher, now=now())
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and bool(app.screen._shown))  # noqa: SLF001
        await pilot.pause()
        pane = app.screen.query_one("#incidents", PickList)
        shown = rows(pane)
        width = pane.content_size.width
        assert all(len(r) <= width for r in shown)
        # one incident is three rows, never wrapped: title, status and age, ID
        assert shown[0].startswith("Nodes NotReady in the par") and "investigating" in shown[1]
        id_row = shown[2].strip()
        assert id_row.startswith("2026-12-02T0026Z") and id_row.endswith("773c")
        if width >= len(LONG_ID) + 2:
            assert id_row == LONG_ID
        else:
            assert "…" in id_row and len(shown[2]) == width
        assert shown[3].startswith("Nodes NotReady in par")  # the next incident starts on the next row
        pane.focus()
        await pilot.press("down", "up", "enter")  # the highlighted incident is resumed through the launcher
        await until(pilot, lambda: getattr(launcher, "resumed", None) == [LONG_ID])


def test_importing_the_tui_leaves_the_runbook_models_for_later() -> None:
    """``mitigate home`` paints before pydantic's runbook models load (half a second, in the worker)."""
    code = ("import sys, tui, tui.screens.home; "
            "print(sorted(m for m in ('pydantic', 'mitigate.runbook.model') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_runbooks_line_says_its_first_sentence_whole() -> None:
    """A folded summary's first line stopped mid-sentence ("... cannot recover even"), with nothing
    to say it goes on; the line is its first sentence, which the list cuts with an ellipsis."""
    from tui.protocols import RunbookEntry
    from tui.screens.home import runbook_lines

    entry = RunbookEntry(name="throttle", title="Throttle API traffic", path=ROOT / "x.yaml",
                         summary="When every node retries authentication at once, the API server cannot recover even\n"
                                 "after it is fixed. Throttle first.\n")
    about = runbook_lines(entry).plain.splitlines()[1].strip()
    assert about == "When every node retries authentication at once, the API server cannot recover even after it is fixed."
