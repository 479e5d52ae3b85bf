"""``mitigate rollback ID`` headless (issue 12, point 2): --auto-approve undoes what a run did,
--step picks one step, a protected context is refused as a run refuses it, and without a
terminal it asks for --auto-approve instead of guessing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sandbox = pytest.importorskip("integrations.sandbox")
RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: two-changes, title: Two changes, source: tests}
inputs:
  context: {type: kube-context}
steps:
  - id: cordon
    action: {cordon: {names: [n0]}}
  - id: label
    action: {label: {apiVersion: v1, kind: Node, names: [n1], labels: {incident: "yes"}}}
"""


def _node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"a": "b"}}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def _box(context: str) -> Iterator[Any]:
    box = sandbox.Sandbox.start({"name": "rollback-tests", "context": context,
                                 "objects": [_node("n0"), _node("n1")]})
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def sb() -> Iterator[Any]:
    yield from _box("lab")


@pytest.fixture
def prod() -> Iterator[Any]:
    yield from _box("lab-prod")


def _mitigate(tmp_path: Path, sb: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MITIGATE_JOURNAL_DIR": str(tmp_path / "j"), "MITIGATE_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("MITIGATE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "mitigate", *args, "--kubeconfig", str(sb.kubeconfig)],
                          capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


def _node_state(sb: Any, name: str) -> tuple[bool, dict[str, str]]:
    obj = sb.cluster().find("nodes", name)
    return bool((obj.get("spec") or {}).get("unschedulable")), dict(obj["metadata"].get("labels") or {})


def test_rollback_headless(tmp_path: Path, sb: Any) -> None:
    ctx = sb.contexts[0]
    rb = tmp_path / "rb.yaml"
    rb.write_text(RUNBOOK)
    done = _mitigate(tmp_path, sb, "run", str(rb), "--context", ctx, "--auto-approve")
    assert done.returncode == 0, done.stderr
    incident = next(p for p in (tmp_path / "j").iterdir() if p.is_dir()).name
    assert _node_state(sb, "n0")[0] and _node_state(sb, "n1")[1].get("incident") == "yes"

    asked = _mitigate(tmp_path, sb, "rollback", incident)  # no terminal, no --auto-approve
    assert asked.returncode == 2 and "--auto-approve" in asked.stderr
    assert _node_state(sb, "n0")[0]

    one = _mitigate(tmp_path, sb, "rollback", incident, "--step", "label", "--auto-approve")
    assert one.returncode == 0, one.stderr
    assert "label: rolled back" in one.stdout
    assert _node_state(sb, "n1")[1] == {"a": "b"} and _node_state(sb, "n0")[0]  # only that step

    again = _mitigate(tmp_path, sb, "rollback", incident, "--step", "label", "--auto-approve")
    assert again.returncode == 1 and "nothing applied" in again.stderr

    rest = _mitigate(tmp_path, sb, "rollback", incident, "--auto-approve")
    assert rest.returncode == 0, rest.stderr
    assert "cordon: rolled back" in rest.stdout and not _node_state(sb, "n0")[0]


def test_rollback_on_a_protected_context_is_refused_by_auto_approve(tmp_path: Path, prod: Any) -> None:
    sb, ctx = prod, prod.contexts[0]
    rb = tmp_path / "rb.yaml"
    rb.write_text(RUNBOOK)
    # the change is made through the engine directly (a run with --auto-approve is refused here);
    # the rollback then goes through the CLI under the built-in *prod* protection
    from mitigate.cli import main
    env_before = dict(os.environ)
    os.environ["MITIGATE_JOURNAL_DIR"] = str(tmp_path / "j")
    os.environ["MITIGATE_CONFIG_DIR"] = str(tmp_path / "cfg")
    os.environ.pop("MITIGATE_CONFIG", None)
    try:
        from integrations.kube import KubeCluster
        from mitigate.engine import IncidentMeta, Ports, Session
        from mitigate.journal import Journal
        from mitigate.runbook.loader import load_runbook_text
        from tests.engine.fakes import FakeConfirmer

        journal = Journal.create(tmp_path / "j", "inc-prod")
        session = Session.start(load_runbook_text(RUNBOOK, str(rb)), {"context": ctx}, journal,
                                Ports(cluster=KubeCluster.from_kubeconfig(sb.kubeconfig), confirmer=FakeConfirmer()),
                                meta=IncidentMeta(title="prod", runbook_path=str(rb)))
        session.run("cordon")
        journal.close()
        code = main(["rollback", "inc-prod", "--auto-approve", "--kubeconfig", str(sb.kubeconfig)])
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    assert code == 1
    assert _node_state(sb, "n0")[0]  # still cordoned: auto-approve never acts on a protected context


def test_the_terminal_confirmer_asks_as_a_run_asks() -> None:
    from mitigate.cli.commands.rollback import TerminalConfirmer
    from mitigate.ports import ConfirmRequest

    shown: list[str] = []
    base = dict(step_id="s", title="roll back s", description="create ConfigMap/shop/x", kubectl=("kubectl x",),
                context="lab-prod", scope="ConfigMap/shop/x", target_count=1, kind="rollback")
    typed = TerminalConfirmer(ask=lambda prompt: shown.append(prompt) or "lab-prod", say=shown.append)
    decision = typed.confirm(ConfirmRequest(**base, destructive=True, protected=True))  # type: ignore[arg-type]
    assert decision.approved and decision.typed == "lab-prod" and "type the context name" in shown[-1]
    plain = TerminalConfirmer(ask=lambda prompt: "n", say=shown.append)
    assert not plain.confirm(ConfirmRequest(**base, destructive=False, protected=False)).approved  # type: ignore[arg-type]
    assert "$ kubectl x" in "\n".join(shown)
