"""The sandbox records managedFields the way the API server does, so revert tools can trust
them: an Update owns what it changed (taken from other managers), keyed list items are
``k:{"name":...}`` with ``.``, and fields that disappear leave every manager's set."""

from __future__ import annotations

from typing import Any

from integrations.sandbox import Sandbox
from integrations.sandbox.fieldsets import field_set, leaves
from integrations.sandbox.store import Writer

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default",
                                                            "labels": {"app": "c"}}, "data": {"a": "1", "b": "2"}}


def _owners(obj: dict[str, Any]) -> dict[str, set[tuple[str, ...]]]:
    return {e["manager"]: leaves(e["fieldsV1"]) for e in obj["metadata"]["managedFields"]}


def test_update_owns_only_what_it_changed_and_takes_it_from_others() -> None:
    with Sandbox.start({"name": "fs", "context": "c", "objects": []}) as sb:
        st = sb.cluster()
        st.create("configmaps", CM, Writer(manager="team"))
        live = st.find(st.resource("configmaps"), "c", "default")
        assert live is not None
        changed = dict(live, data={"a": "1", "b": "changed", "c": "3"})
        changed["metadata"] = dict(live["metadata"], labels={"app": "c", "x": "y"})
        st.update("configmaps", changed, Writer(manager="rogue"))
        after = st.find(st.resource("configmaps"), "c", "default")
        assert after is not None
        owners = _owners(after)
        assert owners["rogue"] == {("f:data", "f:b"), ("f:data", "f:c"), ("f:metadata", "f:labels", "f:x")}
        assert ("f:data", "f:b") not in owners["team"] and ("f:data", "f:a") in owners["team"]
        gone = dict(after, data={"a": "1"})
        st.update("configmaps", gone, Writer(manager="cleaner"))
        final = st.find(st.resource("configmaps"), "c", "default")
        assert final is not None
        assert _owners(final)["rogue"] == {("f:metadata", "f:labels", "f:x")}
        assert "cleaner" not in _owners(final)  # it only removed fields: it owns nothing


def test_keyed_lists_record_items_the_way_the_api_server_does() -> None:
    pod_spec = {"containers": [{"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}
    assert field_set({"spec": pod_spec}) == {"f:spec": {
        "f:containers": {".": {}, 'k:{"name":"app"}': {".": {}, "f:name": {}, "f:image": {}, "f:env": {
            ".": {}, 'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}}}},
        "f:tolerations": {}}}  # a list without a name key stays atomic
