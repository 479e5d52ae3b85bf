"""Node-side behaviours: the node lifecycle controller's reaction to a node's change, the
kubelets' retry when configuration appears, and their admission through API Priority and
Fairness (a scenario's ``kubeletAdmission``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..store import Obj
from .base import CONFIGMAP, FLOWSCHEMA, NODE, PLC, SECRET, Controller, Key, RKey, is_ready


class NodeLifecycleController(Controller):
    """Taints, NotReady pods, evictions and leases as a node's Ready status moves (nodelife.py)."""

    name = "node-controller"
    primary = NODE

    def reconcile(self, key: Key) -> None:
        self.sim.nodes.node_changed(self.sim, key[1], self.obj(key))


class ConfigRetryController(Controller):
    """A Secret or ConfigMap was written: the kubelets retry the namespace's pods stuck on
    configuration or image pulls (running containers are not restarted). Key: (namespace, "")."""

    name = "kubelet"
    watches = (SECRET, CONFIGMAP)

    def keys_for(self, rkey: RKey, key: Key, obj: Obj | None) -> Iterable[Key]:
        return [(key[0], "")]

    def reconcile(self, key: Key) -> None:
        for p in self.st.list("pods", key[0]):
            if self.sim.node_ready(str((p.get("spec") or {}).get("nodeName") or "")):
                self.sim.kubelet.refresh(p)


class KubeletAdmissionController(Controller):
    """Re-admit NotReady nodes whose identity APF now routes to a roomy priority level (at least
    ``minShares`` nominal concurrency shares, or Exempt). One key for the cluster."""

    name = "kubelet"
    watches = (FLOWSCHEMA, PLC)

    def enabled(self) -> bool:
        return self.sim.b.admission is not None

    def keys_for(self, rkey: RKey, key: Key, obj: Obj | None) -> Iterable[Key]:
        return [("", "")]

    def reconcile(self, key: Key) -> None:
        adm = self.sim.b.admission
        if adm is None:
            return
        levels = {p["metadata"]["name"]: p for p in self.st.list("prioritylevelconfigurations")}
        schemas = flow_schemas(self.st.list("flowschemas"))
        admitted = []
        for node in self.st.list("nodes"):
            if is_ready(node):
                continue
            name = node["metadata"]["name"]
            fs = next((f for f in schemas if routes_node(f, name)), None)
            if fs is None:
                continue
            plc = levels.get(str(((fs.get("spec") or {}).get("priorityLevelConfiguration") or {}).get("name")))
            spec = (plc or {}).get("spec") or {}
            shares = int(((spec.get("limited") or {}).get("nominalConcurrencyShares")) or 0)
            if plc is not None and (spec.get("type") == "Exempt" or shares >= adm.min_shares):
                admitted.append(name)
        self.sim.set_ready(admitted, "True", "KubeletReady", "kubelet is posting ready status")


def flow_schemas(schemas: list[Obj]) -> list[Obj]:
    """FlowSchemas in the order APF tries them: matchingPrecedence, then name."""
    return sorted(schemas, key=lambda f: (int((f.get("spec") or {}).get("matchingPrecedence", 1000)),
                                          f["metadata"]["name"]))


def routes_node(fs: Obj, node: str) -> bool:
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
