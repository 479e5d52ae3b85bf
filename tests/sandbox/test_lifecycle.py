"""Start, stop and the less common API groups; the scenario loader under fuzzing."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox, parse_scenario
from integrations.sandbox.seeding import build_cluster
from mitigate.errors import MitigateError

from .helpers import SCENARIOS, wait_for


def test_start_is_fast_and_stop_is_clean() -> None:
    t = time.perf_counter()
    sb = Sandbox.start(SCENARIOS / "small.yaml")
    took = time.perf_counter() - t
    port = int(sb.url("sandbox").rsplit(":", 1)[1])
    kubeconfig = sb.kubeconfig
    sb.stop()
    sb.stop()  # idempotent
    assert took < 1.5, f"small scenario took {took:.2f}s to start"
    assert not kubeconfig.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_busy_port_is_a_clear_error() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        with pytest.raises(MitigateError, match="cannot listen on 127.0.0.1"):
            Sandbox.start({"generators": [{"nodes": {"count": 1}}]}, port=holder.getsockname()[1])
    finally:
        holder.close()


@pytest.fixture(scope="module")
def api() -> Any:
    sb = Sandbox.start(SCENARIOS / "small.yaml")
    yield sb, config.new_client_from_config(str(sb.kubeconfig))
    sb.stop()


def test_flowcontrol_and_admission_groups(api: Any) -> None:
    sb, c = api
    fc = client.FlowcontrolApiserverV1Api(c)
    fc.create_priority_level_configuration({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
        "metadata": {"name": "throttled"},
        "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
                                                "limitResponse": {"type": "Reject"}}}})
    fc.create_flow_schema({
        "apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "noisy"},
        "spec": {"priorityLevelConfiguration": {"name": "throttled"}, "matchingPrecedence": 500,
                 "rules": [{"subjects": [{"kind": "User", "user": {"name": "operator"}}],
                            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                               "namespaces": ["*"]}]}]}})
    fc.patch_priority_level_configuration("throttled", {"spec": {"limited": {"nominalConcurrencyShares": 20}}})
    assert sb.cluster().get("prioritylevelconfigurations", "throttled")["spec"]["limited"][
        "nominalConcurrencyShares"] == 20
    assert [f.metadata.name for f in fc.list_flow_schema().items] == ["noisy"]
    adm = client.AdmissionregistrationV1Api(c)
    adm.create_validating_webhook_configuration({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "guard"}, "webhooks": []})
    adm.delete_validating_webhook_configuration("guard")
    assert adm.list_validating_webhook_configuration().items == []


def test_graceful_pod_deletion_and_cascades(api: Any) -> None:
    sb, c = api
    v1 = client.CoreV1Api(c)
    v1.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "slow"},
                                         "spec": {"containers": [{"name": "c", "image": "i"}]}})
    pod = wait_for(lambda: (sb.cluster().get("pods", "slow", "default").get("status") or {}).get("phase") == "Running"
                   and v1.read_namespaced_pod("slow", "default"), what="pod scheduled")
    assert pod.spec.node_name in ("node-1", "node-2")  # never the NotReady node-0
    v1.delete_namespaced_pod("slow", "default")
    assert v1.read_namespaced_pod("slow", "default").metadata.deletion_timestamp is not None
    wait_for(lambda: sb.cluster().find("pods", "slow", "default") is None, what="grace period over")
    dc = dynamic.DynamicClient(c)
    deploys = dc.resources.get(api_version="apps/v1", kind="Deployment")
    rs_before = {r["metadata"]["name"] for r in sb.cluster().list("replicasets", "shop")}
    deploys.delete(name="web", namespace="shop", body={"propagationPolicy": "Orphan"})
    wait_for(lambda: sb.cluster().find("deployments", "web", "shop") is None, what="deployment gone")
    orphans = [r for r in sb.cluster().list("replicasets", "shop") if r["metadata"]["name"] in rs_before]
    assert orphans and all(not r["metadata"].get("ownerReferences") for r in orphans)
    with pytest.raises(ApiException) as e:
        v1.delete_namespaced_config_map("missing", "default")
    assert e.value.status == 404


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
                        st.sampled_from(["name", "clusters", "context", "objects", "generators", "nodes", "count",
                                         "pods", "faults", "status", "rate", "health", "absent", "kind",
                                         "apiVersion", "behaviours", "notReady", "metadata", "labels",
                                         "spec", "x"]) | st.sampled_from(["v1", "Node", "Pod", "ConfigMap"]),
                        kids, max_size=4),
                    max_leaves=12))
def test_fuzzed_scenarios_fail_only_with_located_errors(doc: Any) -> None:
    import yaml

    text = yaml.safe_dump(doc)
    try:
        sc = parse_scenario(text, "fuzz.yaml")
        for i in range(len(sc.clusters)):
            build_cluster(sc, i, multi=True)
    except MitigateError as e:
        assert str(e).startswith("fuzz.yaml") and "Traceback" not in str(e)


_ANY = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=2) | st.dictionaries(st.text(max_size=5), kids, max_size=2),
                    max_leaves=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "spec": None, "status": None}])
@example([{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "a"}, "spec": None, "status": {}}])
@given(st.lists(st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(["v1", "apps/v1", "policy/v1", "apiextensions.k8s.io/v1", "nope/v9"]),
     "kind": st.sampled_from(["Node", "Pod", "ConfigMap", "Deployment", "PodDisruptionBudget",
                              "CustomResourceDefinition", "Widget"]),
     "metadata": st.fixed_dictionaries({"name": st.sampled_from(["a", "b"])},
                                       optional={"namespace": _ANY, "labels": _ANY, "annotations": _ANY,
                                                 "finalizers": _ANY, "ownerReferences": _ANY}),
    }, optional={"spec": _ANY, "status": _ANY}), max_size=4))
def test_fuzzed_objects_fail_only_with_located_errors(objects: list[dict[str, Any]]) -> None:
    try:
        sc = parse_scenario(__import__("yaml").safe_dump({"objects": objects}), "objs.yaml")
        bc = build_cluster(sc, 0, multi=False)
        bc.sim.tick()
    except MitigateError as e:
        assert str(e).startswith("objs.yaml")


def test_machinedeployment_rolls_machinesets_and_scales(api: Any) -> None:
    sb, c = api
    st_ = sb.cluster()
    co = client.CustomObjectsApi(c)
    co.create_namespaced_custom_object("cluster.x-k8s.io", "v1beta1", "default", "machinedeployments", {
        "apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "MachineDeployment", "metadata": {"name": "md"},
        "spec": {"clusterName": "c1", "replicas": 2, "selector": {"matchLabels": {"pool": "md"}},
                 "template": {"metadata": {"labels": {"pool": "md"}}, "spec": {"clusterName": "c1",
                                                                              "version": "v1.29.0"}}}})

    def machines() -> list[dict[str, Any]]:
        return st_.list("machines", "default", lambda m: not m["metadata"].get("deletionTimestamp"))

    wait_for(lambda: len(machines()) == 2 and all(st_.find("nodes", m["metadata"]["name"]) for m in machines()),
             what="two machines with nodes")
    co.patch_namespaced_custom_object_scale("cluster.x-k8s.io", "v1beta1", "default", "machinedeployments", "md",
                                            {"spec": {"replicas": 3}})
    wait_for(lambda: len(machines()) == 3, what="scaled to three machines")
    co.patch_namespaced_custom_object("cluster.x-k8s.io", "v1beta1", "default", "machinedeployments", "md",
                                      {"spec": {"template": {"spec": {"version": "v1.30.0"}}}})
    wait_for(lambda: len(machines()) == 3 and {m["spec"]["version"] for m in machines()} == {"v1.30.0"},
             what="machines replaced by the new template")
    sets = {m["metadata"]["name"]: m["spec"]["replicas"] for m in st_.list("machinesets", "default")}
    assert sorted(sets.values()) == [0, 3]
    md = wait_for(lambda: (st_.get("machinedeployments", "md", "default").get("status") or {}).get("readyReplicas")
                  == 3 and st_.get("machinedeployments", "md", "default"), what="MD status")
    assert md["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_daemonset_runs_one_pod_per_matching_node(api: Any) -> None:
    sb, c = api
    st_ = sb.cluster()
    client.AppsV1Api(c).create_namespaced_daemon_set("default", {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "logs"},
        "spec": {"selector": {"matchLabels": {"app": "logs"}},
                 "template": {"metadata": {"labels": {"app": "logs"}},
                              "spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                       "containers": [{"name": "l", "image": "logs:1"}]}}}})

    def placed() -> set[str]:
        return {p["spec"]["nodeName"] for p in st_.list("pods", "default", lambda p: p["metadata"].get(
            "labels", {}).get("app") == "logs" and not p["metadata"].get("deletionTimestamp"))}

    def linux() -> set[str]:
        return {n["metadata"]["name"] for n in st_.list("nodes")
                if n["metadata"].get("labels", {}).get("kubernetes.io/os") == "linux"}

    before = linux()  # other tests in this module add Machine-backed nodes
    wait_for(lambda: placed() == before, what="one pod per node")
    v1 = client.CoreV1Api(c)
    v1.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-3",
                                                                     "labels": {"kubernetes.io/os": "linux"}}})
    v1.create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "win-0",
                                                                     "labels": {"kubernetes.io/os": "windows"}}})
    wait_for(lambda: placed() == before | {"node-3"} and "win-0" not in placed(), what="new node gets a pod")
    v1.delete_node("node-3")
    wait_for(lambda: placed() == before, what="pod of a deleted node removed")
    ds = wait_for(lambda: (st_.get("daemonsets", "logs", "default").get("status") or {}).get(
        "desiredNumberScheduled") == len(before) and st_.get("daemonsets", "logs", "default"), what="DS status")
    assert ds["status"]["numberReady"] == len(before)
