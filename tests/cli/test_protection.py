"""Protected contexts: one rule (built-in ``*prod*`` + config.yaml + ``--protect`` [+ journal]) on
every entry point: run (TUI, --plan, --auto-approve), drill, home, the start form and resume;
decided before the incident exists and journaled in ``incident.opened``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli import main
from mitigate.journal import Journal, list_incidents
from mitigate.protection import decide, journaled_patterns
from tests.cli.helpers import kubeconfig, write_config
from tests.engine.fakes import FakeConfirmer

pytest.importorskip("integrations.sandbox")
CTX = "lab"
RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: cordon-notready, title: Cordon NotReady nodes, source: tests}
inputs:
  context: {type: kube-context}
steps:
  - id: find
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not (item | is_ready)
      expect: count > 0
  - id: cordon
    action: {cordon: {names: "{{ steps['find'].names }}"}}
"""


def _node(name: str, ready: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.fixture
def sb(sandbox: Callable[..., Any]) -> Any:
    return sandbox({"name": "protect-tests", "context": CTX,
                    "objects": [_node(f"n{i}", ready=i % 2 == 1) for i in range(2)]})


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    path = tmp_path / "rb.yaml"
    path.write_text(RUNBOOK, encoding="utf-8")
    return path


def opened(root: Path) -> dict[str, Any]:
    (summary,) = list_incidents(root)
    journal = Journal.open(root, summary.id, readonly=True)
    try:
        return next(r.data for r in journal.records() if r.type == "incident.opened")
    finally:
        journal.close()


def mutations(sb: Any) -> list[Any]:
    return [e for e in sb.request_log if e.method in ("POST", "PUT", "PATCH", "DELETE") and not e.dry_run
            and e.resource != "selfsubjectaccessreviews"]  # access reviews change nothing


# --------------------------------------------------------------------------- the rule


def test_the_rule_adds_up_and_never_removes() -> None:
    rule = decide(["eu-*"], ["lab"], ["old-*"])
    assert rule.patterns == ("*prod*", "eu-*", "lab", "old-*")
    assert rule.protects("shop-prod-1") and rule.protects("eu-west") and rule.protects("lab")
    assert rule.protects("old-cluster") and not rule.protects("staging")
    assert decide([]).protects("prod")  # an empty config list does not drop the built-in
    data = rule.to_data()
    assert data["config"] == ["eu-*"] and data["--protect"] == ["lab"] and data["built-in"] == ["*prod*"]
    assert journaled_patterns({"protection": data}) == list(rule.patterns)
    assert journaled_patterns({}) == []


# --------------------------------------------------------------------------- run


@pytest.mark.parametrize("source", ["config", "--protect"])
def test_run_auto_approve_refuses_a_context_protected_by_config_or_flag(
        source: str, tmp_path: Path, sb: Any, runbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = []
    if source == "config":
        write_config(tmp_path, 'protectedContexts: ["la*"]\n')
    else:
        extra = ["--protect", "la*"]
    code = main(["run", str(runbook), "--context", CTX, "--kubeconfig", str(sb.kubeconfig), "--auto-approve", *extra])
    out = capsys.readouterr()
    assert code == 1, out.out + out.err
    assert "is protected: --auto-approve never acts on protected contexts" in out.out
    assert mutations(sb) == []
    protection = opened(tmp_path / "j")["protection"]
    assert "la*" in protection["patterns"] and protection["protected"] == [CTX]
    assert protection["config" if source == "config" else "--protect"] == ["la*"]


def test_run_auto_approve_acts_on_an_unprotected_context_and_journals_the_rule(
        tmp_path: Path, sb: Any, runbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(runbook), "--context", CTX, "--kubeconfig", str(sb.kubeconfig), "--auto-approve"]) == 0
    assert mutations(sb)
    protection = opened(tmp_path / "j")["protection"]
    assert protection["patterns"] == ["*prod*"] and protection["protected"] == []


def test_run_plan_marks_steps_on_a_config_protected_context(tmp_path: Path, sb: Any, runbook: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    write_config(tmp_path, 'protectedContexts: ["lab"]\n')
    assert main(["run", str(runbook), "--context", CTX, "--kubeconfig", str(sb.kubeconfig), "--plan"]) == 0
    out = capsys.readouterr().out
    assert f"Protected: {CTX}" in out and "[action] cordon PROTECTED" in out


def test_run_with_an_unknown_context_fails_before_anything_is_planned(tmp_path: Path, runbook: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    config = kubeconfig(tmp_path / "kc", "lab", "staging")
    assert main(["run", str(runbook), "--context", "nope", "--kubeconfig", str(config), "--plan"]) == 2
    err = capsys.readouterr().err
    assert "context 'nope' is not in the kubeconfig (known: lab, staging)" in err
    assert not (tmp_path / "j").exists()


def test_run_in_the_tui_uses_the_same_rule(tmp_path: Path, runbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mitigate.cli.tui as bridge

    write_config(tmp_path, 'protectedContexts: ["la*"]\n')
    seen: dict[str, Any] = {}

    def fake_walk(build: Any, cluster: Any, **_: Any) -> int:
        session = build(FakeConfirmer())
        seen["protected"] = session.ports.cluster.contexts()
        session.journal.close()
        return 0

    monkeypatch.setattr(bridge, "need_terminal", lambda command: None)
    monkeypatch.setattr(bridge, "walk", fake_walk)
    config = kubeconfig(tmp_path / "kc", "lab", "shop-prod", "staging")
    assert main(["run", str(runbook), "--context", CTX, "--kubeconfig", str(config), "--protect", "stag*"]) == 0
    assert {c.name: c.protected for c in seen["protected"]} == {"lab": True, "shop-prod": True, "staging": True}
    assert opened(tmp_path / "j")["protection"]["protected"] == ["lab"]


# --------------------------------------------------------------------------- home, start form, resume


def _launcher(tmp_path: Path, **kwargs: Any) -> Any:
    from mitigate.cli.tui import CliLauncher

    return CliLauncher(tmp_path / "j", kubeconfig(tmp_path / "kc", "lab", "shop-prod", "staging"), **kwargs)


def _start(launcher: Any, runbook: Path, context: str) -> Any:
    from tui.protocols import RunbookEntry, StartRequest

    entry = RunbookEntry(name="cordon-notready", title="Cordon", path=runbook)
    return launcher.start(StartRequest(runbook=entry, title="t", severity="SEV2", commander="me", context=context,
                                       inputs={"context": context}), FakeConfirmer())


def test_home_and_the_start_form_mark_builtin_and_config_patterns(tmp_path: Path, runbook: Path) -> None:
    write_config(tmp_path, 'protectedContexts: ["lab"]\n')
    launcher = _launcher(tmp_path)
    assert {c.name: c.protected for c in launcher.contexts()} == {"lab": True, "shop-prod": True, "staging": False}
    incident = _start(launcher, runbook, "lab")
    try:
        assert incident.context.protected and incident.session.protected("lab")
    finally:
        incident.on_close()
    assert opened(tmp_path / "j")["protection"]["protected"] == ["lab"]


def test_resume_keeps_the_protection_the_incident_was_opened_with(tmp_path: Path, runbook: Path) -> None:
    first = _launcher(tmp_path, protect=["staging"])
    incident = _start(first, runbook, "staging")
    incident_id = incident.journal.id
    incident.on_close()
    later = _launcher(tmp_path)  # no --protect now, and still no config
    assert not {c.name: c.protected for c in later.contexts()}["staging"]
    resumed = later.resume(incident_id[:-2], FakeConfirmer())  # any unique prefix of the ID
    try:
        assert resumed.journal.id == incident_id
        assert resumed.session.protected("staging") and resumed.context.protected
    finally:
        resumed.on_close()


def test_resume_adds_todays_config_to_what_was_journaled(tmp_path: Path, runbook: Path) -> None:
    incident = _start(_launcher(tmp_path), runbook, "staging")
    incident.on_close()
    write_config(tmp_path, 'protectedContexts: ["stag*"]\n')
    resumed = _launcher(tmp_path).resume(incident.journal.id, FakeConfirmer())
    try:
        assert resumed.session.protected("staging")
    finally:
        resumed.on_close()


# --------------------------------------------------------------------------- drill


def test_drill_protect_marks_the_sandbox_context_and_auto_approve_refuses_it(
        tmp_path: Path, runbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "lab.yaml"
    scenario.write_text(json.dumps({"name": "lab", "context": CTX, "objects": [_node("n0", ready=False)],
                                    "health": [{"name": "nodes ready", "nodesReady": {"maxNotReady": 0}}]}))
    code = main(["drill", str(scenario), "--runbook", str(runbook), "--headless", "--auto-approve",
                 "--protect", CTX])
    out = capsys.readouterr()
    assert code == 1, out.out + out.err
    assert "is protected: --auto-approve never acts on protected contexts" in out.out
    assert "mitigate: drill halted at step cordon" in out.err
    assert opened(tmp_path / "j")["protection"]["--protect"] == [CTX]


PLAN_RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: plan-messages, title: Plan messages, source: tests}
inputs:
  context: {type: kube-context}
  count: {type: string, default: "three"}
steps:
  - id: pick
    decision:
      prompt: Which nodes?
      options: [{id: n0, label: the first}, {id: n1, label: the second}]
  - id: cordon-picked
    action: {cordon: {names: "{{ steps['pick'].choice.split(',') }}"}}
  - id: scale
    action: {scale: {namespace: shop, name: web, replicas: "{{ inputs.count + 1 }}"}}
"""


def test_plan_waits_only_on_what_depends_on_earlier_steps_and_fails_on_the_rest(
        tmp_path: Path, sb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN_RUNBOOK)
    code = main(["run", str(path), "--context", CTX, "--kubeconfig", str(sb.kubeconfig), "--plan"])
    out = capsys.readouterr()
    assert "cordon-picked" in out.out and "cannot be computed before earlier steps run (pick)" in out.out
    assert "cannot be planned:" in out.out and "before earlier steps" not in out.out.split("[action] scale")[1]
    assert code == 1 and "mitigate: step scale cannot be planned:" in out.err
    assert "cordon-picked" not in out.err
