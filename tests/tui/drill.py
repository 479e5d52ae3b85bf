"""A real drill rig for the TUI tests: the sandbox API server, the kube adapter, the engine.

The test is the composition root here (as mitigate/cli is for users): it starts
``integrations.sandbox.Sandbox`` with a small NotReady-nodes scenario, and hands
the TUI a :class:`mitigate.cli.tui.CliLauncher` over a tmp journal root and a
one-runbook library. Nothing is faked: every step reaches the sandbox over HTTP.
"""

from __future__ import annotations

from typing import Any

CONTEXT = "lab-prod"  # matches the protected pattern below: destructive steps need the name typed
CONFIG = 'protectedContexts: ["*prod*"]\n'

RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata:
  name: tui-drill
  title: Cordon NotReady nodes and clear stale config
  source: tests/tui
  summary: A small drill that exercises every walker key.
  tags: [nodes, drill]
inputs:
  context: {type: kube-context}
steps:
  - id: find
    title: Find NotReady nodes
    description: Nodes whose **Ready** condition is not `True`.
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count > 0
      columns:
        Node: "{{ item.metadata.name }}"
        Ready: "{{ condition_status(item, 'Ready') }}"
  - id: page-owner
    title: Page the node-pool owner
    manual: Page the owning team and ask them to acknowledge with the `owner-ack` ConfigMap.
  - id: cordon
    title: Cordon NotReady nodes
    action: {cordon: {names: "{{ steps['find'].names }}"}}
    batch: {size: 1, pause: 1s}
  - id: owner-ack
    title: The owner acknowledged
    check:
      kube: {apiVersion: v1, kind: ConfigMap, namespace: shop}
      where: item.metadata.name == 'owner-ack'
      expect: count > 0
  - id: delete-stale
    title: Delete the stale config
    action: {delete: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: [stale]}}
  - id: verify
    title: Verify every node is Ready
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count == 0
"""


def node(name: str, *, ready: bool) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"},
            "data": {"k": "v"}}


def scenario(*, nodes: int = 5, notready: int = 3) -> dict[str, Any]:
    return {"name": "tui-drill", "context": CONTEXT,
            "objects": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
                        configmap("stale"),
                        *(node(f"n{i}", ready=i >= notready) for i in range(nodes))]}
