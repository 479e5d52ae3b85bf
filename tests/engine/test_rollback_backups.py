"""Rollback restores what was there, from full backups, never from the redacted journal
(issue 12, points 2, 3 and 8): a deleted Secret, a ConfigMap with password-like keys, a webhook
configuration, a secret-looking annotation and a CRD with its objects come back field by field;
a missing or altered backup and a forged undo stop the rollback."""

from __future__ import annotations

import base64
import copy
import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.engine import IncidentMeta, Ports, Session
from mitigate.journal import Journal
from mitigate.ports import Query
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeConfirmer
from tests.kubectl import kubectl_path

sandbox = pytest.importorskip("integrations.sandbox")

CTX = "rb-test"
ADM = "admissionregistration.k8s.io/v1"
CRD_API = "apiextensions.k8s.io/v1"
PASSWORD = base64.b64encode(b"planted-db-password").decode()
SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
          "metadata": {"name": "db-creds", "namespace": "shop", "labels": {"app": "db"},
                       "annotations": {"owner": "team-db"}},
          "data": {"password": PASSWORD, "tls.key": base64.b64encode(b"planted-key").decode(),
                   "tls.crt": base64.b64encode(b"cert").decode()}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "app-config", "namespace": "shop", "annotations": {"api-token": "tok-original-1"}},
             "data": {"db_password": "planted-cm-password", "webhook_url": "https://hooks.slack.com/services/T/B/X",
                      "app.properties": "db.pass=planted-props\n"}}
WEBHOOK = {"apiVersion": ADM, "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "guard"},
           "webhooks": [{"name": "guard.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                         "failurePolicy": "Ignore",
                         "clientConfig": {"url": "https://guard.example.com/validate?token=planted-hook"},
                         "rules": [{"apiGroups": ["example.com"], "apiVersions": ["v1"], "operations": ["CREATE"],
                                    "resources": ["gadgets"]}]}]}
CRD = {"apiVersion": CRD_API, "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}
WIDGETS = [{"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": f"w{i}", "namespace": ns, "labels": {"i": str(i)}}, "spec": {"size": i}}
           for i, ns in enumerate(["shop", "shop", "default"])]

RUNBOOK = f"""
apiVersion: mitigate/v1
kind: Runbook
metadata: {{name: rb, title: rollback test, source: test}}
inputs:
  context: {{type: kube-context}}
steps:
  - id: drop-secret
    action:
      delete: {{apiVersion: v1, kind: Secret, namespace: shop, names: [db-creds]}}
  - id: drop-config
    action:
      delete: {{apiVersion: v1, kind: ConfigMap, namespace: shop, names: [app-config]}}
  - id: drop-webhook
    action:
      delete: {{apiVersion: {ADM}, kind: ValidatingWebhookConfiguration, names: [guard]}}
  - id: drop-crd
    action:
      delete: {{apiVersion: {CRD_API}, kind: CustomResourceDefinition, names: [widgets.example.com]}}
"""

ANNOTATE = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: rb2, title: annotate, source: test}
inputs:
  context: {type: kube-context}
steps:
  - id: retoken
    action:
      annotate: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: [app-config],
                 annotations: {api-token: tok-new-2}}
  - id: cordon
    action:
      cordon: {names: [n1]}
"""


@pytest.fixture
def box() -> Iterator[Any]:
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("shop",)]
    objects += [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {},
                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]
    objects += [copy.deepcopy(o) for o in (SECRET, CONFIGMAP, WEBHOOK, CRD)]
    b = sandbox.Sandbox.start({"name": "rb", "context": CTX, "objects": objects})
    kc = KubeCluster.from_kubeconfig(b.kubeconfig, qps=200, burst=50)
    t = kc.ctx(CTX).transport
    for w in WIDGETS:
        t.request("POST", f"/apis/example.com/v1/namespaces/{w['metadata']['namespace']}/widgets", body=w)
    try:
        yield b
    finally:
        b.stop()


def _session(box: Any, root: Path, text: str) -> tuple[Session, Journal]:
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    journal = Journal.create(root, "inc-rb")
    ports = Ports(cluster=kc, confirmer=FakeConfirmer())
    return Session.start(load_runbook_text(text, "rb.yaml"), {"context": CTX}, journal, ports,
                         meta=IncidentMeta(title="rollback")), journal


def _get(box: Any, api: str, kind: str, name: str, ns: str | None = None) -> dict[str, Any] | None:
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    found = kc.query(CTX, Query(api, kind, namespace=ns, name=name))
    return found[0] if found else None


def _fields(obj: dict[str, Any] | None) -> dict[str, Any]:
    assert obj is not None
    meta = obj["metadata"]
    return {"name": meta["name"], "namespace": meta.get("namespace"), "labels": meta.get("labels") or {},
            "annotations": {k: v for k, v in (meta.get("annotations") or {}).items()
                            if not k.startswith("kubectl.kubernetes.io/")},
            **{k: obj[k] for k in ("type", "data", "stringData", "webhooks", "spec") if k in obj}}


def _run_all(session: Session) -> None:
    for step in session.steps:
        state = session.run(step.id)
        assert state.status.value == "succeeded", (step.id, state.error)


def _wait_gone(box: Any) -> None:
    import time
    deadline = time.monotonic() + 10
    while _get(box, CRD_API, "CustomResourceDefinition", "widgets.example.com") and time.monotonic() < deadline:
        time.sleep(0.1)


def test_rollback_restores_secret_configmap_webhook_and_crd_field_by_field(box: Any, tmp_path: Path) -> None:
    originals = {"secret": _fields(_get(box, "v1", "Secret", "db-creds", "shop")),
                 "cm": _fields(_get(box, "v1", "ConfigMap", "app-config", "shop")),
                 "hook": _fields(_get(box, ADM, "ValidatingWebhookConfiguration", "guard")),
                 "crd": _fields(_get(box, CRD_API, "CustomResourceDefinition", "widgets.example.com"))["spec"]}
    widgets = {w["metadata"]["name"]: _fields(_get(box, "example.com/v1", "Widget", w["metadata"]["name"],
                                                   w["metadata"]["namespace"])) for w in WIDGETS}
    session, journal = _session(box, tmp_path, RUNBOOK)
    _run_all(session)
    _wait_gone(box)
    assert _get(box, "v1", "Secret", "db-creds", "shop") is None
    text = journal.file.read_text()
    for planted in ("planted-db-password", PASSWORD, "planted-cm-password", "planted-hook", "planted-props"):
        assert planted not in text  # the journal is redacted ...
    rolled = session.rollback()
    assert [s.id for s in rolled] == ["drop-crd", "drop-webhook", "drop-config", "drop-secret"], journal.records()[-3:]
    # ... and yet every value comes back, from the backups
    assert _fields(_get(box, "v1", "Secret", "db-creds", "shop")) == originals["secret"]
    assert _fields(_get(box, "v1", "ConfigMap", "app-config", "shop")) == originals["cm"]
    assert _fields(_get(box, ADM, "ValidatingWebhookConfiguration", "guard")) == originals["hook"]
    crd = _get(box, CRD_API, "CustomResourceDefinition", "widgets.example.com")
    assert crd is not None and _fields(crd)["spec"] == originals["crd"]
    for w in WIDGETS:
        got = _get(box, "example.com/v1", "Widget", w["metadata"]["name"], w["metadata"]["namespace"])
        assert _fields(got) == widgets[w["metadata"]["name"]]
    # backups are owner-only
    for path in journal.backups_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_rollback_restores_a_secret_looking_annotation(box: Any, tmp_path: Path) -> None:
    session, journal = _session(box, tmp_path, ANNOTATE)
    session.run("retoken")
    assert "tok-original-1" not in journal.file.read_text()
    assert [s.id for s in session.rollback()] == ["retoken"]
    got = _get(box, "v1", "ConfigMap", "app-config", "shop")
    assert got is not None and got["metadata"]["annotations"]["api-token"] == "tok-original-1"


def _undo_ref(journal: Journal, step: str) -> dict[str, Any]:
    return next(r.data["undo_backup"] for r in journal.records()
                if r.type == "step.outcome" and r.data["step"] == step and r.data.get("undo_backup"))


@pytest.mark.parametrize("damage", ["altered", "missing"])
def test_a_damaged_backup_stops_the_rollback(box: Any, tmp_path: Path, damage: str) -> None:
    session, journal = _session(box, tmp_path, ANNOTATE)
    session.run("retoken")
    path = journal.backups_dir / _undo_ref(journal, "retoken")["path"]
    if damage == "missing":
        path.unlink()
    else:
        path.write_text(path.read_text().replace("tok-original-1", "tok-evil"))
    assert session.rollback() == []
    last = [r for r in journal.records() if r.type == "rollback.step"][-1].data
    assert not last["ok"] and ("altered" in last["message"] if damage == "altered" else "cannot be read" in
                               last["message"])
    got = _get(box, "v1", "ConfigMap", "app-config", "shop")
    assert got is not None and got["metadata"]["annotations"]["api-token"] == "tok-new-2"


def test_a_forged_undo_that_is_not_the_steps_inverse_is_refused(box: Any, tmp_path: Path) -> None:
    session, journal = _session(box, tmp_path, ANNOTATE)
    session.run("retoken")
    session.run("cordon")
    path = journal.backups_dir / _undo_ref(journal, "cordon")["path"]
    forged = [{"context": CTX, "verb": "delete", "params": {"apiVersion": "v1", "kind": "ConfigMap",
                                                            "namespace": "shop", "names": ["app-config"]}}]
    content = json.dumps(forged).encode()
    path.write_bytes(content)
    import hashlib
    # a forger who also rewrites the reference (as one who can write the journal could)
    ref = {"path": str(path.relative_to(journal.backups_dir)), "sha256": hashlib.sha256(content).hexdigest()}
    journal.append("step.outcome", {"step": "cordon", "attempt": 1, "batch": 2, "context": CTX, "items": ["*"],
                                    "ok": True, "results": [], "undo": forged, "undo_backup": ref})
    session2 = Session.resume(journal, session.ports, runbook=session.runbook)
    session2.rollback()
    last = [r for r in journal.records() if r.type == "rollback.step"][-1].data
    assert not last["ok"] and "not its declared inverse" in last["message"]
    assert _get(box, "v1", "ConfigMap", "app-config", "shop") is not None


def test_an_undo_with_no_backup_reference_is_not_read_from_the_journal(box: Any, tmp_path: Path) -> None:
    session, journal = _session(box, tmp_path, ANNOTATE)
    session.run("retoken")
    session.run("cordon")
    # as a journal from before backups were kept (or a hand-made record) has it: the undo inline only
    journal.append("step.outcome", {"step": "cordon", "attempt": 1, "batch": 2, "context": CTX, "items": ["*"],
                                    "ok": True, "results": [],
                                    "undo": [{"context": CTX, "verb": "uncordon", "params": {"names": ["n1"]}}]})
    Session.resume(journal, session.ports, runbook=session.runbook).rollback()
    last = [r for r in journal.records() if r.type == "rollback.step"][-1].data
    assert not last["ok"] and "records no backup" in last["message"]


def test_a_forged_undo_of_the_right_verb_for_another_object_is_refused_before_any_request(
        box: Any, tmp_path: Path) -> None:
    """The verb check alone let a forged ``annotate`` undo of the retoken step rewrite another
    ConfigMap; and the rollback of the steps after it ran before the forgery was found."""
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    kc.ctx(CTX).transport.request("POST", "/api/v1/namespaces/shop/configmaps", body={
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-config", "namespace": "shop"}})
    session, journal = _session(box, tmp_path, ANNOTATE)
    session.run("retoken")
    session.run("cordon")
    forged = [{"context": CTX, "verb": "annotate", "params": {
        "apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "other-config",
        "annotations": {"owned": "by-the-forger"}}}]
    content = json.dumps(forged).encode()
    path = journal.backups_dir / "forged.json"
    path.write_bytes(content)
    import hashlib
    ref = {"path": "forged.json", "sha256": hashlib.sha256(content).hexdigest()}
    journal.append("step.outcome", {"step": "retoken", "attempt": 1, "batch": 2, "context": CTX, "items": ["*"],
                                    "ok": True, "results": [], "undo": forged, "undo_backup": ref})
    resumed = Session.resume(journal, session.ports, runbook=session.runbook)
    assert resumed.rollback() == []
    last = [r for r in journal.records() if r.type == "rollback.step"][-1].data
    assert last["step"] == "retoken" and not last["ok"]
    assert "ConfigMap/shop/other-config" in last["message"] and "not an object step 'retoken' acted on" in last["message"]
    other = _get(box, "v1", "ConfigMap", "other-config", "shop")
    assert other is not None and "owned" not in (other["metadata"].get("annotations") or {})
    # nothing was sent for the cordon step either, though it comes first in the rollback order
    node = _get(box, "v1", "Node", "n1")
    assert node is not None and node["spec"].get("unschedulable") is True
    assert not [r for r in journal.records() if r.type == "step.intent" and r.data.get("rollback")]


@pytest.mark.parametrize(("verb", "params", "targets", "ok"), [
    ("uncordon", {"names": ["n1"]}, ["Node/n1"], True),
    ("uncordon", {"names": ["n2"]}, ["Node/n1"], False),
    ("uncordon", {"selector": "x=y", "names": ["n1"]}, ["Node/n1"], False),
    ("create", {"manifest": {"kind": "Secret", "metadata": {"name": "db-creds", "namespace": "shop"}}},
     ["Secret/shop/db-creds"], True),
    ("create", {"manifest": {"kind": "Secret", "metadata": {"name": "db-creds", "namespace": "other"}}},
     ["Secret/shop/db-creds"], False),
    ("create", {"manifest": "kind: Secret"}, ["Secret/shop/db-creds"], False),
    ("delete", {"apiVersion": ADM, "kind": "ValidatingWebhookConfiguration", "namespace": None, "names": ["guard"]},
     ["ValidatingWebhookConfiguration/guard"], True),
    ("delete", {"apiVersion": "v1", "kind": "Namespace", "names": ["shop"]},
     ["ValidatingWebhookConfiguration/guard"], False),
    ("delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop"}, ["ConfigMap/shop/a"], False),
    ("restoreCustomResources", {"crd": CRD, "objects": WIDGETS}, ["CustomResourceDefinition/widgets.example.com"],
     True),
    ("restoreCustomResources", {"crd": CRD, "objects": [SECRET]}, ["CustomResourceDefinition/widgets.example.com"],
     False),
    ("relaxThrottle", {"name": "tight", "nominalConcurrencyShares": 5}, ["PriorityLevelConfiguration/tight"], True),
])
def test_an_undo_must_act_on_its_steps_own_objects(verb: str, params: dict[str, Any], targets: list[str],
                                                   ok: bool) -> None:
    from mitigate.errors import MitigateError
    from mitigate.runbook.actions import check_undo_targets

    pairs = [(CTX, t) for t in targets] + [("elsewhere", "Node/n2")]
    if ok:
        check_undo_targets("s", verb, CTX, params, pairs)
        with pytest.raises(MitigateError, match="not an object step 's' acted on"):
            check_undo_targets("s", verb, "elsewhere", params, pairs)  # the same object in another context
    else:
        with pytest.raises(MitigateError, match="refusing an undo"):
            check_undo_targets("s", verb, CTX, params, pairs)


GIZMO_CRD = {"apiVersion": CRD_API, "kind": "CustomResourceDefinition", "metadata": {"name": "gizmos.example.com"},
             "spec": {"group": "example.com", "scope": "Namespaced",
                      "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
                      "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                    "schema": {"openAPIV3Schema": {
                                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
GIZMO_STATUS = {"phase": "Ready", "observedGeneration": 1,
                "conditions": [{"type": "Synced", "status": "True", "reason": "UpToDate"}]}
DROP_GIZMOS = f"""
apiVersion: mitigate/v1
kind: Runbook
metadata: {{name: rb3, title: gizmos, source: test}}
inputs:
  context: {{type: kube-context}}
steps:
  - id: drop-crd
    action:
      delete: {{apiVersion: {CRD_API}, kind: CustomResourceDefinition, names: [gizmos.example.com]}}
"""


def test_rollback_of_a_crd_delete_restores_its_objects_status_through_the_status_subresource(
        box: Any, tmp_path: Path) -> None:
    """The create ignores status when the CRD has the status subresource (as a real API server
    does): the restored objects came back without it. It is written through PUT .../status."""
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    t = kc.ctx(CTX).transport
    t.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=copy.deepcopy(GIZMO_CRD))
    base = "/apis/example.com/v1/namespaces/shop/gizmos"
    for name in ("g1", "g2"):
        created = t.request("POST", base, body={"apiVersion": "example.com/v1", "kind": "Gizmo",
                                                "metadata": {"name": name, "namespace": "shop"},
                                                "spec": {"size": 3}, "status": GIZMO_STATUS})
        assert "status" not in created  # the main endpoint ignored it
        t.request("PUT", f"{base}/{name}/status", body={**created, "status": GIZMO_STATUS})
    assert _get(box, "example.com/v1", "Gizmo", "g1", "shop")["status"] == GIZMO_STATUS  # type: ignore[index]
    session, journal = _session(box, tmp_path, DROP_GIZMOS)
    _run_all(session)
    for _ in range(100):
        if _get(box, CRD_API, "CustomResourceDefinition", "gizmos.example.com") is None:
            break
        import time
        time.sleep(0.05)
    assert [s.id for s in session.rollback()] == ["drop-crd"], journal.records()[-3:]
    for name in ("g1", "g2"):
        got = _get(box, "example.com/v1", "Gizmo", name, "shop")
        assert got is not None and got["spec"] == {"size": 3}
        assert got.get("status") == GIZMO_STATUS, got
    outcome = [r for r in journal.records() if r.type == "step.outcome" and r.data.get("rollback")][-1].data
    assert "restored (with its status)" in {r["message"] for r in outcome["results"]}
    # the printed kubectl equivalent writes the status back too
    lines = [line for r in journal.records() if r.type == "step.intent" and r.data.get("rollback")
             for line in r.data["kubectl"]]
    (status_line,) = [line for line in lines if "--subresource=status" in line and "gizmos.v1.example.com/g1" in line]
    # ... and real kubectl does what it says
    current = t.request("GET", f"{base}/g1")
    t.request("PUT", f"{base}/g1/status", body={**current, "status": {"phase": "Broken"}})
    home = tmp_path / "kubectl-home"
    home.mkdir()
    done = subprocess.run(["bash", "-c", status_line.replace("kubectl ", f"{kubectl_path()} --cache-dir={home}/c ", 1)],
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home), "KUBECONFIG": str(box.kubeconfig)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _get(box, "example.com/v1", "Gizmo", "g1", "shop")["status"] == GIZMO_STATUS  # type: ignore[index]


def test_sandbox_create_ignores_status_only_with_the_status_subresource(box: Any) -> None:
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    t = kc.ctx(CTX).transport
    t.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=copy.deepcopy(GIZMO_CRD))
    body = {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g9", "namespace": "shop"},
            "spec": {"size": 1}, "status": {"phase": "Ready"}}
    created = t.request("POST", "/apis/example.com/v1/namespaces/shop/gizmos", body=body)
    assert "status" not in created
    updated = t.request("PUT", "/apis/example.com/v1/namespaces/shop/gizmos/g9/status",
                        body={**created, "status": {"phase": "Ready"}, "spec": {"size": 7}})
    assert updated["status"] == {"phase": "Ready"} and updated["spec"] == {"size": 1}  # status only
    # Widgets (no status subresource): status is an ordinary field, kept on create
    widget = t.request("POST", "/apis/example.com/v1/namespaces/shop/widgets", body={
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w9", "namespace": "shop"},
        "status": {"phase": "Kept"}})
    assert widget["status"] == {"phase": "Kept"}
