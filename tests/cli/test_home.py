"""The home screen lists the team's runbooks from MITIGATE_RUNBOOKS, shadowing shown (Pilot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mitigate.cli import main
from mitigate.cli.tui import CliLauncher
from mitigate.paths import runbooks_dir
from tests.tui.helpers import until
from tui import make_app
from tui.screens.home import HomeScreen
from tui.widgets.picklist import PickList

pytestmark = pytest.mark.anyio


async def test_home_lists_a_runbook_from_mitigate_runbooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    team = tmp_path / "team"
    assert main(["new", "runbook", "web-zero", "--dir", str(team)]) == 0
    shadow = (runbooks_dir() / "apiserver-oom.yaml").read_text().replace("title: ", "title: Team edition of ", 1)
    (team / "apiserver-oom.yaml").write_text(shadow)
    monkeypatch.setenv("MITIGATE_RUNBOOKS", str(team))
    app = make_app(launcher=CliLauncher(tmp_path / "j", None))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        options = app.screen.query_one("#runbooks", PickList)
        await until(pilot, lambda: options.option_count > 1)  # the library is read off the UI thread
        shown = {item_id: pick.text.plain for item_id, pick in options.items}
    assert "Restore a Deployment scaled to zero" in shown["web-zero"]
    assert f"MITIGATE_RUNBOOKS: {team}" in shown["web-zero"]
    assert "Team edition of" in shown["apiserver-oom"] and "shadows the bundled one" in shown["apiserver-oom"]
    assert "MITIGATE_RUNBOOKS" not in shown["replace-notready-nodes"]  # bundled: no origin line
