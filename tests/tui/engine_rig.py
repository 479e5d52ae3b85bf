"""The real engine over the engine tests' fast in-memory cluster, for the TUI tests that need no sandbox.

``mitigate.engine.Session`` with a real ``Journal`` (fixed id and clock, so
snapshots are stable) and ``tests.engine.fakes.FakeCluster`` (Nodes in memory,
cordon/uncordon/delete): a 5,000-node batch runs in seconds, which the sandbox
cannot do inside a timed test. Only the cluster is a stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mitigate.cli.tui import incident_for
from mitigate.engine import IncidentMeta, Ports, Session
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock, FakeCluster, node
from tui import TuiConfirmer
from tui.protocols import Incident

INCIDENT_ID = "2026-05-04T1405Z-nodes-notready-par"

RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: replace-notready-nodes, title: Replace NotReady nodes, source: tests/tui}
inputs:
  context: {type: kube-context}
  batchSize: {type: integer, default: 50, minimum: 1}
steps:
  - id: find-notready
    title: Find NotReady nodes
    description: List nodes whose **Ready** condition is not `True`.
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count > 0
      columns:
        Node: "{{ item.metadata.name }}"
        Ready: "{{ condition_status(item, 'Ready') }}"
  - id: page-owner
    title: Page the node-pool owner
    manual: Page the owning team in `#inc-par` and note who acknowledged.
  - id: cordon
    title: Cordon NotReady nodes
    description: Stop new pods landing on the broken nodes, in batches.
    action: {cordon: {names: "{{ steps['find-notready'].names }}"}}
    batch: {size: "{{ inputs.batchSize }}"}
  - id: delete-nodes
    title: Delete the NotReady nodes
    description: Their replacements join through the node pool.
    action: {delete: {apiVersion: v1, kind: Node, names: "{{ steps['find-notready'].names }}"}}
    batch: {size: "{{ inputs.batchSize }}"}
  - id: verify
    title: Verify nodes Ready
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count == 0
"""


@dataclass
class Rig:
    incident: Incident
    session: Session
    cluster: FakeCluster
    confirmer: TuiConfirmer
    clock: FakeClock


def engine_incident(root: Path, *, nodes: int = 5, notready: int = 3, protected: bool = False,
                    batch_size: int = 50, runbook: str = RUNBOOK) -> Rig:
    """An opened incident on the real engine; the first ``notready`` of ``nodes`` nodes are NotReady.

    ``runbook`` replaces the default one; it declares the ``context`` input and no other without a default.
    """
    context = "prod-par" if protected else "drill-par"
    cluster = FakeCluster({context: {f"node-{i}": node(f"node-{i}", ready=i >= notready) for i in range(nodes)}},
                          protected={context} if protected else set())
    clock = FakeClock()
    confirmer = TuiConfirmer()
    journal = Journal.create(root, INCIDENT_ID, actor="oncall@host", clock=clock)
    default = runbook is RUNBOOK
    book = load_runbook_text(runbook, "replace-notready-nodes.yaml" if default else "runbook.yaml")
    inputs = {"context": context, "batchSize": batch_size} if default else {"context": context}
    session = Session.start(book, inputs, journal,
                            Ports(cluster=cluster, confirmer=confirmer, clock=clock),
                            meta=IncidentMeta(title="Nodes NotReady in par", severity="SEV2", commander="alice",
                                              drill=not protected))
    return Rig(incident_for(session, cluster, on_close=journal.close), session, cluster, confirmer, clock)
