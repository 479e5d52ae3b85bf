"""Helpers for the kube tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

sandbox = pytest.importorskip("integrations.sandbox")


CTX = "kind-test"


NODE_LABELS = {"kubernetes.io/os": "linux"}


def _node(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": dict(NODE_LABELS)},
            "spec": spec, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


def _pod(name: str, node: str, owner_kind: str, ns: str = "shop", annotations: dict[str, str] | None = None,
         ) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner",
                                              "uid": f"uid-{name}", "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running"}}


def seed_objects() -> list[dict[str, Any]]:
    """One small cluster exercising every verb: nodes, a Deployment, pods, APF, a Machine."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "capi"}},
        _node("n0", unschedulable=True), _node("n1"), _node("n2"),
        {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": "n3", "annotations": {"cluster.x-k8s.io/machine": "m3",
                                          "cluster.x-k8s.io/cluster-namespace": "capi"}},
         "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop",
                                                                     "labels": {"app": "web"}},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": "web:1",
                                                        "resources": {"limits": {"cpu": "1"}}}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
         "data": {"k": "v"}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent-1-owner", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "agent"}},
                  "template": {"metadata": {"labels": {"app": "agent"}},
                               "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}},
        _pod("stray-1", "n2", "ReplicaSet"), _pod("agent-1", "n2", "DaemonSet"),
        _pod("static-1", "n2", "Node", annotations={"kubernetes.io/config.mirror": "x"}),
        {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "PriorityLevelConfiguration",
         "metadata": {"name": "noisy"},
         "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
                                                 "limitResponse": {"type": "Reject"}}}},
        {"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema", "metadata": {"name": "noisy"},
         "spec": {"priorityLevelConfiguration": {"name": "noisy"}, "matchingPrecedence": 400,
                  "rules": [{"subjects": [{"kind": "User", "user": {"name": "op"}}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}},
        {"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine", "metadata": {"name": "m3", "namespace": "capi"},
         "spec": {"clusterName": "c"}, "status": {"nodeRef": {"name": "n3"}}},
        {"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Machine", "metadata": {"name": "m1", "namespace": "capi"},
         "spec": {"clusterName": "c"}, "status": {"nodeRef": {"name": "n1"}}},
    ]


def scenario(**extra: Any) -> dict[str, Any]:
    return {"name": "kube-tests", "context": CTX, "objects": copy.deepcopy(seed_objects()), **extra}
