"""snapshot -> scenario -> drill: ``mitigate sandbox snapshot`` captures a sandbox cluster into a scenario;
the twin started from it answers ``kubectl get`` (1.35) for every captured kind with the same objects, holds
no Secret value, keeps managedFields, and a headless drill runs on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from integrations.sandbox import Sandbox, load_scenario
from mitigate.cli.drill import run_in_sandbox
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}
ORIGINAL: dict[str, Any] = {
    "name": "original", "context": "lab-eu-1",
    "generators": [{"nodes": {"count": 3, "notReady": 1}}],
    "objects": [
        CRD,
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "shop"},
         "spec": {"size": 3}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
         "data": {"password": "aHVudGVyMg=="}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
         "data": {"level": "debug"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "web", "namespace": "shop",
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
                               "time": "2026-03-02T10:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:spec": {"f:replicas": {}}}}]},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "elsewhere", "namespace": "other"}},
    ],
}
RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: cordon-notready, title: Cordon NotReady nodes, source: tests/sandbox}
inputs:
  context: {type: kube-context}
steps:
  - id: find
    title: Find NotReady nodes
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count > 0
  - id: cordon
    title: Cordon them
    action: {cordon: {names: "{{ steps['find'].names }}"}}
"""
KINDS = ["nodes", "namespaces", "deployments", "replicasets", "pods", "services", "configmaps", "secrets",
         "widgets.example.com", "customresourcedefinitions"]


def _names(kubeconfig: Path, home: Path, kind: str) -> dict[tuple[str, str], str]:
    """Each object of the kind, by (namespace, name): its spec (data for ConfigMaps and Secrets)."""
    doc = json.loads(run_kubectl(kubeconfig, "get", kind, "-A", "-o", "json", home=home).stdout)
    return {(i["metadata"].get("namespace", ""), i["metadata"]["name"]):
            json.dumps(i.get("spec", i.get("data")), sort_keys=True) for i in doc["items"]}


def test_snapshot_scenario_twin_and_a_drill_on_it(tmp_path: Path) -> None:
    kubectl_path()
    out = tmp_path / "twin.yaml"
    with Sandbox.start(ORIGINAL) as sb:
        st = sb.cluster()
        wait_for(lambda: len(st.list("pods", "shop")) == 2 and all(
            p["status"].get("phase") == "Running" for p in st.list("pods", "shop")), what="web pods")
        env = dict(os.environ, HOME=str(tmp_path))
        proc = subprocess.run([sys.executable, "-m", "mitigate", "sandbox", "snapshot", "--context", "lab-eu-1",
                               "--kubeconfig", str(sb.kubeconfig), "-n", "shop", "-n", "default", "-o", str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "objects of context lab-eu-1" in proc.stdout
        before = {kind: _names(sb.kubeconfig, tmp_path, kind) for kind in KINDS}
    doc = yaml.safe_load(out.read_text())
    secret = next(o for o in doc["objects"] if o["kind"] == "Secret" and o["metadata"]["name"] == "db")
    assert secret["data"] == {"password": ""} and "aHVudGVyMg==" not in out.read_text()
    web = next(o for o in doc["objects"] if o["kind"] == "Deployment")
    assert web["metadata"]["managedFields"][0]["manager"] == "kubectl-client-side-apply"
    assert not [o for o in doc["objects"] if o["metadata"].get("namespace") == "other"]
    load_scenario(out)  # a valid scenario as written
    doc["health"] = [{"name": "no NotReady node schedulable", "field": {
        "apiVersion": "v1", "kind": "Node", "name": "node-0", "path": "spec.unschedulable", "equals": True}}]
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    runbook = tmp_path / "cordon.yaml"
    runbook.write_text(RUNBOOK)
    with Sandbox.start(out) as twin:
        after = {kind: _names(twin.kubeconfig, tmp_path, kind) for kind in KINDS}
        for kind in KINDS:
            want = {k for k in before[kind] if kind in ("nodes", "namespaces", "customresourcedefinitions")
                    or k[0] in ("shop", "default")}
            if kind == "namespaces":
                want = {k for k in want if k[1] != "other"}
            assert want <= after[kind].keys(), (kind, want - after[kind].keys())
            extra = {k for k in after[kind].keys() - want if kind != "namespaces" and k[0] not in ("kube-system",)}
            assert not extra, (kind, extra)
            changed = [k for k in want if kind != "secrets" and before[kind][k] != after[kind][k]]
            assert not changed, (kind, changed)
        assert not twin.health().ok
        result = run_in_sandbox(twin, str(out), root=tmp_path / "journals", runbook=str(runbook), echo=False)
        assert result.finished and result.health_ok, result.lines
