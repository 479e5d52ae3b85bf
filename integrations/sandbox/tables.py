"""meta.k8s.io/v1 Table rendering, so `kubectl get` prints the real columns.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints whatever
columns the server sends; these mirror the API server's printers for the common kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mitigate.timefmt import parse_rfc3339

from .resources import Resource
from .selectors import field_value, selector_to_string

Obj = dict[str, Any]
Col = tuple[str, str, Callable[[Obj], Any]]  # name, type, cell
# priority-1 columns, shown only by `kubectl get -o wide`
WIDE = {("", "nodes"): {"Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"},
        ("", "pods"): {"IP", "Node", "Nominated Node", "Readiness Gates"},
        ("apps", "deployments"): {"Containers", "Images", "Selector"},
        ("apps", "replicasets"): {"Containers", "Images", "Selector"},
        ("", "replicationcontrollers"): {"Containers", "Images", "Selector"},
        ("batch", "jobs"): {"Containers", "Images", "Selector"}}


def human_age(ts: str | None, now: datetime | None = None) -> str:
    """kubectl's HumanDuration: 45s, 3m20s, 5h, 12d, 2y."""
    if not ts:
        return "<unknown>"
    try:
        then = parse_rfc3339(ts, assume_utc=False)
    except ValueError:
        return "<invalid>"
    s = int(((now or datetime.now(UTC)) - then).total_seconds())
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    return f"{d}d" if d < 365 * 2 else f"{d // 365}y"


def _age(o: Obj) -> str:
    return human_age((o.get("metadata") or {}).get("creationTimestamp"))


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def _cond(o: Obj, t: str) -> str | None:
    for c in (o.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == t:
            return str(c.get("status"))
    return None


def _node_status(o: Obj) -> str:
    ready = _cond(o, "Ready")
    # as the API server's node printer: any Ready status but True (False, Unknown) is NotReady;
    # a node without a Ready condition is Unknown
    s = "Unknown" if ready is None else "Ready" if ready == "True" else "NotReady"
    if (o.get("spec") or {}).get("unschedulable"):
        s += ",SchedulingDisabled"
    return s


def _node_roles(o: Obj) -> str:
    labels = (o.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    return ",".join(r for r in roles if r) or "<none>"


def _pod_ready(o: Obj) -> str:
    cs = (o.get("status") or {}).get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for c in cs if c.get('ready'))}/{total}"


def _pod_status(o: Obj) -> str:
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    st = o.get("status") or {}
    reason = str(st.get("reason") or st.get("phase") or "Pending")
    running = False
    for c in reversed(st.get("containerStatuses") or []):  # printPod: the first container's state wins
        state = c.get("state") or {}
        waiting, done = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = str(waiting["reason"])
        elif done and done.get("reason"):
            reason = str(done["reason"])  # Completed, Error, OOMKilled
        elif done:
            reason = f"Signal:{done['signal']}" if done.get("signal") else f"ExitCode:{done.get('exitCode', 0)}"
        elif c.get("ready") and "running" in state:
            running = True
    if reason == "Completed" and running:
        reason = "Running" if _cond(o, "Ready") == "True" else "NotReady"
    return reason


def _restarts(o: Obj) -> int:
    return sum(int(c.get("restartCount", 0)) for c in (o.get("status") or {}).get("containerStatuses") or [])


def _st(path: str, default: Any = 0) -> Callable[[Obj], Any]:
    def cell(o: Obj) -> Any:
        v = field_value(o, path)
        return v if v != "" else default
    return cell


def _ports(o: Obj) -> str:
    ps = (o.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ps) or "<none>"


def _address(kind: str) -> Callable[[Obj], str]:
    def cell(o: Obj) -> str:
        for a in (o.get("status") or {}).get("addresses") or []:
            if isinstance(a, dict) and a.get("type") == kind:
                return str(a.get("address", ""))
        return "<none>"
    return cell


def _none(o: Obj) -> str:
    return "<none>"


def _dig(o: Any, path: str) -> Any:
    for p in path.split("."):
        o = o.get(p) if isinstance(o, dict) else None
    return o


def _containers(field: str, prefix: str = "spec.template.spec") -> Callable[[Obj], str]:
    def cell(o: Obj) -> str:
        cs = _dig(o, f"{prefix}.containers") or []
        return ",".join(str(c.get(field, "")) for c in cs if isinstance(c, dict))
    return cell


def _selector(o: Obj) -> str:
    sel = _dig(o, "spec.selector")
    if not isinstance(sel, dict):
        return "<none>"
    if "matchLabels" not in sel and "matchExpressions" not in sel:  # ReplicationController: a plain map
        return ",".join(f"{k}={v}" for k, v in sel.items()) or "<none>"
    return selector_to_string(sel) or "<none>"


def _job_status(o: Obj) -> str:
    for t in ("Complete", "Failed", "Suspended"):
        if _cond(o, t) == "True":
            return t
    return "Running"


def _job_completions(o: Obj) -> str:
    """printJob: succeeded/completions, or for a work queue (no completions) ``n/1 of parallelism``."""
    done = _dig(o, "status.succeeded") or 0
    if _dig(o, "spec.completions") is not None:
        return f"{done}/{_dig(o, 'spec.completions')}"
    parallelism = _dig(o, "spec.parallelism") or 0
    return f"{done}/1 of {parallelism}" if parallelism > 1 else f"{done}/1"


def _job_duration(o: Obj) -> str:
    """completionTime - startTime, or the time since startTime while it runs (kubectl's DURATION)."""
    start, end = _dig(o, "status.startTime"), _dig(o, "status.completionTime")
    if not start:
        return ""
    if not end:
        return human_age(start)
    try:
        done = datetime.strptime(str(end), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<invalid>"
    return human_age(str(start), done)


def _hpa_targets(o: Obj) -> str:
    """formatHPAMetrics: ``cpu: 40%/50%`` per metric (``<unknown>`` without a current value), two
    at most then ``+ N more...``."""
    specs = _dig(o, "spec.metrics") or []
    if not specs and _dig(o, "spec.targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        specs = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "averageUtilization": _dig(o, "spec.targetCPUUtilizationPercentage")}}}]
    if not specs:
        return "<none>"
    statuses = _dig(o, "status.currentMetrics") or []
    out = []
    for i, m in enumerate(specs):
        st = statuses[i] if i < len(statuses) and isinstance(statuses[i], dict) else {}
        if not isinstance(m, dict) or m.get("type") not in ("Resource", "Pods", "Object", "External"):
            out.append("<unknown type>")
            continue
        if m["type"] != "Resource":  # Pods, Object, External: current/target values (the sandbox has none)
            field = m["type"][0].lower() + m["type"][1:]
            tgt = ((m.get(field) or {}).get("target") or {})
            cur = ((st.get(field) or {}).get("current") or {})
            avg = "averageValue" in tgt
            key = "averageValue" if avg else "value"
            out.append(f"{cur.get(key, '<unknown>')}/{tgt.get(key, '')}" + (" (avg)" if avg and field == "external"
                                                                             else ""))
            continue
        res = m.get("resource") or {}
        target = res.get("target") or {}
        current = ((st.get("resource") or {}).get("current") or {})
        if target.get("averageValue") is not None:
            out.append(f"{res.get('name')}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}")
        else:
            cur = f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
            want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
            out.append(f"{res.get('name')}: {cur}/{want}")
    more = len(out) - 2
    text = ", ".join(out[:2])
    return f"{text} + {more} more..." if more > 0 else text


def _hpa_ref(o: Obj) -> str:
    ref = _dig(o, "spec.scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


_WIDE_WORKLOAD: list[Col] = [("Containers", "string", _containers("name")), ("Images", "string", _containers("image")),
                             ("Selector", "string", _selector)]


NAME: Col = ("Name", "string", _name)
AGE: Col = ("Age", "string", _age)
COLUMNS: dict[tuple[str, str], list[Col]] = {
    ("", "nodes"): [NAME, ("Status", "string", _node_status), ("Roles", "string", _node_roles), AGE,
                    ("Version", "string", _st("status.nodeInfo.kubeletVersion", "")),
                    ("Internal-IP", "string", _address("InternalIP")), ("External-IP", "string", _address("ExternalIP")),
                    ("OS-Image", "string", _st("status.nodeInfo.osImage", "<unknown>")),
                    ("Kernel-Version", "string", _st("status.nodeInfo.kernelVersion", "<unknown>")),
                    ("Container-Runtime", "string", _st("status.nodeInfo.containerRuntimeVersion", "<unknown>"))],
    ("", "pods"): [NAME, ("Ready", "string", _pod_ready), ("Status", "string", _pod_status),
                   ("Restarts", "integer", _restarts), AGE, ("IP", "string", _st("status.podIP", "<none>")),
                   ("Node", "string", _st("spec.nodeName", "<none>")), ("Nominated Node", "string", _none),
                   ("Readiness Gates", "string", _none)],
    ("", "namespaces"): [NAME, ("Status", "string", _st("status.phase", "Active")), AGE],
    ("", "services"): [NAME, ("Type", "string", _st("spec.type", "ClusterIP")),
                       ("Cluster-IP", "string", _st("spec.clusterIP", "<none>")),
                       ("External-IP", "string", lambda o: "<none>"), ("Port(s)", "string", _ports), AGE],
    ("apps", "deployments"): [
        NAME, ("Ready", "string", lambda o: f"{field_value(o, 'status.readyReplicas') or 0}/"
               f"{field_value(o, 'spec.replicas') or 1}"),
        ("Up-to-date", "integer", _st("status.updatedReplicas")),
        ("Available", "integer", _st("status.availableReplicas")), AGE, *_WIDE_WORKLOAD],
    ("apps", "replicasets"): [NAME, ("Desired", "integer", _st("spec.replicas")),
                              ("Current", "integer", _st("status.replicas")),
                              ("Ready", "integer", _st("status.readyReplicas")), AGE, *_WIDE_WORKLOAD],
    ("", "replicationcontrollers"): [NAME, ("Desired", "integer", _st("spec.replicas", 1)),
                                     ("Current", "integer", _st("status.replicas")),
                                     ("Ready", "integer", _st("status.readyReplicas")), AGE, *_WIDE_WORKLOAD],
    ("batch", "jobs"): [NAME, ("Status", "string", _job_status),
                        ("Completions", "string", _job_completions),
                        ("Duration", "string", _job_duration), AGE, *_WIDE_WORKLOAD],
    ("batch", "cronjobs"): [NAME, ("Schedule", "string", _st("spec.schedule", "")),
                            ("Timezone", "string", _st("spec.timeZone", "<none>")),
                            ("Suspend", "boolean", _st("spec.suspend", False)),
                            ("Active", "integer", lambda o: len(_dig(o, "status.active") or [])),
                            ("Last Schedule", "string", lambda o: human_age(_dig(o, "status.lastScheduleTime"))
                             if _dig(o, "status.lastScheduleTime") else "<none>"), AGE],
    ("autoscaling", "horizontalpodautoscalers"): [
        NAME, ("Reference", "string", _hpa_ref), ("Targets", "string", _hpa_targets),
        ("MinPods", "string", lambda o: str(_dig(o, "spec.minReplicas")) if _dig(o, "spec.minReplicas") is not None
         else "<unset>"), ("MaxPods", "integer", _st("spec.maxReplicas")),
        ("Replicas", "integer", _st("status.currentReplicas")), AGE],
    ("rbac.authorization.k8s.io", "rolebindings"): [
        NAME, ("Role", "string", lambda o: f"{field_value(o, 'roleRef.kind')}/{field_value(o, 'roleRef.name')}"), AGE],
    ("rbac.authorization.k8s.io", "clusterrolebindings"): [
        NAME, ("Role", "string", lambda o: f"{field_value(o, 'roleRef.kind')}/{field_value(o, 'roleRef.name')}"), AGE],
    ("rbac.authorization.k8s.io", "roles"): [NAME, ("Created At", "date", _st("metadata.creationTimestamp", ""))],
    ("rbac.authorization.k8s.io", "clusterroles"): [NAME, ("Created At", "date",
                                                           _st("metadata.creationTimestamp", ""))],
    ("storage.k8s.io", "storageclasses"): [
        NAME, ("Provisioner", "string", _st("provisioner", "")),
        ("ReclaimPolicy", "string", _st("reclaimPolicy", "Delete")),
        ("VolumeBindingMode", "string", _st("volumeBindingMode", "Immediate")),
        ("AllowVolumeExpansion", "boolean", _st("allowVolumeExpansion", False)), AGE],
    ("discovery.k8s.io", "endpointslices"): [
        NAME, ("AddressType", "string", _st("addressType", "")),
        ("Ports", "string", lambda o: ",".join(str(p.get("port", "")) for p in o.get("ports") or []) or "<unset>"),
        ("Endpoints", "string", lambda o: ",".join(a for e in o.get("endpoints") or [] for a in e.get("addresses") or [])
         or "<unset>"), AGE],
    ("apiregistration.k8s.io", "apiservices"): [
        NAME, ("Service", "string", lambda o: f"{field_value(o, 'spec.service.namespace')}/"
               f"{field_value(o, 'spec.service.name')}" if _dig(o, "spec.service") else "Local"),
        ("Available", "string", lambda o: _cond(o, "Available") or "Unknown"), AGE],
    ("apps", "statefulsets"): [NAME, ("Ready", "string", lambda o: f"{field_value(o, 'status.readyReplicas') or 0}/"
                                      f"{field_value(o, 'spec.replicas') or 1}"), AGE],
    ("apps", "daemonsets"): [NAME, ("Desired", "integer", _st("status.desiredNumberScheduled")),
                             ("Current", "integer", _st("status.currentNumberScheduled")),
                             ("Ready", "integer", _st("status.numberReady")),
                             ("Up-to-date", "integer", _st("status.updatedNumberScheduled")),
                             ("Available", "integer", _st("status.numberAvailable")), AGE],
    ("policy", "poddisruptionbudgets"): [NAME, ("Min Available", "string", _st("spec.minAvailable", "N/A")),
                                         ("Max Unavailable", "string", _st("spec.maxUnavailable", "N/A")),
                                         ("Allowed Disruptions", "integer", _st("status.disruptionsAllowed")),
                                         AGE],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [NAME, ("Created At", "date", _st(
        "metadata.creationTimestamp", ""))],
    ("cluster.x-k8s.io", "machines"): [NAME, ("Cluster", "string", _st("spec.clusterName", "")),
                                       ("NodeName", "string", _st("status.nodeRef.name", "")),
                                       ("Phase", "string", _st("status.phase", "")), AGE],
    ("cluster.x-k8s.io", "machinesets"): [NAME, ("Cluster", "string", _st("spec.clusterName", "")),
                                          ("Replicas", "integer", _st("spec.replicas")),
                                          ("Ready", "integer", _st("status.readyReplicas")), AGE],
    ("flowcontrol.apiserver.k8s.io", "flowschemas"): [
        NAME, ("PriorityLevel", "string", _st("spec.priorityLevelConfiguration.name", "")),
        ("MatchingPrecedence", "integer", _st("spec.matchingPrecedence", 1000)), AGE],
}


def _printer_columns(r: Resource) -> list[Col]:
    cols: list[Col] = [NAME]
    for c in r.printer_columns:
        path = str(c.get("jsonPath", "")).lstrip(".")
        cols.append((str(c.get("name", path)), str(c.get("type", "string")), _st(path, "")))
    if not any(c.get("jsonPath") == ".metadata.creationTimestamp" for c in r.printer_columns):
        cols.append(AGE)
    return cols


def columns_for(r: Resource) -> list[Col]:
    return COLUMNS.get(r.key) or _printer_columns(r)


SCALE_COLUMNS: list[Col] = [NAME, ("Desired", "integer", _st("spec.replicas")),
                            ("Available", "integer", _st("status.replicas"))]


def table(r: Resource, objs: list[Obj], rv: str, include: str = "Metadata", cont: str = "",
          cols: list[Col] | None = None) -> Obj:
    cols = cols or columns_for(r)
    wide = WIDE.get(r.key, set())
    rows = []
    for o in objs:
        row: Obj = {"cells": [c[2](o) for c in cols]}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o.get("metadata", {})}
        rows.append(row)
    meta: Obj = {"resourceVersion": rv}
    if cont:
        meta["continue"] = cont
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": [{"name": n, "type": t, "format": "name" if n == "Name" else "",
                                   "description": n, "priority": 1 if n in wide else 0} for n, t, _ in cols],
            "rows": rows}
