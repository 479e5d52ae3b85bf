"""The resource registry: which kinds the sandbox serves, as one table entry each.

A :class:`Resource` is everything the server knows of one kind: discovery (names, verbs,
short names, categories, subresources), routing (which verbs and subresources a request may
name), field selectors, how DELETE answers, whether it is stored at all, and its storage
strategy (:mod:`.storage`). Built-in kinds are listed once in :data:`BUILTIN`; custom
resources are added and removed at run time when CustomResourceDefinitions are created and
finally deleted, so discovery (which kubectl and the DynamicClient read) always matches what
the store accepts. Subresources are the :data:`SUBRESOURCES` table.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .storage import CRDS, DEFAULT_STRATEGY, JOBS, NAMESPACES, PODS, SERVICE_ACCOUNTS, SERVICES, Strategy

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
"""The field selectors every resource supports."""


@dataclass(frozen=True)
class Subresource:
    """One subresource as discovery lists it and routing accepts it."""

    name: str
    verbs: tuple[str, ...]
    """The verbs discovery lists; a request naming another verb is refused (405)."""
    kind: str | None = None
    """The kind its requests and answers are (None: the parent's own)."""
    group: str | None = None
    version: str | None = None


SUBRESOURCES: dict[str, Subresource] = {s.name: s for s in (
    Subresource("status", ("get", "patch", "update")),
    Subresource("finalize", ("get", "patch", "update")),
    Subresource("scale", ("get", "patch", "update"), "Scale", "autoscaling", "v1"),
    Subresource("eviction", ("create",), "Eviction", "policy", "v1"),
    Subresource("log", ("get",), "Pod"),
    Subresource("token", ("create",), "TokenRequest", "authentication.k8s.io", "v1"),
)}


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
    categories: tuple[str, ...] = ()  # ``all``: what `kubectl get all` lists
    field_labels: frozenset[str] = META_FIELDS  # the field selectors it supports (the API server's GetAttrs)
    returns_deleted: bool = False  # its storage has ReturnDeletedObject: a DELETE answers with the object
    stored: bool = True  # False: a review, answered from RBAC and never stored
    strategy: Strategy = DEFAULT_STRATEGY  # what its storage does beyond the generic store

    key: tuple[str, str] = field(init=False, repr=False, compare=False)  # (group, plural), looked up per object

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.group, self.plural))  # a field, not a property: seeding asks 300k times

    def api_version(self, version: str | None = None) -> str:
        v = version or self.versions[0]
        return f"{self.group}/{v}" if self.group else v


def _r(group: str, versions: str, plural: str, kind: str, namespaced: bool = True, short: str = "",
       sub: str = "", custom: bool = False, required: str = "", *, all: bool = False, fields: str = "",
       returns_deleted: bool = False, strategy: Strategy = DEFAULT_STRATEGY) -> Resource:
    return Resource(group, tuple(versions.split()), plural, kind.lower(), kind, namespaced,
                    tuple(short.split()), tuple(sub.split()), custom, (), tuple(required.split()),
                    categories=("all",) if all else (), field_labels=META_FIELDS | set(fields.split()),
                    returns_deleted=returns_deleted, strategy=strategy)


def _review(group: str, plural: str, kind: str) -> Resource:
    """A review: ``create`` only, answered from the RBAC rules for the requesting user, never stored
    (`kubectl auth can-i`, `auth can-i --list`, `auth whoami`)."""
    return Resource(group, ("v1",), plural, kind.lower(), kind, False, verbs=("create",), stored=False)



_CONTAINERS = "spec.containers"
_POD_FIELDS = ("spec.nodeName spec.restartPolicy spec.schedulerName spec.serviceAccountName spec.hostNetwork "
               "status.phase status.podIP status.podIPs status.nominatedNodeName")
_EVENT_FIELDS = ("involvedObject.kind involvedObject.namespace involvedObject.name involvedObject.uid "
                 "involvedObject.apiVersion involvedObject.resourceVersion involvedObject.fieldPath reason "
                 "reportingComponent source type")
BUILTIN: tuple[Resource, ...] = (
    _r("", "v1", "namespaces", "Namespace", False, "ns", "status finalize", fields="status.phase",
       returns_deleted=True, strategy=NAMESPACES),
    _r("", "v1", "nodes", "Node", False, "no", "status", fields="spec.unschedulable"),
    _r("", "v1", "pods", "Pod", True, "po", "status eviction log", required=_CONTAINERS, all=True,
       fields=_POD_FIELDS, returns_deleted=True, strategy=PODS),
    _r("", "v1", "services", "Service", True, "svc", "status", all=True, returns_deleted=True, strategy=SERVICES),
    _r("", "v1", "endpoints", "Endpoints", True, "ep"),
    _r("", "v1", "configmaps", "ConfigMap", True, "cm"),
    _r("", "v1", "secrets", "Secret", True, fields="type"),
    _r("", "v1", "events", "Event", True, "ev", required="involvedObject", fields=_EVENT_FIELDS),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, "sa", "token", returns_deleted=True,
       strategy=SERVICE_ACCOUNTS),
    _r("", "v1", "limitranges", "LimitRange", True, "limits"),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, "quota", "status"),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc", "status"),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, "pv", "status"),
    _r("", "v1", "replicationcontrollers", "ReplicationController", True, "rc", "status scale", all=True,
       fields="status.replicas"),
    _r("apps", "v1", "deployments", "Deployment", True, "deploy", "status scale",
       required="spec.selector spec.template spec.template.spec.containers", all=True),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, "rs", "status scale", required="spec.selector", all=True,
       fields="status.replicas"),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, "ds", "status",
       required="spec.selector spec.template", all=True),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, "sts", "status scale",
       required="spec.selector spec.template", all=True),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb", "status"),
    _r("batch", "v1", "jobs", "Job", True, "", "status", required="spec.template", all=True,
       fields="status.successful", strategy=JOBS),
    _r("batch", "v1", "cronjobs", "CronJob", True, "cj", "status", required="spec.schedule spec.jobTemplate",
       all=True),
    _r("autoscaling", "v2 v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "status",
       required="spec.scaleTargetRef spec.maxReplicas", all=True),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, required="roleRef"),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, required="roleRef"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, required="addressType"),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc", required="provisioner",
       returns_deleted=True),
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
       "crd crds", "status", required="spec.group spec.names.plural spec.names.kind spec.versions spec.scope",
       returns_deleted=True, strategy=CRDS),
    _r("cluster.x-k8s.io", "v1beta1", "clusters", "Cluster", True, "cl", "status", custom=True),
    _r("cluster.x-k8s.io", "v1beta1", "machines", "Machine", True, "ma", "status", custom=True,
       required="spec.clusterName"),
    _r("cluster.x-k8s.io", "v1beta1", "machinesets", "MachineSet", True, "ms", "status scale", custom=True,
       required="spec.clusterName"),
    _r("cluster.x-k8s.io", "v1beta1", "machinedeployments", "MachineDeployment", True, "md",
       "status scale", custom=True, required="spec.clusterName"),
    _review("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    _review("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    _review("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"),
)
REVIEW_KEY = ("authorization.k8s.io", "selfsubjectaccessreviews")


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

    def add_custom(self, crd: dict[str, Any]) -> None:
        """Serve the resource a CustomResourceDefinition defines."""
        self.add(resource_from_crd(crd))

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
            if r.categories:
                entry["categories"] = list(r.categories)
            items.append(entry)
            for name in r.subresources:
                sub = SUBRESOURCES[name]
                s: dict[str, Any] = {"name": f"{r.plural}/{name}", "singularName": "", "namespaced": r.namespaced,
                                     "kind": sub.kind or r.kind, "verbs": list(sub.verbs)}
                if sub.group is not None:
                    s["group"], s["version"] = sub.group, sub.version
                items.append(s)
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": items}
