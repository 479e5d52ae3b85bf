"""The simulation fails like a cluster: rollouts bounded by maxSurge/maxUnavailable, minReadySeconds,
DaemonSets rolling node by node, derived CreateContainerConfigError, faults and an ingress that depend
on the cluster's state, and health checks (paths, podsHealthy, deploymentsAvailable, noneCreatedBy)
that fail until the fix is real."""

from __future__ import annotations

import base64
import copy
import ssl
import time
from typing import Any

import httpx
import pytest
import yaml

from integrations.sandbox import Sandbox, parse_scenario
from integrations.sandbox.paths import MISSING, PathError, parse_path, resolve_path
from mitigate.errors import LocatedError

from .helpers import wait_for


def _http(sb: Sandbox, ctx: str) -> httpx.Client:
    cfg = yaml.safe_load(sb.kubeconfig.read_text())
    ca = base64.b64decode(next(c for c in cfg["clusters"] if c["name"] == ctx)["cluster"]["certificate-authority-data"])
    return httpx.Client(base_url=sb.url(ctx), verify=ssl.create_default_context(cadata=ca.decode()),
                        headers={"Authorization": f"Bearer {sb.token}"}, timeout=10)


def _deploy(name: str, replicas: int, image: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": dict({"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                          "template": {"metadata": {"labels": {"app": name}},
                                       "spec": {"containers": [{"name": "app", "image": image}]}}}, **spec)}


def _live(sb: Sandbox, app: str) -> list[dict[str, Any]]:
    return sb.cluster().list("pods", "default", lambda p: (p["metadata"].get("labels") or {}).get("app") == app
                             and not p["metadata"].get("deletionTimestamp"))


def test_paths_index_lists_and_quote_dotted_keys() -> None:
    obj = {"metadata": {"labels": {"app.kubernetes.io/name": "web"}},
           "webhooks": [{"failurePolicy": "Fail"}, {"failurePolicy": "Ignore"}]}
    assert resolve_path(obj, parse_path('metadata.labels["app.kubernetes.io/name"]')) == "web"
    assert resolve_path(obj, parse_path("webhooks[0].failurePolicy")) == "Fail"
    assert resolve_path(obj, parse_path("webhooks[-1].failurePolicy")) == "Ignore"
    assert resolve_path(obj, parse_path("webhooks[2].failurePolicy")) is MISSING
    for bad in ("spec..replicas", "a[x]", 'a["b]', ".a"):
        with pytest.raises(PathError):
            parse_path(bad)
    with pytest.raises(LocatedError) as e:
        parse_scenario("health:\n  - field: {apiVersion: v1, kind: Node, name: n, path: 'a[x]'}\n", "s.yaml")
    assert e.value.line == 2 and "invalid field path" in str(e.value)


def test_a_rolling_update_never_drops_below_max_unavailable_and_waits_min_ready_seconds() -> None:
    scenario = {"behaviours": {"kubelet": {"startSeconds": 0.4}},
                "generators": [{"nodes": {"count": 4}}],
                "objects": [_deploy("web", 4, "web:1", minReadySeconds=1,
                                    strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})],
                "health": [{"name": "web rolled", "deploymentsAvailable": {"names": ["web"]}}]}
    with Sandbox.start(scenario) as sb:
        st = sb.cluster()
        wait_for(lambda: sb.health().ok, timeout=10, what="first rollout")
        d = copy.deepcopy(st.get("deployments", "web", "default"))
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
        st.update("deployments", d)
        seen_total, seen_ready = set(), set()
        while not sb.health().ok:
            pods = _live(sb, "web")
            seen_total.add(len(pods))
            ready = [p for p in pods if all(c.get("ready") for c in p["status"].get("containerStatuses") or [])]
            seen_ready.add(len(ready))
            assert len(pods) <= 5  # replicas + maxSurge
            time.sleep(0.05)
        assert max(seen_total) == 5 and min(seen_ready) >= 3  # the new pod is not ready yet while it counts
        assert {p["spec"]["containers"][0]["image"] for p in _live(sb, "web")} == {"web:2"}
        events = [e["message"] for e in st.list("events", "default") if e["reason"] == "ScalingReplicaSet"]
        assert any("from 0 to 1" in m for m in events) and any("to 0" in m for m in events), events


def test_a_daemonset_rolls_node_by_node_and_a_missing_configmap_blocks_its_pods() -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}}
    with Sandbox.start({"generators": [{"nodes": {"count": 4}}], "objects": [ds]}) as sb:
        st = sb.cluster()
        wait_for(lambda: len(_live(sb, "agent")) == 4, what="one pod per node")
        new = copy.deepcopy(st.get("daemonsets", "agent", "default"))
        new["spec"]["template"]["spec"]["containers"][0].update(
            image="agent:2", env=[{"name": "CFG", "valueFrom": {"configMapKeyRef": {"name": "agent-cfg",
                                                                                   "key": "level"}}}])
        st.update("daemonsets", new)
        stuck = wait_for(lambda: [p for p in _live(sb, "agent") if p["spec"]["containers"][0]["image"] == "agent:2"],
                         what="first updated pod")
        assert stuck[0]["status"]["containerStatuses"][0]["state"]["waiting"] == {
            "reason": "CreateContainerConfigError", "message": 'configmap "agent-cfg" not found'}
        time.sleep(0.6)  # the roll waits for that pod: one node at a time, the rest keep the old template
        images = sorted(p["spec"]["containers"][0]["image"] for p in _live(sb, "agent"))
        assert images.count("agent:2") == 1 and len(images) <= 4
        assert st.get("daemonsets", "agent", "default")["status"]["updatedNumberScheduled"] == 1
        st.create("configmaps", {"metadata": {"name": "agent-cfg", "namespace": "default"}, "data": {"level": "x"}})
        wait_for(lambda: sorted(p["spec"]["containers"][0]["image"] for p in _live(sb, "agent")) == ["agent:2"] * 4
                 and st.get("daemonsets", "agent", "default")["status"].get("numberReady") == 4,
                 timeout=10, what="rolled everywhere")


def test_a_daemonset_cannot_be_scaled() -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}}
    with Sandbox.start({"generators": [{"nodes": {"count": 2}}], "objects": [ds]}) as sb, _http(sb, "sandbox") as h:
        r = h.put("/apis/apps/v1/namespaces/default/daemonsets/agent/scale",
                  json={"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "agent"},
                        "spec": {"replicas": 5}})
        assert r.status_code == 404
        wait_for(lambda: len(_live(sb, "agent")) == 2, what="one per node")


def test_faults_and_the_ingress_follow_the_cluster_state() -> None:
    scenario = {
        "generators": [{"nodes": {"count": 2}}],
        "objects": [{"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {"c": "api"}},
                              "template": {"metadata": {"labels": {"c": "api"}}, "spec": {"containers": [
                                  {"name": "api", "image": "api", "resources": {"limits": {"memory": "4Gi"}}}]}}}}],
        "faults": [{"verbs": ["update"], "resources": ["leases"], "status": 429, "message": "too many requests",
                    "when": [{"field": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "kube-system",
                                        "name": "kube-apiserver",
                                        "path": "spec.template.spec.containers[0].resources.limits.memory",
                                        "below": 8589934592}}]},
                   {"verbs": ["get"], "resources": ["configmaps"], "status": 503,
                    "when": [{"present": {"apiVersion": "apps/v1", "kind": "DaemonSet", "namespace": "default",
                                          "name": "telemetry"}}]}],
        "behaviours": {"ingress": {"failWhile": [{"apiVersion": "v1", "kind": "ConfigMap", "namespace": "default",
                                                   "selector": "bad=true"}]}},
        "health": [{"ingressHealthy": True}],
    }
    with Sandbox.start(scenario) as sb, _http(sb, "sandbox") as h:
        st = sb.cluster()
        lease = h.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-0").json()
        assert h.put("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-0",
                     json=lease).status_code == 429  # while the API server's memory limit is below 8Gi
        d = copy.deepcopy(st.get("deployments", "kube-apiserver", "kube-system"))
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "8Gi"
        st.update("deployments", d)
        lease = h.get("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-0").json()
        del lease["metadata"]["resourceVersion"]  # the simulated kubelet renews it too: an unconditional update
        assert h.put("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-0",
                     json=lease).status_code == 200  # the fault cleared with its condition
        st.create("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
        assert h.get("/api/v1/namespaces/default/configmaps/c").status_code == 200
        st.create("daemonsets", {"metadata": {"name": "telemetry", "namespace": "default"}, "spec": {
            "selector": {"matchLabels": {"app": "t"}},
            "template": {"metadata": {"labels": {"app": "t"}}, "spec": {"containers": [{"name": "t", "image": "t"}]}}}})
        assert h.get("/api/v1/namespaces/default/configmaps/c").status_code == 503
        assert sb.health().ok
        st.create("configmaps", {"metadata": {"name": "oops", "namespace": "default", "labels": {"bad": "true"}}})
        assert not sb.health().ok
        assert h.get("/sandbox/health").status_code == 503
        st.delete("configmaps", "oops", "default")
        assert sb.health().ok


def test_health_checks_fail_until_the_fix_is_real() -> None:
    scenario = {
        "behaviours": {"containers": [{"image": "app:broken", "crash": {"exitCode": 1}}],
                       "kubelet": {"backoffSeconds": 0.2}},
        "generators": [{"nodes": {"count": 2}}],
        "objects": [_deploy("api", 2, "app:broken"),
                    {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "made", "namespace": "default", "creationTimestamp": "2026-05-08T13:30:00Z",
                                  "managedFields": [{"manager": "operator", "operation": "Update", "apiVersion": "v1",
                                                     "time": "2026-05-08T13:30:00Z", "fieldsType": "FieldsV1",
                                                     "fieldsV1": {"f:data": {}}}]}}],
        "health": [{"name": "no crash loops", "podsHealthy": {"namespace": "default"}},
                   {"name": "api available", "deploymentsAvailable": {"namespace": "default", "names": ["api"]}},
                   {"name": "operator gone", "noneCreatedBy": {"manager": "operator", "since": "2026-05-08T13:00:00Z",
                                                               "until": "2026-05-08T14:00:00Z"}}],
    }
    with Sandbox.start(scenario) as sb:
        st = sb.cluster()
        wait_for(lambda: len(_live(sb, "api")) == 2, what="pods")
        report = sb.health()
        assert report.checks == {"no crash loops": False, "api available": False, "operator gone": False}
        wait_for(lambda: all(p["status"]["containerStatuses"][0]["restartCount"] >= 3 for p in _live(sb, "api")),
                 what="restart counts climbing")
        st.delete("configmaps", "made", "default")
        d = copy.deepcopy(st.get("deployments", "api", "default"))
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "app:fixed"
        st.update("deployments", d)
        wait_for(lambda: sb.health().ok, timeout=15, what="fixed")
        assert any(e["reason"] == "BackOff" and e["count"] >= 2 for e in st.list("events", "default"))


def test_dry_runs_reach_only_webhooks_without_side_effects() -> None:
    hook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "audit"},
            "webhooks": [{"name": "audit.example", "admissionReviewVersions": ["v1"], "sideEffects": "Unknown",
                          "failurePolicy": "Ignore",
                          "clientConfig": {"service": {"namespace": "default", "name": "audit"}},
                          "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                     "resources": ["configmaps"]}]}]}
    with Sandbox.start({"behaviours": {"admissionWebhooks": True}, "objects": [hook]}) as sb, \
            _http(sb, "sandbox") as h:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        r = h.post("/api/v1/namespaces/default/configmaps", params={"dryRun": "All"}, json=body)
        assert r.status_code == 400 and r.json()["message"] == 'admission webhook "audit.example" does not support dry run'
        assert h.post("/api/v1/namespaces/default/configmaps", json=body).status_code == 201  # Ignore: it passes
        st = sb.cluster()
        edited = copy.deepcopy(st.get("validatingwebhookconfigurations", "audit"))
        edited["webhooks"][0]["sideEffects"] = "None"
        st.update("validatingwebhookconfigurations", edited)
        body["metadata"]["name"] = "y"
        assert h.post("/api/v1/namespaces/default/configmaps", params={"dryRun": "All"}, json=body).status_code == 201
        assert st.find("configmaps", "y", "default") is None


def test_a_rule_can_match_a_broken_command() -> None:
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "x", "command": ["/app"], "args": args}]}}
        for name, args in (("migrating", ["serve", "--migrate"]), ("serving", ["serve"]))]
    scenario = {"behaviours": {"containers": [{"command": "/app *--migrate*", "crash": {"exitCode": 3},
                                               "logs": ["migration 42 failed"]}]},
                "generators": [{"nodes": {"count": 1}}], "objects": pods}
    with Sandbox.start(scenario) as sb:
        st = sb.cluster()
        bad = wait_for(lambda: st.get("pods", "migrating", "default")["status"].get("containerStatuses"))[0]
        assert bad["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert bad["lastState"]["terminated"]["exitCode"] == 3
        assert "running" in st.get("pods", "serving", "default")["status"]["containerStatuses"][0]["state"]


def test_overload_follows_the_load_apf_lets_through() -> None:
    """Throttling the kubelets with API Priority and Fairness, or more memory, ends the overload."""
    api = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"c": "api"}},
                    "template": {"metadata": {"labels": {"c": "api"}}, "spec": {"containers": [
                        {"name": "api", "image": "api", "resources": {"limits": {"memory": "4Gi"}}}]}}}}
    scenario = {"generators": [{"nodes": {"count": 20}}], "objects": [api],
                "behaviours": {"apiserverOverload": {"errorRate": 1.0, "clientLoad": {"perGi": 4}}},
                "health": [{"apiserverStable": True}]}
    throttle = [("prioritylevelconfigurations", {"metadata": {"name": "node-throttle"}, "spec": {
                    "type": "Limited", "limited": {"nominalConcurrencyShares": 2,
                                                   "limitResponse": {"type": "Reject"}}}}),
                ("flowschemas", {"metadata": {"name": "node-throttle"}, "spec": {
                    "priorityLevelConfiguration": {"name": "node-throttle"}, "matchingPrecedence": 500,
                    "rules": [{"subjects": [{"kind": "Group", "group": {"name": "system:nodes"}}],
                               "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                  "clusterScope": True, "namespaces": ["*"]}]}]}})]
    with Sandbox.start(scenario) as sb, _http(sb, "sandbox") as h:
        st = sb.cluster()
        assert not sb.health().ok  # 20 kubelets > 4 per GiB x 4 GiB
        assert h.get("/api/v1/nodes").status_code in (429, 503)
        for kind, obj in throttle:
            st.create(kind, obj)
        wait_for(lambda: sb.health().ok, what="throttled load under capacity")  # 20 x 2/10 = 4
        wait_for(lambda: h.get("/api/v1/nodes").status_code == 200, what="served again")
        st.delete("flowschemas", "node-throttle")
        wait_for(lambda: not sb.health().ok, what="overloaded again without the throttle")
        d = copy.deepcopy(st.get("deployments", "kube-apiserver", "kube-system"))
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "8Gi"
        st.update("deployments", d)
        wait_for(lambda: sb.health().ok, what="more memory: 32 > 20")
