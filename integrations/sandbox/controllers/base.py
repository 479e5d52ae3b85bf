"""What every controller is, and the helpers the workload controllers share.

A controller declares what it reconciles and what it watches; the simulation's loop hands it
the keys that changed (see ``integrations/sandbox/sim.py``):

- ``primary``: the kind whose objects it reconciles; a change to one queues that object's key;
- ``owns``: kinds whose objects it creates with a controller ownerReference to a primary
  object; a change to one queues its owner, and one that is gone queues every primary object of
  its namespace (the owner references left with it), as an informer's delete handler would;
- ``watches``: other kinds; ``keys_for`` maps a change to the keys to reconcile (by default
  every primary object in the changed object's namespace).

``reconcile(key)`` looks the object up itself (it may be gone) and converges it; ``after(s,
key)`` asks for the same key again later (a resync, a back-off, a schedule). A key is
``(namespace, name)``; a controller of something that is not an object (a namespace's pods, the
cluster's kubelets) picks its own, such as ``(namespace, "")``.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..patch import copy_json
from ..resources import Resource
from ..store import ClusterState, Obj

if TYPE_CHECKING:
    from ..sim import Simulation

Key = tuple[str, str]
RKey = tuple[str, str]  # (group, plural)

DEPLOY, RS, POD, NODE = ("apps", "deployments"), ("apps", "replicasets"), ("", "pods"), ("", "nodes")
RC = ("", "replicationcontrollers")
PDB, SECRET, CONFIGMAP = ("policy", "poddisruptionbudgets"), ("", "secrets"), ("", "configmaps")
FLOWSCHEMA = ("flowcontrol.apiserver.k8s.io", "flowschemas")
PLC = ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations")
MS, MACHINE = ("cluster.x-k8s.io", "machinesets"), ("cluster.x-k8s.io", "machines")
MD = ("cluster.x-k8s.io", "machinedeployments")
DS = ("apps", "daemonsets")
SVC, EP = ("", "services"), ("", "endpoints")
STS, CREV = ("apps", "statefulsets"), ("apps", "controllerrevisions")
JOB, CRONJOB = ("batch", "jobs"), ("batch", "cronjobs")
HPA = ("autoscaling", "horizontalpodautoscalers")

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
CREV_HASH_LABEL = "controller-revision-hash"


class Controller:
    """One behaviour of the cluster: declares what it watches, reconciles one key at a time."""

    name = ""
    primary: RKey | None = None
    owns: tuple[RKey, ...] = ()
    watches: tuple[RKey, ...] = ()

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.st: ClusterState = sim.st

    def enabled(self) -> bool:
        """Whether the scenario runs this controller (all do unless they say otherwise)."""
        return True

    def keys_for(self, rkey: RKey, key: Key, obj: Obj | None) -> Iterable[Key]:
        """The keys a change to a watched object queues: every primary object of its namespace."""
        return self.primary_keys(key[0])

    def reconcile(self, key: Key) -> None:
        """One key: by default its live primary object goes to ``sync``, and a key whose object
        is gone or being deleted is done (what its deletion leaves is the garbage collector's)."""
        obj = self.live(key)
        if obj is not None:
            self.sync(obj, key)

    def sync(self, obj: Obj, key: Key) -> None:
        """Bring the cluster in line with one live primary object."""
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Called once a tick after the queued keys (timers that are not keys)."""

    # ------------------------------------------------------------------ helpers

    def primary_keys(self, namespace: str | None = None) -> list[Key]:
        if self.primary is None:
            return []
        bucket = self.st.objects.get(self.primary, {})
        return [k for k in bucket if namespace is None or k[0] == namespace]

    def obj(self, key: Key, rkey: RKey | None = None) -> Obj | None:
        found = self.st.objects.get(rkey or self.primary or ("", ""), {}).get(key)
        return found

    def live(self, key: Key) -> Obj | None:
        """The primary object, or None when it is gone or being deleted."""
        o = self.obj(key)
        return None if o is None or o["metadata"].get("deletionTimestamp") else o

    def r(self, rkey: RKey | None = None) -> Resource:
        return self.st.registry.by_key[rkey or self.primary or ("", "")]

    def after(self, seconds: float, key: Key) -> None:
        self.sim.requeue(self, key, time.monotonic() + max(seconds, 0.0))

    def owned(self, owner: Obj, rkey: RKey) -> list[Obj]:
        uid = owner["metadata"]["uid"]
        return [o for r, _, o in self.st.dependents(uid) if r.key == rkey and controller_uid(o) == uid]

    def write_status(self, obj: Obj, status: Obj, rkey: RKey | None = None) -> Obj:
        """Store ``status`` on ``obj`` unless it is already there (no write, no watch event)."""
        if (obj.get("status") or {}) == status:
            return obj
        new = copy_json(obj)
        new["status"] = status
        return self.st.put(self.r(rkey), new)

    def event(self, obj: Obj, reason: str, message: str, *, warning: bool = False) -> None:
        self.sim.events.controller(obj, reason, message, self.name, warning=warning)


def owner_ref(obj: Obj) -> Obj:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_uid(obj: Obj) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("uid"))
    return None


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


def intstr(v: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent field (maxSurge rounds up, maxUnavailable down, as the controllers do)."""
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


def replicas_of(o: Obj) -> int:
    return int((o.get("spec") or {}).get("replicas", 1))


def available_of(o: Obj) -> int:
    return int((o.get("status") or {}).get("availableReplicas", 0))


def revision_of(o: Obj) -> int:
    try:
        return int((o["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
    except ValueError:
        return 0


def suffix() -> str:
    return uuid.uuid4().hex[:5]


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "k": 10**3, "m": 10**-3}


def quantity(text: Any) -> float:
    """A Kubernetes quantity ("8Gi", "500m", 3) as a number; raises ValueError when malformed."""
    s = str(text).strip()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * _UNITS[unit]
    return float(s)


def is_ready(node: Obj) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False
