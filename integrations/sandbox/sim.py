"""The simulation: small controllers that make the sandbox behave like a live cluster.

A tick (every 50 ms in the server thread) reconciles only what changed since the last
tick, so a 50,000-pod cluster costs nothing while idle: Deployments own ReplicaSets with
revision annotations and DaemonSets/StatefulSets keep ControllerRevision history (so
``kubectl rollout undo`` works for all three), ReplicaSets own Pods that get
scheduled onto Ready nodes, gracefully deleted pods disappear after a short simulated
grace, MachineSets replace deleted Machines whose new Node joins Ready, CRDs are held by
their cleanup finalizer until their instances are gone, and an overloaded kube-apiserver
keeps OOM-restarting until its memory limit is raised.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .budgets import disruptions_allowed, pod_ready
from .events import EventRecorder
from .kubelet import Kubelet, KubeletSettings
from .nodelife import NodeLifecycle, epoch, tolerates, wanted_taints
from .patch import copy_json
from .resources import Resource, resource_from_crd
from .selectors import selector_object_matcher
from .store import CRD_FINALIZER, CRD_KEY, ApiError, ClusterState, Obj, now_iso

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
MACHINE_FINALIZER = "machine.cluster.x-k8s.io"
DEPLOY, RS, POD, NODE = ("apps", "deployments"), ("apps", "replicasets"), ("", "pods"), ("", "nodes")
PDB, SECRET, CONFIGMAP = ("policy", "poddisruptionbudgets"), ("", "secrets"), ("", "configmaps")
FLOWSCHEMA = ("flowcontrol.apiserver.k8s.io", "flowschemas")
PLC = ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")
MS, MACHINE = ("cluster.x-k8s.io", "machinesets"), ("cluster.x-k8s.io", "machines")
MD = ("cluster.x-k8s.io", "machinedeployments")
DS = ("apps", "daemonsets")
SVC, EP = ("", "services"), ("", "endpoints")
STS, CREV = ("apps", "statefulsets"), ("apps", "controllerrevisions")
CREV_HASH_LABEL = "controller-revision-hash"
MD_HASH_LABEL = "machine-template-hash"
GONE_OWNER = {POD: RS, RS: DEPLOY, MACHINE: MS, MS: MD}  # child kind -> owner kind to recount

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "k": 10**3, "m": 10**-3}


def quantity(text: Any) -> float:
    """A Kubernetes quantity ("8Gi", "500m", 3) as a number; raises ValueError when malformed."""
    s = str(text).strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * _UNITS[suffix]
    return float(s)


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
        schemas = sorted(st.list("flowschemas"), key=lambda f: (
            int((f.get("spec") or {}).get("matchingPrecedence", 1000)), f["metadata"]["name"]))
        load = 0.0
        for node in st.list("nodes"):
            fs = next((f for f in schemas if _routes_node(f, node["metadata"]["name"])), None)
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


def _pruned(v: Any) -> Any:
    """Drop empty values, as Go clients send ``creationTimestamp: null`` and ``resources: {}``."""
    if isinstance(v, dict):
        out = {k: _pruned(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [_pruned(x) for x in v]
    return v


def template_hash(template: Any) -> str:
    """The pod-template-hash: equal for templates that differ only by defaults or the hash label."""
    t = _pruned(template) or {}
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    digest = hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest()
    return "".join("bcdfghjklmnpqrstvwxz2456789"[int(digest[i:i + 2], 16) % 27] for i in range(0, 20, 2))


def _intstr(v: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent field (maxSurge rounds up, maxUnavailable down, as the controller does)."""
    if isinstance(v, str) and v.endswith("%"):
        try:
            pct = int(v[:-1]) * total
        except ValueError:
            return 0
        return -(-pct // 100) if round_up else pct // 100
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def _replicas(o: Obj) -> int:
    return int((o.get("spec") or {}).get("replicas", 1))


def _avail(o: Obj) -> int:
    return int((o.get("status") or {}).get("availableReplicas", 0))


def _revision(o: Obj) -> int:
    try:
        return int((o["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
    except ValueError:
        return 0


_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _deletion_order(pods: list[Obj]) -> list[Obj]:
    """Which pods a ReplicaSet removes first: unscheduled, then pending, not ready, newest."""
    return sorted(pods, key=lambda p: (bool((p.get("spec") or {}).get("nodeName")),
                                       _PHASE_ORDER.get(str((p.get("status") or {}).get("phase")), 1),
                                       pod_ready(p), _neg(p["metadata"].get("creationTimestamp", ""))))


def _neg(ts: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in ts)


def _suffix() -> str:
    return uuid.uuid4().hex[:5]


def owner_ref(obj: Obj) -> Obj:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def is_ready(node: Obj) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


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
    """Controllers for one cluster, run by ``tick()``."""

    def __init__(self, st: ClusterState, behaviours: Behaviours) -> None:
        self.st, self.b = st, behaviours
        self._sched: list[str] | None = None
        self._taints: dict[str, list[Obj]] = {}
        self._rr = 0
        self._joins: dict[tuple[str, str], float] = {}  # machine (ns, name) -> join time
        self._pending: set[tuple[str, str]] = set()  # pods no node fitted yet (namespace, name)
        self._histories: dict[tuple[str, str, str], tuple[str, int]] = {}  # workload -> (uid, generation) seen
        self.events = EventRecorder(st)
        self.kubelet = Kubelet(self, behaviours.kubelet)
        self.nodes = NodeLifecycle(behaviours.lease_renew_seconds)
        self._by_node: dict[str, list[Obj]] | None = None
        self._killed: set[str] = set()  # uids of pods whose Killing was recorded
        self._retries: list[tuple[float, tuple[str, str], tuple[str, str]]] = []  # (at, rkey, key): re-reconcile
        self._progress: dict[tuple[str, str], tuple[Any, float]] = {}  # deployment -> (progress seen, since)
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
            self._sched = None
            if self.b.controllers:
                dirty = st.take_dirty()
                while self._retries and self._retries[0][0] <= now:
                    _, rkey, key = heapq.heappop(self._retries)
                    dirty.add((rkey, key))
                self._reconcile(dirty)
                self._joins_due(now)
                if self._pending:
                    self._retry_pending()
                self.nodes.due(self, time.time(), now)
                self.kubelet.due(now)
            else:
                st.take_dirty()
            self._overload(now)

    # ------------------------------------------------------------------ dispatch of changes

    def _reconcile(self, dirty: set[tuple[tuple[str, str], tuple[str, str]]]) -> None:
        st = self.st
        deploys: set[tuple[str, str]] = set()
        rss: set[tuple[str, str]] = set()
        mss: set[tuple[str, str]] = set()
        mds: set[tuple[str, str]] = set()
        dss: set[tuple[str, str]] = set()
        histories: set[tuple[tuple[str, str], tuple[str, str]]] = set()  # DaemonSets/StatefulSets written
        all_ds = False
        pdb_namespaces: set[str] = set()
        admit = False
        config_namespaces: set[str] = set()
        uids: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}
        for rkey, key in dirty:
            obj = st.objects.get(rkey, {}).get(key)
            if rkey == DEPLOY:
                deploys.add(key)
            elif rkey == RS:
                rss.add(key)
            elif rkey == MS:
                mss.add(key)
            elif rkey == MD:
                mds.add(key)
            elif rkey == DS:
                dss.add(key)
                histories.add((rkey, key))
            elif rkey == STS:
                histories.add((rkey, key))
            elif rkey == CRD_KEY and obj is not None and obj["metadata"].get("deletionTimestamp"):
                self._crd_cleanup(obj)
            elif rkey == MACHINE and obj is not None:
                self._machine(obj)
            elif rkey == POD and obj is not None and not (obj.get("status") or {}).get("phase"):
                self._start_pod(obj)
            elif rkey == POD and obj is not None and obj["metadata"].get("deletionTimestamp"):
                self._killing(obj)
            elif rkey in (SECRET, CONFIGMAP):
                config_namespaces.add(key[0])
            elif rkey == NODE:
                self.nodes.node_changed(self, key[1], obj)
            elif rkey in (FLOWSCHEMA, PLC) and self.b.admission is not None:
                admit = True
            if rkey in (POD, PDB):
                pdb_namespaces.add(key[0])
            if rkey == NODE:
                all_ds = True
            if rkey == POD and obj is None:
                dss.update(k for k in list(st.bucket(self.r(DS))) if k[0] == key[0])
            if rkey in (RS, POD, MACHINE, MS):
                if not uids:
                    uids = self._owner_index()
                ref = (obj["metadata"] if obj else {}).get("ownerReferences") or []
                for o in ref:
                    hit = uids.get(o.get("uid", "")) if isinstance(o, dict) else None
                    if hit:
                        {DEPLOY: deploys, RS: rss, MS: mss, MD: mds, DS: dss}[hit[0]].add(hit[1])
            if rkey in GONE_OWNER and obj is None:
                # gone: its owner (if any) must re-check its count
                owner_key, todo = GONE_OWNER[rkey], {POD: rss, RS: deploys, MACHINE: mss, MS: mds}[rkey]
                todo.update(k for k in list(st.bucket(self.r(owner_key))) if k[0] == key[0])
        for ns in config_namespaces:
            self._retry_pulls(ns)
        if admit:
            self._admit_kubelets()
        for rkey, key in histories:
            self._history(rkey, key)
        for key in list(st.bucket(self.r(DS))) if all_ds else dss:
            self._daemonset(key)
        for key in mds:
            self._machinedeployment(key)
        for key in deploys:
            self._deployment(key)
        for key in list(rss):
            self._replicaset(key)
        for key in mss:
            self._machineset(key)
        pdbs = st.objects.get(PDB, {})
        for ns in pdb_namespaces:
            if any(k[0] == ns for k in pdbs):
                self._pdb_status(ns)
        if self.b.endpoints:
            spaces = {key[0] for rkey, key in dirty if rkey in (POD, SVC)}
            for ns in spaces:
                self._endpoints(ns)

    def _endpoints(self, ns: str) -> None:
        """The endpoints controller: each selector Service's Endpoints lists its selected pods,
        Ready ones as ``addresses`` and the rest as ``notReadyAddresses``."""
        st = self.st
        pods = [p for p in st.list("pods", ns) if not p["metadata"].get("deletionTimestamp")
                and (p.get("spec") or {}).get("nodeName")]
        for svc in st.list("services", ns):
            selector = (svc.get("spec") or {}).get("selector")
            if not selector:
                continue
            match = selector_object_matcher({"matchLabels": selector})
            ready: list[Obj] = []
            waiting: list[Obj] = []
            for p in sorted((p for p in pods if match(p)), key=lambda p: p["metadata"]["name"]):
                addr = {"ip": (p.get("status") or {}).get("podIP") or "10.244.0.1",
                        "nodeName": p["spec"]["nodeName"],
                        "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                      "uid": p["metadata"]["uid"]}}
                (ready if pod_ready(p) else waiting).append(addr)
            ports = [{k: v for k, v in (("name", sp.get("name")), ("port", sp.get("targetPort", sp.get("port"))),
                                        ("protocol", sp.get("protocol", "TCP"))) if v is not None}
                     for sp in (svc.get("spec") or {}).get("ports") or [] if isinstance(sp, dict)]
            subset: Obj = {"ports": ports}
            if ready:
                subset["addresses"] = ready
            if waiting:
                subset["notReadyAddresses"] = waiting
            subsets = [subset] if ready or waiting else []
            name = svc["metadata"]["name"]
            current = st.find("endpoints", name, ns)
            if current is None:
                try:
                    st.create(self.r(EP), {"metadata": {"name": name, "namespace": ns,
                                                        "labels": dict(svc["metadata"].get("labels") or {})},
                                           "subsets": subsets})
                except ApiError:
                    continue
            elif (current.get("subsets") or []) != subsets:
                new = copy_json(current)
                new["subsets"] = subsets
                st.put(self.r(EP), new)

    def _pdb_status(self, ns: str) -> None:
        """Keep PodDisruptionBudget status (what kubectl shows as ALLOWED DISRUPTIONS) current."""
        st = self.st
        pods = st.list("pods", ns)
        for pdb in st.list("poddisruptionbudgets", ns):
            match = selector_object_matcher((pdb.get("spec") or {}).get("selector"))
            members = [p for p in pods if match(p)]
            healthy = sum(1 for p in members if not p["metadata"].get("deletionTimestamp") and pod_ready(p))
            status = {"currentHealthy": healthy, "desiredHealthy": len(members) - disruptions_allowed(
                pdb, len(members), len(members)), "expectedPods": len(members),
                "disruptionsAllowed": max(disruptions_allowed(pdb, len(members), healthy), 0),
                "observedGeneration": pdb["metadata"].get("generation", 1)}
            if (pdb.get("status") or {}) != status:
                new = copy_json(pdb)
                new["status"] = status
                st.put(self.r(PDB), new)

    def _owner_index(self) -> dict[str, tuple[tuple[str, str], tuple[str, str]]]:
        out = {}
        for rkey in (DEPLOY, RS, MS, MD, DS):
            for key, o in self.st.objects.get(rkey, {}).items():
                out[o["metadata"]["uid"]] = (rkey, key)
        return out

    # ------------------------------------------------------------------ scheduling

    def _schedulable(self) -> list[str]:
        if self._sched is None:
            ok = [o for o in self.st.objects.get(NODE, {}).values()
                  if is_ready(o) and not (o.get("spec") or {}).get("unschedulable")]
            self._sched = sorted(o["metadata"]["name"] for o in ok)
            self._taints = {o["metadata"]["name"]: bad for o in ok if (bad := [
                t for t in (o.get("spec") or {}).get("taints") or []
                if isinstance(t, dict) and t.get("effect") in ("NoSchedule", "NoExecute")])}
        return self._sched

    def _pick_node(self, pod: Obj | None = None) -> str | None:
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
        for key in sorted(self._pending):
            pod = self.st.find("pods", key[1], key[0])
            if pod is None or (pod.get("spec") or {}).get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                self._pending.discard(key)
                continue
            node = self._pick_node(pod)
            if node:
                self._pending.discard(key)
                new = copy_json(pod)
                new["spec"]["nodeName"] = node
                new["status"] = self.kubelet.status(new, node)
                self._bound(self.st.put(self.r(POD), new), scheduled=True)

    def _admit_kubelets(self) -> None:
        """Re-admit NotReady nodes whose identity APF now routes to a roomy priority level."""
        adm = self.b.admission
        assert adm is not None
        levels = {p["metadata"]["name"]: p for p in self.st.list("prioritylevelconfigurations")}
        schemas = sorted(self.st.list("flowschemas"), key=lambda f: (
            int((f.get("spec") or {}).get("matchingPrecedence", 1000)), f["metadata"]["name"]))
        admitted = []
        for node in self.st.list("nodes"):
            if is_ready(node):
                continue
            name = node["metadata"]["name"]
            fs = next((f for f in schemas if _routes_node(f, name)), None)
            if fs is None:
                continue
            plc = levels.get(str(((fs.get("spec") or {}).get("priorityLevelConfiguration") or {}).get("name")))
            spec = (plc or {}).get("spec") or {}
            shares = int(((spec.get("limited") or {}).get("nominalConcurrencyShares")) or 0)
            if plc is not None and (spec.get("type") == "Exempt" or shares >= adm.min_shares):
                admitted.append(name)
        self._set_ready(admitted, "True", "KubeletReady", "kubelet is posting ready status")

    def _retry_pulls(self, ns: str) -> None:
        """A Secret or ConfigMap was written: the kubelet retries the namespace's pods stuck on
        configuration or image pulls (running containers are not restarted)."""
        for p in self.st.list("pods", ns):
            if self.node_ready(str((p.get("spec") or {}).get("nodeName") or "")):
                self.kubelet.refresh(p)

    def _killing(self, pod: Obj) -> None:
        """A pod being deleted on a live node: its kubelet stops the containers (``Killing``)."""
        uid = pod["metadata"]["uid"]
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if uid in self._killed or not node or not self.node_ready(node):
            return
        self._killed.add(uid)
        for c in (pod.get("spec") or {}).get("containers") or []:
            self.events.pod(pod, "Killing", f"Stopping container {c.get('name')}")

    def _start_pod(self, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            return
        new = copy_json(pod)
        seeded = (new.get("spec") or {}).get("nodeName")
        node = seeded or self._pick_node(new)
        if node:
            new.setdefault("spec", {})["nodeName"] = node
        else:
            self._unschedulable(new)
        new["status"] = self.kubelet.status(new, node)
        self._bound(self.st.put(self.r(POD), new), scheduled=bool(node and not seeded))

    def _unschedulable(self, pod: Obj) -> None:
        """No node fits: Pending, a FailedScheduling Event, and a retry whenever nodes change."""
        key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        if key in self._pending:
            return
        self._pending.add(key)
        nodes = list(self.st.objects.get(NODE, {}).values())
        down = sum(1 for n in nodes if not is_ready(n) or (n.get("spec") or {}).get("unschedulable"))
        parts = []
        if down:
            parts.append(f"{down} node(s) were unschedulable or had untolerated taints")
        if len(nodes) - down:
            parts.append(f"{len(nodes) - down} node(s) didn't match the pod's node selector, taints or "
                         "anti-affinity rules")
        self.events.pod(pod, "FailedScheduling", f"0/{len(nodes)} nodes are available: " + ", ".join(parts) +
                        ". preemption: not helpful for scheduling.", warning=True, component="default-scheduler")

    def _bound(self, pod: Obj, *, scheduled: bool) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            return
        if scheduled:
            meta = pod["metadata"]
            self.events.pod(pod, "Scheduled", f"Successfully assigned {meta.get('namespace')}/{meta['name']} to "
                            f"{node}", component="default-scheduler")
        if self.node_ready(str(node)):
            self.kubelet.started(pod)

    # ------------------------------------------------------------------ workloads

    def _owned(self, owner: Obj, rkey: tuple[str, str]) -> list[Obj]:
        return [o for r, _, o in self.st.dependents(owner["metadata"]["uid"]) if r.key == rkey
                and controller_uid(o) == owner["metadata"]["uid"]]

    def _rollout(self, owner: Obj, child_key: tuple[str, str], hash_label: str,
                 extra_spec: Obj) -> tuple[Obj, int] | None:
        """Shared Deployment/MachineDeployment logic: one child per template hash, the current
        one scaled to the owner's replicas and stamped with the next revision, the rest at 0."""
        st = self.st
        spec = owner.get("spec") or {}
        template = spec.get("template") or {}
        h = template_hash(template)
        owned = self._owned(owner, child_key)
        revs = [int((o["metadata"].get("annotations") or {}).get(REVISION, "0") or 0) for o in owned]
        top = max(revs, default=0)
        current = next((o for o in owned if (o["metadata"].get("labels") or {}).get(hash_label) == h), None)
        replicas = int(spec.get("replicas", 1))
        child_r = self.r(child_key)
        meta = owner["metadata"]
        if current is None:
            tmpl = copy_json(template)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})[hash_label] = h
            sel = copy_json(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})[hash_label] = h
            body = {"metadata": {"name": f"{meta['name']}-{h}", "namespace": meta.get("namespace", ""),
                                 "labels": tmpl["metadata"]["labels"], "annotations": {REVISION: str(top + 1)},
                                 "ownerReferences": [owner_ref(owner)]},
                    "spec": dict(extra_spec, replicas=replicas, selector=sel, template=tmpl)}
            try:
                current = st.create(child_r, body)
            except ApiError:
                return None
            top += 1
        else:
            rev = int((current["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
            want = copy_json(current)
            if rev != top:
                want["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
                top += 1
            want["spec"]["replicas"] = replicas
            if want != current:
                current = st.put(child_r, want)
        for o in owned:
            if o["metadata"]["uid"] != current["metadata"]["uid"] and (o.get("spec") or {}).get("replicas", 0):
                old = copy_json(o)
                old["spec"]["replicas"] = 0
                st.put(child_r, old)
        return current, top

    def _set_status(self, key: tuple[str, str], obj: Obj, status: Obj, revision: str) -> None:
        if (obj.get("status") or {}) != status or (obj["metadata"].get("annotations") or {}).get(REVISION) != revision:
            new = copy_json(obj)
            new["status"] = status
            new["metadata"].setdefault("annotations", {})[REVISION] = revision
            self.st.put(self.r(key), new)

    def _deployment(self, key: tuple[str, str]) -> None:
        """The deployment controller: one ReplicaSet per template (revision annotations for rollout
        undo), rolled per ``strategy`` (RollingUpdate honouring maxSurge/maxUnavailable against
        *available* pods, or Recreate), frozen by ``spec.paused``, with availability after
        ``minReadySeconds`` and ``Progressing=False/ProgressDeadlineExceeded`` once a rollout has
        made no progress for ``progressDeadlineSeconds``."""
        st = self.st
        d = st.objects.get(DEPLOY, {}).get(key)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        h = template_hash(template)
        paused = bool(spec.get("paused"))
        owned = sorted(self._owned(d, RS), key=lambda o: o["metadata"].get("creationTimestamp", ""))
        top = max((_revision(o) for o in owned), default=0)
        new_rs = next((o for o in owned if (o["metadata"].get("labels") or {}).get(HASH_LABEL) == h), None)
        if new_rs is None:  # a ReplicaSet another hash function named (a snapshot of a real cluster): same template
            new_rs = next((o for o in owned if template_hash((o.get("spec") or {}).get("template") or {}) == h), None)
        rs_r = self.r(RS)
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("type", "RollingUpdate") != "Recreate"
        ru = strategy.get("rollingUpdate") or {}
        surge = _intstr(ru.get("maxSurge", "25%"), replicas, round_up=True) if rolling else 0
        unavail = _intstr(ru.get("maxUnavailable", "25%"), replicas, round_up=False) if rolling else replicas
        if rolling and surge == 0 and unavail == 0:
            unavail = 1
        min_ready = int(spec.get("minReadySeconds") or 0)
        if new_rs is None and not paused:
            tmpl = copy_json(template)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
            sel = copy_json(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})[HASH_LABEL] = h
            start = 0 if any(_replicas(o) for o in owned) else replicas
            body = {"metadata": {"name": f"{key[1]}-{h}", "namespace": key[0], "labels": tmpl["metadata"]["labels"],
                                 "annotations": {REVISION: str(top + 1)}, "ownerReferences": [owner_ref(d)]},
                    "spec": {"replicas": start, "minReadySeconds": min_ready, "selector": sel, "template": tmpl}}
            try:
                new_rs = st.create(rs_r, body)
            except ApiError:
                return
            top += 1
            if start:
                self._scaled(d, new_rs, 0, start)
            owned.append(new_rs)
        elif new_rs is not None and _revision(new_rs) != top and not paused:
            bumped = copy_json(new_rs)  # an old template is current again (rollout undo): it gets the next revision
            bumped["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
            top += 1
            new_rs = st.put(rs_r, bumped)
        old = [o for o in owned if new_rs is None or o["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        for o in owned:  # minReadySeconds follows the Deployment
            if int((o.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                self._scale_rs(d, o, _replicas(o), min_ready=min_ready)
        if paused:
            total = sum(_replicas(o) for o in owned)
            target = new_rs if new_rs is not None else max(owned, key=_replicas, default=None)
            if target is not None and total != replicas:  # a paused Deployment still scales
                new_rs = self._scale_rs(d, target, max(_replicas(target) + replicas - total, 0))
        elif new_rs is not None and not rolling:
            for o in old:
                if _replicas(o):
                    self._scale_rs(d, o, 0)
            if not any(p for o in old for p in self._owned(o, POD)):
                new_rs = self._scale_rs(d, new_rs, replicas)
        elif new_rs is not None:
            nr, total = _replicas(new_rs), sum(_replicas(o) for o in owned)
            want = nr
            if nr > replicas:
                want = replicas
            elif nr < replicas and total < replicas + surge:
                want = nr + min(replicas + surge - total, replicas - nr)
            if want != nr:
                new_rs = self._scale_rs(d, new_rs, want)
            if any(_replicas(o) for o in old):
                self._scale_down_old(d, new_rs, old, replicas, unavail)
        owned = self._owned(d, RS)
        self._deployment_status(key, d, new_rs, owned, replicas, unavail, paused, top)

    def _scale_down_old(self, d: Obj, new_rs: Obj, old: list[Obj], replicas: int, unavail: int) -> None:
        """reconcileOldReplicaSets: first drop old pods that are not available, then available ones
        down to ``replicas - maxUnavailable`` available in all."""
        min_available = replicas - unavail
        all_pods = _replicas(new_rs) + sum(_replicas(o) for o in old)
        new_unavailable = _replicas(new_rs) - _avail(new_rs)
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        for o in old:
            unhealthy = _replicas(o) - _avail(o)
            if budget <= 0 or unhealthy <= 0:
                continue
            down = min(unhealthy, budget)
            budget -= down
            self._scale_rs(d, o, _replicas(o) - down)
        old = [self.st.find("replicasets", o["metadata"]["name"], o["metadata"].get("namespace")) or o for o in old]
        available = _avail(new_rs) + sum(min(_avail(o), _replicas(o)) for o in old)
        left = available - min_available
        for o in old:
            if left <= 0:
                break
            down = min(_replicas(o), left)
            if down:
                left -= down
                self._scale_rs(d, o, _replicas(o) - down)

    def _scale_rs(self, d: Obj, rs: Obj, replicas: int, *, min_ready: int | None = None) -> Obj:
        new = copy_json(rs)
        before = _replicas(rs)
        new["spec"]["replicas"] = replicas
        if min_ready is not None:
            new["spec"]["minReadySeconds"] = min_ready
        if new == rs:
            return rs
        stored = self.st.put(self.r(RS), new)
        if before != replicas:
            self._scaled(d, stored, before, replicas)
        return stored

    def _scaled(self, d: Obj, rs: Obj, before: int, after: int) -> None:
        self.events.controller(d, "ScalingReplicaSet", f"Scaled {'up' if after > before else 'down'} replica set "
                               f"{rs['metadata']['name']} from {before} to {after}", "deployment-controller")

    def _deployment_status(self, key: tuple[str, str], d: Obj, new_rs: Obj | None, owned: list[Obj], replicas: int,
                           unavail: int, paused: bool, top: int) -> None:
        spec = d.get("spec") or {}
        total = sum(int((o.get("status") or {}).get("replicas", 0)) for o in owned)
        ready = sum(int((o.get("status") or {}).get("readyReplicas", 0)) for o in owned)
        available = sum(int((o.get("status") or {}).get("availableReplicas", 0)) for o in owned)
        updated = int(((new_rs or {}).get("status") or {}).get("replicas", 0))
        new_avail = _avail(new_rs) if new_rs is not None else 0
        old_pods = total - updated
        prev = {c.get("type"): c for c in (d.get("status") or {}).get("conditions") or []}
        now, wall = now_iso(), time.time()

        def cond(typ: str, status: str, reason: str, message: str, *, moved: bool = False) -> Obj:
            p = prev.get(typ) or {}
            same = p.get("status") == status and p.get("reason") == reason
            return {"type": typ, "status": status,
                    "lastUpdateTime": p.get("lastUpdateTime", now) if same and not moved else now,
                    "lastTransitionTime": p.get("lastTransitionTime", now) if p.get("status") == status else now,
                    "reason": reason, "message": message}

        ok = available >= replicas - unavail
        conds = [cond("Available", "True" if ok else "False",
                      "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                      "Deployment has minimum availability." if ok else "Deployment does not have minimum "
                      "availability.")]
        name = (new_rs or {}).get("metadata", {}).get("name", key[1])
        signature = (updated, new_avail, old_pods, total)
        seen = self._progress.get(key)
        moved = seen is None or seen[0] != signature
        if moved:
            self._progress[key] = (signature, wall)
        last = self._progress[key][1]
        deadline = int(spec.get("progressDeadlineSeconds", 600))
        complete = new_rs is not None and updated == replicas and new_avail >= replicas and old_pods == 0
        if paused:
            conds.append(cond("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"))
        elif complete:
            conds.append(cond("Progressing", "True", "NewReplicaSetAvailable",
                              f'ReplicaSet "{name}" has successfully progressed.'))
        elif (prev.get("Progressing") or {}).get("reason") == "ProgressDeadlineExceeded" and not moved:
            conds.append(prev["Progressing"])
        elif wall - last > deadline:
            conds.append(cond("Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{name}" has timed out progressing.'))
        else:
            conds.append(cond("Progressing", "True", "NewReplicaSetCreated" if seen is None and updated == 0 else
                              "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', moved=moved))
            self._retry_at(time.monotonic() + max(last + deadline - wall, 0) + 0.1, DEPLOY, key)
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                       "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                       "conditions": conds}
        if max(total - available, replicas - available, 0):
            status["unavailableReplicas"] = max(replicas - available, 0) if total <= replicas else max(
                total - available, 0)
        status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration", "replicas")}
        if (d.get("status") or {}).get("collisionCount"):
            status["collisionCount"] = d["status"]["collisionCount"]
        self._set_status(DEPLOY, d, status, str(top))

    def _machinedeployment(self, key: tuple[str, str]) -> None:
        md = self.st.objects.get(MD, {}).get(key)
        if md is None or md["metadata"].get("deletionTimestamp"):
            return
        done = self._rollout(md, MS, MD_HASH_LABEL, {"clusterName": (md.get("spec") or {}).get("clusterName")})
        if done is None:
            return
        new_ms, top = done
        owned = self._owned(md, MS)
        total = sum(int((o.get("status") or {}).get("replicas", 0)) for o in owned)
        ready = sum(int((o.get("status") or {}).get("readyReplicas", 0)) for o in owned)
        status = {"observedGeneration": md["metadata"].get("generation", 1), "replicas": total, "readyReplicas": ready,
                  "updatedReplicas": int((new_ms.get("status") or {}).get("replicas", 0)),
                  "availableReplicas": ready, "phase": "Running" if ready >= total else "ScalingUp"}
        self._set_status(MD, md, status, str(top))

    def _history(self, rkey: tuple[str, str], key: tuple[str, str]) -> None:
        """ControllerRevision history of a DaemonSet or StatefulSet, kept as their controllers do
        (what ``kubectl rollout undo`` reads): one revision per distinct pod template, named
        ``<owner>-<hash>``, its ``data`` a strategic merge patch replacing ``spec.template``; the
        current template's revision is the highest (an older one equal to it is bumped, not copied).
        Runs only when the workload's spec was written (its generation moved), so node, pod and
        status churn never pays for it."""
        st = self.st
        owner = st.objects.get(rkey, {}).get(key)
        hkey = (rkey[1], *key)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            self._histories.pop(hkey, None)
            return
        seen = (owner["metadata"]["uid"], int(owner["metadata"].get("generation", 1)))
        if self._histories.get(hkey) == seen:
            return  # spec unchanged since the last look (a status or metadata write)
        template = (owner.get("spec") or {}).get("template") or {}
        h = template_hash(template)
        owned = self._owned(owner, CREV)
        top = max((int(o.get("revision") or 0) for o in owned), default=0)
        current = next((o for o in owned if (o["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) == h), None)
        crev_r = self.r(CREV)
        if current is None:
            labels = dict((template.get("metadata") or {}).get("labels") or {}, **{CREV_HASH_LABEL: h})
            body = {"metadata": {"name": f"{key[1]}-{h}", "namespace": key[0], "labels": labels,
                                 "ownerReferences": [owner_ref(owner)]},
                    "data": {"spec": {"template": dict(copy_json(template), **{"$patch": "replace"})}},
                    "revision": top + 1}
            try:
                current = st.create(crev_r, body)
            except ApiError:
                return
        elif int(current.get("revision") or 0) != top:
            bumped = copy_json(current)
            bumped["revision"] = top + 1
            current = st.put(crev_r, bumped)
        if rkey == STS:
            name = current["metadata"]["name"]
            status = dict(owner.get("status") or {}, currentRevision=name, updateRevision=name,
                          observedGeneration=owner["metadata"].get("generation", 1))
            if (owner.get("status") or {}) != status:
                new = copy_json(owner)
                new["status"] = status
                st.put(self.r(STS), new)
        self._histories[hkey] = seen

    def _daemonset(self, key: tuple[str, str]) -> None:
        """One pod per node matching the template's nodeSelector (cordoned and NotReady nodes
        included, as DaemonSet pods tolerate both). A changed template rolls node by node
        (``updateStrategy.rollingUpdate.maxUnavailable``, default 1): an old pod is deleted only
        while the unavailable count allows, its node gets the new pod once the old one is gone,
        and the next node waits until that pod is Ready; old pods that are not Ready go first.
        ``OnDelete`` replaces a pod only when someone deletes it."""
        st = self.st
        ds = st.objects.get(DS, {}).get(key)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        tmpl = spec.get("template") or {}
        h = template_hash(tmpl)
        selector = (tmpl.get("spec") or {}).get("nodeSelector") or {}
        wanted = {n["metadata"]["name"] for n in st.objects.get(NODE, {}).values()
                  if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())}
        owned = self._owned(ds, POD)
        pods = [p for p in owned if not p["metadata"].get("deletionTimestamp")]
        have = {(p.get("spec") or {}).get("nodeName") for p in owned}  # a terminating pod holds its node
        pod_r = self.r(POD)
        for node in sorted(wanted - have):
            meta = copy_json(tmpl.get("metadata") or {})
            meta.setdefault("labels", {})[CREV_HASH_LABEL] = h
            pod = {"metadata": dict(meta, name=f"{key[1]}-{_suffix()}", namespace=key[0],
                                    ownerReferences=[owner_ref(ds)]),
                   "spec": dict(copy_json(tmpl.get("spec") or {}), nodeName=node)}
            pod["status"] = self.kubelet.status(pod, node)
            try:
                made = st.create(pod_r, pod)
            except ApiError as e:
                self.events.controller(ds, "FailedCreate", f"Error creating: {e.message}", "daemonset-controller",
                                       warning=True)
                self._retry_at(time.monotonic() + 0.5, DS, key)  # the controller retries (with backoff)
                break
            pods.append(made)
            self.events.controller(ds, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}",
                                   "daemonset-controller")
            self._bound(made, scheduled=False)
        gone = []
        for p in pods:
            if (p.get("spec") or {}).get("nodeName") not in wanted:
                gone.append(p)
        strategy = spec.get("updateStrategy") or {}
        old = [p for p in pods if p not in gone and (p["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) != h]
        if old and strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = _intstr((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                      len(wanted), round_up=False) or 1
            unavailable = len(wanted) - sum(1 for p in pods if p not in gone and pod_ready(p))
            for p in sorted(old, key=lambda p: (pod_ready(p), (p.get("spec") or {}).get("nodeName") or "")):
                if pod_ready(p):
                    if unavailable >= max_unavailable:
                        break
                    unavailable += 1
                gone.append(p)
        for p in gone:
            try:
                st.delete(pod_r, p["metadata"]["name"], key[0])
            except ApiError:
                continue
            self.events.controller(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                                   "daemonset-controller")
        pods = [p for p in pods if p not in gone]
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) == h)
        status = {"desiredNumberScheduled": len(wanted), "currentNumberScheduled": len(pods),
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
                  "numberMisscheduled": 0, "observedGeneration": ds["metadata"].get("generation", 1)}
        if len(wanted) - ready:
            status["numberUnavailable"] = len(wanted) - ready
        if (ds.get("status") or {}) != status:
            new = copy_json(ds)
            new["status"] = status
            st.put(self.r(DS), new)

    def _replicaset(self, key: tuple[str, str]) -> None:
        st = self.st
        rs = st.objects.get(RS, {}).get(key)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        spec = rs.get("spec") or {}
        want = int(spec.get("replicas", 1))
        pods = [p for p in self._owned(rs, POD) if not p["metadata"].get("deletionTimestamp")]
        pod_r = self.r(POD)
        tmpl = spec.get("template") or {}
        failure = None
        for _ in range(want - len(pods)):
            meta = copy_json(tmpl.get("metadata") or {})
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": dict(meta, name=f"{key[1]}-{_suffix()}", namespace=key[0],
                                    ownerReferences=[owner_ref(rs)]),
                   "spec": copy_json(tmpl.get("spec") or {})}
            try:
                node = self._pick_node(pod)
                if node:
                    pod["spec"]["nodeName"] = node
                pod["status"] = self.kubelet.status(pod, node)
                made = st.create(pod_r, pod)
            except ApiError as e:
                failure = e
                break
            pods.append(made)
            self.events.controller(rs, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}",
                                   "replicaset-controller")
            if node:
                self._bound(made, scheduled=True)
            else:
                self._unschedulable(made)
        if failure is not None:
            self.events.controller(rs, "FailedCreate", f"Error creating: {failure.message}", "replicaset-controller",
                                   warning=True)
            self._retry_at(time.monotonic() + 0.5, RS, key)  # the controller retries (with backoff)
        if len(pods) > want:
            for p in _deletion_order(pods)[: len(pods) - want]:
                st.delete(pod_r, p["metadata"]["name"], key[0])
                self.events.controller(rs, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                                       "replicaset-controller")
            pods = [p for p in self._owned(rs, POD) if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if pod_ready(p))
        min_ready = int(spec.get("minReadySeconds") or 0)
        available = sum(1 for p in pods if self._available(p, min_ready))
        status: Obj = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                       "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1)}
        if failure is not None:
            status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                     "message": failure.message, "lastTransitionTime": now_iso()}]
        if (rs.get("status") or {}) != status:
            new = copy_json(rs)
            new["status"] = status
            st.put(self.r(RS), new)

    def _available(self, pod: Obj, min_ready: int) -> bool:
        """Ready for at least minReadySeconds (a later tick re-checks the ones not there yet)."""
        if not pod_ready(pod):
            return False
        if min_ready <= 0:
            return True
        since = next((epoch(c.get("lastTransitionTime")) for c in (pod.get("status") or {}).get("conditions") or []
                      if c.get("type") == "Ready"), None) or time.time()
        left = since + min_ready - time.time()
        if left <= 0:
            return True
        owner = controller_uid(pod)
        for rs_key, rs in self.st.objects.get(RS, {}).items():
            if rs["metadata"]["uid"] == owner:
                self._retry_at(time.monotonic() + left + 0.05, RS, rs_key)
        return False

    def _retry_at(self, at: float, rkey: tuple[str, str], key: tuple[str, str]) -> None:
        heapq.heappush(self._retries, (at, rkey, key))


    # ------------------------------------------------------------------ Cluster API

    def _machineset(self, key: tuple[str, str]) -> None:
        st = self.st
        ms = st.objects.get(MS, {}).get(key)
        if ms is None or ms["metadata"].get("deletionTimestamp"):
            return
        spec = ms.get("spec") or {}
        want = int(spec.get("replicas", 1))
        machines = [m for m in self._owned(ms, MACHINE) if not m["metadata"].get("deletionTimestamp")]
        m_r = self.r(MACHINE)
        tmpl = spec.get("template") or {}
        for _ in range(want - len(machines)):
            meta = copy_json(tmpl.get("metadata") or {})
            body = {"metadata": dict(meta, name=f"{key[1]}-{_suffix()}", namespace=key[0],
                                     ownerReferences=[owner_ref(ms)], finalizers=[MACHINE_FINALIZER]),
                    "spec": dict(copy_json(tmpl.get("spec") or {}), clusterName=spec.get("clusterName")),
                    "status": {"phase": "Provisioning"}}
            try:
                m = st.create(m_r, body)
            except ApiError:
                break
            machines.append(m)
            self._joins[(key[0], m["metadata"]["name"])] = time.monotonic() + self.b.machine_join_seconds
        if len(machines) > want:
            for m in machines[want:]:
                st.delete(m_r, m["metadata"]["name"], key[0])
        ready = sum(1 for m in machines if (m.get("status") or {}).get("phase") == "Running")
        status = {"replicas": len(machines), "readyReplicas": ready, "availableReplicas": ready,
                  "fullyLabeledReplicas": len(machines), "observedGeneration": ms["metadata"].get("generation", 1)}
        if (ms.get("status") or {}) != status:
            new = copy_json(ms)
            new["status"] = status
            st.put(self.r(MS), new)

    def _machine(self, m: Obj) -> None:
        """A deleted Machine takes its Node with it, then its finalizer is released."""
        meta = m["metadata"]
        if not meta.get("deletionTimestamp"):
            return
        node = ((m.get("status") or {}).get("nodeRef") or {}).get("name")
        if node and self.st.find("nodes", node) is not None:
            self.st.delete("nodes", node)
        self._joins.pop((meta.get("namespace", ""), meta["name"]), None)
        new = copy_json(m)
        new["metadata"]["finalizers"] = [f for f in meta.get("finalizers") or [] if f != MACHINE_FINALIZER]
        self.st.put(self.r(MACHINE), new)

    def _joins_due(self, now: float) -> None:
        st = self.st
        for (ns, name), at in list(self._joins.items()):
            if at > now:
                continue
            del self._joins[(ns, name)]
            m = st.find("machines", name, ns)
            if m is None or m["metadata"].get("deletionTimestamp"):
                continue
            node = new_node(name, ready=True, version=str((m.get("spec") or {}).get("version") or "v1.29.0"))
            node["metadata"]["annotations"] = {"cluster.x-k8s.io/machine": name,
                                               "cluster.x-k8s.io/cluster-namespace": ns,
                                               "cluster.x-k8s.io/cluster-name": str(
                                                   (m.get("spec") or {}).get("clusterName", ""))}
            try:
                st.create("nodes", node)
            except ApiError:
                pass
            new = copy_json(m)
            new["status"] = {"phase": "Running", "nodeRef": {"apiVersion": "v1", "kind": "Node", "name": name}}
            st.put(self.r(MACHINE), new)

    # ------------------------------------------------------------------ CRDs and the apiserver

    def _crd_cleanup(self, crd: Obj) -> None:
        st = self.st
        res = resource_from_crd(crd)
        r = st.registry.by_key.get(res.key)
        if r is not None:
            for o in st.list(r):
                try:
                    st.delete(r, o["metadata"]["name"], o["metadata"].get("namespace"))
                except ApiError:
                    continue
            if any(not o["metadata"].get("finalizers") for o in st.list(r)):
                return
            if st.list(r):
                return  # instances held by their own finalizers: wait
            st.registry.remove(res.key)
        new = copy_json(crd)
        new["metadata"]["finalizers"] = [f for f in crd["metadata"].get("finalizers") or [] if f != CRD_FINALIZER]
        st.put(self.r(CRD_KEY), new)

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
            self._set_ready(o._lost, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        elif not o.active and o._lost:
            self._set_ready(o._lost, "True", "KubeletReady", "kubelet is posting ready status")
            o._lost = []

    def _set_ready(self, names: list[str], status: str, reason: str, message: str) -> None:
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

    def overload_status(self, roll: Any) -> int | None:
        """429 or 503 for a share of requests while the apiserver is overloaded (None = serve)."""
        o = self.b.overload
        if o is None or not o.active or not roll(o.error_rate):
            return None
        o._flip = not o._flip
        return 429 if o._flip else 503


def _routes_node(fs: Obj, node: str) -> bool:
    """Does this FlowSchema match requests from the kubelet of ``node``?"""
    user, groups = f"system:node:{node}", {"system:nodes", "system:authenticated"}
    rules = (fs.get("spec") or {}).get("rules")
    for rule in rules if isinstance(rules, list) else []:
        subjects = rule.get("subjects") if isinstance(rule, dict) else None
        for sub in subjects if isinstance(subjects, list) else []:
            if not isinstance(sub, dict):
                continue
            if sub.get("kind") == "User" and (sub.get("user") or {}).get("name") in (user, "*"):
                return True
            if sub.get("kind") == "Group" and (sub.get("group") or {}).get("name") in groups | {"*"}:
                return True
    return False


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
