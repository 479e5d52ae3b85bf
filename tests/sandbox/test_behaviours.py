"""Simulated incident mechanics: overload, Machine replacement, CRD-held ingress, faults, security."""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox

from .helpers import SCENARIOS, wait_for


@pytest.fixture(scope="module")
def sb2() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(SCENARIOS / "incidents.yaml")
    yield sandbox
    sandbox.stop()


def _http(sb: Sandbox, ctx: str, token: str | None = None) -> httpx.Client:
    cfg = yaml.safe_load(sb.kubeconfig.read_text())
    ca = base64.b64decode(next(c["cluster"]["certificate-authority-data"] for c in cfg["clusters"] if c["name"] == ctx))
    verify = ssl.create_default_context(cadata=ca.decode())
    token = sb.token if token is None else token
    return httpx.Client(base_url=sb.url(ctx), verify=verify,
                        headers={"Authorization": f"Bearer {token}"} if token else {})


def _api(sb: Sandbox, ctx: str) -> Any:
    return config.new_client_from_config(str(sb.kubeconfig), context=ctx)


def test_kubeconfig_has_one_context_per_cluster_on_loopback(sb2: Sandbox) -> None:
    cfg = yaml.safe_load(sb2.kubeconfig.read_text())
    assert [c["name"] for c in cfg["contexts"]] == sb2.contexts == ["prod-a", "prod-b"]
    assert sb2.url("prod-a") != sb2.url("prod-b")
    assert all(u.startswith("https://127.0.0.1:") for u in map(sb2.url, sb2.contexts))
    assert oct(sb2.kubeconfig.stat().st_mode & 0o777) == "0o600"
    nodes_b = client.CoreV1Api(_api(sb2, "prod-b")).list_node().items
    assert [n.metadata.name for n in nodes_b] == ["node-0"]


def test_unauthenticated_oversized_malformed_and_untyped_bodies(sb2: Sandbox) -> None:
    with _http(sb2, "prod-b", token="wrong") as h:
        r = h.get("/api/v1/nodes")
        assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    with _http(sb2, "prod-b") as h:
        r = h.post("/api/v1/namespaces/default/configmaps", content=b"{not json")
        assert r.status_code == 400 and r.json()["kind"] == "Status"
        big = json.dumps({"metadata": {"name": "big"}, "data": {"x": "y" * (4 * 1024 * 1024)}})
        r = h.post("/api/v1/namespaces/default/configmaps", content=big)
        assert r.status_code == 413 and r.json()["reason"] == "RequestEntityTooLarge"
        r = h.post("/api/v1/namespaces/default/configmaps", content=b'{"metadata":{"name":"plain"}}')
        assert r.status_code == 201, r.text  # no Content-Type: read as JSON
        assert sb2.cluster("prod-b").find("configmaps", "plain", "default") is not None


def test_faults_by_verb_and_resource(sb2: Sandbox) -> None:
    v1 = client.CoreV1Api(_api(sb2, "prod-b"))
    codes = []
    for _ in range(3):
        try:
            v1.patch_node("node-0", {"metadata": {"labels": {"f": "1"}}})
            codes.append(200)
        except ApiException as e:
            codes.append(e.status)
            assert e.headers["Retry-After"] == "2"
    assert codes == [503, 503, 200]
    with _http(sb2, "prod-b") as h, pytest.raises(httpx.TransportError):
        h.get("/api/v1/namespaces/default/secrets/x")
    # the server logs the dropped request as it unwinds, which may be just after the client saw the drop
    from .helpers import wait_for
    wait_for(lambda: [e.status for e in sb2.request_log if e.resource == "secrets"][-1:] == [0],
             what="the dropped request in the log")
    t0 = time.monotonic()
    v1.list_namespaced_config_map("default")
    assert time.monotonic() - t0 >= 0.3
    patches = [e for e in sb2.request_log if e.context == "prod-b" and e.verb == "patch" and e.resource == "nodes"]
    assert [e.status for e in patches[-3:]] == [503, 503, 200] and all(e.mutating for e in patches)


def test_ingress_fails_until_offending_crd_is_gone(sb2: Sandbox) -> None:
    with _http(sb2, "prod-b", token="") as h:
        assert h.get("/sandbox/health").status_code == 503
        assert not sb2.health("prod-b").ok
        ext = client.ApiextensionsV1Api(_api(sb2, "prod-b"))
        ext.delete_custom_resource_definition("bgpconfigurations.crd.projectcalico.org")
        wait_for(lambda: h.get("/sandbox/health").status_code == 200, what="ingress healthy")
    st = sb2.cluster("prod-b")
    assert st.registry.by_kind("crd.projectcalico.org/v1", "BGPConfiguration") is None
    report = sb2.health("prod-b")
    assert report.ok and report.message == "mitigated" and all(report.checks.values())


def test_overloaded_apiserver_recovers_when_memory_is_raised(sb2: Sandbox) -> None:
    st = sb2.cluster("prod-a")
    pod = wait_for(lambda: st.list("pods", "kube-system"), what="apiserver pod")[0]
    name = pod["metadata"]["name"]
    wait_for(lambda: st.get("pods", name, "kube-system")["status"]["containerStatuses"][0]["restartCount"] >= 2,
             what="OOM restarts")
    last = st.get("pods", name, "kube-system")["status"]["containerStatuses"][0]["lastState"]
    assert last["terminated"]["reason"] == "OOMKilled"
    lost = [n["metadata"]["name"] for n in st.list("nodes") if any(
        c["type"] == "Ready" and c["status"] == "Unknown" for c in n["status"]["conditions"])]
    assert len(lost) == 1 and not sb2.health("prod-a").checks["workers ready"]
    with _http(sb2, "prod-a") as h:
        codes = [h.get("/api/v1/nodes").status_code for _ in range(40)]
        assert {429, 503} <= set(codes) and 200 in codes
        assert not sb2.health("prod-a").ok
        patch = {"spec": {"template": {"spec": {"containers": [
            {"name": "kube-apiserver", "resources": {"limits": {"memory": "16Gi"}}}]}}}}
        wait_for(lambda: h.patch("/apis/apps/v1/namespaces/kube-system/deployments/kube-apiserver", json=patch,
                                 headers={"Content-Type": "application/strategic-merge-patch+json"}
                                 ).status_code == 200, what="patch through the overload")
        time.sleep(0.15)
        assert all(h.get("/api/v1/nodes").status_code == 200 for _ in range(30))
    assert sb2.health("prod-a").checks["0:apiserverStable"]
    wait_for(lambda: sb2.health("prod-a").checks["workers ready"], what="lost node back to Ready")


def test_machineset_replaces_a_deleted_machine_and_node_joins(sb2: Sandbox) -> None:
    st = sb2.cluster("prod-a")
    co = client.CustomObjectsApi(_api(sb2, "prod-a"))
    co.delete_namespaced_custom_object("cluster.x-k8s.io", "v1beta1", "capi", "machines", "worker-0")
    wait_for(lambda: st.find("nodes", "worker-0") is None and st.find("machines", "worker-0", "capi") is None,
             what="machine and its node removed")
    machines = wait_for(lambda: [m for m in st.list("machines", "capi") if m["metadata"]["name"] != "worker-1"],
                        what="replacement machine")
    new = machines[0]["metadata"]["name"]
    node = wait_for(lambda: st.find("nodes", new), what="new node joins")
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
    assert node["metadata"]["annotations"]["cluster.x-k8s.io/machine"] == new
    wait_for(lambda: st.get("machines", new, "capi")["status"].get("nodeRef", {}).get("name") == new,
             what="nodeRef")
    assert sb2.health("prod-a").checks["workers ready"]


def test_kubelets_readmitted_by_flowschema_with_enough_shares() -> None:
    sb = Sandbox.start({"generators": [{"nodes": {"count": 10, "notReady": 4, "notReadyReason": "NodeStatusUnknown"}}],
                        "behaviours": {"kubeletAdmission": {"minShares": 10}},
                        "health": [{"nodesReady": {"maxNotReady": 0}}],
                        "drill": {"runbook": "api-throttle-batches"}})
    try:
        st = sb.cluster()
        fc = client.FlowcontrolApiserverV1Api(_api(sb, "sandbox"))
        lost = sorted(n["metadata"]["name"] for n in st.list("nodes") if not any(
            c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]))

        def plc(name: str, shares: int) -> None:
            fc.create_priority_level_configuration({
                "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
                "metadata": {"name": name}, "spec": {"type": "Limited", "limited": {
                    "nominalConcurrencyShares": shares, "limitResponse": {"type": "Reject"}}}})

        def schema(name: str, level: str, precedence: int, users: list[str]) -> None:
            fc.create_flow_schema({
                "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": name},
                "spec": {"priorityLevelConfiguration": {"name": level}, "matchingPrecedence": precedence,
                         "rules": [{"subjects": [{"kind": "User", "user": {"name": u}} for u in users],
                                    "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}})

        plc("throttle", 2)
        fc.create_flow_schema({
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "all-nodes"},
            "spec": {"priorityLevelConfiguration": {"name": "throttle"}, "matchingPrecedence": 500,
                     "rules": [{"subjects": [{"kind": "Group", "group": {"name": "system:nodes"}}],
                                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}})
        time.sleep(0.3)
        assert not sb.health().ok  # 2 shares admit nobody
        plc("readmit", 20)
        schema("readmit-batch-1", "readmit", 100, [f"system:node:{n}" for n in lost[:2]])
        wait_for(lambda: sum(1 for n in st.list("nodes") if any(
            c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])) == 8,
            what="first batch readmitted")
        schema("readmit-batch-2", "readmit", 100, [f"system:node:{n}" for n in lost[2:]])
        wait_for(lambda: sb.health().ok, what="all nodes readmitted")
    finally:
        sb.stop()
