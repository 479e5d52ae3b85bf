"""Structural validation of objects, as the API server's schemas would reject them (422).

Only the shapes the sandbox itself reads are checked (metadata, selectors, templates,
replicas, containers, PDB budgets, CRD names), so that a malformed object from a scenario
or a client is refused with a field path instead of breaking the simulation later.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import cron

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
    _typed(causes, obj, "metadata.name", str, "a string")
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
    if isinstance(meta.get("name"), str) and meta["name"]:
        causes += name_causes(key, meta["name"])
    causes += label_causes(meta.get("labels"))
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
    elif key in (("batch", "jobs"), ("batch", "cronjobs")):
        path = "spec.template" if key[1] == "jobs" else "spec.jobTemplate.spec.template"
        _typed(causes, obj, path, dict, "a pod template")
        _typed(causes, obj, f"{path}.spec", dict, "an object")
        if not causes:
            _containers(causes, _dig(obj, f"{path}.spec.containers"), f"{path}.spec.containers")
            policy = _dig(obj, f"{path}.spec.restartPolicy")
            if policy not in (None, "OnFailure", "Never"):
                causes.append((f"{path}.spec.restartPolicy", f'Unsupported value: "{policy}": supported values: '
                               '"OnFailure", "Never"'))
        if key[1] == "jobs" and _dig(obj, "spec.completionMode") == "Indexed" and _dig(obj, "spec.completions") is None:
            causes.append(("spec.completions", "Required value: when completion mode is Indexed"))
        if key[1] == "cronjobs" and isinstance(_dig(obj, "spec.schedule"), str):
            sched = obj["spec"]["schedule"]
            try:
                cron.parse(sched)
            except cron.CronError as e:
                causes.append(("spec.schedule", f"Invalid value: {_quote(sched)}: {e}"))
            if "TZ" in sched:
                causes.append(("spec.schedule", f"Invalid value: {_quote(sched)}: cannot use TZ or CRON_TZ in "
                               "schedule, use timeZone field instead"))
            tz = _dig(obj, "spec.timeZone")
            if isinstance(tz, str):
                try:
                    cron.parse("* * * * *", tz)
                except cron.CronError:
                    causes.append(("spec.timeZone", f"Invalid value: {_quote(tz)}: unknown time zone {tz}"))
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
    elif key[0] == "admissionregistration.k8s.io" and key[1].endswith("webhookconfigurations"):
        _webhooks(causes, obj.get("webhooks"))
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


def _webhooks(causes: Causes, hooks: Any) -> None:
    """What admissionregistration/v1 validation refuses of the fields the admission chain reads."""
    if hooks is None:
        return
    if not isinstance(hooks, list) or not all(isinstance(h, dict) for h in hooks):
        causes.append(("webhooks", "Invalid value: must be a list of webhooks"))
        return
    for i, h in enumerate(hooks):
        t = h.get("timeoutSeconds")
        if t is not None and (not isinstance(t, int) or isinstance(t, bool) or not 1 <= t <= 30):
            causes.append((f"webhooks[{i}].timeoutSeconds",
                           f"Invalid value: {json.dumps(t)}: the timeout value must be between 1 and 30 seconds"))
        fp = h.get("failurePolicy")
        if fp is not None and fp not in ("Fail", "Ignore"):
            causes.append((f"webhooks[{i}].failurePolicy",
                           f'Unsupported value: {json.dumps(fp)}: supported values: "Fail", "Ignore"'))


# ---------------------------------------------------------------- names, labels, immutable fields
# (the API server's apimachinery validation messages, word for word)

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
_NAME_PART_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                  "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                  "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
              "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
              "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
_PATH_SEGMENT = {("rbac.authorization.k8s.io", p) for p in ("roles", "clusterroles", "rolebindings",
                                                            "clusterrolebindings")}
_LABEL_NAMED = {("", "namespaces")}
_DNS1035_NAMED = {("", "services")}


def _quote(v: str) -> str:
    return json.dumps(v)


def name_causes(key: tuple[str, str], name: str) -> Causes:
    """metadata.name against the rule of its kind (path segment, DNS-1035/1123 label, subdomain)."""
    bad = f"Invalid value: {_quote(name)}: "
    if key in _PATH_SEGMENT or key[0].endswith(".x-k8s.io"):
        for bad_name in (".", ".."):
            if name == bad_name:
                return [("metadata.name", f"{bad}may not be '{bad_name}'")]
        for ch in ("/", "%"):
            if ch in name:
                return [("metadata.name", f"{bad}may not contain '{ch}'")]
        return []
    if key in _LABEL_NAMED or key in _DNS1035_NAMED:
        rule, msg = (_DNS1035_LABEL, _DNS1035_MSG) if key in _DNS1035_NAMED else (_DNS1123_LABEL, _LABEL_MSG)
        causes: Causes = []
        if len(name) > 63:
            causes.append(("metadata.name", f"{bad}must be no more than 63 characters"))
        if not rule.fullmatch(name):
            causes.append(("metadata.name", bad + msg))
        return causes
    causes = []
    if len(name) > 253:
        causes.append(("metadata.name", f"{bad}must be no more than 253 characters"))
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        causes.append(("metadata.name", bad + _SUBDOMAIN_MSG))
    return causes


def label_causes(labels: Any, path: str = "metadata.labels") -> Causes:
    if not isinstance(labels, dict):
        return []
    causes: Causes = []
    for k, v in labels.items():
        if not isinstance(k, str) or not isinstance(v, str):
            continue  # shape errors are reported by shape_causes
        prefix, slash, name = k.rpartition("/")
        bad = f"Invalid value: {_quote(k)}: "
        if slash and not prefix:
            causes.append((path, f"{bad}prefix part must be non-empty"))
        elif prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
            causes.append((path, f"{bad}prefix part {_SUBDOMAIN_MSG}"))
        if not name:
            causes.append((path, f"{bad}name part must be non-empty"))
        else:
            if len(name) > 63:
                causes.append((path, f"{bad}name part must be no more than 63 characters"))
            if not _QUALIFIED_NAME.fullmatch(name):
                causes.append((path, bad + _NAME_PART_MSG))
        vbad = f"Invalid value: {_quote(v)}: "
        if len(v) > 63:
            causes.append((path, f"{vbad}must be no more than 63 characters"))
        if not _LABEL_VALUE.fullmatch(v):
            causes.append((path, vbad + _VALUE_MSG))
    return causes


# fields a real API server refuses to change after creation
IMMUTABLE: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "deployments"): ("spec.selector",),
    ("apps", "replicasets"): ("spec.selector",),
    ("apps", "daemonsets"): ("spec.selector",),
    ("apps", "statefulsets"): ("spec.selector", "spec.serviceName", "spec.volumeClaimTemplates",
                               "spec.podManagementPolicy"),
    ("batch", "jobs"): ("spec.selector", "spec.completionMode"),
    ("", "services"): ("spec.clusterIP",),
    ("rbac.authorization.k8s.io", "rolebindings"): ("roleRef",),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): ("roleRef",),
    ("storage.k8s.io", "storageclasses"): ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"),
    ("", "persistentvolumeclaims"): ("spec.storageClassName", "spec.volumeName", "spec.accessModes"),
}
_POD_MUTABLE_MSG = ("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
                    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
                    "to 1 if it was previously negative)")


def _pod_spec_frozen(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    out = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations",
                                                       "terminationGracePeriodSeconds", "schedulingGates")}
    for f in ("containers", "initContainers"):
        if isinstance(out.get(f), list):
            out[f] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c for c in out[f]]
    return out


def update_causes(key: tuple[str, str], old: Obj, new: Obj) -> Causes:
    """Changes a client may not make to an existing object (immutable fields)."""
    causes: Causes = []
    for path in IMMUTABLE.get(key, ()):
        before, after = _dig(old, path), _dig(new, path)
        if before is not None and before != after:
            causes.append((path, f"Invalid value: {json.dumps(after, separators=(',', ':'))}: field is immutable"))
    if key == ("", "pods") and _pod_spec_frozen(old.get("spec")) != _pod_spec_frozen(new.get("spec")):
        causes.append(("spec", _POD_MUTABLE_MSG))
    if key[1] in ("configmaps", "secrets") and old.get("immutable") is True:
        for f in ("data", "binaryData", "immutable"):
            if old.get(f) != new.get(f):
                causes.append((f, "Forbidden: field is immutable when `immutable` is set"))
    return causes
