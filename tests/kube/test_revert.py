"""revertChanges on objects the manager CHANGED (the IONOS case, no backups): its sole fields
per managedFields are taken back with one preconditioned JSON patch, shared and required
fields are left and named, and a scalar whose earlier value exists nowhere is reported, not
guessed. Against the sandbox, with the printed ``kubectl patch --type=json`` run by real kubectl."""

from __future__ import annotations

import json
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from integrations.kube.managedfields import plan
from integrations.kube.transport import ApiError
from mitigate.ports import ActionRequest
from tests.kube.helpers import CTX, sandbox
from tests.kube.test_actions import run_printed
from tests.kubectl import run_kubectl

ROGUE = "onboarding-operator"
TEAM = "team-deployer"
DEPLOY_PATH = "/apis/apps/v1/namespaces/shop/deployments"
STRATEGIC = "application/strategic-merge-patch+json"
APP = {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "api", "namespace": "shop", "labels": {"app": "api"},
                    "annotations": {"owner": "shop-team"}},
       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                "template": {"metadata": {"labels": {"app": "api"}},
                             "spec": {"containers": [{"name": "app", "image": "api:7",
                                                      "env": [{"name": "MODE", "value": "prod"}]}]}}}}
ROGUE_CHANGE = {"metadata": {"labels": {"platform.example/onboarded": "true"},
                             "annotations": {"platform.example/registered": "2026-05-08"}},
                "spec": {"template": {"spec": {
                    "imagePullSecrets": [{"name": "platform-registry"}],
                    "containers": [{"name": "app", "env": [{"name": "PLATFORM_URL", "value": "https://p"}]}]}}}}


def _box() -> Any:
    return sandbox.Sandbox.start({"name": "revert", "context": CTX, "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}]})


def _incident(box: Any, rogue_change: dict[str, Any] = ROGUE_CHANGE) -> tuple[KubeCluster, str]:
    """The team creates api; a second later the rogue operator changes it. Returns the window start."""
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    t = kc.ctx(CTX).transport
    t.request("POST", DEPLOY_PATH, query={"fieldManager": TEAM}, body=APP)
    time.sleep(1.05)  # managedFields times have one-second resolution
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    t.request("PATCH", f"{DEPLOY_PATH}/api", query={"fieldManager": ROGUE}, body=rogue_change,
              content_type=STRATEGIC)
    return kc, since


def _api(kc: KubeCluster) -> dict[str, Any]:
    obj = kc.ctx(CTX).transport.request("GET", f"{DEPLOY_PATH}/api")
    assert isinstance(obj, dict)
    return obj


def _spec_and_meta(obj: dict[str, Any]) -> tuple[Any, Any, Any]:
    """What the people and the operator wrote (the deployment controller's revision counter aside)."""
    notes = {k: v for k, v in (obj["metadata"].get("annotations") or {}).items()
             if k != "deployment.kubernetes.io/revision"}
    return obj["spec"], obj["metadata"].get("labels"), notes


def _revert(kc: KubeCluster, since: str, backups: Path) -> Any:
    return kc.prepare(ActionRequest(CTX, "revertChanges", {"fieldManager": ROGUE, "since": since,
                                                           "namespaces": ["shop"]}, backup_dir=str(backups)))


def test_changed_object_gets_back_exactly_its_state_before_the_rogue(backups: Path) -> None:
    with _box() as box:
        kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
        kc.ctx(CTX).transport.request("POST", DEPLOY_PATH, query={"fieldManager": TEAM}, body=APP)
        original = _api(kc)
    with _box() as box:
        kc, since = _incident(box)
        changed = _api(kc)
        action = _revert(kc, since, backups)
        assert action.targets == ["Deployment/shop/api"]
        preview = action.preview()
        assert _spec_and_meta(_api(kc)) == _spec_and_meta(changed)  # the dry run changed nothing
        assert sorted(preview.changed_fields) == sorted(f"Deployment/shop/api: removed {f}" for f in [
            "metadata.annotations.platform.example/registered", "metadata.labels.platform.example/onboarded",
            "spec.template.spec.containers[name=app].env[name=PLATFORM_URL]",
            "spec.template.spec.imagePullSecrets"])  # it added the whole list
        assert not preview.warnings
        assert "PLATFORM_URL" in preview.diff and "platform-registry" in preview.diff
        [line] = action.kubectl()
        assert line.startswith("kubectl patch deployments.v1.apps/api --type=json '--patch=")
        outcome = action.execute()
        assert outcome.ok, outcome.results
        [result] = outcome.results
        assert "removed: " in result.message and "env[name=PLATFORM_URL]" in result.message
        after = _api(kc)
        assert _spec_and_meta(after) == _spec_and_meta(original)
        assert [m["manager"] for m in after["metadata"]["managedFields"]] == [TEAM, "mitigate"] or \
            ROGUE not in [m["manager"] for m in after["metadata"]["managedFields"]]
        assert all(r.ok for r in action.recheck())
        for undo in outcome.undo:  # the undo puts the rogue's values back
            assert kc.prepare(undo).execute().ok
        assert _spec_and_meta(_api(kc)) == _spec_and_meta(changed)


def test_scalar_without_backup_is_reported_not_guessed_and_shared_fields_stay(backups: Path) -> None:
    change = json.loads(json.dumps(ROGUE_CHANGE))
    change["spec"]["replicas"] = 0  # overwrote the team's 3: the 3 exists nowhere now
    with _box() as box:
        kc, since = _incident(box, change)
        t = kc.ctx(CTX).transport
        # the team and the rogue both apply the same annotation: shared ownership
        for manager in (TEAM, ROGUE):
            t.request("PATCH", f"{DEPLOY_PATH}/api", query={"fieldManager": manager, "force": "true"},
                      body={"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
                          "name": "api", "annotations": {"cost-center": "42"}}},
                      content_type="application/apply-patch+yaml")
        action = _revert(kc, since, backups)
        preview = action.preview()
        assert ("Deployment/shop/api: cannot restore (earlier value unknown, no backup): spec.replicas"
                in preview.warnings)
        assert any("kept, shared: metadata.annotations.cost-center (also owned by team-deployer)" in w
                   for w in preview.warnings), preview.warnings
        outcome = action.execute()
        [result] = outcome.results
        assert not result.ok and result.applied  # the rest was taken back; the outcome says what was not
        assert "cannot restore (earlier value unknown, no backup): spec.replicas" in result.message
        after = _api(kc)
        assert after["spec"]["replicas"] == 0
        assert _spec_and_meta(after)[2] == {"owner": "shop-team", "cost-center": "42"}
        assert "imagePullSecrets" not in after["spec"]["template"]["spec"]


def test_with_a_backup_the_scalar_is_restored(backups: Path) -> None:
    change = json.loads(json.dumps(ROGUE_CHANGE))
    change["spec"]["replicas"] = 0
    with _box() as box:
        kc, since = _incident(box, change)
        prepared = _revert(kc, since, backups)
        from integrations.kube.actions.lifecycle import write_backup
        before = json.loads(json.dumps(APP))  # the state someone saved before the incident
        write_backup(str(backups), CTX, prepared.items[0], before)
        action = _revert(kc, since, backups)
        assert "Deployment/shop/api: restored spec.replicas" in action.preview().changed_fields
        assert action.execute().ok
        assert _api(kc)["spec"]["replicas"] == 3


def test_removal_that_would_make_the_object_invalid_is_refused(backups: Path) -> None:
    with _box() as box:
        kc, since = _incident(box, {"spec": {"template": {"spec": {"$setElementOrder/containers": [
            {"name": "sidecar"}], "containers": [{"name": "sidecar", "image": "side:1"},
                                                 {"name": "app", "$patch": "delete"}]}}}})
        containers = _api(kc)["spec"]["template"]["spec"]["containers"]
        assert [c["name"] for c in containers] == ["sidecar"]
        action = _revert(kc, since, backups)
        preview = action.preview()
        assert ("Deployment/shop/api: kept, removal would make it invalid: "
                "spec.template.spec.containers[name=sidecar]") in preview.warnings
        result = action.execute().results[0]
        assert not result.ok and "removal would make it invalid" in result.message
        assert [c["name"] for c in _api(kc)["spec"]["template"]["spec"]["containers"]] == ["sidecar"]


def test_preconditions_stop_a_patch_planned_on_an_older_object(backups: Path) -> None:
    with _box() as box:
        kc, since = _incident(box)
        action = _revert(kc, since, backups)
        action.preview()
        [line] = action.kubectl()
        stale_rv = _api(kc)["metadata"]["resourceVersion"]
        t = kc.ctx(CTX).transport
        # the team now takes over the operator's label with its own value
        t.request("PATCH", f"{DEPLOY_PATH}/api", query={"fieldManager": TEAM}, content_type=STRATEGIC,
                  body={"metadata": {"labels": {"platform.example/onboarded": "kept-by-team"}}})
        fp = action.items[0].extra["plan"]
        with pytest.raises(ApiError, match="409"):  # the API path: resourceVersion precondition
            t.request("PATCH", f"{DEPLOY_PATH}/api", body=fp.patch(stale_rv, {"spec.template.spec.imagePullSecrets"}),
                      content_type="application/json-patch+json")
        printed = json.loads(next(a for a in shlex.split(line) if a.startswith("--patch="))[len("--patch="):])
        with pytest.raises(ApiError, match="422|test"):  # the printed kubectl line: value tests
            t.request("PATCH", f"{DEPLOY_PATH}/api", body=printed, content_type="application/json-patch+json")
        assert _api(kc)["metadata"]["labels"]["platform.example/onboarded"] == "kept-by-team"
        # executing re-reads: the label is the team's now, so only the rest is taken back
        outcome = action.execute()
        assert outcome.ok, outcome.results
        after = _api(kc)
        assert after["metadata"]["labels"]["platform.example/onboarded"] == "kept-by-team"
        assert "imagePullSecrets" not in after["spec"]["template"]["spec"]


def test_printed_kubectl_patch_yields_the_same_object(tmp_path: Path, backups: Path) -> None:
    with _box() as a, _box() as b:
        ka, since = _incident(a)
        kb, _ = _incident(b)
        action = _revert(ka, since, backups)
        lines = action.kubectl()
        assert action.execute().ok
        home = tmp_path / "home"
        home.mkdir()
        for line in lines:
            run_printed(line, b.kubeconfig, home)
        assert _spec_and_meta(_api(kb)) == _spec_and_meta(_api(ka))
        assert run_kubectl(b.kubeconfig, "get", "deployment", "api", "-n", "shop", home=home).returncode == 0


def test_plan_reads_real_api_server_fieldsv1() -> None:
    """managedFields as a real API server writes them (kubectl edit adding an env var and a label)."""
    obj = {"metadata": {"name": "web", "labels": {"app": "web", "x": "1"}, "resourceVersion": "9",
                        "managedFields": [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                'k:{"name":"app"}': {".": {}, "f:image": {}, "f:name": {}, "f:env": {
                    ".": {}, 'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}}}}}}}}},
        {"manager": "kubectl-edit", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {
            "f:metadata": {"f:labels": {"f:x": {}}},
            "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:env": {
                'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}}}}}}}}},
        {"manager": "kubelet", "operation": "Update", "subresource": "status", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {"f:replicas": {}}}}]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "app", "image": "web:1", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]}}}}
    fp = plan(obj, "kubectl-edit", None)
    assert sorted(fp.removed) == ["metadata.labels.x", "spec.template.spec.containers[name=app].env[name=A]"]
    assert not fp.unknown and not fp.shared  # the kubelet's status entry is not the manager's business
    ops = [op for _, group in fp.ops for op in group]
    assert {"op": "test", "path": "/spec/template/spec/containers/0/env/1", "value": {"name": "A", "value": "1"}} \
        in ops
    assert {"op": "remove", "path": "/metadata/labels/x"} in ops
    assert fp.patch("9")[0] == {"op": "replace", "path": "/metadata/resourceVersion", "value": "9"}


def test_a_map_the_manager_added_goes_whole_only_while_all_it_holds_is_the_managers() -> None:
    entry = {"manager": ROGUE, "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:rogue/x": {}}}}}
    obj = {"metadata": {"name": "a", "annotations": {"rogue/x": "1"}, "managedFields": [entry]}}
    assert plan(obj, ROGUE, None).removed == ["metadata.annotations"]
    # a controller has since added its own (unowned) annotation to the map the rogue created
    obj["metadata"]["annotations"] = {"rogue/x": "1", "deployment.kubernetes.io/revision": "2"}
    fp = plan(obj, ROGUE, None)
    assert fp.removed == ["metadata.annotations.rogue/x"]
    assert [op for _, ops in fp.ops for op in ops][-1] == {"op": "remove", "path": "/metadata/annotations/rogue~1x"}
