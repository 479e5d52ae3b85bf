"""Hostile cluster and runbook text, end to end (issue 12, point 5 and the "Must show" suite).

A sandbox whose objects carry OSC 52 (clipboard), ESC[2J (clear screen), C1 CSI, bidi overrides,
Rich markup (``[on red]``, ``[link=...]``, ``[/bold]x`` that crashed the TUI), shell
metacharacters and a 20,000-character string, in annotations, condition messages and ConfigMap
data; a runbook whose title, descriptions, columns and inputs carry them too. Driven through
``run --plan``, ``run --auto-approve``, the journal, ``incidents``, both postmortem formats and
the TUI (Pilot): no control byte is emitted, markup is shown as typed, nothing crashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli import main
from mitigate.journal import list_incidents

sandbox = pytest.importorskip("integrations.sandbox")

CONTEXT = "hostile-lab"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
CLEAR = "\x1b[2J\x1b[H"
C1 = "\x9b31mred\x9b0m"
BIDI = "\u202etxt.exe"
MARKUP = "[on red]ALL CLEAR[/on red] [link=https://evil.example]docs[/link] [/bold]x"
SHELL = "$(touch /tmp/pwned); `id` | sh && echo ok"
LONG = "L" * 20_000
ROLE = "$(touch pwned); `id` | sh [on red]ALL CLEAR[bold]"  # RBAC names only refuse '/' and '%'
HOSTILE = f"{OSC52}{CLEAR}{C1}{BIDI} {MARKUP} {SHELL} \r overwritten"

# Control bytes and the invisible characters that reorder text; Textual's own output is SGR and
# cursor-position sequences, removed before looking (a hostile SGR would still show as \u001b).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TEXTUAL_SEQ = re.compile(r"\x1b\[[0-9;:]*[mHK]|\x1b\[\?[0-9;]*[hl]|\r\n|\n")


def assert_clean(text: str, where: str) -> None:
    found = UNSAFE.search(text)
    assert found is None, f"{where}: control character {found.group()!r} at {found.start()}: " \
                          f"{text[max(0, found.start() - 40):found.start() + 40]!r}"


RUNBOOK = r'''apiVersion: mitigate/v1
kind: Runbook
metadata:
  name: hostile
  title: "Hostile \e]52;c;aGk=\a [on red]title[/on red] [/bold]x"
  source: tests/hostile
  summary: "summary \e[2J [link=https://evil.example]x[/link]"
inputs:
  context: {type: kube-context}
  note: {type: string, default: "\e]52;c;aGk=\a [/bold]x $(id) \x9b31m"}
steps:
  - id: find
    title: "Find \e[2J NotReady [on red]nodes[/on red]"
    description: "Nodes \e]52;c;aGk=\a whose **Ready** is not `True` [/bold]x"
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count > 0
      columns:
        "Node [/bold]": "{{ item.metadata.name }}"
        Note: "{{ item.metadata.annotations.hostile }}"
        Message: "{{ condition(item, 'Ready').message }}"
  - id: annotate
    title: "Annotate \e[2J the stale config"
    action:
      annotate:
        apiVersion: v1
        kind: ConfigMap
        namespace: shop
        names: [stale]
        annotations: {note: "{{ inputs.note }}"}
  - id: roles
    title: "Roles with hostile names"
    check:
      kube: {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole}
      where: "item.metadata.name == '--all' or '[on red]' in item.metadata.name"
      expect: count == 2
      columns:
        Name: "{{ item.metadata.name }}"
'''


def scenario() -> dict[str, Any]:
    def node(name: str, ready: bool) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "annotations": {"hostile": HOSTILE, "long": LONG}},
                "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                       "reason": "Hostile", "message": HOSTILE + LONG[:500]}]}}

    return {"name": "hostile", "context": CONTEXT, "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "stale", "namespace": "shop", "annotations": {"hostile": HOSTILE}},
         "data": {"hostile": HOSTILE, "long": LONG}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "--all"},
         "rules": []},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": ROLE},
         "rules": []},
        node("n0", False), node("n1", True)]}


class Rig:
    def __init__(self, tmp: Path, box: Any) -> None:
        self.tmp, self.box = tmp, box
        self.root = tmp / "incidents"
        self.library = tmp / "library"
        self.library.mkdir()
        self.runbook = self.library / "hostile.yaml"
        self.runbook.write_text(RUNBOOK)

    def cli(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
        code = main(["--journal-dir", str(self.root), *argv])
        out = capsys.readouterr()
        return code, out.out + out.err


@pytest.fixture(scope="module")
def box() -> Iterator[Any]:
    sb = sandbox.Sandbox.start(scenario())
    yield sb
    sb.stop()


@pytest.fixture
def rig(tmp_path: Path, box: Any, monkeypatch: pytest.MonkeyPatch) -> Rig:
    config = tmp_path / "config.yaml"
    config.write_text("protectedContexts: []\n")
    monkeypatch.setenv("MITIGATE_CONFIG", str(config))
    return Rig(tmp_path, box)


def test_the_sandbox_really_holds_the_hostile_text(box: Any) -> None:
    node = box.cluster(CONTEXT).get("nodes", "n0")
    assert node["metadata"]["annotations"]["hostile"] == HOSTILE
    cm = box.cluster(CONTEXT).get("configmaps", "stale", "shop")
    assert cm["data"]["long"] == LONG


def test_plan_auto_approve_journal_incidents_and_postmortems_emit_no_control_byte(
        rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    kc = str(rig.box.kubeconfig)
    code, out = rig.cli(capsys, "run", str(rig.runbook), "--context", CONTEXT, "--kubeconfig", kc, "--plan")
    assert code == 0, out
    assert_clean(out, "run --plan")
    assert "\\u001b]52" in out  # shown, escaped: the responder sees that the input holds an escape
    assert "[/bold]x" in out

    code, out = rig.cli(capsys, "run", str(rig.runbook), "--context", CONTEXT, "--kubeconfig", kc,
                        "--auto-approve")
    assert code == 0, out
    assert_clean(out, "run --auto-approve")
    (incident,) = list_incidents(rig.root)
    cm = rig.box.cluster(CONTEXT).get("configmaps", "stale", "shop")
    assert cm["metadata"]["annotations"]["note"].startswith("\x1b]52")  # the value itself is data, kept

    for argv in (("journal", "show", incident.id), ("journal", "show", incident.id, "--json"),
                 ("journal", "verify", incident.id), ("incidents",), ("incidents", "--json")):
        code, out = rig.cli(capsys, *argv)
        assert code == 0, (argv, out)
        assert_clean(out, " ".join(argv))

    for fmt in ("md", "html"):
        target = rig.tmp / f"pm.{fmt}"
        code, out = rig.cli(capsys, "postmortem", incident.id, "--format", fmt, "-o", str(target))
        assert code == 0, out
        assert_clean(target.read_text(), f"postmortem {fmt}")
        code, out = rig.cli(capsys, "postmortem", incident.id, "--format", fmt)
        assert code == 0
        assert_clean(out, f"postmortem {fmt} on stdout")


def screen_output(app: Any) -> str:
    """What the driver would write for a full repaint of the current screen."""
    update = app.screen._compositor.render_full_update()
    return str(update.render_segments(app.console))


def screen_text(app: Any) -> str:
    return TEXTUAL_SEQ.sub("", screen_output(app))


@pytest.mark.anyio
async def test_the_tui_shows_hostile_text_as_data_and_does_not_crash(rig: Rig) -> None:
    from textual.widgets import Input

    from mitigate.cli.tui import CliLauncher
    from tests.tui.helpers import until
    from tui import make_app
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.home import HomeScreen
    from tui.screens.start import StartScreen
    from tui.screens.walker import WalkerScreen

    app = make_app(launcher=CliLauncher(rig.root, rig.box.kubeconfig, library=rig.library))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert_clean(screen_text(app), "home")
        assert "[on red]title[/on red]" in screen_text(app)  # markup shown as typed, not applied
        await pilot.press(*"hostile", "enter")
        await until(pilot, lambda: isinstance(app.screen, StartScreen))
        assert_clean(screen_text(app), "start form")
        app.screen.query_one("#f-commander", Input).value = "[/bold]x \x1b]52;c;aGk=\x07"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
        walker = app.screen
        await pilot.press("enter")  # the check: its table holds the hostile annotations
        await until(pilot, lambda: str(walker.incident.session.step_state("find").status) == "succeeded")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert_clean(text, "walker after the check")
        assert "[on red]" in text and "\\u001b" in text
        await pilot.press("down", "p")  # preview the annotate step: kubectl and diff with the input
        await pilot.pause(1.0)
        assert_clean(screen_text(app), "walker preview")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert_clean(screen_text(app), "confirmation")
        await pilot.press("y")
        await until(pilot, lambda: str(walker.incident.session.step_state("annotate").status) == "succeeded")
        await pilot.pause(0.3)
        assert_clean(screen_text(app), "walker after the action")
        from tui.widgets.steps import StepList

        walker.query_one(StepList).select_step("roles")
        await pilot.press("r")  # a check whose rows are hostile names: shown as typed
        await until(pilot, lambda: str(walker.incident.session.step_state("roles").status) == "succeeded")
        await pilot.pause(0.3)
        text = screen_text(app)
        assert_clean(text, "walker after the roles check")
        assert "--all" in text and "[on red]ALL CLEAR[bold]" in text
        await pilot.press("q")
    assert app.return_code in (0, None)
