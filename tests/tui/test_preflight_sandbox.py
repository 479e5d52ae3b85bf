"""The RBAC preflight in the TUI against the real sandbox: the limited user of
``tests/sandbox/scenarios/rbac.yaml`` (may read pods in ``shop``, may not delete them) walks a
runbook through the walker; the preview's dry run and the change itself are refused in words on the
screen, at 80x24 and 120x40, before any confirmation, and the sandbox is unchanged. Nothing is faked:
the launcher is the CLI's, the adapter asks the sandbox's SelfSubjectAccessReview over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli.tui import CliLauncher
from tests.sandbox.helpers import SCENARIOS
from tests.tui.helpers import status, until
from tui import TuiConfirmer, make_app
from tui.protocols import RunbookEntry, StartRequest
from tui.screens.confirm import ConfirmScreen
from tui.screens.error import ErrorScreen
from tui.screens.walker import WalkerScreen

sandbox = pytest.importorskip("integrations.sandbox")
pytestmark = pytest.mark.anyio

CONTEXT = "rbac@ops-limited"
RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata:
  name: tui-rbac
  title: Replace the web pod
  source: tests/tui
  summary: Find the web pod and delete it so its controller replaces it.
  tags: [rbac]
inputs:
  context: {type: kube-context}
steps:
  - id: find-web
    title: Find the web pod
    check:
      kube: {apiVersion: v1, kind: Pod, namespace: shop}
      expect: count > 0
  - id: delete-web
    title: Delete the web pod
    action: {delete: {apiVersion: v1, kind: Pod, namespace: shop, names: [web-1]}}
"""


@pytest.fixture(scope="module")
def box() -> Iterator[Any]:
    sb = sandbox.Sandbox.start(SCENARIOS / "rbac.yaml")
    yield sb
    sb.stop()


def screen_text(app: Any, selector: str | None = None) -> str:
    """What the terminal shows, row by row, cropped to the widget ``selector`` names (a modal's box:
    the panes around it are left out)."""
    rows = [strip.text for strip in app.screen._compositor.render_strips()]
    if selector is None:
        return "\n".join(rows)
    r = app.screen.query_one(selector).region
    return "\n".join(row[r.x:r.x + r.width] for row in rows[r.y:r.y + r.height])


def flat(text: str) -> str:
    """The screen as one line of words (a long message wraps; borders and gutters go)."""
    return " ".join(re.sub(r"[│┃║▌▐█▀▄▔▁|]", " ", text).split())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_limited_users_denial_is_on_screen_before_any_confirmation(
        box: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "tui-rbac.yaml").write_text(RUNBOOK)
    launcher = CliLauncher(tmp_path / "incidents", box.kubeconfig, library=library)
    entry = next(e for e in launcher.runbooks() if e.name == "tui-rbac")
    assert isinstance(entry, RunbookEntry)
    confirmer = TuiConfirmer()
    incident = launcher.start(StartRequest(runbook=entry, title="web pod stuck", severity="SEV3", commander="",
                                           context=CONTEXT, inputs={"context": CONTEXT}), confirmer)
    box.clear_request_log()
    app = make_app(incident=incident, confirmer=confirmer)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                    # the read: allowed
        await until(pilot, lambda: status(app, "find-web") == "succeeded")
        await pilot.press("enter")                                    # move on to the deletion
        await pilot.press("p")                                        # its preview: a server-side dry run
        await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        shown = flat(screen_text(app, "#error-box"))
        assert ('403 Forbidden: pods "web-1" is forbidden: User "ops-limited" cannot delete resource "pods" in API '
                'group "" in the namespace "shop"') in shown, shown      # the dry run is authorised as the real one
        await pilot.press("enter")                                    # close it
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("enter")                                    # run it: the preflight refuses
        await until(pilot, lambda: status(app, "delete-web") == "failed")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        shown = flat(screen_text(app, "DetailPane"))  # the failed step's detail says why, in full
        assert f"RBAC preflight: step delete-web on {CONTEXT}: you cannot delete pods web-1 in shop" in shown, shown
    assert box.cluster().get("pods", "web-1", "shop")  # nothing changed
    mutations = [e for e in box.request_log if e.mutating]
    assert all(e.verb == "delete" and e.status == 403 for e in mutations), mutations  # only the refused dry run
    records = [r.type for r in incident.journal.records()]
    assert "step.intent" not in records and "runbook.preflight" in records
    incident.session.journal.close()
