"""The scheduler and the kubelet's start: a new pod is bound to a Ready, schedulable node its
tolerations, nodeSelector and required pod anti-affinity allow (round robin), or left Pending
with a ``FailedScheduling`` Event and retried whenever a node may fit; a pod being deleted on a
live node has its containers stopped (``Killing``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..nodelife import tolerates
from ..patch import copy_json
from ..selectors import selector_object_matcher
from ..store import Obj
from .base import NODE, POD, Controller, Key, is_ready

if TYPE_CHECKING:
    from ..sim import Simulation


class Scheduler(Controller):
    name = "default-scheduler"
    primary = POD

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self._sched: list[str] | None = None
        self._taints: dict[str, list[Obj]] = {}
        self._rr = 0
        self.pending: set[Key] = set()  # pods no node fitted yet (namespace, name)
        self._killed: set[str] = set()  # uids of pods whose Killing was recorded

    def new_tick(self) -> None:
        self._sched = None

    def reconcile(self, key: Key) -> None:
        pod = self.obj(key)
        if pod is None:
            return
        if not (pod.get("status") or {}).get("phase"):
            self._start(pod)
        elif pod["metadata"].get("deletionTimestamp"):
            self._killing(pod)

    def tick(self, now: float) -> None:
        if self.pending:
            self._retry_pending()

    # ------------------------------------------------------------------ binding

    def _schedulable(self) -> list[str]:
        if self._sched is None:
            ok = [o for o in self.st.objects.get(NODE, {}).values()
                  if is_ready(o) and not (o.get("spec") or {}).get("unschedulable")]
            self._sched = sorted(o["metadata"]["name"] for o in ok)
            self._taints = {o["metadata"]["name"]: bad for o in ok if (bad := [
                t for t in (o.get("spec") or {}).get("taints") or []
                if isinstance(t, dict) and t.get("effect") in ("NoSchedule", "NoExecute")])}
        return self._sched

    def pick(self, pod: Obj | None = None) -> str | None:
        """The node a pod goes to, or None when none fits."""
        nodes = self._schedulable()
        if self._taints:
            nodes = [n for n in nodes if n not in self._taints
                     or all(tolerates(pod or {}, t)[0] for t in self._taints[n])]
        spec = (pod or {}).get("spec") or {}
        if spec.get("nodeSelector") or (spec.get("affinity") or {}).get("podAntiAffinity"):
            nodes = self._fitting(pod or {}, nodes)
        if not nodes:
            return None
        self._rr = (self._rr + 1) % len(nodes)
        return nodes[self._rr]

    def _fitting(self, pod: Obj, nodes: list[str]) -> list[str]:
        """The nodes a pod may go to: its nodeSelector and required pod anti-affinity honoured.

        Anti-affinity is checked against pods already bound (by the scheduler or by a seeded
        ``nodeName``, which bypasses it as in Kubernetes), so a replacement never joins a
        topology domain (``kubernetes.io/hostname`` = the node) already holding a matching pod.
        """
        spec = pod.get("spec") or {}
        found = self.st.objects.get(NODE, {})
        objs = {n: found.get(("", n)) or {} for n in nodes}

        def label(node: str, key: str) -> str | None:
            value = (objs.get(node, {}).get("metadata", {}).get("labels") or {}).get(key)
            return node if value is None and key == "kubernetes.io/hostname" else value

        want = spec.get("nodeSelector") or {}
        nodes = [n for n in nodes if all(label(n, k) == str(v) for k, v in want.items())]
        ns = pod["metadata"].get("namespace", "")
        name = pod["metadata"].get("name")
        terms = ((spec.get("affinity") or {}).get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution") or []
        for term in terms:
            key = term.get("topologyKey") or "kubernetes.io/hostname"
            match = selector_object_matcher(term.get("labelSelector"))
            spaces = term.get("namespaces") or [ns]
            taken = set()
            for space in spaces:
                for other in self.st.list("pods", space):
                    bound = (other.get("spec") or {}).get("nodeName")
                    if bound and other["metadata"].get("name") != name and not other["metadata"].get(
                            "deletionTimestamp") and match(other):
                        objs.setdefault(bound, found.get(("", bound)) or {})
                        taken.add(label(bound, key))
            nodes = [n for n in nodes if label(n, key) not in taken]
        return nodes

    def _retry_pending(self) -> None:
        """Bind pods left Pending (no node fitted) once a node fits, as the scheduler retries."""
        for key in sorted(self.pending):
            pod = self.st.find("pods", key[1], key[0])
            if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                self.pending.discard(key)
                continue
            node = self.pick(pod)
            if node:
                self.pending.discard(key)
                new = copy_json(pod)
                new["spec"]["nodeName"] = node
                new["status"] = self.sim.kubelet.status(new, node)
                self.bound(self.st.put(self.r(), new), scheduled=True)

    def _start(self, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            return
        new = copy_json(pod)
        seeded = (new.get("spec") or {}).get("nodeName")
        node = seeded or self.pick(new)
        if node:
            new.setdefault("spec", {})["nodeName"] = node
        else:
            self.unschedulable(new)
        new["status"] = self.sim.kubelet.status(new, node)
        self.bound(self.st.put(self.r(), new), scheduled=bool(node and not seeded))

    def create(self, pod: Obj) -> Obj:
        """Create a controller's new pod already bound (or Pending): what the scheduler and the
        kubelet would have done to it by the next look, in one write. Raises ApiError."""
        node = self.pick(pod)
        if node:
            pod.setdefault("spec", {})["nodeName"] = node
        pod["status"] = self.sim.kubelet.status(pod, node)
        made = self.kubelet_sees(self.st.create(self.r(), pod), pod, node)
        if node:
            self.bound(made, scheduled=True)
        else:
            self.unschedulable(made)
        return made

    def kubelet_sees(self, made: Obj, sent: Obj, node: str | None) -> Obj:
        """The pod as admission stored it: when a mutating webhook changed its spec (an injected
        sidecar), the kubelet's status follows the stored spec, not the controller's template."""
        if node is None or made.get("spec") == sent.get("spec"):
            return made
        return self.st.put(self.r(), dict(made, status=self.sim.kubelet.status(made, node)))

    def unschedulable(self, pod: Obj) -> None:
        """No node fits: Pending, a FailedScheduling Event, and a retry whenever nodes change."""
        key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        if key in self.pending:
            return
        self.pending.add(key)
        nodes = list(self.st.objects.get(NODE, {}).values())
        down = sum(1 for n in nodes if not is_ready(n) or (n.get("spec") or {}).get("unschedulable"))
        parts = []
        if down:
            parts.append(f"{down} node(s) were unschedulable or had untolerated taints")
        if len(nodes) - down:
            parts.append(f"{len(nodes) - down} node(s) didn't match the pod's node selector, taints or "
                         "anti-affinity rules")
        self.sim.events.pod(pod, "FailedScheduling", f"0/{len(nodes)} nodes are available: " + ", ".join(parts) +
                            ". preemption: not helpful for scheduling.", warning=True, component=self.name)

    def bound(self, pod: Obj, *, scheduled: bool) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return
        if scheduled:
            meta = pod["metadata"]
            self.sim.events.pod(pod, "Scheduled", f"Successfully assigned {meta.get('namespace')}/{meta['name']} "
                                f"to {node}", component=self.name)
        if self.sim.node_ready(str(node)):
            self.sim.kubelet.started(pod)

    def _killing(self, pod: Obj) -> None:
        """A pod being deleted on a live node: its kubelet stops the containers (``Killing``)."""
        uid = pod["metadata"]["uid"]
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if uid in self._killed or not node or not self.sim.node_ready(node):
            return
        self._killed.add(uid)
        for c in (pod.get("spec") or {}).get("containers") or []:
            self.sim.events.pod(pod, "Killing", f"Stopping container {c.get('name')}")
