"""Cluster API Machines and CRD cleanup: finalizers released once what they guard is gone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..patch import copy_json
from ..resources import resource_from_crd
from ..store import CRD_FINALIZER, CRD_KEY, ApiError, Obj
from .base import MACHINE, Controller, Key
from .replicas import MACHINE_FINALIZER

if TYPE_CHECKING:
    from ..sim import Simulation


class MachineController(Controller):
    """The infrastructure provider: a Provisioning Machine becomes a Ready Node after the
    scenario's ``machineJoinSeconds``; a deleted Machine takes its Node with it, then its
    finalizer is released."""

    name = "machine-controller"
    primary = MACHINE

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self._joins: dict[Key, float] = {}  # machine -> when its node joins

    def reconcile(self, key: Key) -> None:
        m = self.obj(key)
        if m is None:
            self._joins.pop(key, None)
            return
        meta = m["metadata"]
        if meta.get("deletionTimestamp"):
            self._release(key, m)
            return
        status = m.get("status") or {}
        if status.get("phase") != "Provisioning" or status.get("nodeRef"):
            return
        now = time.monotonic()
        at = self._joins.setdefault(key, now + self.sim.b.machine_join_seconds)
        if at > now:
            self.after(at - now, key)
            return
        del self._joins[key]
        self._join(key, m)

    def _join(self, key: Key, m: Obj) -> None:
        from ..sim import new_node  # the node shape lives with the simulation's other node helpers

        ns, name = key
        node = new_node(name, ready=True, version=str((m.get("spec") or {}).get("version") or "v1.29.0"))
        node["metadata"]["annotations"] = {"cluster.x-k8s.io/machine": name,
                                           "cluster.x-k8s.io/cluster-namespace": ns,
                                           "cluster.x-k8s.io/cluster-name": str(
                                               (m.get("spec") or {}).get("clusterName", ""))}
        try:
            self.st.create("nodes", node)
        except ApiError:
            pass
        new = copy_json(m)
        new["status"] = {"phase": "Running", "nodeRef": {"apiVersion": "v1", "kind": "Node", "name": name}}
        self.st.put(self.r(), new)

    def _release(self, key: Key, m: Obj) -> None:
        self._joins.pop(key, None)
        meta = m["metadata"]
        if MACHINE_FINALIZER not in (meta.get("finalizers") or []):
            return
        node = ((m.get("status") or {}).get("nodeRef") or {}).get("name")
        if node and self.st.find("nodes", node) is not None:
            self.st.delete("nodes", node)
        new = copy_json(m)
        new["metadata"]["finalizers"] = [f for f in meta.get("finalizers") or [] if f != MACHINE_FINALIZER]
        self.st.put(self.r(), new)


class CRDCleanupController(Controller):
    """A CustomResourceDefinition being deleted: its instances are deleted, then (once none is
    left, their own finalizers done) its cleanup finalizer is released and the kind unserved."""

    name = "apiextensions-controller"
    primary = CRD_KEY

    def reconcile(self, key: Key) -> None:
        crd = self.obj(key)
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
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
        st.put(self.r(), new)
