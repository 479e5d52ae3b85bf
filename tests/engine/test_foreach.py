"""forEach on action steps, against the sandbox through the real adapter: a patch body built from
each item, targets in their own namespaces, batches with pause and a health gate, retry that
continues where it stopped, the plan showing every rendered command, and rollback of one step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.engine import IncidentMeta, Ports, Session, StepStatus
from mitigate.journal import Journal
from mitigate.ports import Query
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock, FakeConfirmer

sandbox = pytest.importorskip("integrations.sandbox")
CTX = "each"


def _deploy(ns: str, name: str, pool: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name, "tier": "edge"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"nodeSelector": {"legacy/pool": pool},
                                           "containers": [{"name": "c", "image": f"{name}:1"}]}}}}


@pytest.fixture
def box() -> Any:
    objects = [_deploy("blue", "web", "a"), _deploy("green", "api", "b"), _deploy("green", "db", "c")]
    objects[2]["metadata"]["labels"]["tier"] = "data"
    sb = sandbox.Sandbox.start({"name": "each", "context": CTX, "objects": objects,
                                "generators": [{"nodes": {"count": 2}}]})
    yield sb
    sb.stop()


RUNBOOK = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: each, title: Each, source: test}
inputs:
  context: {type: kube-context}
  legacy: {type: string, default: legacy/pool}
  fresh: {type: string, default: pool.example.com/name}
steps:
  - id: find
    check:
      kube: {apiVersion: apps/v1, kind: Deployment, labelSelector: tier=edge}
      expect: count == 2
  - id: move
    forEach: "{{ steps['find'].items }}"
    batch:
      size: 1
      pause: 3s
      gate:
        check: {kube: {apiVersion: apps/v1, kind: Deployment, labelSelector: tier=edge}}
        until: count == 2
        timeout: 10s
        interval: 1s
    action:
      patch:
        apiVersion: apps/v1
        kind: Deployment
        names: ["{{ item | ref }}"]
        type: strategic
        patch:
          metadata:
            annotations: {moved-from: "{{ item | get(['spec', 'template', 'spec', 'nodeSelector', inputs.legacy]) }}"}
          spec:
            template:
              spec:
                nodeSelector:
                  "{{ inputs.legacy }}": null
                  "{{ inputs.fresh }}": "{{ get(item, ['spec', 'template', 'spec', 'nodeSelector', inputs.legacy]) }}"
"""


def _session(tmp_path: Path, box: Any, confirmer: FakeConfirmer) -> tuple[Session, KubeCluster, FakeClock]:
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    clock = FakeClock()
    journal = Journal.create(tmp_path / "incidents", "inc-1")
    session = Session.start(load_runbook_text(RUNBOOK, "each.yaml"), {"context": CTX}, journal,
                            Ports(cluster=kc, confirmer=confirmer, clock=clock), meta=IncidentMeta(title="t"))
    return session, kc, clock


def _selector(kc: KubeCluster, ns: str, name: str) -> tuple[dict[str, str], str | None]:
    d = kc.query(CTX, Query("apps/v1", "Deployment", ns, name))[0]
    return d["spec"]["template"]["spec"]["nodeSelector"], (d["metadata"].get("annotations") or {}).get("moved-from")


def test_foreach_patch_bodies_from_each_item_across_namespaces(tmp_path: Path, box: Any) -> None:
    confirmer = FakeConfirmer()
    session, kc, clock = _session(tmp_path, box, confirmer)
    assert session.run("find").status is StepStatus.SUCCEEDED
    plan = session.plan("move")
    assert len(plan.kubectl) == 2 and '"pool.example.com/name":"a"' in plan.kubectl[0] \
        and "--namespace=blue" in plan.kubectl[0] and '"pool.example.com/name":"b"' in plan.kubectl[1]
    assert any("batches of 1 item(s), pause 3s" in n for n in plan.notes)
    assert session.run("move").status is StepStatus.SUCCEEDED
    [request] = [r for r in confirmer.requests if r.kind == "action"]
    assert len(request.kubectl) == 2 and request.target_count == 2  # one confirmation for every item
    assert _selector(kc, "blue", "web") == ({"pool.example.com/name": "a"}, "a")
    assert _selector(kc, "green", "api") == ({"pool.example.com/name": "b"}, "b")
    assert _selector(kc, "green", "db") == ({"legacy/pool": "c"}, None)  # not an item
    assert 3.0 in clock.sleeps  # the pause between the two batches
    records = session.journal.records()
    intents = [r.data for r in records if r.type == "step.intent"]
    assert [i["items"] for i in intents] == [["blue/web"], ["green/api"]]
    assert [r.data["batch"] for r in records if r.type == "batch.progress"] == [1, 2]
    # rollback of that one step puts both objects back, each from its own undo
    rolled = session.rollback_step("move")
    assert rolled.status is StepStatus.ROLLED_BACK
    assert _selector(kc, "blue", "web") == ({"legacy/pool": "a"}, None)
    assert _selector(kc, "green", "api") == ({"legacy/pool": "b"}, None)
    assert session.step_state("find").status is StepStatus.SUCCEEDED  # other steps untouched


def test_foreach_retry_continues_after_a_failed_item(tmp_path: Path, box: Any) -> None:
    confirmer = FakeConfirmer()
    session, kc, clock = _session(tmp_path, box, confirmer)
    assert session.run("find").status is StepStatus.SUCCEEDED
    # the second item vanishes during the pause after the first batch
    clock.on_sleep = lambda n: box.cluster().delete("deployments", "api", "green") if n == 1 else None
    state = session.run("move")
    assert state.status is StepStatus.FAILED and "health gate closed after batch 1/2" in (state.error or "")
    assert _selector(kc, "blue", "web")[1] == "a"
    clock.on_sleep = None
    box.cluster().create("deployments", _deploy("green", "api", "b"))
    state = session.retry("move")
    assert state.status is StepStatus.SUCCEEDED, state.error
    intents = [r.data for r in session.journal.records() if r.type == "step.intent"]
    assert [i["items"] for i in intents] == [["blue/web"], ["green/api"]], "blue/web was not redone"
