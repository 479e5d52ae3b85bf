"""The simulation: controllers that make the sandbox behave like a live cluster.

Each behaviour is one controller module in ``controllers/`` that declares the kinds it
reconciles, owns and watches (see ``controllers/base.py``); this loop only dispatches. A tick
(every 50 ms in the server thread) hands each controller the keys that changed since the last
tick, so a 50,000-pod cluster costs nothing while idle, then the keys whose retry came due,
then each controller's timers, the node lifecycle's and the kubelets'. What is not a
controller lives here: the shared lookups the kubelet and node lifecycle use, and the
scenario's apiserver faults (an overloaded kube-apiserver keeps OOM-restarting until its
memory limit is raised; an ingress that fails while named objects exist).

A new behaviour is one controller module, listed once in ``controllers/__init__.py``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .controllers import Controller, build_controllers
from .controllers.base import (
    HASH_LABEL,
    NODE,
    POD,
    Key,
    RKey,
    controller_uid,
    is_ready,
    owner_ref,
    quantity,
    template_hash,
)
from .controllers.nodes import flow_schemas, routes_node
from .controllers.scheduler import Scheduler
from .events import EventRecorder
from .kubelet import Kubelet, KubeletSettings
from .nodelife import NodeLifecycle, wanted_taints
from .patch import copy_json
from .resources import Resource
from .selectors import selector_object_matcher
from .store import ClusterState, Obj, now_iso

log = logging.getLogger(__name__)

__all__ = ["HASH_LABEL", "Behaviours", "Ingress", "KubeletAdmission", "Overload", "Simulation", "controller_uid",
           "is_ready", "new_node", "owner_ref", "quantity", "running_status", "template_hash"]

@dataclass
class Overload:
    """kube-apiserver overload: errors and OOM restarts until the memory limit reaches the threshold."""

    namespace: str = "kube-system"
    deployment: str = "kube-apiserver"
    container: str = ""
    threshold: float = 8 * 2**30
    error_rate: float = 0.3
    restart_every: float = 2.0
    not_ready_nodes: int = 0  # nodes that lose their control plane (Ready=Unknown) while overloaded
    daemon_set: tuple[str, str] | None = None  # (namespace, name): overloaded while it runs > max_daemon_pods
    max_daemon_pods: int = 0
    active: bool = True
    _last_restart: float = 0.0
    _flip: bool = False
    _lost: list[str] = field(default_factory=list)
    load_per_gi: float = 0.0  # > 0: overloaded while the kubelets' load exceeds this many per GiB of memory limit
    full_shares: int = 10  # a kubelet routed to a level with fewer shares weighs shares/full_shares
    _load: tuple[float, float] = (0.0, -1.0)  # (load, when computed)

    def client_load(self, st: ClusterState) -> float:
        """The kubelets' request load as API Priority and Fairness lets it through: each node's kubelet
        (user system:node:<name>, group system:nodes) weighs 1, or shares/fullShares when the first
        matching FlowSchema routes it to a Limited level with fewer shares. Recomputed twice a second."""
        now = time.monotonic()
        if now - self._load[1] < 0.5:
            return self._load[0]
        levels = {p["metadata"]["name"]: p for p in st.list("prioritylevelconfigurations")}
        schemas = flow_schemas(st.list("flowschemas"))
        load = 0.0
        for node in st.list("nodes"):
            fs = next((f for f in schemas if routes_node(f, node["metadata"]["name"])), None)
            spec = (levels.get(str(((fs or {}).get("spec") or {}).get("priorityLevelConfiguration", {}).get("name")))
                    or {}).get("spec") or {}
            shares = int(((spec.get("limited") or {}).get("nominalConcurrencyShares")) or 0)
            limited = fs is not None and spec.get("type") == "Limited" and shares < self.full_shares
            load += shares / self.full_shares if limited else 1.0
        self._load = (load, now)
        return load

    def overloaded(self, st: ClusterState) -> bool:
        if self.load_per_gi > 0:
            return self.client_load(st) > self.load_per_gi * self.memory_limit(st) / 2**30
        if self.daemon_set is None:
            return self.memory_limit(st) < self.threshold
        ns, name = self.daemon_set
        ds = st.find("daemonsets", name, ns)
        if ds is None:
            return False
        uid = ds["metadata"]["uid"]
        pods = [p for p in st.list("pods", ns) if not p["metadata"].get("deletionTimestamp")
                and any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])]
        return len(pods) > self.max_daemon_pods

    def memory_limit(self, st: ClusterState) -> float:
        d = st.find("deployments", self.deployment, self.namespace)
        if d is None:
            return 0.0
        for c in (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
            if not self.container or c.get("name") == self.container:
                try:
                    return quantity(((c.get("resources") or {}).get("limits") or {}).get("memory", 0))
                except ValueError:
                    return 0.0
        return 0.0


@dataclass
class Ingress:
    """An ingress whose health probe fails while any of the listed objects exist."""

    fail_while: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # resource, name, ns, label
    fail_refs: list[tuple[str, Any]] = field(default_factory=list)  # label, present(state) (selectors)

    def check(self, st: ClusterState) -> tuple[bool, str]:
        present = [label for res, name, ns, label in self.fail_while if st.find(res, name, ns) is not None]
        present += [label for label, found in self.fail_refs if found(st)]
        if present:
            return False, "ingress unhealthy: " + ", ".join(present) + " present"
        return True, "ok"


@dataclass
class KubeletAdmission:
    """NotReady nodes whose kubelets cannot get through until API Priority and Fairness routes
    their identity (user ``system:node:<name>``, group ``system:nodes``) to a priority level
    with at least ``min_shares`` nominal concurrency shares (or an Exempt one)."""

    min_shares: int = 10


@dataclass
class Behaviours:
    controllers: bool = True
    machine_join_seconds: float = 0.5
    overload: Overload | None = None
    ingress: Ingress | None = None
    admission: KubeletAdmission | None = None
    image_errors: dict[str, str] = field(default_factory=dict)  # image -> the waiting reason its pods get
    endpoints: bool = False  # the endpoints controller
    kubelet: KubeletSettings = field(default_factory=KubeletSettings)
    lease_renew_seconds: float = 10.0
    hpa_sync_seconds: float = 15.0


def running_status(pod: Obj, node: str | None, waiting: str = "") -> Obj:
    """The status of a pod the simulated kubelet started, Pending when unschedulable, or stuck
    waiting (``ImagePullBackOff``) when it cannot pull its images."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if node is None:
        return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                     "reason": "Unschedulable"}]}
    t = now_iso()
    if waiting:
        crash = waiting == "CrashLoopBackOff"  # started, exited, restarted: phase Running, as the kubelet says
        last = {"lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": t}}} if crash else {}
        message = ("back-off 40s restarting failed container" if crash else
                   "pull secret missing" if "Pull" in waiting else "container cannot be created")
        return {"phase": "Running" if crash else "Pending", "hostIP": "10.0.0.1", "startTime": t,
                "conditions": [{"type": c, "status": "False" if c in ("Ready", "ContainersReady") else "True",
                                "lastTransitionTime": t}
                               for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                "containerStatuses": [{"name": c.get("name"), "ready": False, "restartCount": 3 if crash else 0,
                                       "started": False, "image": c.get("image", ""), "imageID": "",
                                       "state": {"waiting": {"reason": waiting, "message": message}}, **last}
                                      for c in containers]}
    return {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.244.0.1", "startTime": t,
            "conditions": [{"type": c, "status": "True", "lastTransitionTime": t}
                           for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c.get("name"), "ready": True, "restartCount": 0, "started": True,
                                   "image": c.get("image", ""), "imageID": "", "containerID": "",
                                   "state": {"running": {"startedAt": t}}} for c in containers]}


class Simulation:
    """The controllers of one cluster, run by ``tick()``, and what they share."""

    def __init__(self, st: ClusterState, behaviours: Behaviours) -> None:
        self.st, self.b = st, behaviours
        self.events = EventRecorder(st)
        self.kubelet = Kubelet(self, behaviours.kubelet)
        self.nodes = NodeLifecycle(behaviours.lease_renew_seconds)
        self.scheduler = Scheduler(self)
        self.controllers: list[Controller] = []
        self._watchers: dict[RKey, list[Controller]] = {}
        self._order: dict[int, int] = {}
        for c in build_controllers(self):
            self.register(c)
        self._retries: list[tuple[float, int, int, Key]] = []  # (at, seq, controller index, key)
        self._seq = itertools.count()
        self._pending_at: dict[tuple[int, Key], float] = {}  # the earliest retry due per (controller, key)
        self._by_node: dict[str, list[Obj]] | None = None
        for name, node in ((k[1], o) for k, o in st.objects.get(NODE, {}).items()):
            self.nodes.ready[name] = "True" if is_ready(node) else "seeded"
            self.nodes.cordoned[name] = bool((node.get("spec") or {}).get("unschedulable"))
        with st.lock:
            self.nodes.settle_seeded(self)

    # ------------------------------------------------------------------ shared lookups

    def pods_on(self, node: str) -> list[Obj]:
        """Pods bound to ``node`` (one index per tick)."""
        if self._by_node is None:
            idx: dict[str, list[Obj]] = {}
            for p in self.st.objects.get(POD, {}).values():
                n = (p.get("spec") or {}).get("nodeName")
                if n:
                    idx.setdefault(n, []).append(p)
            self._by_node = idx
        return [p for p in (self.st.find("pods", x["metadata"]["name"], x["metadata"].get("namespace"))
                            for x in self._by_node.get(node, [])) if p is not None]

    def pod_logs(self, pod: Obj, container: str, previous: bool) -> list[str]:
        """The server's log source (pods/log): the simulated kubelet's output for the container."""
        return self.kubelet.log(pod, container or None, previous).splitlines()

    def node_ready(self, name: str) -> bool:
        node = self.st.objects.get(NODE, {}).get(("", name))
        return node is not None and is_ready(node)

    def node_ip(self, name: str) -> str:
        node = self.st.objects.get(NODE, {}).get(("", name))
        for a in ((node or {}).get("status") or {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                return str(a.get("address"))
        return _ip(name)

    def pull_error(self, pod: Obj) -> str:
        """``ImagePullBackOff`` when an imagePullSecret the pod names does not exist."""
        ns = pod["metadata"].get("namespace", "")
        for ref in (pod.get("spec") or {}).get("imagePullSecrets") or []:
            name = ref.get("name") if isinstance(ref, dict) else None
            if name and self.st.find("secrets", str(name), ns) is None:
                return "ImagePullBackOff"
        return ""

    def r(self, key: tuple[str, str]) -> Resource:
        return self.st.registry.by_key[key]

    def set_ready(self, names: list[str], status: str, reason: str, message: str) -> None:
        """Set the Ready condition of these nodes (what their kubelets would post)."""
        for name in names:
            node = self.st.find("nodes", name)
            if node is None:
                continue
            new = copy_json(node)
            conds = [c for c in (new.get("status") or {}).get("conditions") or [] if c.get("type") != "Ready"]
            conds.append({"type": "Ready", "status": status, "reason": reason, "message": message,
                          "lastHeartbeatTime": now_iso(), "lastTransitionTime": now_iso()})
            new.setdefault("status", {})["conditions"] = conds
            self.st.put(self.r(NODE), new)

    def register(self, c: Controller) -> None:
        """Run ``c`` after the controllers already registered (when the scenario enables it)."""
        if not c.enabled():
            return
        self._order[id(c)] = len(self.controllers)
        self.controllers.append(c)
        for rkey in dict.fromkeys(((c.primary,) if c.primary else ()) + c.owns + c.watches):
            self._watchers.setdefault(rkey, []).append(c)

    def requeue(self, controller: Controller, key: Key, at: float) -> None:
        """Reconcile ``key`` with ``controller`` again at monotonic time ``at``."""
        i = self._order[id(controller)]
        pending = self._pending_at.get((i, key))
        if pending is not None and pending <= at:
            return  # an earlier look is already due: it asks again if it still needs to
        self._pending_at[(i, key)] = at
        heapq.heappush(self._retries, (at, next(self._seq), i, key))

    # ------------------------------------------------------------------ the loop

    def tick(self) -> None:
        st = self.st
        with st.lock:
            now = time.monotonic()
            self._by_node = None
            for rkey, key in st.due_removals(now):
                r = st.registry.by_key.get(rkey)
                if r is None:
                    continue
                if rkey == POD:
                    pod = st.bucket(r).get(key)
                    node = str(((pod or {}).get("spec") or {}).get("nodeName") or "")
                    if pod is not None and node and ("", node) in st.objects.get(NODE, {}) \
                            and not self.node_ready(node):
                        continue  # no kubelet confirms the deletion: Terminating until forced
                st.remove_now(r, key)
            self.scheduler.new_tick()
            if self.b.controllers:
                queues = self._dispatch(st.take_dirty())
                while self._retries and self._retries[0][0] <= now:
                    at, _, index, key = heapq.heappop(self._retries)
                    if self._pending_at.get((index, key)) == at:
                        del self._pending_at[(index, key)]
                    queues[index].add(key)
                for c, keys in zip(self.controllers, queues, strict=True):
                    for key in list(keys):
                        try:
                            c.reconcile(key)
                        except Exception:  # one broken object must not stop every controller
                            log.exception("sandbox controller %s failed on %s", c.name, "/".join(key))
                            self.requeue(c, key, now + 1.0)  # retried, as a workqueue backs off
                for c in self.controllers:
                    c.tick(now)
                self.nodes.due(self, time.time(), now)
                self.kubelet.due(now)
            else:
                st.take_dirty()
            self._overload(now)

    def _dispatch(self, dirty: Iterable[tuple[RKey, Key]]) -> list[set[Key]]:
        """Which keys each controller reconciles for these changes, by what it declared: its own
        objects, the owners of its children (every owner in the namespace when a child is gone),
        and what ``keys_for`` maps a watched change to (per namespace, once, by default)."""
        queues: list[set[Key]] = [set() for _ in self.controllers]
        spaces: dict[int, set[str]] = {}  # controller index -> namespaces whose primaries all go
        objects = self.st.objects
        for rkey, key in dirty:
            watchers = self._watchers.get(rkey)
            if not watchers:
                continue
            obj = objects.get(rkey, {}).get(key)
            for c in watchers:
                i = self._order[id(c)]
                if rkey == c.primary:
                    queues[i].add(key)
                if rkey in c.owns:
                    if obj is None:
                        spaces.setdefault(i, set()).add(key[0])
                    else:
                        queues[i].update(self._owners(c, key[0], obj))
                if rkey in c.watches:
                    if type(c).keys_for is Controller.keys_for:
                        spaces.setdefault(i, set()).add(key[0])
                    else:
                        queues[i].update(c.keys_for(rkey, key, obj))
        for i, namespaces in spaces.items():
            c = self.controllers[i]
            queues[i].update(k for k in c.primary_keys() if k[0] in namespaces)
        return queues

    def _owners(self, c: Controller, namespace: str, child: Obj) -> Iterable[Key]:
        """The keys of ``child``'s owners that are ``c``'s primary objects."""
        if c.primary is None:
            return ()
        r = self.st.registry.by_key.get(c.primary)
        if r is None:
            return ()
        refs = child["metadata"].get("ownerReferences") or []
        return [(namespace, str(ref.get("name"))) for ref in refs if isinstance(ref, dict)
                and ref.get("kind") == r.kind and str(ref.get("apiVersion", "")).rpartition("/")[0] == r.group]

    # ------------------------------------------------------------------ the apiserver's faults

    def _overload(self, now: float) -> None:
        o = self.b.overload
        if o is None:
            return
        o.active = o.overloaded(self.st)
        self._node_auth(o)
        if not o.active or now - o._last_restart < o.restart_every:
            return
        o._last_restart = now
        d = self.st.find("deployments", o.deployment, o.namespace)
        if d is None:
            return
        match = selector_object_matcher((d.get("spec") or {}).get("selector"))
        for p in self.st.list("pods", o.namespace, match):
            new = copy_json(p)
            for c in (new.get("status") or {}).get("containerStatuses") or []:
                c["restartCount"] = int(c.get("restartCount", 0)) + 1
                c["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": now_iso()}}
            self.st.put(self.r(POD), new)

    def _node_auth(self, o: Overload) -> None:
        """Nodes that cannot reach an overloaded apiserver go Ready=Unknown, and come back after."""
        if o.active and not o._lost and o.not_ready_nodes:
            ready = sorted(n["metadata"]["name"] for n in self.st.list("nodes") if is_ready(n))
            step = max(len(ready) // o.not_ready_nodes, 1)
            o._lost = ready[::step][: o.not_ready_nodes]
            self.set_ready(o._lost, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        elif not o.active and o._lost:
            self.set_ready(o._lost, "True", "KubeletReady", "kubelet is posting ready status")
            o._lost = []

    def overload_status(self, roll: Any) -> int | None:
        """429 or 503 for a share of requests while the apiserver is overloaded (None = serve)."""
        o = self.b.overload
        if o is None or not o.active or not roll(o.error_rate):
            return None
        o._flip = not o._flip
        return 429 if o._flip else 503


def new_node(name: str, *, ready: bool = True, labels: dict[str, str] | None = None, version: str = "v1.29.0",
             cpu: str = "8", memory: str = "32Gi", reason: str = "", since: str | None = None) -> Obj:
    """A node as its kubelet registers it; a NotReady one with the node controller's taints, its
    conditions changed ``since`` (default now)."""
    t = now_iso()
    changed = since or t
    unknown = not ready and reason == "NodeStatusUnknown"
    conds = [{"type": t_, "status": "Unknown" if unknown else "False",
              "reason": "NodeStatusUnknown" if unknown else f"KubeletHas{r_}", "lastHeartbeatTime": changed,
              "lastTransitionTime": changed if unknown else t}
             for t_, r_ in (("MemoryPressure", "SufficientMemory"), ("DiskPressure", "NoDiskPressure"),
                            ("PIDPressure", "SufficientPID"))]
    conds.append({"type": "Ready", "status": "True" if ready else "Unknown" if unknown else "False",
                  "reason": "KubeletReady" if ready else (reason or "KubeletNotReady"),
                  "lastHeartbeatTime": t if ready else changed, "lastTransitionTime": t if ready else changed,
                  "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status."
                  if unknown else "container runtime is down"})
    node: Obj = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
                                                      **(labels or {}))},
            "spec": {},
            "status": {"conditions": conds, "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version,
                                    "operatingSystem": "linux", "architecture": "amd64",
                                    "containerRuntimeVersion": "containerd://1.7.0", "bootID": name,
                                    "kernelVersion": "6.1.0", "machineID": name, "osImage": "Debian GNU/Linux 12",
                                    "systemUUID": name},
                       "addresses": [{"type": "InternalIP", "address": _ip(name)}, {"type": "Hostname", "address": name}]}}
    if not ready:
        node["spec"]["taints"] = wanted_taints(node)
    return node


def _ip(name: str) -> str:
    """A stable 10.x address per node name (INTERNAL-IP column, drain messages)."""
    h = int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)
    return f"10.{(h >> 16) & 255}.{(h >> 8) & 255}.{h & 255}"
