"""A complete drill driven through the TUI by keys, on the real engine, adapter and sandbox.

Start from the home screen, confirm (y/n and typed), cancel a batch, retry it,
fail a check then retry it after the world changed, skip with a reason, add a
note, a milestone and a status, quit; then ``resume`` from the home screen and
finish. The journal on disk must tell all of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from mitigate.cli.tui import CliLauncher
from mitigate.journal import Journal, list_incidents
from tests.kubectl import run_kubectl
from tests.tui.drill import CONFIG, CONTEXT, RUNBOOK, scenario
from tests.tui.helpers import status, until
from tui import make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.entry import EntryPrompt
from tui.screens.error import ErrorScreen
from tui.screens.home import HomeScreen
from tui.screens.prompt import ChoicePrompt, TextPrompt
from tui.screens.start import StartScreen
from tui.screens.walker import WalkerScreen

sandbox = pytest.importorskip("integrations.sandbox")
pytestmark = pytest.mark.anyio


class Rig:
    def __init__(self, tmp_path: Path, box: Any) -> None:
        self.tmp, self.box = tmp_path, box
        self.root = tmp_path / "incidents"
        self.library = tmp_path / "library"
        self.library.mkdir()
        (self.library / "tui-drill.yaml").write_text(RUNBOOK)

    def launcher(self) -> CliLauncher:
        return CliLauncher(self.root, self.box.kubeconfig, library=self.library)

    def records(self) -> list[Any]:
        (summary,) = list_incidents(self.root)
        journal = Journal.open(self.root, summary.id, readonly=True)
        try:
            return journal.records()
        finally:
            journal.close()


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("MITIGATE_CONFIG", str(config))
    box = sandbox.Sandbox.start(scenario())
    try:
        yield Rig(tmp_path, box)
    finally:
        box.stop()


def status_of(app: Any, sid: str) -> str:
    """The step's status in the engine once the walker shows it too (its keys act on what it shows)."""
    walker = app.screen if isinstance(app.screen, WalkerScreen) else app.walker
    if walker is None:
        return ""
    engine = str(walker.incident.session.step_state(sid).status)
    return engine if status(app, sid) == engine else ""


def types_of(app: Any) -> list[str]:
    return [r.type for r in app.incident.journal.records()] if app.incident else []


async def test_a_full_drill_from_home_to_resume_on_the_real_engine_and_sandbox(rig: Rig) -> None:
    app = make_app(launcher=rig.launcher())
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("slash", *"notready", "enter")            # search, pick the best match
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.screen.query_one("#f-context", Select).value == CONTEXT  # the only context, preselected
        app.screen.query_one("#f-commander", Input).value = "alice"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))

        await pilot.press("enter")                                   # find: a read-only check
        await until(pilot, lambda: status_of(app, "find") == "succeeded")
        assert app.screen.selected() == "find"                       # its result stays in view
        await pilot.press("enter", "enter")                          # move on; page-owner: manual, ticked
        await until(pilot, lambda: status_of(app, "page-owner") == "succeeded")

        await pilot.press("enter", "r")                              # cordon: ordinary y/n, 3 batches
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.query_one("#confirm-yes").disabled is False
        await pilot.press("y")
        await until(pilot, lambda: "batch.progress" in types_of(app))
        await pilot.press("escape")                                  # cancel during the pause
        await until(pilot, lambda: status_of(app, "cordon") == "failed")
        await pilot.press("t")                                       # retry: the rest of the nodes
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: status_of(app, "cordon") == "succeeded", timeout=20)

        await pilot.press("enter", "r")                              # owner-ack fails: no ConfigMap yet
        await until(pilot, lambda: status_of(app, "owner-ack") == "failed")
        await asyncio.to_thread(run_kubectl, rig.box.kubeconfig, "--context", CONTEXT, "-n", "shop",
                                "create", "configmap", "owner-ack", "--from-literal=by=alice", home=rig.tmp)
        await pilot.press("t")                                       # retry after the world changed
        await until(pilot, lambda: status_of(app, "owner-ack") == "succeeded")

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, EntryPrompt))
        await pilot.press(*"kubelet cert expired", "enter")          # no "when": recorded as now
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, EntryPrompt))
        await pilot.press("down", "down", "down", "enter")          # impact-start, detected, acknowledged, *mitigated*
        await until(pilot, lambda: "milestone" in types_of(app)[-2:])  # mitigated moves the status too
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("down", "down", "enter")                  # monitoring
        await until(pilot, lambda: types_of(app)[-1:] == ["incident.status"])
        await pilot.press("q")
    assert not app.is_running

    # resume from the home screen: the session is rebuilt from the journal alone
    app2 = make_app(launcher=rig.launcher())
    async with app2.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: isinstance(app2.screen, HomeScreen))
        await pilot.press("tab")                                     # runbooks -> incidents
        assert app2.focused is not None and app2.focused.id == "incidents", app2.focused
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app2.screen, (WalkerScreen, ErrorScreen)))
        assert isinstance(app2.screen, WalkerScreen), getattr(app2.screen, "message", "")
        walker = app2.screen
        assert isinstance(walker, WalkerScreen)
        assert walker.selected() == "delete-stale"                  # the engine's current step
        await pilot.press("r")                                       # destructive on protected: typed
        await until(pilot, lambda: isinstance(app2.screen, ConfirmScreen))
        assert app2.screen.query_one("#confirm-yes").disabled
        await pilot.press("y")                                       # a letter here, not a yes
        assert app2.screen.query_one(Input).value == "y"
        app2.screen.query_one(Input).value = ""
        await pilot.press(*CONTEXT, "enter")
        await until(pilot, lambda: status_of(app2, "delete-stale") == "succeeded")
        await pilot.press("enter", "s")                                       # skip verify with a reason
        await until(pilot, lambda: isinstance(app2.screen, TextPrompt))
        await pilot.press("enter")                                   # an empty reason is refused
        assert isinstance(app2.screen, TextPrompt)
        await pilot.press(*"nodes replaced by the provider", "enter")
        await until(pilot, lambda: status_of(app2, "verify") == "skipped")
        assert not isinstance(app2.screen, ErrorScreen)
        await pilot.press("q")

    records = rig.records()
    types = [r.type for r in records]
    of = {t: [r.data for r in records if r.type == t] for t in types}
    assert of["incident.opened"][0]["commander"] == "alice"
    assert of["incident.opened"][0]["contexts"] == [CONTEXT]
    assert of["manual.done"] == [{"step": "page-owner"}]
    assert [c["done"] for c in of["batch.cancelled"]] == [1]
    assert [f["step"] for f in of["step.failed"]] == ["cordon", "owner-ack"]
    assert "cancelled" in of["step.failed"][0]["error"]
    assert [s["step"] for s in of["step.succeeded"]] == ["find", "cordon", "owner-ack", "delete-stale"]
    assert of["step.skipped"] == [{"step": "verify", "reason": "nodes replaced by the provider"}]
    assert [n["text"] for n in of["note"]] == ["kubelet cert expired"]
    assert [m["name"] for m in of["milestone"]] == ["started", "mitigated"]
    # the mitigated milestone moves the status to monitoring, then the responder sets it (again) by hand
    assert [s["status"] for s in of["incident.status"]] == ["investigating", "monitoring", "monitoring"]
    assert [(c["step"], c["typed"]) for c in of["step.confirmed"]] == [
        ("cordon", False), ("cordon", False), ("delete-stale", True)]
    cordoned = sorted(t["target"] for o in of["step.outcome"] if o["step"] == "cordon" for t in o["results"])
    assert cordoned == ["Node/n0", "Node/n1", "Node/n2"]                  # each node exactly once
    got = run_kubectl(rig.box.kubeconfig, "--context", CONTEXT, "get", "nodes", "-o", "json", home=rig.tmp)
    cordoned_now = sorted(n["metadata"]["name"] for n in json.loads(got.stdout)["items"]
                          if n["spec"].get("unschedulable"))
    assert cordoned_now == ["n0", "n1", "n2"]
    gone = run_kubectl(rig.box.kubeconfig, "--context", CONTEXT, "-n", "shop", "get", "configmap", "stale",
                       home=rig.tmp, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
