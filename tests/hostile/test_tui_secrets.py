"""Planted secrets through the walker (issue 12, point 7): a Secret's data, an annotation holding a
token and a ConfigMap key named password live in the cluster; a runbook lists them in check
tables, previews and confirms changes to the objects that hold them. At 80x24 and 120x40, none of
the values is ever on the screen: the detail pane, the check tables, the preview diff, the
confirmation modal (a Secret's delete shows its keys and a hash) and the timeline.

Also the typed ``secret`` input on resume (point 7 with resume): the home screen's resume asks for
it again in a masked modal, and the walker opens with it."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sandbox = pytest.importorskip("integrations.sandbox")

pytestmark = pytest.mark.anyio
CONTEXT = "secrets-lab"
DB_PASSWORD = "Vx7-lantern-Qm2-orchid"  # a Secret's data (base64 in the cluster)
CM_PASSWORD = "Kp4-harbor-Zt8-meadow"  # a ConfigMap key named password
TOKEN = "Jr3-copper-Wn6-thistle"  # an annotation holding a token
TYPED = "Hq5-granite-Bx1-willow"  # a typed secret input, asked again on resume
PLANTED = (DB_PASSWORD, base64.b64encode(DB_PASSWORD.encode()).decode(), CM_PASSWORD, TOKEN, TYPED)
TEXTUAL_SEQ = re.compile(r"\x1b\[[0-9;:]*[mHK]|\x1b\[\?[0-9;]*[hl]|\r\n|\n")

RUNBOOK = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: secrets-walk, title: Secrets through the walker, source: tests}
inputs:
  context: {type: kube-context}
steps:
  - id: configs
    title: The app's config and its credentials
    check:
      kube: {apiVersion: v1, kind: ConfigMap, namespace: shop}
      where: "item.metadata.name == 'app-config'"
      expect: count == 1
      columns:
        Name: "{{ item.metadata.name }}"
        Password: "{{ item.data.password }}"
        Token: "{{ item.metadata.annotations['ci.example.com/token'] }}"
  - id: secrets
    title: Secrets in the namespace
    check:
      kube: {apiVersion: v1, kind: Secret, namespace: shop}
      where: "item.metadata.name == 'db-creds'"
      expect: count == 1
      columns:
        Name: "{{ item.metadata.name }}"
        Data: "{{ item.data }}"
  - id: retag
    title: Re-tag the config
    action:
      annotate: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: [app-config],
                 annotations: {owner: team-b}}
  - id: drop-secret
    title: Delete the old credentials
    action:
      delete: {apiVersion: v1, kind: Secret, namespace: shop, names: [db-creds]}
"""


def scenario() -> dict[str, Any]:
    return {"name": "secrets", "context": CONTEXT, "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "db-creds", "namespace": "shop"},
         "data": {"password": base64.b64encode(DB_PASSWORD.encode()).decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "app-config", "namespace": "shop", "annotations": {"ci.example.com/token": TOKEN}},
         "data": {"password": CM_PASSWORD, "color": "blue"}}]}


@pytest.fixture
def box() -> Iterator[Any]:
    sb = sandbox.Sandbox.start(scenario())
    yield sb
    sb.stop()


def unprotected_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, runbook: str) -> Path:
    """A config with no protected contexts and a library holding ``runbook`` as ``name``."""
    config = tmp_path / "config.yaml"
    config.write_text("protectedContexts: []\n")
    monkeypatch.setenv("MITIGATE_CONFIG", str(config))
    library = tmp_path / "library"
    library.mkdir()
    (library / name).write_text(runbook)
    return library


def screen_text(app: Any) -> str:
    update = app.screen._compositor.render_full_update()
    return TEXTUAL_SEQ.sub("", str(update.render_segments(app.console)))


def assert_no_secret(app: Any, where: str) -> str:
    text = screen_text(app)
    # a narrow column wraps a value over lines: any 6 characters of one on the screen are a leak
    folded = text.lower()
    leaked = [p for p in PLANTED if any(p[i:i + 6].lower() in folded for i in range(len(p) - 5))]
    assert leaked == [], f"{where}: {leaked} on the screen"
    return text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_planted_secrets_never_reach_the_walker_screen(box: Any, tmp_path: Path, size: tuple[int, int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mitigate.cli.tui import CliLauncher
    from mitigate.journal.redact import forget_secrets
    from tests.tui.helpers import until
    from tui import make_app
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.home import HomeScreen
    from tui.screens.start import StartScreen
    from tui.screens.walker import WalkerScreen
    from tui.widgets.steps import StepList

    forget_secrets()  # nothing registered: the cluster's secrets are found by where they are
    library = unprotected_library(tmp_path, monkeypatch, "secrets.yaml", RUNBOOK)
    app = make_app(launcher=CliLauncher(tmp_path / "incidents", box.kubeconfig, library=library))
    seen: list[str] = []
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press(*"secrets-walk", "enter")
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        session = walker.incident.session
        steps = walker.query_one(StepList)
        for step in ("configs", "secrets"):
            steps.select_step(step)
            await pilot.press("r")
            await until(pilot, lambda s=step: str(session.step_state(s).status) == "succeeded")
            await pilot.pause(0.3)
            seen.append(assert_no_secret(app, f"detail pane after the {step} check"))
            for _ in range(3):
                await pilot.press("pagedown")
                await pilot.pause(0.1)
                seen.append(assert_no_secret(app, f"detail pane of {step}, scrolled"))
        steps.select_step("retag")
        await pilot.press("p")  # the preview: the ConfigMap's diff holds password and the token annotation
        await pilot.pause(1.0)
        seen.append(assert_no_secret(app, "preview diff"))
        for step in ("retag", "drop-secret"):
            steps.select_step(step)
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.pause(0.3)
            seen.append(assert_no_secret(app, f"confirmation of {step}"))
            for _ in range(3):
                await pilot.press("pagedown")
                await pilot.pause(0.1)
                seen.append(assert_no_secret(app, f"confirmation of {step}, scrolled"))
            await pilot.press("y")
            await until(pilot, lambda s=step: str(session.step_state(s).status) == "succeeded")
            await pilot.pause(0.3)
            seen.append(assert_no_secret(app, f"walker after {step}"))
        await pilot.press("l")  # the timeline pane
        await pilot.pause(0.5)
        seen.append(assert_no_secret(app, "timeline"))
        await pilot.press("q")
    shown = "\n".join(seen)
    # what was shown is there: the tables, the configs' diff and the Secret as keys and a hash
    assert "app-config" in shown and "db-creds" in shown and "[REDACTED]" in shown
    assert box.cluster(CONTEXT).get("configmaps", "app-config", "shop")["data"]["password"] == CM_PASSWORD


RESUME_RUNBOOK = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: token-rotate, title: Rotate the CI token, source: tests}
inputs:
  context: {type: kube-context}
  apiToken: {type: secret, prompt: the new CI token}
steps:
  - id: look
    title: Look at the config
    check:
      kube: {apiVersion: v1, kind: ConfigMap, namespace: shop}
      expect: count >= 1
  - id: rotate
    title: Write the new token
    action:
      annotate: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: [app-config],
                 annotations: {ci.example.com/token: "{{ inputs.apiToken }}"}}
"""


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_typed_secret_is_asked_again_masked_when_the_tui_resumes(box: Any, tmp_path: Path, size: tuple[int, int],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """It was lost on resume (the template then failed naming it): the home screen's resume asks
    for it in a masked modal; the step then writes the real value, which no screen shows."""
    from textual.widgets import Input

    from mitigate.cli.tui import CliLauncher
    from mitigate.journal.redact import forget_secrets
    from tests.tui.helpers import until
    from tui import make_app
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.home import HomeScreen
    from tui.screens.prompt import TextPrompt
    from tui.screens.start import StartScreen
    from tui.screens.walker import WalkerScreen

    forget_secrets()
    library = unprotected_library(tmp_path, monkeypatch, "rotate.yaml", RESUME_RUNBOOK)

    def launcher() -> Any:
        return CliLauncher(tmp_path / "incidents", box.kubeconfig, library=library)

    app = make_app(launcher=launcher())
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press(*"token-rotate", "enter")
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        field = app.screen.query_one("#in-apiToken", Input)
        assert field.password
        field.value = TYPED
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        await pilot.press("r")
        await until(pilot, lambda: str(app.screen.incident.session.step_state("look").status) == "succeeded")
        await pilot.press("q")

    forget_secrets()  # a new process: the value is known nowhere but to the responder
    app2 = make_app(launcher=launcher())
    async with app2.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app2.screen, HomeScreen))
        await pilot.press("tab", "enter")  # runbooks -> incidents; resume the one there
        await until(pilot, lambda: isinstance(app2.screen, TextPrompt))
        prompt = app2.screen
        assert "apiToken" in screen_text(app2) and "never journaled" in screen_text(app2)
        box_input = prompt.query_one(Input)
        assert box_input.password
        region = box_input.region  # the field fits the screen, the question above it
        assert region.width > 10 and region.bottom <= size[1] and region.right <= size[0], region
        await pilot.press(*TYPED)
        assert_no_secret(app2, "the masked prompt, typed")  # shown as dots
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app2.screen, WalkerScreen))
        walker = app2.screen
        walker.query_one("StepList").select_step("rotate")  # type: ignore[attr-defined]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app2.screen, ConfirmScreen))
        assert_no_secret(app2, "confirmation with the secret input")
        await pilot.press("y")
        await until(pilot, lambda: str(walker.incident.session.step_state("rotate").status) == "succeeded")
        await pilot.pause(0.3)
        assert_no_secret(app2, "walker after the rotate")
        await pilot.press("q")
    cm = box.cluster(CONTEXT).get("configmaps", "app-config", "shop")
    assert cm["metadata"]["annotations"]["ci.example.com/token"] == TYPED
    journal = next((tmp_path / "incidents").rglob("journal.jsonl")).read_text()
    assert TYPED not in journal


def test_before_the_tui_runs_the_secret_is_asked_on_the_terminal_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mitigate resume ID`` resumes before the app starts: the question goes to getpass (no echo),
    its text escaped; without a terminal there is nobody to ask (the resume then says so)."""
    import getpass
    import sys

    from tui import TuiConfirmer

    asked: list[str] = []
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or TYPED)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    confirmer = TuiConfirmer()
    assert confirmer.ask_secret("apiToken", "secret input 'apiToken' (\x1b]52;c;aGk=\x07) again") == TYPED
    assert asked and "\x1b" not in asked[0] and "\x07" not in asked[0] and "apiToken" in asked[0]
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert confirmer.ask_secret("apiToken", "again") is None
