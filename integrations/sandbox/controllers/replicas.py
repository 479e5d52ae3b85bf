"""Replica controllers: keep ``spec.replicas`` children of a template alive.

One loop (``ReplicaController``) serves the ReplicaSet and ReplicationController controllers
(pods) and the Cluster API MachineSet controller (machines): count the children that are not
being deleted, create the missing ones from the template (a failed create is a
``FailedCreate`` Event, a ``ReplicaFailure`` condition and a retry, as the controllers back off),
delete the surplus in the controller's order, then write the status. A kind differs only in
how it makes a child, which children it removes first and what counts as ready.
"""

from __future__ import annotations

import time

from ..budgets import pod_ready
from ..nodelife import epoch
from ..patch import copy_json
from ..store import ApiError, Obj, now_iso
from .base import MACHINE, MS, POD, RC, RS, Controller, Key, owner_ref, suffix

MACHINE_FINALIZER = "machine.cluster.x-k8s.io"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _neg(ts: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in ts)


def deletion_order(pods: list[Obj]) -> list[Obj]:
    """Which pods a ReplicaSet removes first: unscheduled, then pending, not ready, newest."""
    return sorted(pods, key=lambda p: (bool((p.get("spec") or {}).get("nodeName")),
                                       _PHASE_ORDER.get(str((p.get("status") or {}).get("phase")), 1),
                                       pod_ready(p), _neg(p["metadata"].get("creationTimestamp", ""))))


class ReplicaController(Controller):
    """The shared loop; subclasses say what a child is."""

    child = POD

    def sync(self, owner: Obj, key: Key) -> None:
        spec = owner.get("spec") or {}
        want = int(spec.get("replicas", 1))
        children = [c for c in self.owned(owner, self.child) if not c["metadata"].get("deletionTimestamp")]
        failure = None
        for _ in range(want - len(children)):
            try:
                made = self.make(owner, key)
            except ApiError as e:
                failure = e
                break
            children.append(made)
            self.event(owner, "SuccessfulCreate", self.created_message(made))
        if failure is not None:
            self.event(owner, "FailedCreate", f"Error creating: {failure.message}", warning=True)
            self.after(0.5, key)  # the controller retries (with backoff)
        if len(children) > want:
            child_r = self.r(self.child)
            for c in self.deletion_order(children)[: len(children) - want]:
                self.st.delete(child_r, c["metadata"]["name"], key[0])
                self.event(owner, "SuccessfulDelete", self.deleted_message(c))
            children = [c for c in self.owned(owner, self.child) if not c["metadata"].get("deletionTimestamp")]
        status = self.status(owner, key, children)
        if failure is not None:
            status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                     "message": failure.message, "lastTransitionTime": now_iso()}]
        self.write_status(owner, status)

    def make(self, owner: Obj, key: Key) -> Obj:
        """Create one child from the template; raises ApiError when the API server refuses it."""
        raise NotImplementedError

    def deletion_order(self, children: list[Obj]) -> list[Obj]:
        return deletion_order(children)

    def created_message(self, child: Obj) -> str:
        return f"Created pod: {child['metadata']['name']}"

    def deleted_message(self, child: Obj) -> str:
        return f"Deleted pod: {child['metadata']['name']}"

    def status(self, owner: Obj, key: Key, children: list[Obj]) -> Obj:
        """ReplicaSet/ReplicationController status: ready pods, and available ones (Ready for
        ``minReadySeconds``; the key is looked at again when the next one gets there)."""
        min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
        ready = sum(1 for p in children if pod_ready(p))
        waits = [w for w in (self._ready_for(p, min_ready) for p in children) if w is not None]
        for left in waits:
            if left > 0:
                self.after(left + 0.05, key)
        available = sum(1 for w in waits if w <= 0)
        return {"replicas": len(children), "fullyLabeledReplicas": len(children), "readyReplicas": ready,
                "availableReplicas": available, "observedGeneration": owner["metadata"].get("generation", 1)}

    @staticmethod
    def _ready_for(pod: Obj, min_ready: int) -> float | None:
        """None when not Ready, else the seconds until it has been Ready for ``min_ready`` (<= 0: available)."""
        if not pod_ready(pod):
            return None
        if min_ready <= 0:
            return 0.0
        since = next((epoch(c.get("lastTransitionTime")) for c in (pod.get("status") or {}).get("conditions") or []
                      if c.get("type") == "Ready"), None) or time.time()
        return since + min_ready - time.time()

    def pod_from_template(self, owner: Obj, key: Key) -> Obj:
        tmpl = (owner.get("spec") or {}).get("template") or {}
        meta = copy_json(tmpl.get("metadata") or {})
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": dict(meta, name=f"{key[1]}-{suffix()}", namespace=key[0],
                                 ownerReferences=[owner_ref(owner)]),
                "spec": copy_json(tmpl.get("spec") or {})}


class ReplicaSetController(ReplicaController):
    name = "replicaset-controller"
    primary = RS
    owns = (POD,)

    def make(self, owner: Obj, key: Key) -> Obj:
        return self.sim.scheduler.create(self.pod_from_template(owner, key))


class ReplicationControllerController(ReplicaSetController):
    """v1 ReplicationController: a ReplicaSet with an equality-only selector (a map)."""

    name = "replication-controller"
    primary = RC


class MachineSetController(ReplicaController):
    """Cluster API: Machines (with their finalizer) from the template; the Machine controller
    provisions each one into a Node."""

    name = "machineset-controller"
    primary = MS
    owns = (MACHINE,)
    child = MACHINE

    def make(self, owner: Obj, key: Key) -> Obj:
        spec = owner.get("spec") or {}
        tmpl = spec.get("template") or {}
        meta = copy_json(tmpl.get("metadata") or {})
        body = {"metadata": dict(meta, name=f"{key[1]}-{suffix()}", namespace=key[0],
                                 ownerReferences=[owner_ref(owner)], finalizers=[MACHINE_FINALIZER]),
                "spec": dict(copy_json(tmpl.get("spec") or {}), clusterName=spec.get("clusterName")),
                "status": {"phase": "Provisioning"}}
        return self.st.create(self.r(MACHINE), body)

    def deletion_order(self, children: list[Obj]) -> list[Obj]:
        # the newest first (the "Newest" deletePolicy)
        return sorted(children, key=lambda m: (m["metadata"].get("creationTimestamp", ""), m["metadata"]["name"]),
                      reverse=True)

    def created_message(self, child: Obj) -> str:
        return f'Created machine "{child["metadata"]["name"]}"'

    def deleted_message(self, child: Obj) -> str:
        return f'Deleted machine "{child["metadata"]["name"]}"'

    def status(self, owner: Obj, key: Key, children: list[Obj]) -> Obj:
        ready = sum(1 for m in children if (m.get("status") or {}).get("phase") == "Running")
        return {"replicas": len(children), "readyReplicas": ready, "availableReplicas": ready,
                "fullyLabeledReplicas": len(children), "observedGeneration": owner["metadata"].get("generation", 1)}
