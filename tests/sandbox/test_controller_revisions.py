"""DaemonSet and StatefulSet history: the sandbox keeps ControllerRevisions as their
controllers do (what ``kubectl rollout undo`` reads), and honours ``$patch: replace``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sandbox import Sandbox
from integrations.sandbox.patch import strategic_merge

CTX = "sandbox"
KINDS = {"DaemonSet": "daemonsets", "StatefulSet": "statefulsets"}


def _workload(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name, "tier": "x"}},
                                         "spec": {"containers": [{"name": "c", "image": f"{name}:1"}]}}}
    if kind == "StatefulSet":
        spec.update(serviceName=name, replicas=0)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sb = Sandbox.start({"name": "history", "context": CTX, "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
         "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        _workload("DaemonSet", "agent"), _workload("StatefulSet", "db")]})
    yield sb
    sb.stop()


def _history(sb: Sandbox, name: str) -> dict[int, dict[str, Any]]:
    return {int(c["revision"]): c for c in sb.cluster(CTX).list("controllerrevisions", "shop")
            if c["metadata"]["ownerReferences"][0]["name"] == name}


def _set_image(sb: Sandbox, kind: str, name: str, image: str) -> None:
    st = sb.cluster(CTX)
    obj = st.get(KINDS[kind], name, "shop")
    new = dict(obj, spec=dict(obj["spec"], template=strategic_merge(obj["spec"]["template"], {
        "spec": {"containers": [{"name": "c", "image": image}]}})))
    st.update(KINDS[kind], new)
    sb.tick()


def _image(cr: dict[str, Any]) -> str:
    return str(cr["data"]["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize("kind,name", [("DaemonSet", "agent"), ("StatefulSet", "db")])
def test_history_follows_template_changes(box: Sandbox, kind: str, name: str) -> None:
    box.tick()
    st = box.cluster(CTX)
    owner = st.get(KINDS[kind], name, "shop")
    first = _history(box, name)
    assert list(first) == [1]
    cr = first[1]
    h = cr["metadata"]["labels"]["controller-revision-hash"]
    assert cr["metadata"]["name"] == f"{name}-{h}"
    assert cr["metadata"]["labels"] == {"app": name, "tier": "x", "controller-revision-hash": h}
    ref = cr["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == (kind, owner["metadata"]["uid"], True)
    assert cr["data"] == {"spec": {"template": {**owner["spec"]["template"], "$patch": "replace"}}}

    # a metadata change, or a spec change outside the template, is not a new revision
    st.update(KINDS[kind], dict(st.get(KINDS[kind], name, "shop"), metadata=dict(
        st.get(KINDS[kind], name, "shop")["metadata"], labels={"touched": "yes"})))
    box.tick()
    live = st.get(KINDS[kind], name, "shop")
    st.update(KINDS[kind], dict(live, spec=dict(live["spec"], minReadySeconds=5)))
    box.tick()
    assert list(_history(box, name)) == [1]

    _set_image(box, kind, name, f"{name}:2")
    _set_image(box, kind, name, f"{name}:3")
    hist = _history(box, name)
    assert {r: _image(c) for r, c in hist.items()} == {1: f"{name}:1", 2: f"{name}:2", 3: f"{name}:3"}
    # back to an older template: that revision is bumped, not copied
    _set_image(box, kind, name, f"{name}:2")
    hist = _history(box, name)
    assert {r: _image(c) for r, c in hist.items()} == {1: f"{name}:1", 3: f"{name}:3", 4: f"{name}:2"}
    if kind == "StatefulSet":
        status = st.get(KINDS[kind], name, "shop")["status"]
        assert status["currentRevision"] == status["updateRevision"] == hist[4]["metadata"]["name"]

    # the history goes with its workload
    st.delete(KINDS[kind], name, "shop")
    box.tick()
    assert _history(box, name) == {}


def test_strategic_merge_replace_directive_on_a_map() -> None:
    live: dict[str, Any] = {"spec": {"replicas": 3, "template": {
        "metadata": {"labels": {"app": "a"}, "annotations": {"restartedAt": "t"}},
        "spec": {"containers": [{"name": "c", "image": "a:3", "env": [{"name": "X", "value": "1"}]}],
                 "nodeSelector": {"disk": "ssd"}}}}}
    old = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "a:1"}]}}
    out = strategic_merge(live, {"spec": {"template": {**old, "$patch": "replace"}}})
    assert out == {"spec": {"replicas": 3, "template": old}}  # siblings kept, the map itself replaced
    assert live["spec"]["template"]["spec"]["nodeSelector"] == {"disk": "ssd"}  # input untouched
