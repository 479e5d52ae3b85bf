"""Real kubectl 1.35 against the simulation's failure modes: a drain of an unreachable node, a paused
rollout, a rollout stuck past its progress deadline, a fail-closed webhook, ``kubectl events`` after a
drain and a scale, and ``kubectl logs`` of a crash-looping pod."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sandbox import Sandbox

from .helpers import kubectl_sandbox, wait_for

SCENARIO: dict[str, Any] = {
    "name": "lifecycle",
    "behaviours": {"podGraceSeconds": 0.2, "admissionWebhooks": True, "kubelet": {"backoffSeconds": 0.3},
                   "nodeLeases": {"renewSeconds": 0.5},
                   "containers": [{"image": "shop/api:bad", "crash": {"exitCode": 2},
                                   "logs": ["starting api 2.0", "panic: config key db.url missing", "exit status 2"]},
                                  {"image": "shop/api:*", "logs": ["listening on :8080"]}]},
    "generators": [{"nodes": {"count": 3, "namePrefix": "node-"}},
                   # down since an hour ago: the taint manager evicted its pods long ago
                   {"nodes": {"count": 1, "namePrefix": "lost-", "notReady": 1, "notReadyReason": "NodeStatusUnknown",
                              "notReadySeconds": 3600}},
                   {"pods": {"count": 2, "namespace": "shop", "namePrefix": "old-", "nodes": "lost-",
                             "labels": {"app": "old"}}}],
    "objects": [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                  "template": {"metadata": {"labels": {"app": "api"}},
                               "spec": {"containers": [{"name": "api", "image": "shop/api:1.0"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gate", "namespace": "policy"},
         "spec": {"selector": {"app": "gate"}, "ports": [{"port": 443}]}},
    ],
}

WEBHOOK = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
           "metadata": {"name": "gate"},
           "webhooks": [{"name": "pods.gate.example", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                         "failurePolicy": "Fail", "timeoutSeconds": 5,
                         "clientConfig": {"service": {"namespace": "policy", "name": "gate", "path": "/validate"}},
                         "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                     "operator": "In", "values": ["locked"]}]},
                         "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                    "resources": ["pods"]}]}]}


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any]]:
    with kubectl_sandbox(SCENARIO, tmp_path_factory.mktemp("kubectl-home")) as (sb, k):
        yield sb, k


def _pods(sb: Sandbox, ns: str, app: str) -> list[dict[str, Any]]:
    return sb.cluster().list("pods", ns, lambda p: (p["metadata"].get("labels") or {}).get("app") == app)


def _set_ready(sb: Sandbox, node: str, status: str) -> None:
    """What the node controller writes when a kubelet stops (or resumes) posting status."""
    st = sb.cluster()
    n = copy.deepcopy(st.get("nodes", node))
    for c in n["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status=status, reason="NodeStatusUnknown" if status != "True" else "KubeletReady",
                     lastTransitionTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    st.put("nodes", n)


def test_drain_of_an_unreachable_node_waits_on_terminating_pods_until_forced(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    wait_for(lambda: len([p for p in _pods(sb, "shop", "api") if p["spec"].get("nodeName")]) == 3, what="api pods")
    victim = next(p for p in _pods(sb, "shop", "api"))
    node = victim["spec"]["nodeName"]
    lease_before = st.get("leases", node, "kube-node-lease")["spec"]["renewTime"]
    _set_ready(sb, node, "Unknown")
    taints = wait_for(lambda: st.get("nodes", node)["spec"].get("taints"), what="taints")
    assert {(t["key"], t["effect"]) for t in taints} == {("node.kubernetes.io/unreachable", "NoSchedule"),
                                                          ("node.kubernetes.io/unreachable", "NoExecute")}
    wait_for(lambda: all(c["status"] == "False" for p in st.list("pods", "shop") if p["spec"].get("nodeName") == node
                         for c in p["status"]["conditions"] if c["type"] == "Ready"), what="pods not ready")
    time.sleep(1.2)  # two renew periods: every Ready node's Lease moved, the unreachable one's did not
    assert st.get("leases", node, "kube-node-lease")["spec"]["renewTime"] == lease_before
    other = next(n for n in ("node-0", "node-1", "node-2") if n != node)
    assert st.get("leases", other, "kube-node-lease")["spec"]["renewTime"] != lease_before

    # nobody confirms the eviction: the pod stays Terminating and drain runs into its timeout
    out = k("drain", node, "--ignore-daemonsets", "--timeout=4s", check=False)
    assert out.returncode != 0 and "to terminate: context deadline exceeded" in out.stderr, out.stderr
    table = k("get", "pods", "-n", "shop", "--field-selector", f"spec.nodeName={node}").stdout
    assert "Terminating" in table, table
    left = [p for p in st.list("pods", "shop") if p["spec"].get("nodeName") == node]
    assert left and all(p["metadata"].get("deletionTimestamp") for p in left)
    time.sleep(1)
    assert [p["metadata"]["name"] for p in st.list("pods", "shop") if p["spec"].get("nodeName") == node] == [
        p["metadata"]["name"] for p in left]  # still there after the grace the sandbox would otherwise apply
    # the ReplicaSet replaced it elsewhere; a force delete removes the Terminating pod at once
    wait_for(lambda: len([p for p in _pods(sb, "shop", "api") if not p["metadata"].get("deletionTimestamp")]) == 3,
             what="replacement")
    for p in left:
        k("delete", "pod", "-n", "shop", p["metadata"]["name"], "--force", "--grace-period=0")
    assert not [p for p in st.list("pods", "shop") if p["spec"].get("nodeName") == node]

    # the node that has been down for an hour: its pods were evicted long ago; the expert's drain skips them
    lost = st.get("nodes", "lost-0")
    assert {t["key"] for t in lost["spec"]["taints"]} == {"node.kubernetes.io/unreachable"}
    assert all(p["metadata"].get("deletionTimestamp") for p in _pods(sb, "shop", "old"))
    stuck = k("drain", "lost-0", "--ignore-daemonsets", "--timeout=3s", check=False)
    assert stuck.returncode != 0 and "to terminate" in stuck.stderr
    started = time.monotonic()
    k("drain", "lost-0", "--ignore-daemonsets", "--skip-wait-for-delete-timeout=60", "--timeout=30s")
    assert time.monotonic() - started < 10
    _set_ready(sb, node, "True")  # the kubelet is back
    # the condition taints go; the drained node stays cordoned, with the cordon's taint, until uncordoned
    wait_for(lambda: [t["key"] for t in st.get("nodes", node)["spec"].get("taints") or []] == [
        "node.kubernetes.io/unschedulable"], what="condition taints removed")
    k("uncordon", node)
    wait_for(lambda: not st.get("nodes", node)["spec"].get("taints"), what="taints removed")


def test_rollout_pause_holds_the_new_template_until_resume(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    k("rollout", "pause", "deployment/api", "-n", "shop")
    k("set", "image", "deployment/api", "-n", "shop", "api=shop/api:1.1")
    time.sleep(0.5)
    d = st.get("deployments", "api", "shop")
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    assert {p["spec"]["containers"][0]["image"] for p in _pods(sb, "shop", "api")
            if not p["metadata"].get("deletionTimestamp")} == {"shop/api:1.0"}
    status = k("rollout", "status", "deployment/api", "-n", "shop", "--watch=false").stdout
    assert "paused" in status.lower() or "Waiting" in status, status
    k("rollout", "resume", "deployment/api", "-n", "shop")
    k("rollout", "status", "deployment/api", "-n", "shop", "--timeout=30s")
    assert {p["spec"]["containers"][0]["image"] for p in _pods(sb, "shop", "api")
            if not p["metadata"].get("deletionTimestamp")} == {"shop/api:1.1"}
    history = k("rollout", "history", "deployment/api", "-n", "shop").stdout
    assert "1 " in history and "2 " in history


def test_a_crash_looping_rollout_stops_at_its_progress_deadline_and_logs_the_crash(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    k("patch", "deployment/api", "-n", "shop", "-p", '{"spec":{"progressDeadlineSeconds":2}}')
    k("set", "image", "deployment/api", "-n", "shop", "api=shop/api:bad")
    out = k("rollout", "status", "deployment/api", "-n", "shop", "--timeout=40s", check=False, timeout=60)
    assert out.returncode != 0 and 'deployment "api" exceeded its progress deadline' in out.stderr, out.stderr
    d = st.get("deployments", "api", "shop")
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    # maxUnavailable 25% of 3 rounds down to 0: every old pod still serves
    old = [p for p in _pods(sb, "shop", "api") if p["spec"]["containers"][0]["image"] == "shop/api:1.1"
           and not p["metadata"].get("deletionTimestamp")]
    assert len(old) == 3
    bad = wait_for(lambda: [p for p in _pods(sb, "shop", "api") if p["spec"]["containers"][0]["image"]
                            == "shop/api:bad" and p["status"]["containerStatuses"][0]["restartCount"] >= 2],
                   what="restarts")[0]
    name = bad["metadata"]["name"]
    table = k("get", "pod", "-n", "shop", name).stdout
    assert "CrashLoopBackOff" in table, table
    logs = k("logs", "-n", "shop", name).stdout
    assert "panic: config key db.url missing" in logs
    assert k("logs", "-n", "shop", name, "--previous").stdout.splitlines()[-1] == "exit status 2"
    ok = next(p for p in old)
    assert k("logs", "-n", "shop", ok["metadata"]["name"]).stdout == "listening on :8080\n"
    events = k("events", "-n", "shop", "--for", f"pod/{name}").stdout
    assert "BackOff" in events and "Back-off restarting failed container api" in events, events
    k("rollout", "undo", "deployment/api", "-n", "shop")
    k("rollout", "status", "deployment/api", "-n", "shop", "--timeout=30s")


def test_a_fail_closed_webhook_refuses_a_create_until_it_is_set_to_ignore(kc: Any) -> None:
    sb, k = kc
    k("create", "namespace", "locked")
    sb.cluster().create("validatingwebhookconfigurations", copy.deepcopy(WEBHOOK))
    out = k("run", "probe", "-n", "locked", "--image=busybox", "--restart=Never", check=False)
    assert out.returncode != 0
    assert 'failed calling webhook "pods.gate.example"' in out.stderr and "timeout=5s" in out.stderr, out.stderr
    assert "Internal error occurred" in out.stderr
    assert sb.cluster().find("pods", "probe", "locked") is None
    k("run", "probe", "-n", "shop", "--image=busybox", "--restart=Never")  # outside the namespaceSelector
    k("patch", "validatingwebhookconfiguration", "gate", "--type=json",
      "-p", '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]')
    k("run", "probe", "-n", "locked", "--image=busybox", "--restart=Never")
    assert sb.cluster().find("pods", "probe", "locked") is not None


def test_a_cordon_gets_the_controllers_taint_and_an_uncordon_restores_the_node(kc: Any) -> None:
    sb, k = kc
    st = sb.cluster()
    before = copy.deepcopy(st.get("nodes", "node-2")["spec"])
    k("cordon", "node-2")
    taints = wait_for(lambda: st.get("nodes", "node-2")["spec"].get("taints"), what="the unschedulable taint")
    assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    assert taints[0]["timeAdded"]
    described = k("describe", "node", "node-2").stdout
    assert "node.kubernetes.io/unschedulable:NoSchedule" in described and "Unschedulable:      true" in described
    k("uncordon", "node-2")  # clears spec.unschedulable only; the controller then drops its taint
    wait_for(lambda: st.get("nodes", "node-2")["spec"] == before, what="the node as it was")
    assert "Taints:             <none>" in k("describe", "node", "node-2").stdout


def test_nodes_seeded_cordoned_carry_the_cordons_taint() -> None:
    scenario = {"generators": [{"nodes": {"count": 3, "namePrefix": "n-", "unschedulable": 1}}],
                "objects": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "spare"},
                             "spec": {"unschedulable": True}}]}
    with Sandbox.start(scenario) as sb:
        st = sb.cluster()
        for name in ("n-0", "spare"):
            assert [t["key"] for t in st.get("nodes", name)["spec"]["taints"]] == ["node.kubernetes.io/unschedulable"]
        assert "taints" not in st.get("nodes", "n-1")["spec"]


def test_kubectl_events_after_a_scale_and_a_drain(kc: Any) -> None:
    sb, k = kc
    k("scale", "deployment/api", "-n", "shop", "--replicas=5")
    wait_for(lambda: len([p for p in _pods(sb, "shop", "api") if not p["metadata"].get("deletionTimestamp")]) == 5,
             what="scaled")
    events = k("events", "-n", "shop", "--for", "deployment/api").stdout
    assert "ScalingReplicaSet" in events and "to 5" in events, events
    k("drain", "node-0", "--ignore-daemonsets", "--force", "--timeout=30s")
    wait_for(lambda: "Killing" in k("events", "-n", "shop").stdout, what="Killing events")
    shop = k("events", "-n", "shop", "-o", "json").stdout
    items = json.loads(shop)["items"]
    reasons = {e["reason"] for e in items}
    assert {"Killing", "SuccessfulCreate", "Scheduled", "ScalingReplicaSet"} <= reasons, reasons
    killing = next(e for e in items if e["reason"] == "Killing")
    assert killing["involvedObject"]["kind"] == "Pod" and killing["source"]["component"] == "kubelet"
    assert killing["count"] >= 1 and killing["firstTimestamp"] and killing["lastTimestamp"]
    cluster = k("events", "-A").stdout
    assert "NodeNotSchedulable" in cluster and "node-0" in cluster, cluster
    k("uncordon", "node-0")
