"""Real clusters as responders meet them: a user whose RBAC forbids part of a runbook is stopped by
the preflight before anything changes, in --plan and headless; impersonating that user from an admin
kubeconfig gives the same answer; the journal records who each context resolved to; and the
preflight agrees with kubectl 1.35's ``auth can-i`` for every permission the shipped runbooks use."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli import main
from mitigate.journal import Journal, list_incidents
from tests.drills.conftest import drill
from tests.kubectl import kubectl_path

LIMITED = "ops-limited"
# may read everything a runbook checks and cordon nodes, but not evict pods nor delete Machines
RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "oncall"},
     "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
               {"apiGroups": [""], "resources": ["nodes"], "verbs": ["patch"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oncall"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "oncall"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "impersonator"},
     "rules": [{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]},
]


@pytest.fixture
def sb(sandbox: Callable[..., Any]) -> Any:
    scenario = drill("replace-notready-nodes")
    scenario["users"] = [{"name": LIMITED, "auth": "token"}]
    # a workload pod on the first NotReady node, so the drain has something to evict
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "web-1", "namespace": "shop", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u-1", "controller": True}]},
        "spec": {"nodeName": "node-00", "containers": [{"name": "web", "image": "web:1"}]}}
    scenario["objects"] = [*scenario.get("objects", []), {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "shop"}}, pod, *RBAC]
    return sandbox(scenario)


def _mutations(sb: Any) -> list[Any]:
    return [e for e in sb.request_log if e.mutating]


def _run(sb: Any, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", "replace-notready-nodes", "--kubeconfig", str(sb.kubeconfig), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_shows_the_denial_and_who_the_context_is(sb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = f"{sb.contexts[0]}@{LIMITED}"
    code, out, err = _run(sb, capsys, "--context", ctx, "--plan")
    assert f"Context {ctx}: server {sb.url(sb.contexts[0])}, cluster {sb.contexts[0]}, user {LIMITED} (token)" in out
    assert f"RBAC on {ctx}: you cannot create pods/eviction in shop" in out       # drain
    assert (f"RBAC on {ctx}: you cannot delete machines.cluster.x-k8s.io node-00, node-08, node-16 and 9 more in "
            "capi-kapsule") in out  # replace-machines
    assert f"RBAC on {ctx}:" in out and "permission(s) checked, all allowed" in out  # cordon is fine
    assert _mutations(sb) == []


def test_headless_run_is_refused_before_the_first_change(sb: Any, capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    ctx = f"{sb.contexts[0]}@{LIMITED}"
    code, out, err = _run(sb, capsys, "--context", ctx, "--auto-approve", "--ack-manual")
    assert code == 1 and "Traceback" not in err
    assert "RBAC preflight: step drain on " in out + err and "you cannot create pods/eviction" in out + err
    assert _mutations(sb) == []  # not even the cordon: the runbook would have been left half-done
    (summary,) = list_incidents(Path(os.environ["MITIGATE_JOURNAL_DIR"]))
    records = Journal.open(Path(os.environ["MITIGATE_JOURNAL_DIR"]), summary.id, readonly=True).records()
    identity = next(r.data for r in records if r.type == "context.identity")
    assert identity == {"context": ctx, "server": sb.url(sb.contexts[0]), "cluster": sb.contexts[0],
                        "user": LIMITED, "auth": "token"}
    assert not [r for r in records if r.type == "step.intent"]


def test_impersonating_the_limited_user_gives_the_same_denial(sb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(sb, capsys, "--context", sb.contexts[0], "--as", LIMITED, "--plan")
    assert f"acting as {LIMITED}" in out
    assert f"RBAC on {sb.contexts[0]}: you cannot create pods/eviction in " in out
    assert f"$ kubectl --as={LIMITED} cordon " in out  # every printed kubectl line acts as the same user
    code, out, err = _run(sb, capsys, "--context", sb.contexts[0], "--as", LIMITED, "--auto-approve",
                          "--ack-manual")
    assert code == 1 and "you cannot create pods/eviction" in out + err and _mutations(sb) == []


def test_the_preflight_agrees_with_kubectl_auth_can_i(sb: Any, tmp_path: Path) -> None:
    """Every permission the shipped node runbooks' changes use, answered by both for the limited user."""
    from integrations.kube import KubeCluster
    from mitigate.ports import ActionRequest

    ctx = f"{sb.contexts[0]}@{LIMITED}"
    cluster = KubeCluster.from_kubeconfig(sb.kubeconfig)
    names = [n["metadata"]["name"] for n in sb.cluster().list("nodes")][:3]
    checks = []
    for verb, params in (("cordon", {"names": names}), ("drain", {"names": names}),
                         ("deleteMachine", {"names": names}),
                         ("scale", {"namespace": "kube-system", "name": "cluster-autoscaler", "replicas": 1})):
        try:
            checks += cluster.prepare(ActionRequest(ctx, verb, params, "s")).permissions()
        except Exception as exc:  # noqa: BLE001 - a verb whose targets this scenario lacks
            assert "not found" in str(exc) or "no " in str(exc), exc
    assert {c.verb for c in checks} >= {"patch", "list", "create"}
    answers = cluster.access(ctx, checks)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "KUBECONFIG": str(sb.kubeconfig)}
    for answer in answers:
        c = answer.check
        resource = c.resource + (f".{c.group}" if c.group else "") + (f"/{c.name}" if c.name else "")
        args = [kubectl_path(), f"--cache-dir={tmp_path / 'cache'}", f"--context={ctx}", "auth", "can-i", c.verb,
                resource, *([f"--subresource={c.subresource}"] if c.subresource else []),
                *([f"-n={c.namespace}"] if c.namespace else [])]
        said = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60).stdout.strip()
        assert said == ("yes" if answer.allowed else "no"), (c, said, answer)
    assert any(a.allowed is False for a in answers) and any(a.allowed for a in answers)
    cluster.close()
    json.dumps([a.check.text for a in answers])
