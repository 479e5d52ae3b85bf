"""Turning a validated scenario into live cluster state, and judging its health checks.

Seeding is the hot path of a large drill's start-up: generators write plain dicts straight
into the store (``ClusterState.seed``), no copies, no events, no watch history.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from mitigate.errors import LocatedError, LocatedErrors

from . import defaults
from .faults import FaultSet
from .health import holds, present
from .kubelet import ContainerRule, KubeletSettings
from .nodelife import (
    LEASE_NS,
    LEASE_SECONDS,
    eviction_time,
    iso,
    lease_time,
    new_lease,
    pod_not_ready_status,
    ready_since,
    wanted_taints,
)
from .resources import Resource
from .scenario import ClusterSpec, Scenario, count_or_pct
from .sim import (
    Behaviours,
    Ingress,
    KubeletAdmission,
    Overload,
    Simulation,
    is_ready,
    new_node,
    quantity,
    running_status,
)
from .store import ApiError, ClusterState, Obj, fields_v1, now_iso

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass
class BuiltCluster:
    spec: ClusterSpec
    state: ClusterState
    sim: Simulation
    faults: FaultSet


def _ns(st: ClusterState, name: str) -> None:
    r = st.registry.by_key[("", "namespaces")]
    if ("", name) not in st.bucket(r):
        st.seed(r, {"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"}})


def _seed_objects(st: ClusterState, sc: Scenario, base: tuple[Any, ...], objects: list[dict[str, Any]]) -> None:
    errors: list[LocatedError] = []
    # CRDs first so their instances in the same file resolve; namespaces next.
    order = sorted(range(len(objects)), key=lambda i: (objects[i].get("kind") != "CustomResourceDefinition",
                                                       objects[i].get("kind") != "Namespace"))
    for i in order:
        obj = objects[i]
        loc = (*base, "objects", i)
        meta = obj.get("metadata")
        if not isinstance(obj.get("apiVersion"), str) or not isinstance(obj.get("kind"), str):
            errors.append(sc.locate(loc, "an object needs apiVersion and kind"))
            continue
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            errors.append(sc.locate(loc + ("metadata",), "an object needs metadata.name"))
            continue
        r = st.registry.by_kind(obj["apiVersion"], obj["kind"])
        if r is None:
            errors.append(sc.locate(loc + ("kind",),
                                  f"unknown kind {obj['kind']} in {obj['apiVersion']} (define its CRD in objects)"))
            continue
        try:
            st.validate(r, obj)
            if r.namespaced:
                meta.setdefault("namespace", "default")
                _ns(st, str(meta["namespace"]))
            st.seed(r, _fill(r, obj))
        except ApiError as e:
            errors.append(sc.locate(loc, e.message))
    if errors:
        raise errors[0] if len(errors) == 1 else LocatedErrors(errors)


def _fill(r: Resource, obj: Obj) -> Obj:
    """Give seeded pods and nodes the status a running cluster would show, unless the file sets one."""
    if "status" in obj and obj["status"] is None:  # null is unset: the status a running cluster shows
        del obj["status"]
    defaults.zero_nulls(obj)
    if r.key == ("", "nodes") and "status" not in obj:
        node = new_node(obj["metadata"]["name"], labels=obj["metadata"].get("labels"))
        node["metadata"].update({k: v for k, v in obj["metadata"].items() if k != "labels"})
        node["spec"] = obj.get("spec") or {}
        if node["spec"].get("unschedulable"):
            node["spec"]["taints"] = wanted_taints(node)
        return node
    if r.group == "admissionregistration.k8s.io":  # failurePolicy, timeoutSeconds... as a create defaults them
        defaults.apply(r.key, obj, lambda: "")
    return obj  # pods without a status: the first tick (before serving) binds and starts them


def _gen_nodes(st: ClusterState, g: Any) -> None:
    r = st.registry.by_key[("", "nodes")]
    bad = count_or_pct(g.not_ready, g.count)
    cordoned = count_or_pct(g.unschedulable, g.count)
    width = max(len(str(g.count - 1)), 1)
    roles = {f"node-role.kubernetes.io/{x}": "" for x in g.roles}
    ms = g.machine_set
    machine_r = st.registry.by_key[("cluster.x-k8s.io", "machines")]
    msr = st.registry.by_key[("cluster.x-k8s.io", "machinesets")]
    ms_obj: Obj | None = None
    if ms is not None:
        _ns(st, ms.namespace)
        ms_obj = {"metadata": {"name": ms.name, "namespace": ms.namespace},
                  "spec": {"clusterName": ms.cluster_name, "replicas": g.count,
                           "selector": {"matchLabels": {"cluster.x-k8s.io/set-name": ms.name}},
                           "template": {"metadata": {"labels": {"cluster.x-k8s.io/set-name": ms.name}},
                                        "spec": {"clusterName": ms.cluster_name, "version": g.version}}},
                  "status": {"replicas": g.count, "readyReplicas": g.count}}
        st.seed(msr, ms_obj)
    # spread NotReady nodes evenly over the fleet so slices look like real failures
    bad_idx = {int(i * g.count / bad) for i in range(bad)} if bad else set()
    lease_r = st.registry.by_key[("coordination.k8s.io", "leases")]
    now = time.time()
    fresh, stale = lease_time(now), lease_time(now - g.not_ready_seconds - LEASE_SECONDS)
    since = iso(now - g.not_ready_seconds)
    for i in range(g.count):
        name = f"{g.name_prefix}{i:0{width}d}"
        node = new_node(name, ready=i not in bad_idx, labels=dict(g.labels, **roles), version=g.version,
                        cpu=g.cpu, memory=g.memory, reason="" if i not in bad_idx else g.not_ready_reason,
                        since=since if i in bad_idx else None)
        st.seed(lease_r, new_lease(name, stale if i in bad_idx else fresh))
        if i < cordoned:
            node["spec"]["unschedulable"] = True
            node["spec"]["taints"] = wanted_taints(node)  # the cordon's taint, as the controller keeps it
        if ms_obj is not None:
            node["metadata"]["annotations"] = {"cluster.x-k8s.io/machine": name,
                                               "cluster.x-k8s.io/cluster-namespace": ms.namespace,
                                               "cluster.x-k8s.io/cluster-name": ms.cluster_name}
            st.seed(machine_r, {
                "metadata": {"name": name, "namespace": ms.namespace, "finalizers": ["machine.cluster.x-k8s.io"],
                             "labels": {"cluster.x-k8s.io/set-name": ms.name},
                             "ownerReferences": [{"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "MachineSet",
                                                  "name": ms.name, "uid": ms_obj["metadata"]["uid"],
                                                  "controller": True, "blockOwnerDeletion": True}]},
                "spec": {"clusterName": ms.cluster_name, "version": g.version},
                "status": {"phase": "Running", "nodeRef": {"apiVersion": "v1", "kind": "Node", "name": name}}})
        st.seed(r, node)


def _gen_pods(st: ClusterState, g: Any) -> None:
    """Pods spread round-robin over nodes. Stored objects are never mutated in place, so pods
    share their immutable parts (labels, containers, status): 50,000 pods cost little memory."""
    r = st.registry.by_key[("", "pods")]
    _ns(st, g.namespace)
    nodes = sorted(k[1] for k in st.bucket(st.registry.by_key[("", "nodes")]) if k[1].startswith(g.nodes))
    bad = count_or_pct(g.not_ready, g.count)
    width = max(len(str(g.count - 1)), 1)
    containers = [{"name": "app", "image": g.image}]
    labels = dict(g.labels)
    sample = {"spec": {"containers": containers}}
    ready = running_status(sample, "node")
    ready["containerStatuses"][0]["restartCount"] = g.restarts
    broken = running_status(sample, "node")
    broken["conditions"][1]["status"] = "False"
    broken["containerStatuses"][0].update(ready=False, restartCount=g.restarts,
                                          state={"waiting": {"reason": g.not_ready_reason}})
    pending = running_status(sample, None)
    cut_off = pod_not_ready_status(ready)  # on a node that is not Ready: MarkPodsNotReady
    cut_off_broken = pod_not_ready_status(broken)
    node_objs = st.bucket(st.registry.by_key[("", "nodes")])
    down = {n: (node_objs[("", n)].get("spec") or {}).get("taints") or [] for n in nodes
            if not is_ready(node_objs[("", n)])}
    specs = {n: {"containers": containers, "nodeName": n} for n in nodes}
    unscheduled = {"containers": containers}
    owned: dict[str, Any] = {} if g.owner == "none" else {"ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{g.name_prefix}rs",
        "uid": f"gen-{g.namespace}-{g.name_prefix}rs", "controller": True, "blockOwnerDeletion": True}]}
    now = time.time()
    for i in range(g.count):
        node = nodes[i % len(nodes)] if nodes else None
        pod: Obj = {"metadata": {"name": f"{g.name_prefix}{i:0{width}d}", "namespace": g.namespace, "labels": labels,
                            **owned},
               "spec": specs[node] if node else unscheduled,
               "status": (broken if i < bad else ready) if node else pending}
        if node in down:
            pod["status"] = cut_off_broken if i < bad else cut_off
            at = eviction_time(pod, down[node])
            if at is not None and at <= now:  # the taint manager evicted it long ago; nobody confirmed
                pod["metadata"]["deletionTimestamp"] = iso(at + 30)
                pod["metadata"]["deletionGracePeriodSeconds"] = 30
        st.seed(r, pod)


def _stamp(obj: Obj, g: Any) -> Obj:
    """Record the generator's field manager (and time) the way the API server would have."""
    if g.field_manager:
        obj["metadata"]["managedFields"] = [{
            "manager": g.field_manager, "operation": g.operation, "apiVersion": obj.get("apiVersion", ""),
            "time": g.managed_at or now_iso(), "fieldsType": "FieldsV1", "fieldsV1": fields_v1(obj)}]
        if g.managed_at:
            obj["metadata"]["creationTimestamp"] = g.managed_at
    return obj


def _gen_deployments(st: ClusterState, g: Any) -> None:
    r = st.registry.by_key[("apps", "deployments")]
    _ns(st, g.namespace)
    for i in range(g.count):
        name = f"{g.name_prefix}{i}"
        labels = dict(g.labels, app=name)
        pod_spec: Obj = {"containers": [{"name": "app", "image": g.image}]}
        if g.image_pull_secrets:
            pod_spec["imagePullSecrets"] = [{"name": n} for n in g.image_pull_secrets]
        st.seed(r, _stamp({"apiVersion": "apps/v1", "metadata": {"name": name, "namespace": g.namespace,
                                                                  "labels": labels},
                           "spec": {"replicas": g.replicas, "selector": {"matchLabels": {"app": name}},
                                    "template": {"metadata": {"labels": labels}, "spec": pod_spec}}}, g))


def _gen_copies(st: ClusterState, sc: Scenario, loc: tuple[Any, ...], g: Any) -> None:
    import json

    tmpl = g.template
    r = st.registry.by_kind(str(tmpl.get("apiVersion", "")), str(tmpl.get("kind", "")))
    if r is None:
        raise sc.locate((*loc, "template"), f"unknown kind {tmpl.get('kind')!r} in "
                      f"{tmpl.get('apiVersion')!r} (define its CRD in objects)")
    text = json.dumps(tmpl)
    for i in range(g.count):
        obj = json.loads(text)
        meta = obj.setdefault("metadata", {})
        meta["name"] = f"{g.name_prefix}{i}"
        if r.namespaced:
            meta.setdefault("namespace", "default")
            _ns(st, meta["namespace"])
        st.seed(r, _stamp(_fill(r, obj), g))


def _seed_leases(st: ClusterState) -> None:
    """A kube-node-lease Lease for every node that has none (nodes from ``objects``)."""
    lease_r = st.registry.by_key[("coordination.k8s.io", "leases")]
    have = st.bucket(lease_r)
    now = time.time()
    for key, node in st.bucket(st.registry.by_key[("", "nodes")]).items():
        if (LEASE_NS, key[1]) not in have:
            st.seed(lease_r, new_lease(key[1], lease_time(now if is_ready(node) else ready_since(node) - LEASE_SECONDS)))


def build_cluster(sc: Scenario, index: int, multi: bool) -> BuiltCluster:
    spec = sc.clusters[index]
    b = spec.behaviours
    st = ClusterState(spec.context, grace_seconds=b.pod_grace_seconds)
    for ns in SYSTEM_NAMESPACES:
        _ns(st, ns)
    base: tuple[Any, ...] = ("clusters", index) if multi else ()
    _seed_objects(st, sc, base, spec.objects)
    for j, gen in enumerate(spec.generators):
        if gen.nodes:
            _gen_nodes(st, gen.nodes)
        elif gen.pods:
            _gen_pods(st, gen.pods)
        elif gen.deployments:
            _gen_deployments(st, gen.deployments)
        elif gen.copies:
            _gen_copies(st, sc, (*base, "generators", j, "copies"), gen.copies)
    overload = None
    if b.apiserver_overload:
        o = b.apiserver_overload
        overload = Overload(o.namespace, o.deployment, o.container, quantity(o.memory_threshold), o.error_rate,
                            o.restart_every_seconds, count_or_pct(o.not_ready_nodes, st.count("nodes")),
                            tuple(o.daemon_set.split("/", 1)) if o.daemon_set else None,  # type: ignore[arg-type]
                            o.max_daemon_pods)
        if o.client_load is not None:
            overload.load_per_gi, overload.full_shares = o.client_load.per_gi, o.client_load.full_shares
    ingress = None
    if b.ingress:
        fail: list[tuple[str, str, str | None, str]] = [
            ("customresourcedefinitions", n, None, f"CustomResourceDefinition/{n}") for n in b.ingress.fail_while_crds]
        for ref in b.ingress.fail_while:
            res = st.registry.by_kind(ref.api_version, ref.kind)
            if res is None:
                raise sc.locate((*base, "behaviours", "ingress", "failWhile"),
                              f"unknown kind {ref.kind} in {ref.api_version}")
            for n in ([ref.name] if ref.name else []) + ref.names:
                fail.append((f"{res.plural}.{res.group}" if res.group else res.plural, n, ref.namespace,
                             f"{ref.kind}/{n}"))
        refs = [(f"{ref.kind} matching {ref.selector!r}" + (f" in {ref.namespace}" if ref.namespace else ""),
                 functools.partial(present, ref=ref)) for ref in b.ingress.fail_while if ref.selector]
        unnamed = [ref for ref in b.ingress.fail_while if not (ref.name or ref.names or ref.selector)]
        refs += [(f"a {ref.kind}" + (f" in {ref.namespace}" if ref.namespace else ""),
                  functools.partial(present, ref=ref)) for ref in unnamed]
        ingress = Ingress(fail, refs)
    admission = KubeletAdmission(b.kubelet_admission.min_shares) if b.kubelet_admission else None
    rules = [ContainerRule(c.image, c.container, c.namespace, c.selector, dict(c.env), c.crash is not None,
                           c.crash.exit_code if c.crash else 1, c.crash.reason if c.crash else "Error",
                           c.pull_error or "", c.ready, list(c.logs), c.command, {str(k): v for k, v in c.usage.items()}) for c in b.containers]
    kubelet = KubeletSettings(b.kubelet.backoff_seconds, b.kubelet.start_seconds, rules, b.kubelet.run_seconds)
    _seed_leases(st)
    sim = Simulation(st, Behaviours(b.controllers, b.machine_join_seconds, overload, ingress, admission,
                                    dict(b.image_errors), b.endpoints or b.admission_webhooks, kubelet,
                                    b.node_leases.renew_seconds, b.hpa_sync_seconds))
    if b.admission_webhooks:
        st.admission.enable_webhooks([wb.build() for wb in b.webhook_backends])
    faults = FaultSet([f.build() for f in spec.faults], sc.seed + index)
    built = BuiltCluster(spec, st, sim, faults)
    for f, fs in zip(faults.faults, spec.faults, strict=True):
        if fs.when:
            f.condition = functools.partial(holds, built, fs.when)
    return built
