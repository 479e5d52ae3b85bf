"""``kubectl create token`` and the TokenRequest API: the token authenticates as the
ServiceAccount, RBAC applies to that subject and its groups, the expiration, audiences and
bound object are honoured; and nonResourceURLs such as /metrics need a rule, as with the
default roles."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import SCENARIOS


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any, Path]]:
    sb = Sandbox.start(SCENARIOS / "small.yaml")
    api = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
    core = client.CoreV1Api(api)
    for name in ("builder", "other"):
        core.create_namespaced_service_account("shop", {"metadata": {"name": name}})
    yield sb, api, tmp_path_factory.mktemp("home")
    api.close()
    sb.stop()


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _k(sb: Sandbox, home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_kubectl(sb.kubeconfig, *args, home=home, check=check)


def _as(sb: Sandbox, token: str) -> httpx.Client:
    return httpx.Client(base_url=sb.url("sandbox"), verify=False, headers={"Authorization": f"Bearer {token}"})


def test_kubectl_create_token_authenticates_as_the_serviceaccount(kc: tuple[Sandbox, Any, Path]) -> None:
    kubectl_path()
    sb, api, home = kc
    token = _k(sb, home, "create", "token", "builder", "-n", "shop", "--duration=15m").stdout.strip()
    claims = _claims(token)
    assert claims["sub"] == "system:serviceaccount:shop:builder"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"] and claims["exp"] - claims["iat"] == 900
    sa_uid = client.CoreV1Api(api).read_namespaced_service_account("builder", "shop").metadata.uid
    assert claims["kubernetes.io"]["serviceaccount"] == {"name": "builder", "uid": sa_uid}
    who = json.loads(_k(sb, home, "--token", token, "auth", "whoami", "-o", "json").stdout)["status"]["userInfo"]
    assert who["username"] == "system:serviceaccount:shop:builder" and who["uid"] == sa_uid
    assert who["groups"] == ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"]
    assert who["extra"]["authentication.kubernetes.io/credential-id"] == [f"JTI={claims['jti']}"]
    denied = _k(sb, home, "--token", token, "get", "pods", "-n", "shop", check=False)
    assert denied.returncode != 0 and 'pods is forbidden: User "system:serviceaccount:shop:builder" cannot list ' \
        'resource "pods" in API group "" in the namespace "shop"' in denied.stderr
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role({"metadata": {"name": "pod-reader"}, "rules": [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]})
    rbac.create_namespaced_role_binding("shop", {
        "metadata": {"name": "builder-view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                          "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "shop"}]})
    assert "web-" in _k(sb, home, "--token", token, "get", "pods", "-n", "shop").stdout
    assert _k(sb, home, "--token", token, "auth", "can-i", "delete", "pods", "-n", "shop",
              check=False).stdout.strip() == "no"
    other = _k(sb, home, "create", "token", "other", "-n", "shop").stdout.strip()
    assert _k(sb, home, "--token", other, "auth", "can-i", "list", "pods", "-n", "shop",
              check=False).stdout.strip() == "no"
    rbac.create_namespaced_role_binding("shop", {   # a group binding: every ServiceAccount of shop
        "metadata": {"name": "all-sa-view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                         "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts:shop",
                      "apiGroup": "rbac.authorization.k8s.io"}]})
    assert _k(sb, home, "--token", other, "auth", "can-i", "list", "pods", "-n", "shop").stdout.strip() == "yes"


def test_token_request_expiry_audiences_and_bound_objects(kc: tuple[Sandbox, Any, Path]) -> None:
    kubectl_path()
    sb, api, home = kc
    short = _k(sb, home, "create", "token", "builder", "-n", "shop", "--duration=5m", check=False)
    assert short.returncode != 0 and "spec.expirationSeconds: Invalid value: 300: may not specify a duration " \
        "less than 10 minutes" in short.stderr
    core = client.CoreV1Api(api)
    made = core.create_namespaced_service_account_token("builder", "shop", {"spec": {"audiences": ["vault"]}})
    assert made.spec.audiences == ["vault"] and made.spec.expiration_seconds == 3600
    assert made.status.expiration_timestamp and made.status.token
    with _as(sb, made.status.token) as h:  # a token for vault is not one for the API server
        assert h.get("/api/v1/namespaces/shop/pods").status_code == 401
    pod = core.list_namespaced_pod("shop").items[0]
    mismatch = _k(sb, home, "create", "token", "builder", "-n", "shop", "--bound-object-kind=Pod",
                  f"--bound-object-name={pod.metadata.name}", check=False)
    assert mismatch.returncode != 0 and 'cannot bind token for serviceaccount "builder" to pod running with ' \
        "different serviceaccount name." in mismatch.stderr
    bound = _k(sb, home, "create", "token", "default", "-n", "shop", "--bound-object-kind=Pod",
               f"--bound-object-name={pod.metadata.name}").stdout.strip()
    claims = _claims(bound)["kubernetes.io"]
    assert claims["pod"] == {"name": pod.metadata.name, "uid": pod.metadata.uid}
    with _as(sb, bound) as h:
        r = h.post("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                   json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert r.json()["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-name"] == [pod.metadata.name]
        core.delete_namespaced_pod(pod.metadata.name, "shop", grace_period_seconds=0)
        assert h.get("/version").status_code == 401  # the token died with its pod
    loose = _k(sb, home, "create", "token", "other", "-n", "shop").stdout.strip()
    core.delete_namespaced_service_account("other", "shop")
    with _as(sb, loose) as h:
        assert h.get("/version").status_code == 401  # and with its ServiceAccount
    with pytest.raises(ApiException) as e:
        core.create_namespaced_service_account_token("ghost", "shop", {"spec": {}})
    assert e.value.status == 404 and 'serviceaccounts \\"ghost\\" not found' in e.value.body


def test_metrics_need_a_rule_for_the_nonresource_url(kc: tuple[Sandbox, Any, Path]) -> None:
    kubectl_path()
    sb, api, home = kc
    token = _k(sb, home, "create", "token", "builder", "-n", "shop").stdout.strip()
    denied = _k(sb, home, "--token", token, "get", "--raw", "/metrics", check=False)
    assert denied.returncode != 0
    with _as(sb, token) as h:
        r = h.get("/metrics")
        assert r.status_code == 403 and r.json()["message"] == \
            'forbidden: User "system:serviceaccount:shop:builder" cannot get path "/metrics"'
        assert h.get("/readyz").status_code == 200 and h.get("/livez/ping").status_code == 403
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role({"metadata": {"name": "metrics-reader"},
                              "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "builder-metrics"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                             "kind": "ClusterRole", "name": "metrics-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "shop"}]})
    assert "apiserver_request_total" in _k(sb, home, "--token", token, "get", "--raw", "/metrics").stdout
    assert _k(sb, home, "get", "--raw", "/metrics").returncode == 0  # the admin (system:masters)
