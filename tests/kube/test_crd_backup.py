"""Deleting a CRD deletes its objects: the printed kubectl equivalent saves them first (issue 12,
point 3). Run with the real kubectl, the printed lines leave a file holding every object of the
CRD, all namespaces, before the CRD is gone."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest
from tests.engine.test_rollback_backups import CRD, WIDGETS
from tests.kube.helpers import CTX, sandbox, scenario
from tests.kubectl import run_kubectl


def test_printed_delete_of_a_crd_saves_its_objects(tmp_path: Path) -> None:
    sc = scenario()
    sc["objects"].append(dict(CRD))
    box = sandbox.Sandbox.start(sc)
    try:
        kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
        t = kc.ctx(CTX).transport
        for w in WIDGETS:
            t.request("POST", f"/apis/example.com/v1/namespaces/{w['metadata']['namespace']}/widgets", body=w)
        action = kc.prepare(ActionRequest(CTX, "delete", {"apiVersion": "apiextensions.k8s.io/v1",
                                                          "kind": "CustomResourceDefinition",
                                                          "names": ["widgets.example.com"]},
                                          backup_dir=str(tmp_path / "b")))
        lines = action.kubectl()
        assert any("get widgets.v1.example.com --all-namespaces" in line for line in lines), lines
        home = tmp_path / "home"
        home.mkdir()
        for line in lines:
            cmd, _, redirect = line.partition(" > ")
            proc = run_kubectl(box.kubeconfig, *shlex.split(cmd)[1:], home=home)
            if redirect:
                (home / shlex.split(redirect)[0]).write_text(proc.stdout)
        saved = yaml.safe_load((home / "widgets.example.com.objects.yaml").read_text())
        names = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in saved["items"]}
        assert names == {(w["metadata"]["namespace"], w["metadata"]["name"]) for w in WIDGETS}
        assert all(i["spec"]["size"] == int(i["metadata"]["labels"]["i"]) for i in saved["items"])
    finally:
        box.stop()
