"""Runbooks for the tests of what waits and gates observe (tests/engine/test_observed.py)."""

from tests.engine.runbooks import HEADER

GATED_AND_WAITING = HEADER + """
steps:
  - id: find
    check: {kube: {apiVersion: v1, kind: Node}}
  - id: cordon
    action: {cordon: {names: "{{ steps['find'].names }}"}}
    batch:
      size: 2
      haltWhen: failures > 1
      gate:
        check: {kube: {apiVersion: v1, kind: Node}, where: "item.spec.unschedulable"}
        until: count >= 2
        interval: 5s
        timeout: 1m
  - id: wait-ready
    wait:
      check: {kube: {apiVersion: v1, kind: Node}, where: "is_ready(item)"}
      until: count >= 3
      interval: 5s
      timeout: 2m
  - id: small-batches
    gate:
      require: ["inputs.batchSize <= 2", "inputs.context == 'lab'"]
      message: Lower the batch size first.
"""
