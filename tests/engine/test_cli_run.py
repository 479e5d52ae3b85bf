"""``mitigate run`` as a subprocess against the sandbox: --plan changes nothing, --auto-approve acts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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
    batch: {size: 1}
"""


def _node(name: str, ready: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.fixture
def sb(sandbox: Callable[..., Any]) -> Any:
    return sandbox({"name": "run-tests", "context": CTX,
                    "objects": [_node(f"n{i}", ready=i % 2 == 1) for i in range(4)]})


def _run(tmp_path: Path, sb: Any, *args: str) -> subprocess.CompletedProcess[str]:
    rb = tmp_path / "rb.yaml"
    rb.write_text(RUNBOOK)
    env = {**os.environ, "MITIGATE_JOURNAL_DIR": str(tmp_path / "j"), "MITIGATE_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("MITIGATE_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "mitigate", "run", str(rb), "--context", CTX,
                           "--kubeconfig", str(sb.kubeconfig), *args],
                          capture_output=True, text=True, env=env, timeout=120)


MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def mutations(sb: Any) -> list[Any]:
    """Requests that changed the cluster (server-side dry runs and access reviews change nothing)."""
    return [e for e in sb.request_log if e.method in MUTATING and not e.dry_run
            and e.resource != "selfsubjectaccessreviews"]


def test_plan_prints_kubectl_and_makes_no_mutating_request(tmp_path: Path, sb: Any) -> None:
    proc = _run(tmp_path, sb, "--plan")
    assert proc.returncode == 0, proc.stderr
    assert "ok: 2 found: n0, n2" in proc.stdout
    assert f"$ kubectl cordon nodes/n0 nodes/n2 --context={CTX}" in proc.stdout
    assert "2 batch(es) of 1" in proc.stdout
    # not even a dry run; the RBAC preflight's access reviews are POSTs that store nothing
    assert [e for e in sb.request_log if e.method in MUTATING and e.resource != "selfsubjectaccessreviews"] == []
    assert "RBAC on lab: 2 permission(s) checked, all allowed" in proc.stdout
    assert not (tmp_path / "j").exists()


def test_auto_approve_cordons_and_prints_a_scorecard(tmp_path: Path, sb: Any) -> None:
    proc = _run(tmp_path, sb, "--auto-approve")
    assert proc.returncode == 0, proc.stderr
    assert "succeeded  cordon" in proc.stdout and "steps run           2/2" in proc.stdout
    assert sorted(e.name for e in mutations(sb)) == ["n0", "n2"]  # one real PATCH per NotReady node


def test_auto_approve_refuses_a_protected_context(tmp_path: Path, sb: Any) -> None:
    proc = _run(tmp_path, sb, "--auto-approve", "--protect", "la*")
    assert proc.returncode == 1
    assert "is protected: --auto-approve never acts on protected contexts" in proc.stdout
    assert "halted at step cordon" in proc.stderr and "Traceback" not in proc.stderr
    assert mutations(sb) == []


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, sb: Any) -> None:
    proc = _run(tmp_path, sb, "--plan", "--input", "nope=1")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown input 'nope'" in proc.stderr


def test_scorecard_counts_errors_the_client_absorbed_during_checks(tmp_path: Path,
                                                                  sandbox: Callable[..., Any]) -> None:
    box = sandbox({
        "name": "flaky-list", "context": CTX,
        "objects": [_node(f"n{i}", ready=i % 2 == 1) for i in range(4)],
        "faults": [{"verbs": ["list"], "resources": ["nodes"], "status": 503, "count": 2}]})
    proc = _run(tmp_path, box, "--auto-approve")
    assert proc.returncode == 0, proc.stderr
    assert "API errors absorbed 2" in proc.stdout  # both 503s on the read-only check, retried away


def test_a_runbook_attached_to_an_incident_opened_earlier(tmp_path: Path, sb: Any) -> None:
    """`incident open` first (the page came in), `run --incident ID` later: one incident, one journal."""
    env = {**os.environ, "MITIGATE_JOURNAL_DIR": str(tmp_path / "j"), "MITIGATE_CONFIG_DIR": str(tmp_path / "cfg")}
    opened = subprocess.run([sys.executable, "-m", "mitigate", "incident", "open", "--title", "nodes flapping",
                             "--severity", "2"], capture_output=True, text=True, env=env, timeout=60)
    assert opened.returncode == 0, opened.stderr
    incident = opened.stdout.strip()
    proc = _run(tmp_path, sb, "--auto-approve", "--incident", incident[:24])  # a unique prefix will do
    assert proc.returncode == 0, proc.stderr
    assert sorted(e.name for e in mutations(sb)) == ["n0", "n2"]
    from mitigate.journal import Journal

    records = Journal.open(tmp_path / "j", incident, readonly=True).records()
    types = [r.type for r in records]
    assert types.count("incident.opened") == 1 and "runbook.attached" in types and "step.succeeded" in types
    assert records[0].data["title"] == "nodes flapping"  # the incident keeps its own title and severity
    assert [p.name for p in (tmp_path / "j").iterdir() if not p.name.startswith(".")] == [incident]
    again = _run(tmp_path, sb, "--auto-approve", "--incident", incident)
    assert again.returncode == 1 and "already runs runbook 'cordon-notready'" in again.stderr
