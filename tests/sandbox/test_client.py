"""The official python client (typed APIs and DynamicClient) against the sandbox."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox

from .helpers import wait_for


def _cm(name: str, data: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {}}


def test_typed_crud_conflict_and_already_exists(sb: Sandbox, api: Any) -> None:
    v1 = client.CoreV1Api(api)
    created = v1.create_namespaced_config_map("default", _cm("crud", {"a": "1"}))
    assert created.metadata.uid and created.metadata.resource_version
    with pytest.raises(ApiException) as e:
        v1.create_namespaced_config_map("default", _cm("crud"))
    assert e.value.status == 409 and json.loads(e.value.body)["reason"] == "AlreadyExists"
    stale = v1.read_namespaced_config_map("crud", "default")
    stale.data = {"a": "2"}
    v1.replace_namespaced_config_map("crud", "default", stale)
    stale.data = {"a": "3"}
    with pytest.raises(ApiException) as e:
        v1.replace_namespaced_config_map("crud", "default", stale)
    assert e.value.status == 409 and json.loads(e.value.body)["reason"] == "Conflict"
    assert v1.read_namespaced_config_map("crud", "default").data == {"a": "2"}
    v1.delete_namespaced_config_map("crud", "default")
    with pytest.raises(ApiException) as e:
        v1.read_namespaced_config_map("crud", "default")
    assert e.value.status == 404 and json.loads(e.value.body)["kind"] == "Status"


def test_missing_required_fields_is_422(api: Any) -> None:
    deploys = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(dynamic.exceptions.DynamicApiError) as e:
        deploys.create(body={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nospec"},
                             "spec": {}}, namespace="default")
    body = json.loads(e.value.body)
    assert e.value.status == 422 and body["reason"] == "Invalid"
    assert {c["field"] for c in body["details"]["causes"]} >= {"spec.selector", "spec.template"}


def test_dry_run_changes_nothing_everywhere(sb: Sandbox, api: Any) -> None:
    v1 = client.CoreV1Api(api)
    sb.clear_request_log()
    v1.create_namespaced_config_map("default", _cm("dry"), dry_run="All")
    with pytest.raises(ApiException):
        v1.read_namespaced_config_map("dry", "default")
    before = sb.cluster().get("nodes", "node-1")["metadata"]["resourceVersion"]
    out = v1.patch_node("node-1", {"spec": {"unschedulable": True}}, dry_run="All")
    assert out.spec.unschedulable is True
    v1.delete_node("node-1", dry_run="All")
    node = sb.cluster().get("nodes", "node-1")
    assert node["metadata"]["resourceVersion"] == before and not node["spec"].get("unschedulable")
    log = sb.request_log
    assert {e.verb for e in log if e.dry_run} == {"create", "patch", "delete"}
    assert not [e for e in log if e.mutating]  # the contract drills use for "changed nothing"


def test_selectors_and_pagination_with_expired_token(sb: Sandbox, api: Any) -> None:
    v1 = client.CoreV1Api(api)
    for i in range(7):
        v1.create_namespaced_config_map("default", _cm(f"page-{i}", labels={"tier": "a" if i % 2 else "b",
                                                                             "page": "yes"}))
    assert len(v1.list_namespaced_config_map("default", label_selector="page=yes,tier in (a)").items) == 3
    assert len(v1.list_namespaced_config_map("default", label_selector="page,tier!=a").items) == 4
    assert [c.metadata.name for c in v1.list_namespaced_config_map(
        "default", field_selector="metadata.name=page-3").items] == ["page-3"]
    assert {p.spec.node_name for p in v1.list_pod_for_all_namespaces(
        field_selector="spec.nodeName=node-1").items} <= {"node-1"}
    names, token = [], None
    while True:
        page = v1.list_namespaced_config_map("default", label_selector="page=yes", limit=3, _continue=token)
        names += [c.metadata.name for c in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"page-{i}" for i in range(7)]
    first = v1.list_namespaced_config_map("default", label_selector="page=yes", limit=2)
    sb.cluster().compact()
    with pytest.raises(ApiException) as e:
        v1.list_namespaced_config_map("default", label_selector="page=yes", limit=2,
                                      _continue=first.metadata._continue)
    assert e.value.status == 410 and json.loads(e.value.body)["reason"] == "Expired"
    v1.delete_collection_namespaced_config_map("default", label_selector="page=yes")
    assert v1.list_namespaced_config_map("default", label_selector="page=yes").items == []


def test_patch_flavours_keep_merge_keys(api: Any) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pt"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "pt"}}, "template": {
            "metadata": {"labels": {"app": "pt"}}, "spec": {"containers": [
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:1"}]}}}})
    apps.patch_namespaced_deployment("pt", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:2", "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}]}]}}}})
    c = apps.read_namespaced_deployment("pt", "default").spec.template.spec.containers
    assert [(x.name, x.image) for x in c] == [("a", "a:2"), ("b", "b:1")]
    assert [e.name for e in c[0].env] == ["X", "Z"]
    deploys = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    deploys.patch(name="pt", namespace="default", content_type="application/merge-patch+json",
                  body={"metadata": {"labels": {"m": "1"}},
                        "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}})
    merged = apps.read_namespaced_deployment("pt", "default").spec.template.spec.containers
    assert [(x.name, x.image) for x in merged] == [("b", "b:2")]  # merge patch replaces lists
    apps.patch_namespaced_deployment("pt", "default", [{"op": "test", "path": "/spec/replicas", "value": 1},
                                                       {"op": "replace", "path": "/spec/replicas", "value": 4}])
    d = apps.read_namespaced_deployment("pt", "default")
    assert d.metadata.labels == {"m": "1"} and d.spec.replicas == 4
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("pt", "default", [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert e.value.status == 422
    managers = {(m.manager, m.operation) for m in d.metadata.managed_fields}
    assert ("OpenAPI-Generator", "Update") in managers


def test_dynamic_client_apply_managed_fields_and_crd_415(sb: Sandbox, api: Any) -> None:
    dc = dynamic.DynamicClient(api)
    cms = dc.resources.get(api_version="v1", kind="ConfigMap")
    cms.server_side_apply(body=_cm("applied", {"k": "v"}), namespace="default", field_manager="drill-bot")
    obj = cms.get(name="applied", namespace="default")
    entry = [m for m in obj.metadata.managedFields if m.manager == "drill-bot"][0]
    assert entry.operation == "Apply" and entry.time
    cms.server_side_apply(body=_cm("applied", {"k": "v2", "extra": "1"}, labels={"l": "1"}), namespace="default",
                          field_manager="drill-bot")
    cms.server_side_apply(body=_cm("applied", {"k": "v3"}), namespace="default", field_manager="drill-bot")
    again = cms.get(name="applied", namespace="default")
    assert dict(again.data) == {"k": "v3"} and not dict(again.metadata.labels or {})  # no longer applied: gone
    cms.patch(name="applied", namespace="default", body={"data": {"kept": "yes"}},
              content_type="application/merge-patch+json")
    cms.server_side_apply(body=_cm("applied", {"k": "v3", "kept": "yes"}), namespace="default",
                          field_manager="drill-bot")
    cms.server_side_apply(body=_cm("applied", {"k": "v3"}), namespace="default", field_manager="drill-bot")
    assert cms.get(name="applied", namespace="default").data.kept == "yes"  # co-owned by another manager
    crds = dc.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=_crd("widgets", "Widget"))
    wait_for(lambda: _has_kind(api, "Widget"), what="Widget in discovery")
    dc2 = dynamic.DynamicClient(api)
    widgets = dc2.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
                         "spec": {"size": 1}}, namespace="default")
    with pytest.raises(Exception) as e:
        widgets.patch(name="w1", namespace="default", body={"spec": {"size": 2}},
                      content_type="application/strategic-merge-patch+json")
    assert getattr(e.value, "status", None) == 415
    widgets.patch(name="w1", namespace="default", body={"spec": {"size": 2}},
                  content_type="application/merge-patch+json")
    assert widgets.get(name="w1", namespace="default").spec.size == 2
    crds.delete(name="widgets.example.com")
    wait_for(lambda: sb.cluster().find("crd", "widgets.example.com") is None, what="CRD cleanup")
    assert not _has_kind(api, "Widget")


def _crd(plural: str, kind: str) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                                       "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def _has_kind(api: Any, kind: str) -> bool:
    res = client.CustomObjectsApi(api).get_api_resources("example.com", "v1") \
        if "example.com" in {g.name for g in client.ApisApi(api).get_api_versions().groups} else None
    return bool(res and any(r.kind == kind for r in res.resources))


def test_watch_replay_bookmarks_timeout_and_expired(sb: Sandbox, api: Any) -> None:
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    v1.create_namespaced_config_map("default", _cm("w-a"))
    v1.patch_namespaced_config_map("w-a", "default", {"data": {"x": "1"}})
    v1.delete_namespaced_config_map("w-a", "default")
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=1,
                       allow_watch_bookmarks=True):
        seen.append((ev["type"], ev["raw_object"]["metadata"].get("name", "")))
    assert seen[:3] == [("ADDED", "w-a"), ("MODIFIED", "w-a"), ("DELETED", "w-a")]
    assert ("BOOKMARK", "") in seen
    live: list[str] = []

    def consume() -> None:
        for ev in watch.Watch().stream(v1.list_namespaced_config_map, "default", timeout_seconds=2,
                                       label_selector="live=yes"):
            live.append(f'{ev["type"]}:{ev["object"].metadata.name}')

    t = threading.Thread(target=consume)
    t.start()
    wait_for(lambda: any(e.verb == "watch" and "live" in e.path for e in sb.request_log) or True)
    import time

    time.sleep(0.3)
    v1.create_namespaced_config_map("default", _cm("w-live", labels={"live": "yes"}))
    v1.create_namespaced_config_map("default", _cm("w-other"))
    v1.patch_namespaced_config_map("w-other", "default", {"metadata": {"labels": {"live": "yes"}}})
    v1.patch_namespaced_config_map("w-live", "default", {"metadata": {"labels": {"live": "no"}}})
    t.join(5)
    assert live == ["ADDED:w-live", "ADDED:w-other", "DELETED:w-live"]  # selector transitions
    sb.cluster().compact()
    with pytest.raises(ApiException) as e:
        for _ in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=rv,
                                      timeout_seconds=1):
            pass
    assert e.value.status == 410


def test_eviction_blocked_by_pdb_then_allowed(sb: Sandbox, api: Any) -> None:
    v1 = client.CoreV1Api(api)
    pods = wait_for(lambda: v1.list_namespaced_pod("shop", label_selector="app=web").items, what="web pods")
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pods[0].metadata.name, namespace="shop"))
    with pytest.raises(ApiException) as e:
        v1.create_namespaced_pod_eviction(pods[0].metadata.name, "shop", body)
    status = json.loads(e.value.body)
    assert e.value.status == 429 and status["details"]["causes"][0]["reason"] == "DisruptionBudget"
    client.AppsV1Api(api).patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 3}})
    wait_for(lambda: (sb.cluster().get("pdb", "web", "shop").get("status") or {}).get("disruptionsAllowed") == 1,
             what="PDB to allow one disruption")
    v1.create_namespaced_pod_eviction(pods[0].metadata.name, "shop", body)
    wait_for(lambda: sb.cluster().find("pods", pods[0].metadata.name, "shop") is None, what="evicted pod gone")
    wait_for(lambda: len([p for p in sb.cluster().list("pods", "shop")
                          if not p["metadata"].get("deletionTimestamp")]) == 3, what="replacement pod")


def test_scale_and_status_subresources(sb: Sandbox, api: Any) -> None:
    apps = client.AppsV1Api(api)
    scale = apps.read_namespaced_deployment_scale("web", "shop")
    assert scale.status.selector.startswith("app=web")
    scale.spec.replicas = 2
    apps.replace_namespaced_deployment_scale("web", "shop", scale)
    assert apps.read_namespaced_deployment("web", "shop").spec.replicas == 2
    v1 = client.CoreV1Api(api)
    v1.patch_node_status("node-0", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    conds = {c.type: c.status for c in v1.read_node("node-0").status.conditions}
    assert conds["Ready"] == "True" and conds["MemoryPressure"] == "False"  # merged by type
    v1.patch_node("node-0", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert {c.type: c.status for c in v1.read_node("node-0").status.conditions}["Ready"] == "True"


def test_resource_version_match_and_watch_list(sb: Sandbox, api: Any) -> None:
    import json as _json

    import httpx

    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", {"metadata": {"name": "rvm-a"}, "data": {"v": "1"}})
    at = core.list_namespaced_config_map("default").metadata.resource_version
    core.patch_namespaced_config_map("rvm-a", "default", {"data": {"v": "2"}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "rvm-b"}})
    old = core.list_namespaced_config_map("default", resource_version=at, resource_version_match="Exact")
    names = {i.metadata.name: i for i in old.items}
    assert old.metadata.resource_version == at and "rvm-b" not in names and names["rvm-a"].data == {"v": "1"}
    with pytest.raises(client.ApiException) as e:
        core.list_namespaced_config_map("default", resource_version_match="Exact")
    assert e.value.status == 422 and "resourceVersionMatch is forbidden unless resourceVersion" in e.value.body
    with pytest.raises(client.ApiException) as e:
        core.list_namespaced_config_map("default", resource_version=str(int(at) + 10**6),
                                        resource_version_match="NotOlderThan")
    assert e.value.status == 504 and "Too large resource version" in e.value.body

    with httpx.Client(base_url=sb.url("sandbox"), verify=False, headers={"Authorization": f"Bearer {sb.token}"}) as h:
        q = "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&timeoutSeconds=1"
        bad = h.get(f"/api/v1/namespaces/default/configmaps?{q}")
        assert bad.status_code == 422 and "resourceVersionMatch is set to NotOlderThan" in bad.json()["message"]
        with h.stream("GET", f"/api/v1/namespaces/default/configmaps?{q}&resourceVersionMatch=NotOlderThan"
                             f"&resourceVersion={at}") as r:
            events = [_json.loads(line) for line in r.iter_lines() if line]
    types = [ev["type"] for ev in events]
    end = next(i for i, ev in enumerate(events) if ev["type"] == "BOOKMARK"
               and ev["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end") == "true")
    initial = {ev["object"]["metadata"]["name"] for ev in events[:end]}
    assert set(types[:end]) == {"ADDED"} and {"rvm-a", "rvm-b"} <= initial  # the state now, not a replay
