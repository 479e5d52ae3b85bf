"""Patch semantics on plain documents: the merge keys and directives the API server honours."""

from __future__ import annotations

import pytest

from integrations.sandbox.patch import PatchError, json_patch, merge_patch, strategic_merge


def test_strategic_merge_keys_and_directives() -> None:
    live = {"spec": {
        "containers": [{"name": "a", "image": "a:1", "ports": [{"containerPort": 80, "name": "http"}],
                        "volumeMounts": [{"name": "v", "mountPath": "/data"}]}],
        "volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "emptyDir": {}}],
        "tolerations": [{"key": "k1", "operator": "Exists"}],
        "nodeSelector": {"zone": "a", "disk": "ssd"}},
        "metadata": {"finalizers": ["x"]}}
    patch = {"spec": {
        "containers": [{"name": "a", "ports": [{"containerPort": 443, "name": "https"}],
                        "volumeMounts": [{"mountPath": "/data", "readOnly": True}]},
                       {"name": "b", "image": "b:1"}],
        "volumes": [{"name": "w", "$patch": "delete"}],
        "tolerations": [{"key": "k2", "operator": "Exists"}],
        "nodeSelector": {"$patch": "replace", "zone": "b"}},
        "metadata": {"finalizers": ["y"]}}
    out = strategic_merge(live, patch)
    a, b = out["spec"]["containers"]
    assert (a["image"], b["image"]) == ("a:1", "b:1")
    assert [p["containerPort"] for p in a["ports"]] == [80, 443]
    assert a["volumeMounts"] == [{"name": "v", "mountPath": "/data", "readOnly": True}]
    assert [v["name"] for v in out["spec"]["volumes"]] == ["v"]
    assert out["spec"]["tolerations"] == [{"key": "k2", "operator": "Exists"}]  # atomic, as in the API
    assert out["spec"]["nodeSelector"] == {"zone": "b"}
    assert out["metadata"]["finalizers"] == ["x", "y"]
    assert live["spec"]["volumes"][1]["name"] == "w"  # input untouched


def test_strategic_merge_services_conditions_and_more_directives() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}
    out = strategic_merge(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}})
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090}, {"port": 443}]
    node = {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}]}}
    out = strategic_merge(node, {"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert out["status"]["conditions"] == [{"type": "Ready", "status": "False"}, {"type": "DiskPressure",
                                                                                 "status": "False"}]
    out = strategic_merge({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}}},
                          {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"x": None}}})
    assert out["metadata"] == {"finalizers": ["b"], "labels": {"y": "2"}}
    out = strategic_merge({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
                          {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    out = strategic_merge({"spec": {"volumes": [{"name": "a"}, {"name": "b"}]}},
                          {"spec": {"volumes": [{"$patch": "replace"}, {"name": "c"}]}})
    assert out["spec"]["volumes"] == [{"name": "c"}]
    with pytest.raises(PatchError):
        strategic_merge({"spec": {"containers": []}}, {"spec": {"containers": [{"image": "no-name"}]}})


def test_merge_patch_rfc7386() -> None:
    assert merge_patch({"a": "b", "c": {"d": "e", "f": "g"}}, {"a": "z", "c": {"f": None}}) == {
        "a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": "foo"}, "bar") == "bar"


def test_json_patch_rfc6902() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3},
                           {"op": "add", "path": "/a/b/0", "value": 0},
                           {"op": "copy", "from": "/c", "path": "/d"},
                           {"op": "move", "from": "/c", "path": "/e~1f"},
                           {"op": "remove", "path": "/a/b/1"},
                           {"op": "test", "path": "/d", "value": "x"},
                           {"op": "replace", "path": "/d", "value": "y"}])
    assert out == {"a": {"b": [0, 2, 3]}, "d": "y", "e/f": "x"} and doc == {"a": {"b": [1, 2]}, "c": "x"}
    for bad in ([{"op": "test", "path": "/c", "value": "nope"}], [{"op": "replace", "path": "/zz", "value": 1}],
                [{"op": "remove", "path": "/a/b/9"}], [{"op": "frob", "path": "/c"}], {"op": "add"},
                [{"op": "add", "path": "c", "value": 1}]):
        with pytest.raises(PatchError):
            json_patch(doc, bad)
