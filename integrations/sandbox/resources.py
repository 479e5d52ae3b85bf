"""The resource registry: which kinds the sandbox serves and how discovery describes them.

Built-in kinds are listed once here; custom resources are added and removed at run time
when CustomResourceDefinitions are created and finally deleted, so discovery (which
kubectl and the DynamicClient read) always matches what the store accepts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    """One served resource (all versions share storage; ``versions[0]`` is preferred)."""

    group: str
    versions: tuple[str, ...]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    custom: bool = False  # custom resources refuse strategic-merge patches (415)
    printer_columns: tuple[dict[str, Any], ...] = ()
    required: tuple[str, ...] = ()  # dotted paths that must be present (422 otherwise)
    verbs: tuple[str, ...] = tuple(VERBS)

    key: tuple[str, str] = field(init=False, repr=False, compare=False)  # (group, plural), looked up per object

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.group, self.plural))  # a field, not a property: seeding asks 300k times

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


def _r(group: str, versions: str, plural: str, kind: str, namespaced: bool = True, short: str = "",
       sub: str = "", custom: bool = False, required: str = "") -> Resource:
    return Resource(group, tuple(versions.split()), plural, kind.lower(), kind, namespaced,
                    tuple(short.split()), tuple(sub.split()), custom, (), tuple(required.split()))


_CONTAINERS = "spec.containers"
BUILTIN: tuple[Resource, ...] = (
    _r("", "v1", "namespaces", "Namespace", False, "ns", "status finalize"),
    _r("", "v1", "nodes", "Node", False, "no", "status"),
    _r("", "v1", "pods", "Pod", True, "po", "status eviction log", required=_CONTAINERS),
    _r("", "v1", "services", "Service", True, "svc", "status"),
    _r("", "v1", "endpoints", "Endpoints", True, "ep"),
    _r("", "v1", "configmaps", "ConfigMap", True, "cm"),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "events", "Event", True, "ev", required="involvedObject"),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _r("", "v1", "limitranges", "LimitRange", True, "limits"),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, "quota", "status"),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", "status"),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, "pv", "status"),
    _r("", "v1", "replicationcontrollers", "ReplicationController", True, "rc", "status scale"),
    _r("apps", "v1", "deployments", "Deployment", True, "deploy", "status scale",
       required="spec.selector spec.template"),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, "rs", "status scale", required="spec.selector"),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, "ds", "status",
       required="spec.selector spec.template"),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, "sts", "status scale",
       required="spec.selector spec.template"),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", "status"),
    _r("batch", "v1", "jobs", "Job", True, "", "status", required="spec.template"),
    _r("batch", "v1", "cronjobs", "CronJob", True, "cj", "status", required="spec.schedule spec.jobTemplate"),
    _r("autoscaling", "v2 v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "status",
       required="spec.scaleTargetRef spec.maxReplicas"),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, required="roleRef"),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, required="roleRef"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, required="addressType"),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc", required="provisioner"),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, "pc"),
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, "", "status"),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, "ing", "status"),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    _r("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", False, "", "status",
       required="spec.priorityLevelConfiguration"),
    _r("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration",
       False, "", "status", required="spec.type"),
    _r("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", False),
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", False),
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       "crd crds", "status", required="spec.group spec.names.plural spec.names.kind spec.versions spec.scope"),
    _r("cluster.x-k8s.io", "v1beta1", "clusters", "Cluster", True, "cl", "status", custom=True),
    _r("cluster.x-k8s.io", "v1beta1", "machines", "Machine", True, "ma", "status", custom=True,
       required="spec.clusterName"),
    _r("cluster.x-k8s.io", "v1beta1", "machinesets", "MachineSet", True, "ms", "status scale", custom=True,
       required="spec.clusterName"),
    _r("cluster.x-k8s.io", "v1beta1", "machinedeployments", "MachineDeployment", True, "md",
       "status scale", custom=True, required="spec.clusterName"),
    # answered, never stored (see REVIEWS): `kubectl auth can-i`, `auth can-i --list`, `auth whoami`
    Resource("authorization.k8s.io", ("v1",), "selfsubjectaccessreviews", "selfsubjectaccessreview",
             "SelfSubjectAccessReview", False, verbs=("create",)),
    Resource("authorization.k8s.io", ("v1",), "selfsubjectrulesreviews", "selfsubjectrulesreview",
             "SelfSubjectRulesReview", False, verbs=("create",)),
    Resource("authentication.k8s.io", ("v1",), "selfsubjectreviews", "selfsubjectreview",
             "SelfSubjectReview", False, verbs=("create",)),
)
REVIEW_KEY = ("authorization.k8s.io", "selfsubjectaccessreviews")
REVIEW_KEYS = {REVIEW_KEY, ("authorization.k8s.io", "selfsubjectrulesreviews"),
               ("authentication.k8s.io", "selfsubjectreviews")}
# storages with ReturnDeletedObject: a DELETE answers with the object, not a Status
RETURNS_DELETED = {("", "pods"), ("", "services"), ("", "serviceaccounts"), ("", "namespaces"),
                   ("storage.k8s.io", "storageclasses"), ("apiextensions.k8s.io", "customresourcedefinitions")}
# field selectors each resource supports (the API server's GetAttrs/field label conversions)
_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
FIELD_LABELS: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): _META_FIELDS | {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                  "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                                  "status.podIPs", "status.nominatedNodeName"},
    ("", "nodes"): _META_FIELDS | {"spec.unschedulable"},
    ("", "events"): _META_FIELDS | {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                    "involvedObject.uid", "involvedObject.apiVersion",
                                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                    "reportingComponent", "source", "type"},
    ("", "secrets"): _META_FIELDS | {"type"},
    ("", "namespaces"): _META_FIELDS | {"status.phase"},
    ("", "replicationcontrollers"): _META_FIELDS | {"status.replicas"},
    ("apps", "replicasets"): _META_FIELDS | {"status.replicas"},
    ("batch", "jobs"): _META_FIELDS | {"status.successful"},
}


def field_labels(r: Resource) -> frozenset[str]:
    return FIELD_LABELS.get(r.key, _META_FIELDS)


ALL_CATEGORY = {("", "pods"), ("", "services"), ("", "replicationcontrollers"), ("apps", "deployments"),
                ("apps", "replicasets"), ("apps", "daemonsets"), ("apps", "statefulsets"), ("batch", "jobs"),
                ("batch", "cronjobs"), ("autoscaling", "horizontalpodautoscalers")}  # what `kubectl get all` lists

SUBRESOURCE_KIND = {"eviction": ("Eviction", "policy", "v1"), "scale": ("Scale", "autoscaling", "v1"),
                    "finalize": (None, None, None), "status": (None, None, None), "log": ("Pod", None, None)}


def resource_from_crd(crd: dict[str, Any]) -> Resource:
    """The Resource a CRD defines (its served versions, storage version first)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    vers = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
    vers.sort(key=lambda v: not v.get("storage", False))
    cols: tuple[dict[str, Any], ...] = ()
    subs: list[str] = []
    if vers:
        cols = tuple(vers[0].get("additionalPrinterColumns") or ())
        subs = [s for s in ("status", "scale") if s in (vers[0].get("subresources") or {})]
    return Resource(
        group=str(spec.get("group", "")), versions=tuple(str(v.get("name")) for v in vers) or ("v1",),
        plural=str(names.get("plural", "")), singular=str(names.get("singular") or names.get("kind", "")).lower(),
        kind=str(names.get("kind", "")), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short=tuple(names.get("shortNames") or ()), subresources=tuple(subs), custom=True,
        printer_columns=cols,
    )


@dataclass
class Registry:
    """Served resources of one cluster, looked up by (group, plural) and by any name users type."""

    by_key: dict[tuple[str, str], Resource] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def builtin(cls) -> Registry:
        reg = cls()
        for r in BUILTIN:
            reg.add(r)
        return reg

    def add(self, r: Resource) -> None:
        with self.lock:
            self.by_key[r.key] = r

    def remove(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.by_key.pop(key, None)

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        r = self.by_key.get((group, plural))
        return r if r is not None and version in r.versions else None

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        for r in list(self.by_key.values()):
            if r.group == group and r.kind == kind and version in r.versions:
                return r
        return None

    def lookup(self, name: str) -> Resource:
        """A resource by plural, singular, kind, short name or ``plural.group`` (for tests)."""
        plain, _, group = name.partition(".")
        for r in list(self.by_key.values()):
            if group and r.group != group:
                continue
            if plain in (r.plural, r.singular, r.kind) or plain in r.short:
                return r
        raise KeyError(f"unknown resource {name!r}")

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions (preferred first), core group excluded."""
        out: dict[str, list[str]] = {}
        for r in list(self.by_key.values()):
            if not r.group:
                continue
            vs = out.setdefault(r.group, [])
            for v in r.versions:
                if v not in vs:
                    vs.append(v)
        return out

    def in_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in list(self.by_key.values()) if r.group == group and version in r.versions]

    def resource_list(self, group: str, version: str) -> dict[str, Any]:
        """The APIResourceList discovery document for one group/version."""
        items: list[dict[str, Any]] = []
        for r in sorted(self.in_version(group, version), key=lambda x: x.plural):
            entry: dict[str, Any] = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                                     "kind": r.kind, "verbs": list(r.verbs)}
            if r.short:
                entry["shortNames"] = list(r.short)
            if r.key in ALL_CATEGORY:
                entry["categories"] = ["all"]
            items.append(entry)
            for sub in r.subresources:
                kind, g, v = SUBRESOURCE_KIND[sub]
                s: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                                     "kind": kind or r.kind}
                if sub == "eviction":
                    s["verbs"] = ["create"]
                elif sub == "log":
                    s["verbs"] = ["get"]
                else:
                    s["verbs"] = ["get", "patch", "update"]
                if g is not None:
                    s["group"], s["version"] = g, v
                items.append(s)
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": items}
