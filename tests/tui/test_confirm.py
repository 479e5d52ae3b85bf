"""The confirmation modal names a context only when the step acts on a cluster."""

from __future__ import annotations

import pytest

from mitigate.ports import ConfirmRequest
from tests.tui.snapshot_apps import confirm_request, walker_app
from tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.anyio

SILENCE = ConfirmRequest(step_id="quiet", title="Silence the NodeNotReady storm",
                         description="silence alertname=NodeNotReady on alertmanager default for 2h",
                         kubectl=("amtool silence add alertname=NodeNotReady --duration=2h",), context="",
                         scope="alertmanager default: 1 matcher(s)", target_count=1, destructive=False,
                         protected=False, diff="", kind="silence")


@pytest.mark.parametrize("request_, context_line", [
    (SILENCE, None),
    (confirm_request(protected=True), "context prod-par  (PROTECTED)"),
])
async def test_the_context_line_is_shown_for_cluster_steps_only(request_: ConfirmRequest,
                                                                context_line: str | None) -> None:
    app = walker_app()[0]
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        app.push_screen(ConfirmScreen(request_))
        await pilot.pause()
        shown = [str(w.render()) for w in app.screen.query("#confirm-context")]
        assert shown == ([context_line] if context_line else [])
        assert request_.scope in str(app.screen.query_one("#confirm-scope").render())
