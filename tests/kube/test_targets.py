"""Target forms on every verb that acts on named objects: ``names`` (also ``namespace/name``
and whole objects from a check, across namespaces) and ``selector``; and disableDaemonSet."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest, ClusterError, Query
from mitigate.runbook.datahelpers import get, has
from tests.kube.helpers import sandbox

CTX = "targets"


def _deploy(ns: str, name: str, tier: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name, "tier": tier}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": f"{name}:1"}]}}}}


def _scenario() -> dict[str, Any]:
    objects = [_deploy("blue", "web", "front"), _deploy("green", "web", "front"), _deploy("green", "db", "back"),
               {"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "agent", "namespace": "kube-system"},
                "spec": {"selector": {"matchLabels": {"app": "agent"}},
                         "template": {"metadata": {"labels": {"app": "agent"}},
                                      "spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                               "containers": [{"name": "a", "image": "agent:1"}]}}}}]
    objects += [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{i}",
                                                                  "labels": {"kubernetes.io/os": "linux"}}}
                for i in range(3)]
    return {"name": "targets", "context": CTX, "objects": objects}


@pytest.fixture(scope="module")
def box() -> Any:
    sb = sandbox.Sandbox.start(_scenario())
    yield sb
    sb.stop()


def kc_of(box: Any) -> KubeCluster:
    return KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)


def _get(kc: KubeCluster, ns: str, name: str, kind: str = "Deployment") -> dict[str, Any]:
    return kc.query(CTX, Query("apps/v1", kind, ns, name))[0]


BOTH = ["blue/web", "green/web"]
# verb -> (extra params, a check that the change landed on one Deployment)
VERBS: dict[str, tuple[dict[str, Any], Any]] = {
    "scale": ({"replicas": 3}, lambda d: d["spec"]["replicas"] == 3),
    "setResources": ({"container": "app", "limits": {"memory": "256Mi"}},
                     lambda d: get(d, "spec.template.spec.containers[0].resources.limits.memory") == "256Mi"),
    "rolloutRestart": ({}, lambda d: has(d, ["spec", "template", "metadata", "annotations",
                                             "kubectl.kubernetes.io/restartedAt"])),
    "patch": ({"apiVersion": "apps/v1", "kind": "Deployment", "type": "merge",
               "patch": {"metadata": {"annotations": {"incident": "INC-7"}}}},
              lambda d: d["metadata"].get("annotations", {}).get("incident") == "INC-7"),
    "label": ({"apiVersion": "apps/v1", "kind": "Deployment", "labels": {"paused-by": "mitigate"}},
              lambda d: d["metadata"]["labels"].get("paused-by") == "mitigate"),
    "annotate": ({"apiVersion": "apps/v1", "kind": "Deployment", "annotations": {"owner": "sre"}},
                 lambda d: d["metadata"].get("annotations", {}).get("owner") == "sre"),
}


@pytest.mark.parametrize("verb", sorted(VERBS))
@pytest.mark.parametrize("form", ["names", "objects", "selector"])
def test_each_verb_acts_across_namespaces(box: Any, verb: str, form: str) -> None:
    kc = kc_of(box)
    extra, landed = VERBS[verb]
    if form == "names":
        scope: dict[str, Any] = {"names": BOTH}
    elif form == "objects":  # the check's items themselves, each carrying its namespace
        scope = {"names": [_get(kc, "blue", "web"), _get(kc, "green", "web")]}
    else:
        scope = {"selector": "tier=front"}  # no namespace: every namespace, as kubectl -A -l
    before = {ns: _get(kc, ns, "web") for ns in ("blue", "green")}
    action = kc.prepare(ActionRequest(CTX, verb, {**extra, **scope}, step_id="s"))
    assert sorted(action.targets) == ["Deployment/blue/web", "Deployment/green/web"]
    lines = action.kubectl()
    assert any("--namespace=blue" in ln for ln in lines) or "--all-namespaces" in lines[0]
    outcome = action.execute()
    assert outcome.ok, [(r.target, r.message) for r in outcome.results]
    for ns in ("blue", "green"):
        assert landed(_get(kc, ns, "web")), (verb, ns)
    assert not landed(_get(kc, "green", "db"))  # the selector and names never reach other objects
    for undo in outcome.undo:
        assert kc.prepare(undo).execute().ok
    if verb != "rolloutRestart":  # a restart has no undo: the new pods are already there
        for ns in ("blue", "green"):
            assert not landed(_get(kc, ns, "web")), (verb, ns, "undo")
    assert {ns: _get(kc, ns, "web")["metadata"]["name"] for ns in before} == {"blue": "web", "green": "web"}


def test_rollout_undo_by_selector_across_namespaces(box: Any) -> None:
    kc = kc_of(box)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:broken"}]}}}}
    assert kc.prepare(ActionRequest(CTX, "patch", {"apiVersion": "apps/v1", "kind": "Deployment",
                                                   "names": BOTH, "patch": patch})).execute().ok
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sets = [rs for ns in ("blue", "green") for rs in kc.query(CTX, Query("apps/v1", "ReplicaSet", ns))
                if rs["metadata"]["name"].startswith("web-")]
        if len(sets) >= 4:
            break
        time.sleep(0.05)
    action = kc.prepare(ActionRequest(CTX, "rolloutUndo", {"selector": "tier=front"}))
    assert sorted(action.targets) == ["Deployment/blue/web", "Deployment/green/web"]
    assert all("rollout undo deployments.v1.apps/web" in ln and "--to-revision=" in ln for ln in action.kubectl())
    assert action.execute().ok
    for ns in ("blue", "green"):
        assert _get(kc, ns, "web")["spec"]["template"]["spec"]["containers"][0]["image"] != "web:broken"


def test_bad_target_forms_are_refused(box: Any) -> None:
    kc = kc_of(box)
    with pytest.raises(ClusterError, match="not namespaced"):
        kc.prepare(ActionRequest(CTX, "cordon", {"names": ["x/n1"]}))
    with pytest.raises(ClusterError, match="not a name or namespace/name"):
        kc.prepare(ActionRequest(CTX, "scale", {"names": ["/web"], "replicas": 1}))
    with pytest.raises(ClusterError, match="green/nope not found"):
        kc.prepare(ActionRequest(CTX, "scale", {"names": ["green/nope"], "replicas": 1}))


def test_disable_daemonset_removes_its_pods_and_undo_brings_them_back(box: Any) -> None:
    kc = kc_of(box)

    def pods() -> int:
        return len(kc.query(CTX, Query("v1", "Pod", "kube-system", label_selector="app=agent")))

    def settle(want: Any) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not want(pods()):
            time.sleep(0.05)
        return pods()

    assert settle(lambda n: n == 3) == 3
    action = kc.prepare(ActionRequest(CTX, "disableDaemonSet", {"names": ["kube-system/agent"]}))
    assert action.destructive
    assert action.kubectl() == ["kubectl patch daemonsets.v1.apps/agent "
                                "'--patch={\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"mitigate.io/disabled\":"
                                "\"true\"}}}}}' --context=targets --namespace=kube-system"]
    assert "spec.template.spec.nodeSelector.mitigate.io/disabled" in action.preview().changed_fields
    outcome = action.execute()
    assert outcome.ok and all(r.applied for r in action.recheck())
    assert settle(lambda n: n == 0) == 0
    ds = _get(kc, "kube-system", "agent", "DaemonSet")
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux",
                                                              "mitigate.io/disabled": "true"}
    for undo in outcome.undo:
        assert kc.prepare(undo).execute().ok
    ds = _get(kc, "kube-system", "agent", "DaemonSet")
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert settle(lambda n: n == 3) == 3


def test_disable_daemonset_refuses_a_key_some_node_carries(box: Any) -> None:
    kc = kc_of(box)
    with pytest.raises(ClusterError, match="carry the label kubernetes.io/os=linux"):
        kc.prepare(ActionRequest(CTX, "disableDaemonSet", {"names": ["kube-system/agent"],
                                                           "nodeSelectorKey": "kubernetes.io/os",
                                                           "nodeSelectorValue": "linux"}))
