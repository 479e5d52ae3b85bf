"""deleteMachine deletes a Machine only when its own status.nodeRef names the Node it was reached
from (issue 12, point 10): a Node's annotation is only a pointer, and a wrong one would replace
some other node."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.ports import ActionRequest, ClusterError
from tests.kube.helpers import CTX, sandbox, scenario

M = "cluster.x-k8s.io/v1beta1"


def _box(node_ref: str | None) -> Any:
    sc = scenario()
    sc["objects"].append({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "n9", "annotations": {"cluster.x-k8s.io/machine": "m-other",
                                      "cluster.x-k8s.io/cluster-namespace": "capi"}},
        "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    machine: dict[str, Any] = {"apiVersion": M, "kind": "Machine", "metadata": {"name": "m-other", "namespace": "capi"},
                               "spec": {"clusterName": "c"}}
    if node_ref is not None:
        machine["status"] = {"nodeRef": {"name": node_ref}}
    sc["objects"].append(machine)
    return sandbox.Sandbox.start(sc)


@pytest.mark.parametrize("node_ref", ["n2", None])
def test_a_machine_that_runs_another_node_is_not_deleted(node_ref: str | None) -> None:
    box = _box(node_ref)
    try:
        kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
        with pytest.raises(ClusterError, match="status.nodeRef"):
            kc.prepare(ActionRequest(CTX, "deleteMachine", {"names": ["n9"]}, backup_dir="/nonexistent"))
        assert not [e for e in box.request_log if e.mutating]
        assert box.cluster().find("machines", "m-other", "capi") is not None
    finally:
        box.stop()


def test_a_machine_whose_node_ref_matches_is_targeted() -> None:
    box = _box("n9")
    try:
        kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
        action = kc.prepare(ActionRequest(CTX, "deleteMachine", {"names": ["n9"]}, backup_dir="/nonexistent"))
        assert action.targets == ["Machine/capi/m-other"]
    finally:
        box.stop()
