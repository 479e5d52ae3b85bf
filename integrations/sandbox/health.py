"""Judging a scenario's health checks: what "mitigated" means for one cluster.

Each check reads the live state under the cluster lock. Checks are written to fail on the
wrong fixes a responder might try: ``nodesReady.minReady`` is not met by deleting the broken
nodes, ``deploymentsAvailable`` is not met by a rollback that leaves pods failing,
``noneCreatedBy`` is not met while anything the culprit created remains.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .budgets import pod_ready
from .paths import MISSING, as_text, parse_path, resolve_path
from .scenario import HealthCheck, ObjectRef
from .selectors import SelectorError, label_matcher
from .sim import HASH_LABEL, controller_uid, is_ready, quantity, template_hash
from .store import ClusterState, Obj

if TYPE_CHECKING:
    from .seeding import BuiltCluster


@dataclass(frozen=True)
class HealthReport:
    """Whether a drill cluster counts as mitigated (contract: ``Sandbox.health``)."""

    ok: bool
    checks: dict[str, bool]
    message: str


def _select(st: ClusterState, api_version: str, kind: str, namespace: str | None, names: set[str],
            selector: str | None) -> list[Obj] | None:
    """Matching objects; [] when the kind is not served (a CRD's kind once the CRD is gone);
    None when the selector does not parse (the check fails)."""
    r = st.registry.by_kind(api_version, kind)
    if r is None:
        return []
    try:
        match = label_matcher(selector)
    except SelectorError:
        return None
    return st.list(r, namespace if r.namespaced else None,
                   lambda o: (not names or o["metadata"]["name"] in names) and (match is None or match(o)))


def _ref(st: ClusterState, ref: ObjectRef) -> list[Obj] | None:
    return _select(st, ref.api_version, ref.kind, ref.namespace,
                   set(ref.names) | ({ref.name} if ref.name else set()), ref.selector)


def waiting_reason(pod: Obj) -> str:
    """The first container's waiting reason (CrashLoopBackOff, ...) or ""."""
    status = pod.get("status") or {}
    for c in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        reason = ((c.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return ""


def _pods_healthy(st: ClusterState, c: Any) -> bool:
    try:
        match = label_matcher(c.selector)
    except SelectorError:
        return False
    bad = set(c.reasons)
    for p in st.list("pods", c.namespace, lambda o: match is None or match(o)):
        if p["metadata"].get("deletionTimestamp"):
            continue
        if waiting_reason(p) in bad:
            return False
        if not c.allow_pending and (p.get("status") or {}).get("phase") == "Pending":
            return False
    return True


def deployment_settled(st: ClusterState, d: Obj) -> bool:
    """Available, every replica updated to the current template, and no pod of an older template."""
    spec, status = d.get("spec") or {}, d.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration", 0)) < int(d["metadata"].get("generation", 1)):
        return False
    available: Obj = next((x for x in status.get("conditions") or [] if x.get("type") == "Available"), {})
    if replicas and available.get("status") != "True":
        return False
    if int(status.get("updatedReplicas", 0)) < replicas or int(status.get("availableReplicas", 0)) < replicas:
        return False
    h = template_hash(spec.get("template") or {})
    rs_by_uid = {o["metadata"]["uid"]: o for o in st.list("replicasets", d["metadata"].get("namespace"))
                 if controller_uid(o) == d["metadata"]["uid"]}
    current = [uid for uid, o in rs_by_uid.items() if (o["metadata"].get("labels") or {}).get(HASH_LABEL) == h]
    if replicas and not current:
        return False
    pods = 0
    for p in st.list("pods", d["metadata"].get("namespace")):
        owner = controller_uid(p)
        if owner not in rs_by_uid or p["metadata"].get("deletionTimestamp"):
            continue
        if owner not in current or not pod_ready(p):
            return False
        pods += 1
    return pods >= replicas


def _deployments_available(st: ClusterState, c: Any) -> bool:
    found = _select(st, "apps/v1", "Deployment", c.namespace, set(c.names), c.selector)
    if found is None or len(found) < c.min or (c.names and len(found) < len(set(c.names))):
        return False
    return all(deployment_settled(st, d) for d in found)


def _none_created_by(st: ClusterState, c: Any) -> bool:
    kinds = set(c.kinds)
    for r in list(st.registry.by_key.values()):
        if kinds and r.kind not in kinds:
            continue
        for o in st.list(r):
            meta = o["metadata"]
            created = str(meta.get("creationTimestamp") or "")
            if (c.since and created < c.since) or (c.until and created > c.until):
                continue
            if meta.get("deletionTimestamp"):
                continue
            if any(isinstance(m, dict) and m.get("manager") == c.manager for m in meta.get("managedFields") or []):
                return False
    return True


def _field(st: ClusterState, f: Any) -> bool:
    r = st.registry.by_kind(f.api_version, f.kind)
    obj = st.find(r, f.name, f.namespace) if r is not None else None
    if obj is None:
        return False
    value = resolve_path(obj, parse_path(f.path))
    if f.exists is not None and (value is not MISSING) != f.exists:
        return False
    if f.equals is not None and (value is MISSING or as_text(value) != as_text(f.equals)):
        return False
    if f.not_equals is not None and as_text(value) == as_text(f.not_equals):
        return False
    for bound, ok in ((f.at_least, operator.ge), (f.below, operator.lt)):
        if bound is None:
            continue
        try:
            if value is MISSING or not ok(quantity(value), bound):
                return False
        except ValueError:
            return False
    return True


def check(bc: BuiltCluster, c: HealthCheck) -> bool:
    st = bc.state
    if c.nodes_ready is not None:
        nodes = st.list("nodes")
        ready = sum(1 for n in nodes if is_ready(n))
        nr = c.nodes_ready
        return ((nr.min_fraction is None or (bool(nodes) and ready / len(nodes) >= nr.min_fraction))
                and (nr.max_not_ready is None or len(nodes) - ready <= nr.max_not_ready)
                and (nr.min_ready is None or ready >= nr.min_ready))
    if c.pods_spread is not None:
        sel = c.pods_spread
        try:
            match = label_matcher(sel.selector)
        except SelectorError:
            return False
        pods = [p for p in st.list("pods", sel.namespace, lambda o: match is None or match(o))
                if not p["metadata"].get("deletionTimestamp")]
        bound = [(p.get("spec") or {}).get("nodeName") for p in pods]
        running = all((p.get("status") or {}).get("phase") == "Running" and pod_ready(p) for p in pods)
        return bool(bound) and running and None not in bound and len(set(bound)) == len(bound)
    if c.absent is not None:
        return _ref(st, c.absent) == []
    if c.present is not None:
        found = _ref(st, c.present)
        return found is not None and len(found) >= c.present.min
    if c.field is not None:
        return _field(st, c.field)
    if c.pods_healthy is not None:
        return _pods_healthy(st, c.pods_healthy)
    if c.deployments_available is not None:
        return _deployments_available(st, c.deployments_available)
    if c.none_created_by is not None:
        return _none_created_by(st, c.none_created_by)
    if c.apiserver_stable:
        o = bc.sim.b.overload
        return o is None or not o.overloaded(st)
    if c.ingress_healthy:
        i = bc.sim.b.ingress
        return i is None or i.check(st)[0]
    return False


def holds(bc: BuiltCluster, conditions: list[HealthCheck]) -> bool:
    """Do all these conditions hold now (a state-dependent fault's ``when``)?"""
    with bc.state.lock:
        return all(check(bc, c) for c in conditions)


def present(st: ClusterState, ref: ObjectRef) -> bool:
    """Does any object match (name/names/selector/namespace)?"""
    return bool(_ref(st, ref))


def health(bc: BuiltCluster) -> HealthReport:
    with bc.state.lock:
        checks = {c.label(i): check(bc, c) for i, c in enumerate(bc.spec.health)}
    failing = [k for k, v in checks.items() if not v]
    ok = not failing
    msg = "mitigated" if ok else "not mitigated: " + ", ".join(failing)
    return HealthReport(ok, checks, msg)
