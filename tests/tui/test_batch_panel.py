"""The batch panel of a finished step tells the truth: an unbatched action that changed its one
target reads 100% done, not "0%  ETA --:--:--" under a "done" title (seen in tmux on
apiserver-oom's raise-resources); a failed one shows what was done and no ETA."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from mitigate.events import Event
from tui.widgets.batch import BatchPanel

pytestmark = pytest.mark.anyio


class PanelApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BatchPanel(clock=lambda: 0.0)


def shown(panel: BatchPanel) -> str:
    return "\n".join(line.plain for line in panel.render().renderables)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_finished_step_reads_what_it_did(size: tuple[int, int]) -> None:
    app = PanelApp()
    async with app.run_test(size=size) as pilot:
        panel = app.query_one(BatchPanel)
        panel.begin("raise-resources", preparing=True)
        panel.results([{"target": "Deployment/kube-system/kube-apiserver", "ok": True}])
        panel.finished(Event.STEP_SUCCEEDED, {"step": "raise-resources"})
        await pilot.pause()
        text = shown(panel)
        assert "raise-resources: done · 1 target(s) ok" in text
        assert "100%" in text and "ETA" not in text and " 0%" not in text

        panel.begin("cordon", preparing=True)
        panel.results([{"target": "Node/a", "ok": True}, {"target": "Node/b", "ok": False, "message": "403"}])
        panel.finished(Event.STEP_FAILED, {"step": "cordon", "error": "1 of 2 targets failed"})
        await pilot.pause()
        text = shown(panel)
        assert "cordon: failed · 1 of 2 targets failed" in text and "100%" in text and "ETA" not in text
        assert "✘ Node/b 403" in text
