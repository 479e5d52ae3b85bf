"""The node lifecycle as kube-controller-manager and the kubelet run it, for the simulation.

- Taints follow the Ready condition (node lifecycle controller, TaintNodesByCondition):
  Ready=False -> ``node.kubernetes.io/not-ready``, Ready=Unknown -> ``node.kubernetes.io/unreachable``,
  each as NoSchedule and NoExecute (with ``timeAdded``); a cordoned node (``spec.unschedulable``)
  gets ``node.kubernetes.io/unschedulable:NoSchedule`` (with ``timeAdded``), removed again once it
  is uncordoned. These taints are the controller's: an uncordon, like ``kubectl uncordon``, only
  clears ``spec.unschedulable`` and the controller then drops its taint.
- When a node stops being Ready its pods' Ready condition turns False (MarkPodsNotReady) and a
  ``NodeNotReady`` Event is recorded for each; when it is Ready again the kubelet reports them Ready.
- Taint-based eviction: a pod on a NoExecute-tainted node that does not tolerate the taint is
  deleted at once; one that tolerates it for ``tolerationSeconds`` is deleted that long after the
  taint's ``timeAdded``. Pods without their own toleration get the DefaultTolerationSeconds
  admission plugin's 300 s; DaemonSet pods tolerate both taints forever.
- Nobody confirms the deletion of a pod on a node that is not Ready (no kubelet): it stays
  ``Terminating`` until force-deleted (grace period 0), until its node is deleted (the pod GC
  removes pods bound to a node that no longer exists) or until its node is Ready again.
- Node Leases in ``kube-node-lease`` (holderIdentity = node, 40 s duration) are renewed every
  ``renewSeconds`` for Ready nodes and go stale for the others.
"""

from __future__ import annotations

import functools
import heapq
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mitigate.timefmt import format_seconds, format_ts, parse_rfc3339

from .patch import copy_json
from .store import ApiError, Obj, now_iso

if TYPE_CHECKING:
    from .sim import Simulation

NOT_READY, UNREACHABLE = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
CONDITION_TAINTS = (NOT_READY, UNREACHABLE)
CONTROLLER_TAINTS = (*CONDITION_TAINTS, UNSCHEDULABLE)  # the node lifecycle controller's own
DEFAULT_TOLERATION_SECONDS = 300
LEASE_NS, LEASE_SECONDS = "kube-node-lease", 40


def iso(ts: float) -> str:
    return format_seconds(ts)


def epoch(text: Any) -> float | None:
    return _epoch(str(text))


@functools.lru_cache(maxsize=4096)
def _epoch(text: str) -> float | None:
    """RFC 3339 seconds to epoch; cached (a fleet's taints and conditions share a few timestamps)."""
    try:
        return parse_rfc3339(text, assume_utc=False).timestamp()
    except ValueError:
        return None


def ready_status(node: Obj) -> str:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return str(c.get("status"))
    return "Unknown"


def ready_since(node: Obj) -> float:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return epoch(c.get("lastTransitionTime")) or time.time()
    return time.time()


def wanted_taints(node: Obj) -> list[Obj]:
    """The node's taints with the controller-managed ones brought in line with its condition."""
    status = ready_status(node)
    spec = node.get("spec") or {}
    current = [t for t in spec.get("taints") or [] if isinstance(t, dict)]
    keep = [t for t in current if t.get("key") not in CONTROLLER_TAINTS]
    managed: list[Obj] = []
    cond = None if status == "True" else UNREACHABLE if status == "Unknown" else NOT_READY
    if cond is not None:
        old = {(t.get("key"), t.get("effect")): t for t in current}
        since = iso(ready_since(node))
        for effect in ("NoSchedule", "NoExecute"):
            prev = old.get((cond, effect))
            t: Obj = {"key": cond, "effect": effect}
            if effect == "NoExecute":
                t["timeAdded"] = (prev or {}).get("timeAdded") or since
            managed.append(t)
    if spec.get("unschedulable"):
        prev = next((t for t in current if t.get("key") == UNSCHEDULABLE and t.get("effect") == "NoSchedule"), None)
        managed.append({"key": UNSCHEDULABLE, "effect": "NoSchedule",
                        "timeAdded": (prev or {}).get("timeAdded") or now_iso()})
    return keep + managed


def tolerates(pod: Obj, taint: Obj) -> tuple[bool, float | None]:
    """(tolerated, for how many seconds: None = forever) as the taint manager decides it."""
    best: tuple[bool, float | None] = (False, None)
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if not isinstance(tol, dict):
            continue
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("key") and tol.get("key") != taint.get("key"):
            continue
        if not tol.get("key") and tol.get("operator") != "Exists":
            continue
        if tol.get("operator", "Equal") == "Equal" and tol.get("key") and str(tol.get("value") or "") != str(
                taint.get("value") or ""):
            continue
        secs = tol.get("tolerationSeconds")
        if secs is None:
            return True, None
        best = (True, max(float(secs), best[1] or 0.0))
    return best


def is_daemon_pod(pod: Obj) -> bool:
    return any(isinstance(o, dict) and o.get("controller") and o.get("kind") == "DaemonSet"
               for o in pod["metadata"].get("ownerReferences") or [])


def eviction_time(pod: Obj, taints: list[Obj]) -> float | None:
    """When the taint manager deletes this pod (epoch seconds), or None if it stays."""
    due: float | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        if taint.get("key") in CONDITION_TAINTS and is_daemon_pod(pod):
            continue
        ok, secs = tolerates(pod, taint)
        if not ok and taint.get("key") in CONDITION_TAINTS and not any(
                isinstance(t, dict) and t.get("key") == taint.get("key")
                for t in (pod.get("spec") or {}).get("tolerations") or []):
            ok, secs = True, float(DEFAULT_TOLERATION_SECONDS)  # DefaultTolerationSeconds
        if ok and secs is None:
            continue
        added = epoch(taint.get("timeAdded")) or time.time()
        at = added + (secs or 0.0) if ok else added
        due = at if due is None else min(due, at)
    return due


def pod_not_ready_status(status: Obj) -> Obj:
    """A pod status with its Ready condition False, as MarkPodsNotReady writes it."""
    new: Obj = copy_json(status)
    for c in new.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") != "False":
            c.update(status="False", lastTransitionTime=now_iso())
    return new


def new_lease(node: str, renew: str) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": LEASE_NS,
                         "ownerReferences": []},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": renew}}


def lease_time(ts: float) -> str:
    """MicroTime, as the kubelet writes renewTime."""
    return format_ts(datetime.fromtimestamp(ts, UTC))


@dataclass
class NodeLifecycle:
    """Per-cluster node lifecycle state kept by the simulation."""

    renew_seconds: float = 10.0
    ready: dict[str, str] = field(default_factory=dict)  # node -> last Ready status seen
    evictions: list[tuple[float, str, str, str]] = field(default_factory=list)  # heap: (at, ns, pod, uid)
    next_renew: float = 0.0
    renew_cursor: int = 0
    cordoned: dict[str, bool] = field(default_factory=dict)

    def settle_seeded(self, sim: Simulation) -> None:
        """Seeded nodes that are not Ready: their taints, their pods not ready, their pending evictions."""
        st = sim.st
        bad = [n for n in st.objects.get(("", "nodes"), {}).values() if ready_status(n) != "True"]
        for node in bad:
            name = node["metadata"]["name"]
            taints = wanted_taints(node)
            if taints != ((node.get("spec") or {}).get("taints") or []):
                new = copy_json(node)
                new.setdefault("spec", {})["taints"] = taints
                node = st.put(sim.r(("", "nodes")), new)
            pods = sim.pods_on(name)
            for p in pods:
                if not p["metadata"].get("deletionTimestamp") and _pod_ready(p):
                    new = copy_json(p)
                    new["status"] = pod_not_ready_status(p.get("status") or {})
                    st.put(sim.r(("", "pods")), new)
            self.schedule_evictions(sim, node, pods)
            self.ready[name] = ready_status(node)

    # ------------------------------------------------------------------ node changes

    def node_changed(self, sim: Simulation, name: str, node: Obj | None) -> None:
        st = sim.st
        if node is None:
            self.ready.pop(name, None)
            self.cordoned.pop(name, None)
            self._pod_gc(sim, name)
            lease = st.find("leases", name, LEASE_NS)
            if lease is not None:
                st.delete("leases", name, LEASE_NS)
            return
        status = ready_status(node)
        taints = wanted_taints(node)
        if taints != ((node.get("spec") or {}).get("taints") or []):
            new = copy_json(node)
            if taints:
                new.setdefault("spec", {})["taints"] = taints
            else:
                new.setdefault("spec", {}).pop("taints", None)
            node = st.put(sim.r(("", "nodes")), new)
        cordoned = bool((node.get("spec") or {}).get("unschedulable"))
        if self.cordoned.get(name, cordoned) != cordoned:  # the kubelet reports what a cordon did
            what = "NodeNotSchedulable" if cordoned else "NodeSchedulable"
            sim.events.node(node, what, f"Node {name} status is now: {what}", component="kubelet")
        self.cordoned[name] = cordoned
        before = self.ready.get(name)
        self.ready[name] = status
        if st.find("leases", name, LEASE_NS) is None:
            try:
                st.create("leases", new_lease(name, lease_time(time.time() if status == "True"
                                                              else ready_since(node))))
            except ApiError:
                pass
        if before == status:
            return
        pods = sim.pods_on(name)
        if status != "True":
            if before in (None, "True"):
                sim.events.node(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
            for p in pods:
                if (p.get("status") or {}).get("phase") == "Running" and _pod_ready(p):
                    new = copy_json(p)
                    new["status"] = pod_not_ready_status(p.get("status") or {})
                    st.put(sim.r(("", "pods")), new)
                    sim.events.pod(p, "NodeNotReady", "Node is not ready", warning=True,
                                   component="node-controller")
            self.schedule_evictions(sim, node, pods)
        else:
            if before is not None:
                sim.events.node(node, "NodeReady", f"Node {name} status is now: NodeReady")
            for p in pods:
                if p["metadata"].get("deletionTimestamp"):
                    if not p["metadata"].get("finalizers"):  # the kubelet confirms what was waiting for it
                        st.remove_now(sim.r(("", "pods")), (p["metadata"].get("namespace", ""),
                                                            p["metadata"]["name"]))
                    continue
                sim.kubelet.refresh(p, force=True)

    def schedule_evictions(self, sim: Simulation, node: Obj, pods: list[Obj]) -> None:
        taints = (node.get("spec") or {}).get("taints") or []
        for p in pods:
            if p["metadata"].get("deletionTimestamp"):
                continue
            at = eviction_time(p, taints)
            if at is not None:
                heapq.heappush(self.evictions, (at, p["metadata"].get("namespace", ""), p["metadata"]["name"],
                                                p["metadata"]["uid"]))

    def _pod_gc(self, sim: Simulation, node: str) -> None:
        """Pods bound to a node that no longer exists are force-deleted (PodGC, gcOrphaned)."""
        for p in sim.pods_on(node):
            try:
                sim.st.delete("pods", p["metadata"]["name"], p["metadata"].get("namespace"), grace=0)
            except ApiError:
                continue

    # ------------------------------------------------------------------ time passing

    def due(self, sim: Simulation, now_wall: float, now_mono: float) -> None:
        st = sim.st
        while self.evictions and self.evictions[0][0] <= now_wall:
            _, ns, name, uid = heapq.heappop(self.evictions)
            pod = st.find("pods", name, ns)
            if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
                continue
            node = st.find("nodes", str((pod.get("spec") or {}).get("nodeName") or ""))
            if node is None or eviction_time(pod, (node.get("spec") or {}).get("taints") or []) is None:
                continue
            sim.events.pod(pod, "TaintManagerEviction", f"Marking for deletion Pod {ns}/{name}",
                           component="taint-eviction-controller")
            try:
                st.delete("pods", name, ns)
            except ApiError:
                continue
        if now_mono >= self.next_renew:
            self._renew(sim, now_mono)

    def _renew(self, sim: Simulation, now_mono: float) -> None:
        """Renew a slice of the Ready nodes' Leases per tick (each once per ``renew_seconds``), as
        kubelets spread over time do; NotReady nodes' Leases are left to go stale."""
        st = sim.st
        names = sorted(n for n, s in self.ready.items() if s == "True")
        step = 0.05
        self.next_renew = now_mono + step
        if not names:
            return
        chunk = max(-(-len(names) * step // self.renew_seconds), 1)
        start = self.renew_cursor % len(names)
        renew = lease_time(time.time())
        lease_r = sim.r(("coordination.k8s.io", "leases"))
        for name in names[start:start + int(chunk)]:
            lease = st.find(lease_r, name, LEASE_NS)
            if lease is None:
                continue
            new = copy_json(lease)
            new["spec"]["renewTime"] = renew
            st.put(lease_r, new)
        self.renew_cursor = start + int(chunk)


def _pod_ready(p: Obj) -> bool:
    for c in (p.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False
