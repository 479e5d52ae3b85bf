"""The sandbox authorises like a real API server: users with tokens, client certificates and an exec
plugin; RBAC Roles and ClusterRoles; 403s with the real message; impersonation; the self-reviews.

Checked with kubectl 1.35 (``auth can-i``, ``auth whoami``, ``--as``) and the official client.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.sandbox import Sandbox
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import SCENARIOS


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Any]]:
    kubectl_path()
    sb = Sandbox.start(SCENARIOS / "rbac.yaml")
    home = tmp_path_factory.mktemp("kubectl-home")

    def k(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_kubectl(sb.kubeconfig, *args, home=home, check=check)

    yield sb, k
    sb.stop()


def can(k: Any, *args: str) -> str:
    proc = k("auth", "can-i", *args, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.strip()


def test_can_i_answers_from_roles_and_bindings(kc: tuple[Sandbox, Any]) -> None:
    _, k = kc
    limited = "--context=rbac@ops-limited"
    assert can(k, limited, "list", "pods", "-n", "shop") == "yes"
    assert can(k, limited, "get", "pods/log", "-n", "shop") == "yes"
    assert can(k, limited, "create", "pods/eviction", "-n", "shop") == "no"
    assert can(k, limited, "list", "pods", "-n", "default") == "no"
    assert can(k, limited, "patch", "nodes") == "no"
    # the group sre (only the certificate user has it) may patch nodes, and read one node's status
    cert = "--context=rbac@cert-user"
    assert can(k, cert, "patch", "nodes") == "yes"
    assert can(k, cert, "get", "nodes/node-0", "--subresource=status") == "yes"  # resourceNames
    assert can(k, cert, "get", "nodes/node-1", "--subresource=status") == "no"
    assert can(k, "--context=rbac", "create", "pods/eviction", "-n", "shop") == "yes"  # the admin


def test_a_denied_request_is_a_403_with_the_api_servers_message(kc: tuple[Sandbox, Any]) -> None:
    sb, k = kc
    got = k("--context=rbac@ops-limited", "delete", "pod", "web-1", "-n", "shop", check=False)
    assert got.returncode == 1
    assert ('pods "web-1" is forbidden: User "ops-limited" cannot delete resource "pods" in API group "" '
            'in the namespace "shop"') in got.stderr
    assert sb.cluster().get("pods", "web-1", "shop")  # nothing happened
    got = k("--context=rbac@ops-limited", "get", "nodes", check=False)
    assert ('nodes is forbidden: User "ops-limited" cannot list resource "nodes" in API group "" at the '
            'cluster scope') in got.stderr
    assert "web-1" in k("--context=rbac@ops-limited", "get", "pods", "-n", "shop").stdout


def test_impersonation_needs_the_impersonate_verb_and_acts_as_the_user(kc: tuple[Sandbox, Any]) -> None:
    _, k = kc
    as_limited = ["--context=rbac", "--as=ops-limited", "--as-group=oncall"]
    assert can(k, *as_limited, "create", "pods/eviction", "-n", "shop") == "no"
    assert can(k, *as_limited, "list", "pods", "-n", "shop") == "yes"
    who = k(*as_limited, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
    assert who.stdout.startswith("ops-limited ") and "oncall" in who.stdout and "system:authenticated" in who.stdout
    refused = k("--context=rbac@ops-limited", "--as=sandbox-admin", "get", "pods", "-n", "shop", check=False)
    assert refused.returncode == 1
    assert ('users "sandbox-admin" is forbidden: User "ops-limited" cannot impersonate resource "users" in API '
            'group "" at the cluster scope') in refused.stderr


def test_client_certificate_and_exec_plugin_users(kc: tuple[Sandbox, Any]) -> None:
    _, k = kc
    who = k("--context=rbac@cert-user", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}|"
            "{.status.userInfo.groups}").stdout
    assert who.split("|")[0] == "cert-user" and "sre" in who.split("|")[1]
    first = k("--context=rbac@exec-user", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert first.stdout == "exec-user"
    time.sleep(2.5)  # the minted token (2 s) has expired: kubectl runs the plugin again, unseen
    assert "web-1" in k("--context=rbac@exec-user", "get", "pods", "-n", "shop").stdout


def test_an_expired_or_forged_token_is_401(kc: tuple[Sandbox, Any]) -> None:
    sb, _ = kc
    token, _ = sb.users.mint("exec-user", -1)
    assert sb.users.authenticate(f"Bearer {token}", None) is None
    forged = token.rsplit(".", 1)[0] + ".0000"
    assert sb.users.authenticate(f"Bearer {forged}", None) is None
    fresh, _ = sb.users.mint("exec-user", 30)
    who = sb.users.authenticate(f"Bearer {fresh}", None)
    assert who is not None and who.name == "exec-user"


def test_official_client_self_subject_access_review(kc: tuple[Sandbox, Any]) -> None:
    from kubernetes import client, config

    sb, _ = kc
    api = config.new_client_from_config(config_file=str(sb.kubeconfig), context="rbac@ops-limited")
    authz = client.AuthorizationV1Api(api)
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb="create", resource="pods", subresource="eviction",
                                                        namespace="shop")))
    assert authz.create_self_subject_access_review(review).status.allowed is False
    review.spec.resource_attributes.subresource = None
    review.spec.resource_attributes.verb = "list"
    answer = authz.create_self_subject_access_review(review).status
    assert answer.allowed is True and 'RoleBinding "oncall-reads-pods"' in answer.reason
    rules = authz.create_self_subject_rules_review(client.V1SelfSubjectRulesReview(
        spec=client.V1SelfSubjectRulesReviewSpec(namespace="shop"))).status
    assert any("pods" in r.resources and "list" in r.verbs for r in rules.resource_rules)
    assert not any("nodes" in r.resources for r in rules.resource_rules)
    with pytest.raises(client.ApiException) as denied:
        client.CoreV1Api(api).delete_namespaced_pod("web-1", "shop")
    assert denied.value.status == 403
    api.close()


def test_kubeconfig_lists_a_context_per_user(kc: tuple[Sandbox, Any]) -> None:
    sb, _ = kc
    import yaml

    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    assert [c["name"] for c in doc["contexts"]] == ["rbac", "rbac@ops-limited", "rbac@cert-user", "rbac@exec-user"]
    users = {u["name"]: u["user"] for u in doc["users"]}
    assert "client-certificate-data" in users["cert-user"] and users["exec-user"]["exec"]["apiVersion"] == (
        "client.authentication.k8s.io/v1")


def test_roles_and_bindings_grant_only_what_their_writer_holds(kc: tuple[Sandbox, Any]) -> None:
    """The RBAC storage's escalation check, in the admission chain: kubectl 1.35 as a user who may
    write Roles and RoleBindings in shop but holds only pod reads there."""
    _, k = kc
    admin = "--context=rbac"
    k(admin, "create", "role", "rbac-writer", "-n", "shop", "--verb=create,get",
      "--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io")
    k(admin, "create", "rolebinding", "maker-writes-rbac", "-n", "shop", "--role=rbac-writer", "--user=role-maker")
    k(admin, "create", "rolebinding", "maker-reads-pods", "-n", "shop", "--role=pod-reader", "--user=role-maker")
    maker = [admin, "--as=role-maker"]
    k(*maker, "create", "role", "pod-lister", "-n", "shop", "--verb=get,list", "--resource=pods")  # held: allowed
    got = k(*maker, "create", "role", "pod-deleter", "-n", "shop", "--verb=delete", "--resource=pods", check=False)
    assert got.returncode == 1
    assert ('roles.rbac.authorization.k8s.io "pod-deleter" is forbidden: user "role-maker" '
            '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
            '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}') in got.stderr, got.stderr
    k(*maker, "create", "rolebinding", "team-reads", "-n", "shop", "--role=pod-reader", "--group=team")
    got = k(*maker, "create", "rolebinding", "team-cordons", "-n", "shop", "--clusterrole=node-cordoner",
            "--group=team", check=False)
    assert got.returncode == 1 and "is attempting to grant RBAC permissions not currently held" in got.stderr
    assert '{APIGroups:[""], Resources:["nodes"], Verbs:["patch"]}' in got.stderr, got.stderr
    # who may bind a role (the bind verb on it) may grant it without holding it
    k(admin, "create", "role", "binder", "-n", "shop", "--verb=bind", "--resource=clusterroles.rbac.authorization.k8s.io",
      "--resource-name=node-cordoner")
    k(admin, "create", "rolebinding", "maker-binds", "-n", "shop", "--role=binder", "--user=role-maker")
    k(*maker, "create", "rolebinding", "team-cordons", "-n", "shop", "--clusterrole=node-cordoner", "--group=team")
