"""A drill driven through the TUI at 100x30 to its verdict on screen: the right fix scores MITIGATED,
the wrong one (the fix skipped) NOT MITIGATED. The drill is prepared by the CLI's one preparation
(mitigate.cli.drill.start) over a real sandbox; the walker shows the verdict when the last step is done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.helpers import status, until
from tui import TuiConfirmer, make_app
from tui.screens.brief import BriefScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.prompt import TextPrompt
from tui.screens.verdict import VerdictScreen
from tui.screens.walker import WalkerScreen

pytest.importorskip("integrations.sandbox")
pytestmark = pytest.mark.anyio

RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: clear-stale, title: Clear the stale config, source: tests/tui}
inputs:
  context: {type: kube-context}
steps:
  - id: find
    title: The stale ConfigMap is there
    check:
      kube: {apiVersion: v1, kind: ConfigMap, namespace: shop}
      where: item.metadata.name == 'stale'
      expect: count == 1
  - id: delete-stale
    title: Delete the stale ConfigMap
    action: {delete: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: [stale]}}
  - id: tell
    title: Tell the team
    manual: Say in the channel that the stale config is gone.
"""

SCENARIO = {"name": "stale-config", "context": "lab",
            "description": "A stale ConfigMap breaks the shop. Mitigated = it is gone.",
            "objects": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stale", "namespace": "shop"},
                         "data": {"k": "v"}}],
            "health": [{"name": "stale config gone",
                        "absent": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "stale"}}]}


@pytest.fixture
def drill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from mitigate.cli import drill as drills
    from mitigate.cli.library import Folder, Library

    (tmp_path / "config.yaml").write_text("{}\n")
    monkeypatch.setenv("MITIGATE_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "clear-stale.yaml").write_text(RUNBOOK)
    prepared = drills.start(SCENARIO, library=Library((Folder(tmp_path / "library", "--library"),)),
                            runbook="clear-stale")
    try:
        yield prepared
    finally:
        prepared.sandbox.stop()


def walker_for(drill: Any, root: Path) -> Any:
    from mitigate.cli.tui import incident_for

    confirmer = TuiConfirmer()
    session = drill.open(root, confirmer)
    return make_app(incident=incident_for(session, drill.cluster, on_close=session.journal.close, drill=drill),
                    confirmer=confirmer)


async def walk(app: Any, pilot: Any, *, fix: bool) -> VerdictScreen:
    await until(pilot, lambda: isinstance(app.screen, BriefScreen))  # a drill opens on its brief
    assert "Mitigated when: stale config gone" in app.screen.brief
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
    await pilot.press("enter")                                       # the check
    await until(pilot, lambda: status(app, "find") == "succeeded")
    if fix:
        await pilot.press("enter", "enter")                          # move on, delete: ordinary y/n
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status(app, "delete-stale") == "succeeded")
    else:
        await pilot.press("enter", "s")                              # the wrong call: skip the fix
        await until(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press(*"not needed", "enter")
        await until(pilot, lambda: status(app, "delete-stale") == "skipped")
    await pilot.press("enter", "enter")                              # move on, tick the manual step
    await until(pilot, lambda: isinstance(app.screen, VerdictScreen), timeout=30)
    screen = app.screen
    assert isinstance(screen, VerdictScreen)
    await until(pilot, lambda: screen.verdict is not None, timeout=30)
    return screen


async def test_the_right_fix_ends_with_mitigated_on_screen(drill: Any, tmp_path: Path) -> None:
    app = walker_for(drill, tmp_path / "incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await walk(app, pilot, fix=True)
        assert screen.verdict is not None and screen.verdict.mitigated
        headline = str(screen.query_one("#verdict-headline").render())
        assert "MITIGATED" in headline and "NOT" not in headline
        assert "stale config gone" in str(screen.query_one("#verdict-text").render())
        assert "Scorecard" in str(screen.query_one("#verdict-text").render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))


async def test_the_wrong_fix_ends_with_not_mitigated_on_screen(drill: Any, tmp_path: Path) -> None:
    app = walker_for(drill, tmp_path / "incidents")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await walk(app, pilot, fix=False)
        assert screen.verdict is not None and not screen.verdict.mitigated
        assert "NOT MITIGATED" in str(screen.query_one("#verdict-headline").render())
