"""Drain refuses what kubectl drain refuses: a pod no controller owns is lost for good when
evicted, so it needs ``force`` (kubectl's --force). Checked against the real kubectl too."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest, Query
from tests.kube.helpers import CTX, sandbox, scenario, seed_objects
from tests.kubectl import run_kubectl


def bare_pod(name: str, phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"nodeName": "n2", "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": phase}}


def world() -> dict[str, Any]:
    return scenario(objects=[*seed_objects(), bare_pod("lonely"), bare_pod("job-done", "Succeeded")])


def pod_names(kc: KubeCluster) -> set[str]:
    return {p["metadata"]["name"] for p in kc.query(CTX, Query("v1", "Pod", namespace="shop"))}


@pytest.fixture
def boxes() -> Any:
    a, b = sandbox.Sandbox.start(world()), sandbox.Sandbox.start(world())
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def drain(box: Any, tmp_path: Path, **params: Any) -> tuple[Any, list[str]]:
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    action = kc.prepare(ActionRequest(CTX, "drain", {"names": ["n2"], "timeout": "20s", "gracePeriod": 0, **params},
                                      backup_dir=str(tmp_path)))
    return action, action.kubectl()


def test_an_unmanaged_pod_stops_the_drain_as_it_stops_kubectl(boxes: Any, tmp_path: Path) -> None:
    a, b = boxes
    action, lines = drain(a, tmp_path)
    assert "--force" not in lines[0]
    assert any("lonely" in w and "no controller" in w for w in action.preview().warnings)
    outcome = action.execute()
    node = outcome.results[0]
    assert not node.ok and "shop/lonely has no controller" in node.message and "force: true" in node.message
    kc = KubeCluster.from_kubeconfig(a.kubeconfig)
    assert {"lonely", "job-done", "stray-1"} <= pod_names(kc)  # nothing was evicted
    home = tmp_path / "home"
    home.mkdir()
    proc = run_kubectl(b.kubeconfig, *shlex.split(lines[0])[1:], home=home, check=False)
    assert proc.returncode != 0 and "--force" in proc.stderr and "shop/lonely" in proc.stderr
    assert {"lonely", "job-done", "stray-1"} <= pod_names(KubeCluster.from_kubeconfig(b.kubeconfig))


def test_force_evicts_it_and_the_kubectl_line_says_so(boxes: Any, tmp_path: Path) -> None:
    a, b = boxes
    action, lines = drain(a, tmp_path, force=True)
    assert "--force" in shlex.split(lines[0])
    assert action.execute().ok
    home = tmp_path / "home"
    home.mkdir()
    run_kubectl(b.kubeconfig, *shlex.split(lines[0])[1:], home=home)
    for box in (a, b):
        left = pod_names(KubeCluster.from_kubeconfig(box.kubeconfig))
        assert not {"lonely", "job-done", "stray-1"} & left, (box, left)
