"""Names that would widen scope are refused before any request (issue 12, point 1), and the
printed kubectl lines name objects so that kubectl cannot read them as flags (point 6): run with
the real kubectl, a line for the ClusterRole ``--all`` deletes that one ClusterRole, not all."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest, ClusterError
from tests.kube.helpers import CTX, sandbox, scenario
from tests.kubectl import run_kubectl

RBAC = "rbac.authorization.k8s.io/v1"
BAD_NAMES = ["", "   ", "a/b/c", "shop/", "/web", "shop/..", "..", ".", " web", "web\n"]


def cluster(box: Any) -> KubeCluster:
    return KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)


def _writes(box: Any) -> list[Any]:
    return [e for e in box.request_log if e.method not in ("GET", "HEAD")]


@pytest.mark.parametrize("bad", BAD_NAMES)
@pytest.mark.parametrize("verb, params", [
    ("delete", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "{}"}),
    ("delete", {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "names": ["{}"]}),
    ("scale", {"namespace": "shop", "name": "{}", "replicas": 0}),
    ("annotate", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "names": ["cfg", "{}"],
                  "annotations": {"a": "b"}}),
    ("cordon", {"names": ["{}"]}),
    ("removeThrottle", {"name": "{}"}),
])
def test_a_name_that_widens_scope_is_refused_before_any_request(sb: Any, verb: str, params: dict[str, Any],
                                                                 bad: str) -> None:
    kc = cluster(sb)
    filled = {k: ([bad if x == "{}" else x for x in v] if isinstance(v, list) else bad if v == "{}" else v)
              for k, v in params.items()}
    sb.clear_request_log()
    with pytest.raises(ClusterError, match="refusing|not a name|not namespaced"):
        action = kc.prepare(ActionRequest(CTX, verb, filled, backup_dir="/nonexistent"))
        action.execute()
    assert _writes(sb) == []
    # nothing was read as a collection either (a GET of .../deployments/ is a list)
    assert not [e for e in sb.request_log if e.verb in ("list", "deletecollection")]


@pytest.mark.parametrize("namespace", ["", " ", "..", "a/b"])
def test_an_empty_namespace_does_not_widen_a_selector_to_the_cluster(sb: Any, namespace: str) -> None:
    kc = cluster(sb)
    sb.clear_request_log()
    with pytest.raises(ClusterError, match="refusing"):
        kc.prepare(ActionRequest(CTX, "delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": namespace,
                                                 "selector": "app=web"}, backup_dir="/nonexistent"))
    assert not [e for e in sb.request_log if e.resource == "configmaps"]


def test_an_empty_names_list_acts_on_nothing_not_the_namespace(sb: Any) -> None:
    kc = cluster(sb)
    action = kc.prepare(ActionRequest(CTX, "delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop",
                                                      "names": []}, backup_dir="/nonexistent"))
    assert action.targets == []
    assert action.execute().results == []
    assert kc.prepare(ActionRequest(CTX, "annotate", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop",
                                                      "name": "cfg", "annotations": {"x": "y"}})).targets


def test_the_transport_refuses_a_mutation_of_a_collection_url(sb: Any) -> None:
    t = cluster(sb).ctx(CTX).transport
    for path in ("/apis/apps/v1/namespaces/shop/deployments/", "/api/v1/namespaces/shop/configmaps/../x",
                 "/api/v1/namespaces//configmaps/cfg"):
        with pytest.raises(ClusterError, match="refusing DELETE"):
            t.request("DELETE", path)
    assert not _writes(sb)


# --------------------------------------------------------------------------- printed kubectl lines


def _run_line(line: str, kubeconfig: Path, home: Path) -> None:
    args = shlex.split(line)
    assert args[0] == "kubectl"
    run_kubectl(kubeconfig, *args[1:], home=home)


def _rbac_scenario() -> dict[str, Any]:
    sc = scenario()
    for name in ("--all", "keep-a", "-x", "keep-b"):
        sc["objects"].append({"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name}, "rules": []})
        sc["objects"].append({"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": "shop"},
                              "rules": []})
    return sc


def _roles(kc: KubeCluster, kind: str) -> dict[str, dict[str, Any]]:
    from mitigate.ports import Query
    return {o["metadata"]["name"]: o for o in kc.query(CTX, Query(RBAC, kind, namespace="shop"))}


@pytest.mark.parametrize("verb, extra, changed", [
    ("delete", {"backup": False}, lambda before, after: set(before) - set(after)),
    ("label", {"labels": {"incident": "x"}},
     lambda before, after: {n for n in after if after[n]["metadata"].get("labels") != before[n]["metadata"].get(
         "labels")}),
    ("annotate", {"annotations": {"incident": "x"}},
     lambda before, after: {n for n in after if after[n]["metadata"].get("annotations") != before[n]["metadata"].get(
         "annotations")}),
    ("patch", {"type": "merge", "patch": {"metadata": {"labels": {"p": "1"}}}},
     lambda before, after: {n for n in after if after[n]["metadata"].get("labels") != before[n]["metadata"].get(
         "labels")}),
])
@pytest.mark.parametrize("kind", ["ClusterRole", "Role"])
def test_printed_kubectl_acts_on_exactly_the_named_object(tmp_path: Path, verb: str, extra: dict[str, Any],
                                                          changed: Any, kind: str) -> None:
    box = sandbox.Sandbox.start(_rbac_scenario())
    try:
        kc = cluster(box)
        params = {"apiVersion": RBAC, "kind": kind, "names": ["--all", "-x"], **extra}
        if kind == "Role":
            params["namespace"] = "shop"
        action = kc.prepare(ActionRequest(CTX, verb, params, backup_dir=str(tmp_path / "b")))
        before = _roles(kc, kind)
        home = tmp_path / "home"
        home.mkdir()
        for line in action.kubectl():
            _run_line(line, box.kubeconfig, home)
        after = _roles(kc, kind)
        assert changed(before, after) == {"--all", "-x"}, action.kubectl()
        assert {"keep-a", "keep-b"} <= set(after)
    finally:
        box.stop()


def test_printed_context_and_namespace_are_never_separate_words() -> None:
    from integrations.kube import render
    args = shlex.split(render.kubectl("-ctx", "get", render.obj("pods", "--all"), namespace="--all-namespaces"))
    assert args == ["kubectl", "get", "pods/--all", "--context=-ctx", "--namespace=--all-namespaces"]
