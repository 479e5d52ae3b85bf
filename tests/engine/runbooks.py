"""Small runbooks that exercise one engine capability each (YAML, through the real loader)."""

from __future__ import annotations

HEADER = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: test, title: Test runbook, source: tests}
inputs:
  context: {type: kube-context}
  batchSize: {type: integer, default: 2, minimum: 1}
"""

CORDON = HEADER + """
steps:
  - id: find
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not (item | is_ready)
      expect: count > 0
    save: notready
  - id: cordon
    title: Cordon NotReady nodes
    action:
      cordon: {names: "{{ saved.notready.names }}"}
  - id: confirm-done
    manual: Tell the channel the nodes are cordoned.
"""

BATCHED = HEADER + """
steps:
  - id: find
    check:
      kube: {apiVersion: v1, kind: Node}
  - id: cordon
    action:
      cordon: {names: "{{ steps['find'].names }}"}
    batch: {size: "{{ inputs.batchSize }}", pause: 30s}
"""
