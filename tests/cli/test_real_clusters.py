"""Real clusters as responders meet them: a user whose RBAC forbids part of a runbook is stopped by
the preflight before anything changes, in --plan and headless; impersonating that user from an admin
kubeconfig gives the same answer; the journal records who each context resolved to; and the
preflight agrees with kubectl 1.35's ``auth can-i`` for every permission the shipped runbooks use."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli import main
from mitigate.journal import Journal, list_incidents
from tests.drills.helpers import DRILLS, drill
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


def _can_i(kubeconfig: Path, context: str, check: Any, home: Path) -> str:
    resource = check.resource + (f".{check.group}" if check.group else "") + (f"/{check.name}" if check.name else "")
    args = [kubectl_path(), f"--cache-dir={home / 'cache'}", f"--context={context}", "auth", "can-i", check.verb,
            resource, *([f"--subresource={check.subresource}"] if check.subresource else []),
            *([f"-n={check.namespace}"] if check.namespace else [])]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.strip()


def _grant(cluster: Any, context: str, checks: list[Any]) -> None:
    """RBAC for the limited user allowing exactly ``checks`` (a Role per namespace, a ClusterRole else)."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    by_ns: dict[str, list[Any]] = {}
    for c in checks:
        by_ns.setdefault(c.namespace, []).append(c)
    for ns, same in by_ns.items():
        rules = [{"apiGroups": [c.group], "resources": [c.resource + (f"/{c.subresource}" if c.subresource else "")],
                  "verbs": [c.verb]} for c in same]
        kind, where = ("Role", f"{rbac}/namespaces/{ns}") if ns else ("ClusterRole", rbac)
        meta = {"name": "agreement", **({"namespace": ns} if ns else {})}
        send = cluster.ctx(context).transport.request
        send("POST", f"{where}/{kind.lower()}s", body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                                                       "metadata": meta, "rules": rules})
        send("POST", f"{where}/{kind.lower()}bindings", body={
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{kind}Binding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "agreement"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED}]})


@pytest.mark.parametrize("name", DRILLS)
def test_the_preflight_agrees_with_kubectl_auth_can_i(name: str, sandbox: Callable[..., Any], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every permission a shipped runbook's steps declare (each action's prepared permissions, as its
    drill runs start to finish and as the runbook-wide preflight plans the steps ahead), answered by
    the preflight and by kubectl 1.35's ``auth can-i``: for an admin (all yes), for a user without
    RBAC (all no) and for that user once granted every other one of them (exactly those)."""
    from integrations.kube import KubeCluster
    from mitigate.cli.drill import run_in_sandbox
    from mitigate.paths import runbooks_dir
    from mitigate.runbook.loader import load_runbook

    scenario = drill(name)
    scenario["users"] = [{"name": LIMITED, "auth": "token"}]
    if scenario.get("clusters"):  # the management cluster and one workload cluster show every permission
        scenario["clusters"] = scenario["clusters"][:2]
    sb = sandbox(scenario)
    asked: dict[tuple[str, str, str, str, str, str], tuple[str, Any]] = {}
    prepared: set[str] = set()
    plain_access, plain_prepare = KubeCluster.access, KubeCluster.prepare

    def access(self: KubeCluster, context: str, checks: Any) -> Any:
        answers = plain_access(self, context, checks)
        for a in answers:  # the checks as resolved (a kind becomes its resource and group)
            c = a.check
            asked.setdefault((context, c.verb, c.resource, c.group, c.subresource, c.namespace), (context, c))
        return answers

    def prepare(self: KubeCluster, request: Any) -> Any:
        prepared.add(request.verb)
        return plain_prepare(self, request)

    monkeypatch.setattr(KubeCluster, "access", access)
    monkeypatch.setattr(KubeCluster, "prepare", prepare)
    run_in_sandbox(sb, name, root=tmp_path / "journal", echo=False)
    monkeypatch.undo()
    book = load_runbook(runbooks_dir() / f"{name}.yaml")
    declared = {next(iter(s.action)) for s in book.steps if s.action}
    assert declared and declared <= prepared, (declared, prepared)  # every action verb was prepared and asked
    by_context: dict[str, list[Any]] = {}
    for context, check in sorted(asked.values(), key=lambda kv: (kv[0], kv[1].text)):
        by_context.setdefault(context, []).append(check)
    admin = KubeCluster.from_kubeconfig(sb.kubeconfig)
    home = tmp_path / "home"

    def agree(user: str) -> list[tuple[Any, bool]]:
        out = []
        for context, checks in by_context.items():
            target = f"{context}@{user}" if user else context
            for answer in admin.access(target, checks):
                said = _can_i(Path(sb.kubeconfig), target, answer.check, home)
                assert answer.allowed is not None and said == ("yes" if answer.allowed else "no"), (
                    user or "admin", answer.check, said, answer)
                out.append((answer.check, answer.allowed))
        return out

    assert all(allowed for _, allowed in agree(""))
    assert not any(allowed for _, allowed in agree(LIMITED))
    granted: set[str] = set()
    for context, checks in by_context.items():
        half = checks[::2]
        _grant(admin, context, half)
        granted |= {f"{context} {c.text}" for c in half}
    after = agree(LIMITED)
    contexts = [c for c, checks in by_context.items() for _ in checks]
    assert all(allowed for (check, allowed), context in zip(after, contexts, strict=True)
               if f"{context} {check.text}" in granted)
    if len(after) > 1:
        assert not all(allowed for _, allowed in after)
    admin.close()
