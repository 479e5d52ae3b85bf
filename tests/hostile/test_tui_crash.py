"""A crash of the TUI exits non-zero with the incident ID and a resume hint (issue 12, point 5).

Before, ``[/bold]x`` in a step raised a MarkupError, Textual printed a traceback and mitigate
exited 0: a script or a wrapper could not tell, and nothing said the incident was still open.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.engine_rig import engine_incident
from tui import make_app
from tui.app import exit_status
from tui.widgets.timeline import Timeline

pytestmark = pytest.mark.anyio


async def test_a_crash_exits_non_zero_naming_the_incident_and_how_to_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rig = engine_incident(tmp_path)

    def boom(self: Timeline, *args: object, **kwargs: object) -> None:
        raise RuntimeError("a widget failed")

    monkeypatch.setattr(Timeline, "add_records", boom)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer)
    with pytest.raises(RuntimeError, match="a widget failed"):  # run_test re-raises; run() prints it
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.2)
    code = exit_status(app)
    err = capsys.readouterr().err
    assert code != 0
    incident_id = rig.incident.journal.id
    assert f"incident {incident_id}" in err and f"mitigate resume {incident_id}" in err


async def test_a_clean_quit_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rig = engine_incident(tmp_path)
    app = make_app(incident=rig.incident, confirmer=rig.confirmer)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("q")
    assert exit_status(app) == 0
    assert "resume" not in capsys.readouterr().err
