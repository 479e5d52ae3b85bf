"""The kinds people use, through the official client's typed APIs: create, get, list, patch, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from integrations.sandbox import Sandbox

POD = {"containers": [{"name": "c", "image": "busybox"}]}
TEMPLATE = {"metadata": {"labels": {"app": "k"}}, "spec": {**POD, "restartPolicy": "Never"}}


def _meta(name: str, ns: str | None) -> dict[str, Any]:
    return {"name": name, **({"namespace": ns} if ns else {})}


# (API class, method infix, namespaced, body, patch, how to read the patched field back)
KINDS: dict[str, tuple[str, str, bool, dict[str, Any], dict[str, Any], Callable[[Any], Any]]] = {
    "Job": ("BatchV1Api", "job", True, {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": TEMPLATE}},
            {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels["p"]),  # beside the template's
    "CronJob": ("BatchV1Api", "cron_job", True, {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {
        "schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}}},
        {"spec": {"suspend": True}}, lambda o: o.spec.suspend),
    "Role": ("RbacAuthorizationV1Api", "role", True, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
             {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]},
             lambda o: o.rules[0].verbs),
    "ClusterRole": ("RbacAuthorizationV1Api", "cluster_role", False, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
    "RoleBinding": ("RbacAuthorizationV1Api", "role_binding", True, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "name": "bob", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
    "ClusterRoleBinding": ("RbacAuthorizationV1Api", "cluster_role_binding", False, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
    "HorizontalPodAutoscaler": ("AutoscalingV2Api", "horizontal_pod_autoscaler", True, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 4}}, {"spec": {"maxReplicas": 6}}, lambda o: o.spec.max_replicas),
    "EndpointSlice": ("DiscoveryV1Api", "endpoint_slice", True, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
    "StorageClass": ("StorageV1Api", "storage_class", False, {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/disk"},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
    "ReplicationController": ("CoreV1Api", "replication_controller", True, {
        "apiVersion": "v1", "kind": "ReplicationController", "spec": {
            "replicas": 0, "selector": {"app": "k"}, "template": {"metadata": {"labels": {"app": "k"}}, "spec": POD}}},
        {"spec": {"replicas": 0, "minReadySeconds": 5}}, lambda o: o.spec.min_ready_seconds),
    "APIService": ("ApiregistrationV1Api", "api_service", False, {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "spec": {
            "group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
            "service": {"namespace": "kube-system", "name": "metrics-server"}}},
        {"metadata": {"labels": {"p": "1"}}}, lambda o: o.metadata.labels),
}
PATCHED = {"Job": "1", "CronJob": True, "Role": ["get", "list"], "ClusterRole": {"p": "1"},
           "RoleBinding": {"p": "1"}, "ClusterRoleBinding": {"p": "1"}, "HorizontalPodAutoscaler": 6,
           "EndpointSlice": {"p": "1"}, "StorageClass": {"p": "1"}, "ReplicationController": 5,
           "APIService": {"p": "1"}}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_typed_api_round_trip(kind: str, api: Any, sb: Sandbox) -> None:
    cls, infix, namespaced, body, patch, read = KINDS[kind]
    typed = getattr(client, cls)(api)
    name = f"k-{kind.lower()}"
    ns = "default" if namespaced else None
    scope = "namespaced_" if namespaced else ""
    kw: dict[str, Any] = {"namespace": ns} if namespaced else {}
    if kind == "APIService":
        name = "v1beta1.metrics.k8s.io"
    created = getattr(typed, f"create_{scope}{infix}")(body={**body, "metadata": _meta(name, ns)}, **kw)
    assert created.metadata.name == name and created.metadata.uid and created.kind in (None, kind)
    got = getattr(typed, f"read_{scope}{infix}")(name=name, **kw)
    assert got.metadata.uid == created.metadata.uid
    listed = getattr(typed, f"list_{scope}{infix}")(**kw)
    assert name in [i.metadata.name for i in listed.items]
    patched = getattr(typed, f"patch_{scope}{infix}")(name=name, body=patch, **kw)
    assert read(patched) == PATCHED[kind]
    gone = getattr(typed, f"delete_{scope}{infix}")(name=name, **kw)  # client 37: a dict for most kinds
    if kind == "StorageClass":  # its storage returns the deleted object
        assert isinstance(gone, client.V1StorageClass) and gone.metadata.name == name
    else:
        assert gone["kind"] == "Status" and gone["status"] == "Success", gone
        assert gone["details"]["name"] == name and gone["details"]["uid"] == created.metadata.uid
    assert sb.cluster().find(sb.cluster().resource(created.kind or kind), name, ns) is None


def test_delete_service_and_service_account_return_the_object(api: Any) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_service("default", {"metadata": {"name": "gone"}, "spec": {"ports": [{"port": 80}]}})
    svc = core.delete_namespaced_service("gone", "default")
    assert isinstance(svc, client.V1Service) and svc.metadata.name == "gone"
    core.create_namespaced_service_account("default", {"metadata": {"name": "robot"}})
    sa = core.delete_namespaced_service_account("robot", "default")
    assert isinstance(sa, client.V1ServiceAccount) and sa.metadata.name == "robot"
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm-gone"}})
    status = core.delete_namespaced_config_map("cm-gone", "default")
    assert status["status"] == "Success" and status["details"]["kind"] == "configmaps"
    assert "group" not in status["details"]  # the core group is empty, and omitted


def test_self_subject_reviews(api: Any) -> None:
    rules = client.AuthorizationV1Api(api).create_self_subject_rules_review(
        {"spec": {"namespace": "default"}})
    assert rules.status.resource_rules and rules.status.incomplete is False
    me = client.AuthenticationV1Api(api).create_self_subject_review({})
    assert me.status.user_info.username and "system:authenticated" in me.status.user_info.groups


def test_controller_made_objects_and_create_defaults(api: Any, sb: Sandbox) -> None:
    core = client.CoreV1Api(api)
    k8s = core.read_namespaced_service("kubernetes", "default")
    assert k8s.spec.cluster_ip == "10.96.0.1" and k8s.spec.ports[0].port == 443
    assert {sa.metadata.name for sa in core.list_namespaced_service_account("shop").items} >= {"default"}
    core.create_namespace({"metadata": {"name": "fresh"}})
    ns = core.read_namespace("fresh")
    assert ns.status.phase == "Active" and ns.metadata.labels["kubernetes.io/metadata.name"] == "fresh"
    assert core.read_namespaced_service_account("default", "fresh").metadata.name == "default"
    made = client.AppsV1Api(api).create_namespaced_deployment("fresh", {
        "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "app"}]}}}})
    assert made.spec.replicas == 1 and made.spec.strategy.type == "RollingUpdate"
    assert made.spec.revision_history_limit == 10 and made.spec.progress_deadline_seconds == 600
    c = made.spec.template.spec.containers[0]
    assert c.image_pull_policy == "Always" and c.termination_message_policy == "File"  # untagged: :latest
    assert made.spec.template.spec.restart_policy == "Always" and made.spec.template.spec.dns_policy == "ClusterFirst"
    svc = core.create_namespaced_service("fresh", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert svc.spec.cluster_ip.startswith("10.") and svc.spec.cluster_ip != "10.96.0.1"
    assert svc.spec.ports[0].target_port == 80 and svc.spec.ports[0].protocol == "TCP"
    replaced = core.replace_namespaced_service("s", "fresh", {"metadata": {"name": "s", "resourceVersion":
                                                                            svc.metadata.resource_version},
                                                               "spec": {"ports": [{"port": 81}]}})
    assert replaced.spec.cluster_ip == svc.spec.cluster_ip  # allocated once
    core.delete_namespace("fresh")
