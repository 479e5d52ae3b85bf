"""Structural validation of objects, as the API server's schemas would reject them (422).

Only the shapes the sandbox itself reads are checked (metadata, selectors, templates,
replicas, containers, PDB budgets, CRD names), so that a malformed object from a scenario
or a client is refused with a field path instead of breaking the simulation later.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
Causes = list[tuple[str, str]]

_WORKLOADS = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "daemonsets"), ("apps", "statefulsets"),
              ("cluster.x-k8s.io", "machinesets"), ("cluster.x-k8s.io", "machinedeployments")}


def _dig(obj: Any, path: str) -> Any:
    for p in path.split("."):
        obj = obj.get(p) if isinstance(obj, dict) else None
    return obj


def _str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


def _containers(causes: Causes, v: Any, path: str) -> None:
    if v is None:
        return
    if not isinstance(v, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in v):
        causes.append((path, "Invalid value: must be a list of containers, each with a name"))


def _typed(causes: Causes, obj: Obj, path: str, kind: type | tuple[type, ...], what: str) -> None:
    v = _dig(obj, path)
    if v is not None and (not isinstance(v, kind) or (kind is int and isinstance(v, bool))):
        causes.append((path, f"Invalid value: must be {what}"))


def _intstr(causes: Causes, obj: Obj, path: str) -> None:
    v = _dig(obj, path)
    if v is None:
        return
    ok = (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or (
        isinstance(v, str) and v.endswith("%") and v[:-1].isdigit())
    if not ok:
        causes.append((path, "Invalid value: must be a non-negative integer or a percentage"))


def shape_causes(key: tuple[str, str], obj: Obj) -> Causes:
    """Problems with the shape of ``obj`` (a resource identified by (group, plural))."""
    causes: Causes = []
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [("metadata", "Invalid value: must be an object")]
    _typed(causes, obj, "metadata.namespace", str, "a string")
    for f in ("labels", "annotations"):
        if meta.get(f) is not None and not _str_map(meta[f]):
            causes.append((f"metadata.{f}", "Invalid value: must map strings to strings"))
    fins = meta.get("finalizers")
    if fins is not None and not (isinstance(fins, list) and all(isinstance(x, str) for x in fins)):
        causes.append(("metadata.finalizers", "Invalid value: must be a list of strings"))
    refs = meta.get("ownerReferences")
    if refs is not None and not (isinstance(refs, list) and all(
            isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("apiVersion", "kind", "name", "uid"))
            for r in refs)):
        causes.append(("metadata.ownerReferences", "Invalid value: each needs apiVersion, kind, name and uid"))
    for f in ("spec", "status"):
        if obj.get(f) is not None and not isinstance(obj[f], dict):
            causes.append((f, "Invalid value: must be an object"))
    if causes:
        return causes
    if key[1] in ("configmaps", "secrets") and obj.get("data") is not None and not _str_map(obj["data"]):
        causes.append(("data", "Invalid value: must map strings to strings"))
    if key in _WORKLOADS:
        _typed(causes, obj, "spec.replicas", int, "an integer")
        if isinstance(_dig(obj, "spec.replicas"), int) and _dig(obj, "spec.replicas") < 0:
            causes.append(("spec.replicas", "Invalid value: must be greater than or equal to 0"))
        _typed(causes, obj, "spec.selector", dict, "a label selector")
        _typed(causes, obj, "spec.template", dict, "a pod template")
        _typed(causes, obj, "spec.template.metadata", dict, "an object")
        _typed(causes, obj, "spec.template.spec", dict, "an object")
        if not key[0].startswith("cluster"):
            _containers(causes, _dig(obj, "spec.template.spec.containers"), "spec.template.spec.containers")
    elif key == ("", "pods"):
        _containers(causes, _dig(obj, "spec.containers"), "spec.containers")
        _typed(causes, obj, "spec.nodeName", str, "a string")
        _typed(causes, obj, "status.conditions", list, "a list")
        _typed(causes, obj, "status.containerStatuses", list, "a list")
    elif key == ("", "nodes"):
        _typed(causes, obj, "spec.unschedulable", bool, "true or false")
        _typed(causes, obj, "status.conditions", list, "a list")
    elif key == ("policy", "poddisruptionbudgets"):
        _typed(causes, obj, "spec.selector", dict, "a label selector")
        _intstr(causes, obj, "spec.minAvailable")
        _intstr(causes, obj, "spec.maxUnavailable")
    elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        for f in ("spec.group", "spec.names.plural", "spec.names.kind"):
            _typed(causes, obj, f, str, "a string")
        vers = _dig(obj, "spec.versions")
        if vers is not None and not (isinstance(vers, list) and all(
                isinstance(v, dict) and isinstance(v.get("name"), str) for v in vers)):
            causes.append(("spec.versions", "Invalid value: must be a list of versions, each with a name"))
        if _dig(obj, "spec.scope") not in (None, "Namespaced", "Cluster"):
            causes.append(("spec.scope", 'Unsupported value: must be "Namespaced" or "Cluster"'))
    return causes
