"""The mechanics behind the example incidents: fail-closed admission webhooks with a dead
backend, the endpoints controller, image errors, and an API server overloaded by a DaemonSet."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox

from .helpers import wait_for

WEBHOOKS = "validatingwebhookconfigurations.admissionregistration.k8s.io"


def _scenario() -> dict[str, Any]:
    def pods_hook(policy: str | None) -> dict[str, Any]:
        hook = {"name": "pods.gate.example", "clientConfig": {"service": {"namespace": "policy", "name": "gate"}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                                            "values": ["kube-system"]}]},
                "sideEffects": "None", "admissionReviewVersions": ["v1"]}
        if policy:
            hook["failurePolicy"] = policy
        return hook

    return {"name": "mechanics", "context": "mech",
            "behaviours": {"admissionWebhooks": True,
                           "imageErrors": {"gate:broken": "CrashLoopBackOff", "web:missing": "ErrImagePull"}},
            "generators": [{"nodes": {"count": 2}}],
            "objects": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "policy"}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gate", "namespace": "policy"},
                 "spec": {"selector": {"app": "gate"}, "ports": [{"port": 443, "targetPort": 8443}]}},
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gate", "namespace": "policy"},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "gate"}},
                          "template": {"metadata": {"labels": {"app": "gate"}},
                                       "spec": {"containers": [{"name": "g", "image": "gate:broken"}]}}}},
                {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                 "metadata": {"name": "gate"}, "webhooks": [pods_hook(None)]},
            ]}


@pytest.fixture(scope="module")
def box() -> Any:
    sb = Sandbox.start(_scenario())
    yield sb
    sb.stop()


def _core(sb: Sandbox) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(str(sb.kubeconfig), context="mech"))


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def test_fail_closed_webhook_with_dead_backend_refuses_creates_until_ignored(box: Sandbox) -> None:
    core = _core(box)
    with pytest.raises(ApiException) as info:
        core.create_namespaced_pod("default", POD)
    assert info.value.status == 500
    message = json.loads(info.value.body)["message"]
    assert 'failed calling webhook "pods.gate.example"' in message and "connection refused" in message
    # kube-system is excluded by the namespaceSelector; the backend's own pods are refused too
    core.create_namespaced_pod("kube-system", POD)
    st = box.cluster()
    assert not st.list("pods", "policy")
    eps = wait_for(lambda: st.find("endpoints", "gate", "policy"), what="endpoints")
    assert eps.get("subsets") == []
    hooks = copy.deepcopy(st.get(WEBHOOKS, "gate"))
    hooks["webhooks"][0]["failurePolicy"] = "Ignore"
    st.update(WEBHOOKS, hooks)
    core.create_namespaced_pod("default", POD)
    # the refused ReplicaSet is retried: its pod is created, and crash-loops on its image
    pod = wait_for(lambda: st.list("pods", "policy"), what="backend pod")[0]
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff" and status["restartCount"] > 0
    assert status["lastState"]["terminated"]["reason"] == "Error"
    eps = wait_for(lambda: (st.find("endpoints", "gate", "policy") or {}).get("subsets"), what="not-ready address")
    assert "notReadyAddresses" in eps[0] and "addresses" not in eps[0]


def test_overload_follows_a_daemonset_not_memory() -> None:
    sb = Sandbox.start({
        "name": "storm", "context": "storm",
        "behaviours": {"apiserverOverload": {"daemonSet": "obs/agent", "maxDaemonPods": 1, "errorRate": 0}},
        "generators": [{"nodes": {"count": 3}}],
        "objects": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "obs"}},
                    {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "obs"},
                     "spec": {"selector": {"matchLabels": {"app": "a"}},
                              "template": {"metadata": {"labels": {"app": "a"}},
                                           "spec": {"containers": [{"name": "a", "image": "a:1"}]}}}}],
        "health": [{"apiserverStable": True}]})
    try:
        st = sb.cluster()
        wait_for(lambda: len(st.list("pods", "obs")) == 3, what="agents")
        sb.tick()
        assert not sb.health().ok
        ds = copy.deepcopy(st.get("daemonsets", "agent", "obs"))
        ds["spec"]["template"]["spec"]["nodeSelector"] = {"mitigate.io/disabled": "true"}
        st.update("daemonsets", ds)
        wait_for(lambda: not st.list("pods", "obs"), what="agents removed")
        wait_for(lambda: sb.health().ok, what="overload over")
    finally:
        sb.stop()
