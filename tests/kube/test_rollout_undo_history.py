"""rolloutUndo on DaemonSets and StatefulSets: their history is ControllerRevisions, restored
as kubectl 1.20 does; the printed kubectl line, run with the real kubectl against a second
sandbox with the same history, yields the same pod template."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest, ClusterError, Query
from tests.kube.helpers import CTX, sandbox
from tests.kube.test_actions import run_printed
from tests.kubectl import run_kubectl

WORKLOADS = {"DaemonSet": "agent", "StatefulSet": "db"}


def _objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
         "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]
    for kind, name in WORKLOADS.items():
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": f"{name}:1",
                                                  "env": [{"name": "MODE", "value": "one"}]}]}}}
        if kind == "StatefulSet":
            spec.update(serviceName=name, replicas=1)
        out.append({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "shop"},
                    "spec": spec})
    return out


def _start() -> Any:
    return sandbox.Sandbox.start({"name": "undo-history", "context": CTX, "objects": copy.deepcopy(_objects())})


def _ref(kind: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "namespace": "shop", "name": WORKLOADS[kind]}


def _template(kc: KubeCluster, kind: str) -> dict[str, Any]:
    return dict(kc.query(CTX, Query("apps/v1", kind, "shop", WORKLOADS[kind]))[0]["spec"]["template"])


def _image(kc: KubeCluster, kind: str) -> str:
    return str(_template(kc, kind)["spec"]["containers"][0]["image"])


def _revisions(box: Any, kind: str) -> dict[int, str]:
    return {int(c["revision"]): c["data"]["spec"]["template"]["spec"]["containers"][0]["image"]
            for c in box.cluster(CTX).list("controllerrevisions", "shop")
            if c["metadata"]["ownerReferences"][0]["kind"] == kind}


def _set_image(box: Any, kc: KubeCluster, kind: str, image: str) -> None:
    """A new image and, for revision 3, a template annotation (so an undo must drop a field)."""
    patch: dict[str, Any] = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": image}]}}}}
    if image.endswith(":3"):
        patch["spec"]["template"]["metadata"] = {"annotations": {"why": "three"}}
    assert kc.prepare(ActionRequest(CTX, "patch", {**_ref(kind), "patch": patch})).execute().ok
    box.tick()


def _wait(box: Any, kind: str, top: int, image: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        revs = _revisions(box, kind)
        if revs and max(revs) == top and revs[top] == image:
            return
        time.sleep(0.02)
    raise AssertionError(f"{kind}: revision {top} ({image}) not recorded: {_revisions(box, kind)}")


def _history(box: Any, kc: KubeCluster, kind: str) -> None:
    """Revisions 1 (:1), 2 (:2), 3 (:3 with an annotation)."""
    name = WORKLOADS[kind]
    box.tick()
    for n in (2, 3):
        _set_image(box, kc, kind, f"{name}:{n}")
        _wait(box, kind, n, f"{name}:{n}")


def kc_of(box: Any) -> KubeCluster:
    return KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)


@pytest.fixture(scope="module")
def box() -> Any:
    sb = _start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_undo_toRevision_and_undo_of_undo(kind: str, box: Any) -> None:
    kc = kc_of(box)
    name = WORKLOADS[kind]
    _history(box, kc, kind)
    three = _template(kc, kind)

    action = kc.prepare(ActionRequest(CTX, "rolloutUndo", _ref(kind)))
    assert action.targets == [f"{kind}/shop/{name}"]
    assert action.kubectl() == [f"kubectl rollout undo {kind.lower()}s.v1.apps/{name} --to-revision=2 "
                                f"--context={CTX} --namespace=shop"]
    mutations = sum(1 for e in box.request_log if e.mutating)
    preview = action.preview()
    assert sum(1 for e in box.request_log if e.mutating) == mutations, "preview must only dry-run"
    assert _template(kc, kind) == three
    assert preview.diff.startswith("---") and f"{name}:2" in preview.diff
    assert "spec.template.spec.containers[0].image" in preview.changed_fields
    assert "spec.template.metadata.annotations" in preview.changed_fields  # the whole template goes back
    assert not any(r.applied for r in action.recheck())

    outcome = action.execute()
    assert outcome.ok, [r.message for r in outcome.results]
    two = _template(kc, kind)
    assert two["spec"]["containers"][0]["image"] == f"{name}:2"
    assert "annotations" not in (two.get("metadata") or {})
    assert all(r.applied for r in action.recheck())
    _wait(box, kind, 4, f"{name}:2")  # revision 2 is now the newest, as the controllers renumber

    # the undo of the undo puts revision 3's template back
    assert outcome.undo
    for undo in outcome.undo:
        assert kc.prepare(undo).execute().ok
    assert _template(kc, kind) == three
    _wait(box, kind, 5, f"{name}:3")

    to_one = kc.prepare(ActionRequest(CTX, "rolloutUndo", {**_ref(kind), "toRevision": 1}))
    assert "--to-revision=1" in to_one.kubectl()[0]
    assert to_one.execute().ok
    one = _template(kc, kind)
    main = one["spec"]["containers"][0]  # revision 1 as seeded, with what the API server defaulted in it
    assert {k: main[k] for k in ("name", "image", "env")} == {"name": "main", "image": f"{name}:1",
                                                             "env": [{"name": "MODE", "value": "one"}]}
    _wait(box, kind, 6, f"{name}:1")  # revision 1 bumped to 6
    assert sorted(_revisions(box, kind)) == [4, 5, 6]

    with pytest.raises(ClusterError, match="has no revision 9 "):
        kc.prepare(ActionRequest(CTX, "rolloutUndo", {**_ref(kind), "toRevision": 9}))


def test_no_previous_revision_and_unsupported_kind(tmp_path: Path) -> None:
    box = _start()
    try:
        box.tick()
        kc = kc_of(box)
        deadline = time.monotonic() + 5
        while not _revisions(box, "StatefulSet") and time.monotonic() < deadline:
            time.sleep(0.02)
        for kind in WORKLOADS:
            with pytest.raises(ClusterError, match=f"{kind}/shop/{WORKLOADS[kind]} has no previous revision"):
                kc.prepare(ActionRequest(CTX, "rolloutUndo", _ref(kind)))
        with pytest.raises(ClusterError, match="supports Deployments, DaemonSets and StatefulSets"):
            kc.prepare(ActionRequest(CTX, "rolloutUndo", {"apiVersion": "v1", "kind": "ConfigMap",
                                                          "namespace": "shop", "name": "x"}))
        with pytest.raises(ClusterError, match="toRevision must be a non-negative integer"):
            kc.prepare(ActionRequest(CTX, "rolloutUndo", {**_ref("DaemonSet"), "toRevision": "two"}))
    finally:
        box.stop()


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
@pytest.mark.parametrize("to_revision", [None, 1])
def test_printed_kubectl_line_yields_same_template(kind: str, to_revision: int | None, tmp_path: Path) -> None:
    a, b = _start(), _start()
    try:
        ka, kb = kc_of(a), kc_of(b)
        _history(a, ka, kind)
        _history(b, kb, kind)
        params = _ref(kind) if to_revision is None else {**_ref(kind), "toRevision": to_revision}
        action = ka.prepare(ActionRequest(CTX, "rolloutUndo", params))
        lines = action.kubectl()
        assert action.execute().ok
        home = tmp_path / "home"
        home.mkdir()
        probe = run_kubectl(b.kubeconfig, "get", "--raw", "/api", home=home, check=False)
        if "Unauthorized" in probe.stderr:
            pytest.skip("the sandbox rejects kubectl 1.20 (no bearer token over plain HTTP)")
        for line in lines:
            run_printed(line, b.kubeconfig, home)
        assert _template(kb, kind) == _template(ka, kind)
        assert _image(kb, kind) == f"{WORKLOADS[kind]}:{to_revision or 2}"
        # kubectl chose the same revision without being told: its default is the second newest
        if to_revision is None:
            c = _start()
            try:
                kc = kc_of(c)
                _history(c, kc, kind)
                run_kubectl(c.kubeconfig, "rollout", "undo", f"{kind.lower()}/{WORKLOADS[kind]}",
                            "--context", CTX, "-n", "shop", home=home)
                assert _template(kc, kind) == _template(ka, kind)
            finally:
                c.stop()
    finally:
        a.stop()
        b.stop()
