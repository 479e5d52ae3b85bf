"""The admission chain through real clients: mutating webhooks patch (before validation), validating
webhooks and the DELETE/UPDATE operations they match, timeouts per failurePolicy, AdmissionReview v1
shapes as a real webhook server on 127.0.0.1 receives them, subresource writes admitted as such."""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sandbox import Sandbox
from integrations.sandbox.admission import Request, warning_header
from integrations.sandbox.store import ApiError, ClusterState, Writer

from .helpers import kubectl_sandbox, wait_for
from .webhookserver import WebhookServer

ADM = "admissionregistration.k8s.io/v1"


def _hook(name: str, service: dict[str, Any] | None = None, *, url: str | None = None, ops: list[str],
          resources: list[str], group: str = "", **extra: Any) -> dict[str, Any]:
    cc: dict[str, Any] = {"service": service} if service is not None else {"url": url}
    return dict({"name": name, "admissionReviewVersions": ["v1"], "sideEffects": "None", "clientConfig": cc,
                 "rules": [{"operations": ops, "apiGroups": [group], "apiVersions": ["v1"],
                            "resources": resources}]}, **extra)


def _backend_pod(ns: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{app}-0", "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "server", "image": f"registry.example/{app}:1"}]}}


def _service(ns: str, app: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
            "spec": {"selector": {"app": app}, "ports": [{"port": 443}]}}


SCENARIO: dict[str, Any] = {
    "name": "admission",
    "behaviours": {"admissionWebhooks": True, "podGraceSeconds": 0.1, "webhookBackends": [
        {"service": {"namespace": "mesh", "name": "injector"}, "path": "/inject", "operations": ["CREATE"],
         "resources": ["pods"], "patch": [{"op": "add", "path": "/metadata/labels/injected", "value": "yes"}],
         "warnings": ["sidecar injected by inject.mesh.example"]},
        {"service": {"namespace": "mesh", "name": "injector"}, "path": "/replicas",
         "patch": [{"op": "replace", "path": "/spec/replicas", "value": -1}]},
        {"service": {"namespace": "policy", "name": "guard"}, "path": "/deletes", "allowed": False,
         "message": "config maps labelled protected=true may not be deleted"},
        {"service": {"namespace": "policy", "name": "guard"}, "path": "/scale", "allowed": False, "code": 403,
         "message": "scaling is frozen"},
        {"service": {"namespace": "policy", "name": "slow"}, "latencySeconds": 2.5},
        {"service": {"namespace": "policy", "name": "guard"}, "path": "/evict", "allowed": False, "code": 429,
         "reason": "TooManyRequests", "message": "batch jobs in pinned are never evicted"},
    ]},
    "generators": [{"nodes": {"count": 2, "namePrefix": "node-"}}],
    "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "policy"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app", "labels": {"inject": "on"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "slow"}},
        _backend_pod("mesh", "injector"), _service("mesh", "injector"),
        _backend_pod("policy", "guard"), _service("policy", "guard"),
        _backend_pod("policy", "slow"), _service("policy", "slow"),
        {"apiVersion": ADM, "kind": "MutatingWebhookConfiguration", "metadata": {"name": "inject"}, "webhooks": [
            _hook("inject.mesh.example", {"namespace": "mesh", "name": "injector", "path": "/inject"},
                  ops=["CREATE"], resources=["pods"], namespaceSelector={"matchLabels": {"inject": "on"}}),
            _hook("replicas.mesh.example", {"namespace": "mesh", "name": "injector", "path": "/replicas"},
                  ops=["CREATE"], resources=["deployments"], group="apps",
                  namespaceSelector={"matchLabels": {"inject": "on"}})]},
        {"apiVersion": ADM, "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "guard"}, "webhooks": [
            _hook("deletes.guard.example", {"namespace": "policy", "name": "guard", "path": "/deletes"},
                  ops=["DELETE"], resources=["configmaps"], objectSelector={"matchLabels": {"protected": "true"}}),
            _hook("scale.guard.example", {"namespace": "policy", "name": "guard", "path": "/scale"},
                  ops=["UPDATE"], resources=["deployments/scale"], group="apps",
                  namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "frozen"}}),
            _hook("slow.example", {"namespace": "policy", "name": "slow"}, ops=["CREATE"], resources=["configmaps"],
                  timeoutSeconds=1, namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "slow"}}),
            _hook("evict.guard.example", {"namespace": "policy", "name": "guard", "path": "/evict"}, ops=["CREATE"],
                  resources=["pods/eviction"],
                  namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "pinned"}})]},
    ],
}


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any]]:
    with kubectl_sandbox(SCENARIO, tmp_path_factory.mktemp("kubectl-home")) as (sb, k):
        st = sb.cluster()
        wait_for(lambda: all(any(c["type"] == "Ready" and c["status"] == "True"
                                 for c in (st.get("pods", f"{app}-0", ns).get("status") or {}).get("conditions") or [])
                             for ns, app in (("mesh", "injector"), ("policy", "guard"), ("policy", "slow"))),
                 timeout=15, what="webhook backends ready")
        yield sb, k


def test_a_mutating_webhook_patches_the_created_object_and_its_warning_reaches_kubectl(kc: Any) -> None:
    sb, k = kc
    out = k("run", "web", "-n", "app", "--image=busybox", "--restart=Never")
    assert "Warning: sidecar injected by inject.mesh.example" in out.stderr, out.stderr
    assert sb.cluster().get("pods", "web", "app")["metadata"]["labels"] == {"run": "web", "injected": "yes"}
    k("run", "web", "-n", "slow", "--image=busybox", "--restart=Never")  # outside the namespaceSelector
    assert "injected" not in sb.cluster().get("pods", "web", "slow")["metadata"]["labels"]


def test_a_mutating_webhooks_bad_value_is_refused_by_validation_after_it(kc: Any) -> None:
    _, k = kc
    out = k("create", "deployment", "api", "-n", "app", "--image=busybox", check=False)
    assert out.returncode != 0
    assert 'Deployment.apps "api" is invalid' in out.stderr and "spec.replicas" in out.stderr, out.stderr
    k("create", "deployment", "api", "-n", "slow", "--image=busybox")  # no webhook there: valid


def test_a_delete_refusing_webhook_refuses_kubectl_delete_of_what_it_selects(kc: Any) -> None:
    sb, k = kc
    k("create", "configmap", "keep", "-n", "app", "--from-literal=a=1")
    k("label", "configmap", "keep", "-n", "app", "protected=true")
    k("create", "configmap", "scratch", "-n", "app", "--from-literal=a=1")
    out = k("delete", "configmap", "keep", "-n", "app", check=False)
    assert out.returncode != 0
    assert ('Error from server (Forbidden): admission webhook "deletes.guard.example" denied the request: config '
            "maps labelled protected=true may not be deleted") in out.stderr, out.stderr
    k("delete", "configmap", "scratch", "-n", "app")  # not selected by the objectSelector
    out = k("delete", "configmaps", "--all", "-n", "app", check=False)
    assert out.returncode != 0 and "denied the request" in out.stderr
    assert sb.cluster().find("configmaps", "keep", "app") is not None
    k("label", "configmap", "keep", "-n", "app", "protected-")  # the UPDATE is not covered: allowed
    k("delete", "configmap", "keep", "-n", "app")


def test_a_scale_is_admitted_as_an_update_of_the_scale_subresource(kc: Any) -> None:
    sb, k = kc
    k("create", "namespace", "frozen")
    k("create", "deployment", "api", "-n", "frozen", "--image=busybox", "--replicas=1")
    out = k("scale", "deployment", "api", "-n", "frozen", "--replicas=3", check=False)
    assert out.returncode != 0
    assert 'admission webhook "scale.guard.example" denied the request: scaling is frozen' in out.stderr, out.stderr
    assert sb.cluster().get("deployments", "api", "frozen")["spec"]["replicas"] == 1
    # the rule names deployments/scale: a write of the Deployment itself is not covered
    k("patch", "deployment", "api", "-n", "frozen", "-p", '{"spec":{"replicas":2}}')
    assert sb.cluster().get("deployments", "api", "frozen")["spec"]["replicas"] == 2


def test_a_slow_backend_past_timeout_seconds_fails_per_failure_policy(kc: Any) -> None:
    sb, k = kc
    began = time.monotonic()
    out = k("create", "configmap", "late", "-n", "slow", "--from-literal=a=1", check=False)
    took = time.monotonic() - began
    assert out.returncode != 0
    assert ('Internal error occurred: failed calling webhook "slow.example": '
            'failed to call webhook: Post "https://slow.policy.svc:443/?timeout=1s": context deadline exceeded'
            ) in out.stderr, out.stderr
    assert took >= 1.0  # the API server waited timeoutSeconds before it answered
    assert sb.cluster().find("configmaps", "late", "slow") is None
    k("patch", "validatingwebhookconfiguration", "guard", "--type=json",
      "-p", '[{"op":"replace","path":"/webhooks/2/failurePolicy","value":"Ignore"}]')
    k("create", "configmap", "late", "-n", "slow", "--from-literal=a=1")
    assert sb.cluster().find("configmaps", "late", "slow") is not None
    out = k("patch", "validatingwebhookconfiguration", "guard", "--type=json",
            "-p", '[{"op":"replace","path":"/webhooks/2/timeoutSeconds","value":31}]', check=False)
    assert out.returncode != 0
    assert "webhooks[2].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds" \
        in out.stderr, out.stderr


def test_the_official_client_gets_the_mutated_object_back(kc: Any) -> None:
    from kubernetes import client, config

    sb, _ = kc
    api = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
    try:
        pod = client.CoreV1Api(api).create_namespaced_pod("app", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "py", "labels": {"app": "py"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        assert pod.metadata.labels == {"app": "py", "injected": "yes"}
        # the same patch on a pod without labels cannot apply: a 500, as the API server answers it
        with pytest.raises(client.ApiException) as e:
            client.CoreV1Api(api).create_namespaced_pod("app", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
        assert e.value.status == 500 and "/metadata/labels/injected" in json.loads(e.value.body)["message"]
    finally:
        api.close()


def test_an_eviction_is_admitted_as_a_create_of_pods_eviction(kc: Any) -> None:
    from kubernetes import client, config

    sb, k = kc
    k("create", "namespace", "pinned")
    k("run", "job", "-n", "pinned", "--image=busybox", "--restart=Never")
    api = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
    try:
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name="job", namespace="pinned"))
        with pytest.raises(client.ApiException) as e:
            client.CoreV1Api(api).create_namespaced_pod_eviction("job", "pinned", body)
        status = json.loads(e.value.body)
        assert e.value.status == 429 and status["reason"] == "TooManyRequests"
        assert status["message"] == ('admission webhook "evict.guard.example" denied the request: batch jobs in '
                                     "pinned are never evicted")
        assert sb.cluster().get("pods", "job", "pinned")["metadata"].get("deletionTimestamp") is None
        k("delete", "pod", "job", "-n", "pinned", "--wait=false")  # a delete is not an eviction: allowed
    finally:
        api.close()


def test_a_real_webhook_server_gets_admission_reviews_as_the_api_server_sends_them(kc: Any) -> None:
    sb, k = kc
    server = WebhookServer(lambda review: {"allowed": True, "warnings": [f"seen {review['request']['operation']}"]})
    try:
        k("create", "namespace", "audited")
        k("label", "namespace", "audited", "inject=on")
        config = {"apiVersion": ADM, "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "audit"},
                  "webhooks": [_hook("audit.example", url=f"{server.url}/audit", ops=["*"],
                                     resources=["configmaps", "pods"], timeoutSeconds=5,
                                     namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "audited"}})]}
        config["webhooks"][0]["clientConfig"]["caBundle"] = server.ca_bundle
        sb.cluster().create("validatingwebhookconfigurations", config)
        k("create", "configmap", "c", "-n", "audited", "--from-literal=a=1")
        out = k("patch", "configmap", "c", "-n", "audited", "-p", '{"data":{"a":"2"}}')
        assert "Warning: seen UPDATE" in out.stderr, out.stderr
        k("delete", "configmap", "c", "-n", "audited")
        k("run", "p", "-n", "audited", "--image=busybox", "--restart=Never")
        by_op = {(r["request"]["resource"]["resource"], r["request"]["operation"]): r for r in server.reviews}
        create = by_op[("configmaps", "CREATE")]
        assert create["apiVersion"] == "admission.k8s.io/v1" and create["kind"] == "AdmissionReview"
        assert create["path"] == "/audit?timeout=5s"
        req = create["request"]
        assert req["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
        assert req["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
        assert req["name"] == "c" and req["namespace"] == "audited" and req["dryRun"] is False
        assert req["object"]["data"] == {"a": "1"} and req["oldObject"] is None
        assert req["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        assert req["userInfo"]["username"] and "system:masters" in req["userInfo"]["groups"]
        update = by_op[("configmaps", "UPDATE")]["request"]
        assert update["oldObject"]["data"] == {"a": "1"} and update["object"]["data"] == {"a": "2"}
        delete = by_op[("configmaps", "DELETE")]["request"]
        assert delete["object"] is None and delete["oldObject"]["data"] == {"a": "2"}
        assert delete["options"]["kind"] == "DeleteOptions"
        # validating admission runs after the mutating webhooks: it sees the injected label
        assert by_op[("pods", "CREATE")]["request"]["object"]["metadata"]["labels"]["injected"] == "yes"
        assert len({r["request"]["uid"] for r in server.reviews}) == len(server.reviews)

        # an answer that does not echo the uid is not an answer: failurePolicy Fail refuses the request
        server.decide = lambda review: {"uid": "not-the-one", "allowed": True}
        out = k("create", "configmap", "d", "-n", "audited", "--from-literal=a=1", check=False)
        assert out.returncode != 0
        assert ('failed calling webhook "audit.example": received invalid webhook response: expected '
                'response.uid="') in out.stderr and 'got "not-the-one"' in out.stderr, out.stderr
        # a real backend slower than timeoutSeconds: the API server gives up on it
        server.decide = lambda review: (time.sleep(2.5), {"allowed": True})[1]
        st = sb.cluster()
        slow = copy.deepcopy(st.get("validatingwebhookconfigurations", "audit"))
        slow["webhooks"][0]["timeoutSeconds"] = 1
        st.update("validatingwebhookconfigurations", slow)
        out = k("create", "configmap", "d", "-n", "audited", "--from-literal=a=1", check=False)
        assert (f'failed calling webhook "audit.example": failed to call webhook: Post "{server.url}/audit?timeout=1s": '
                "context deadline exceeded") in out.stderr, out.stderr
        server.decide = lambda review: {"allowed": True}
        # a webhook that is not trusted (no caBundle, a self-signed certificate) cannot be reached
        sb.cluster().delete("validatingwebhookconfigurations", "audit")
        del config["webhooks"][0]["clientConfig"]["caBundle"]
        sb.cluster().create("validatingwebhookconfigurations", config)
        out = k("create", "configmap", "d", "-n", "audited", "--from-literal=a=1", check=False)
        assert "tls: failed to verify certificate: x509: certificate signed by unknown authority" in out.stderr, \
            out.stderr
    finally:
        server.stop()
        if sb.cluster().find("validatingwebhookconfigurations", "audit") is not None:
            sb.cluster().delete("validatingwebhookconfigurations", "audit")


def test_a_service_webhook_reaches_a_real_endpoint_verified_under_the_service_name() -> None:
    def deny_big(review: dict[str, Any]) -> dict[str, Any]:
        replicas = (review["request"]["object"].get("spec") or {}).get("replicas", 1)
        if replicas > 5:
            return {"allowed": False, "status": {"code": 403, "reason": "Forbidden",
                                                 "message": f"{replicas} replicas is over the quota of 5"}}
        patch = [{"op": "add", "path": "/metadata/annotations", "value": {"quota.example/checked": "true"}}]
        return {"allowed": True, "patchType": "JSONPatch", "patch": base64.b64encode(json.dumps(patch).encode()).decode()}

    server = WebhookServer(deny_big, "guard.policy.svc")
    try:
        scenario = copy.deepcopy(SCENARIO)
        scenario["behaviours"]["webhookBackends"] = [{"service": {"namespace": "policy", "name": name},
                                                      "endpoint": server.url} for name in ("guard", "slow")]
        hook = _hook("quota.example", {"namespace": "policy", "name": "guard", "path": "/quota"}, ops=["CREATE"],
                     resources=["deployments"], group="apps")
        # the same server behind another Service: its certificate does not name slow.policy.svc
        other = _hook("other.example", {"namespace": "policy", "name": "slow"}, ops=["CREATE"],
                      resources=["configmaps"])
        for h in (hook, other):
            h["clientConfig"]["caBundle"] = server.ca_bundle
        scenario["objects"] = [o for o in scenario["objects"] if "Webhook" not in o["kind"]] + [
            {"apiVersion": ADM, "kind": "MutatingWebhookConfiguration", "metadata": {"name": "quota"},
             "webhooks": [hook, other]}]
        with Sandbox.start(scenario) as sb:
            st = sb.cluster()
            wait_for(lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in (
                st.get("pods", "guard-0", "policy").get("status") or {}).get("conditions") or []), timeout=15,
                what="guard ready")
            w = Writer(manager="test", user={"username": "alice", "groups": ["dev"]})

            def deployment(name: str, replicas: int) -> dict[str, Any]:
                return {"metadata": {"name": name, "namespace": "app"}, "spec": {
                    "replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "c", "image": "x"}]}}}}

            made = st.create("deployments", deployment("small", 2), w)
            assert made["metadata"]["annotations"] == {"quota.example/checked": "true"}
            assert server.reviews[-1]["path"] == "/quota?timeout=10s"
            assert server.reviews[-1]["request"]["userInfo"] == {"username": "alice", "groups": ["dev"]}
            with pytest.raises(ApiError) as e:
                st.create("deployments", deployment("big", 9), w)
            assert (e.value.code, e.value.reason) == (403, "Forbidden")
            assert e.value.message == 'admission webhook "quota.example" denied the request: 9 replicas is over ' \
                                      "the quota of 5"
            wait_for(lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in (
                st.get("pods", "slow-0", "policy").get("status") or {}).get("conditions") or []), what="slow ready")
            with pytest.raises(ApiError) as e:
                st.create("configmaps", {"metadata": {"name": "c", "namespace": "app"}}, w)
            assert e.value.message.endswith('Post "https://slow.policy.svc:443/?timeout=10s": tls: failed to verify '
                                            "certificate: x509: certificate is valid for localhost, guard.policy.svc, "
                                            "127.0.0.1, not slow.policy.svc"), e.value.message
    finally:
        server.stop()


def test_the_chain_runs_mutating_then_validation_then_validating_and_namespaces_first() -> None:
    st = ClusterState("unit")
    order: list[str] = []
    st.admission.mutating.append(lambda s, req: order.append(f"mutating {req.operation}"))
    st.admission.validating.append(lambda s, req: order.append(f"validating {req.operation}"))
    st.create("namespaces", {"metadata": {"name": "team"}})
    st.create("namespaces", {"metadata": {"name": "default"}})
    order.clear()
    validate = st.validate

    def traced(r: Any, obj: Any) -> None:
        order.append("validation")
        validate(r, obj)

    st.validate = traced  # type: ignore[method-assign]
    w = Writer(manager="t", user={"username": "u"})
    cm = st.create("configmaps", {"metadata": {"name": "a", "namespace": "team"}}, w)
    st.update("configmaps", dict(cm, data={"k": "v"}), w)
    st.delete("configmaps", "a", "team", w)
    assert order == ["mutating CREATE", "validation", "validating CREATE", "mutating UPDATE", "validation",
                     "validating UPDATE", "mutating DELETE", "validating DELETE"]
    with pytest.raises(ApiError) as e:  # NamespaceLifecycle, first in the chain: before validation
        st.create("configmaps", {"metadata": {"name": "b", "namespace": "gone"}, "data": "not a map"}, w)
    assert (e.value.code, e.value.message) == (404, 'namespaces "gone" not found')
    with pytest.raises(ApiError) as e:
        st.delete("namespaces", "default", None, w)
    assert (e.value.code, e.value.message) == (403, 'namespaces "default" is forbidden: this namespace may not be '
                                                    "deleted")
    # the simulated controllers' updates stand for status writes: validation only, no plugins
    order.clear()
    st.put("namespaces", st.get("namespaces", "team"))
    assert order == ["validation"]
    assert isinstance(Request("CREATE", st.resource("pods"), "a", "b", {}).user, dict)


def test_warning_headers_are_quoted_as_the_api_server_quotes_them() -> None:
    assert warning_header(['a "quoted" one', "two"]) == '299 - "a \\"quoted\\" one", 299 - "two"'


def test_an_invalid_objects_message_is_worded_as_apimachinerys_new_invalid() -> None:
    """``Deployment.apps "api" is invalid: ...`` (the group-qualified kind; core kinds bare), several
    causes as an aggregate ``[a, b]``; the details keep the plain kind kubectl prints from."""
    from integrations.sandbox.resources import BUILTIN
    from integrations.sandbox.store import invalid

    by = {(r.group, r.plural): r for r in BUILTIN}
    one = invalid(by[("apps", "deployments")], "api", [("spec.replicas", "Invalid value: -1: must be >= 0")])
    assert one.message == 'Deployment.apps "api" is invalid: spec.replicas: Invalid value: -1: must be >= 0'
    two = invalid(by[("", "configmaps")], "c", [("metadata.name", "Required value"), ("data", "Invalid value")])
    assert two.message == 'ConfigMap "c" is invalid: [metadata.name: Required value, data: Invalid value]'
    assert one.details is not None and one.details["kind"] == "Deployment" and one.details["group"] == "apps"
