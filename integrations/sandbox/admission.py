"""The admission chain: one place every write passes, in the order kube-apiserver runs it.

After authentication, priority and fairness and authorization (the RBAC authorizer), which are the
HTTP filter chain in server.py and stay there as in kube-apiserver, the API server admits a write
in three phases, and so does the sandbox:

1. **mutating admission**: ``NamespaceLifecycle`` (a create in a namespace that does not exist is
   404, in one being terminated 403; ``default``, ``kube-system`` and ``kube-public`` cannot be
   deleted), then ``MutatingAdmissionWebhook`` (webhooks.py, with the ``admissionWebhooks``
   behaviour), whose JSON patches change the object;
2. **the registry's own checks, then the object's validation**: the RBAC storage's escalation
   check (a Role, ClusterRole or binding grants only what its writer holds, unless the writer may
   ``escalate`` the role or ``bind`` it: 403 "is attempting to grant RBAC permissions not currently
   held"), then the strategy (defaults re-applied after a mutation, required fields, shapes,
   immutable fields; store.py hands it in as ``validate``);
3. **validating admission**: ``ValidatingAdmissionWebhook``, then, for an eviction, the
   PodDisruptionBudget check of the eviction subresource (the real one makes it in the eviction
   REST right after admission: 429 when a budget allows no disruption).

The store calls the chain for every create, update (PUT, PATCH, apply) and delete; the server
calls it for the subresource writes that are not plain object writes (``pods/eviction``, a
CREATE of an Eviction; ``*/scale``, an UPDATE of a Scale), then writes the object without a
second admission, as the real subresource storage does. Who is writing travels in the store's
``Writer``: its ``user`` (the AdmissionReview ``userInfo``), and what admission hands back to the
client: ``warnings`` (``Warning`` headers) and ``delay`` (the time the webhooks took, which the
server waits before it answers). The simulated controllers' creates are admitted like any
client's (a fail-closed webhook refuses a ReplicaSet's pods); their updates and deletes stand for
status writes and the garbage collector's deletes and pass validation only. ``CONNECT`` rules are
matched, but the sandbox serves no connect subresource (exec, attach, port-forward, proxy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import budgets, rbac
from .resources import Resource
from .store import SYSTEM, ApiError, ClusterState, Obj, Writer

OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
CONTROLLER_USER: Obj = {"username": "system:kube-controller-manager", "groups": ["system:authenticated"]}
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


@dataclass
class Request:
    """``admission.Attributes``: what is being written, by whom, and what admission collects."""

    operation: str
    r: Resource
    namespace: str
    name: str
    obj: Obj | None  # the object as written (None for DELETE)
    old: Obj | None = None  # the stored object (UPDATE, DELETE)
    subresource: str = ""
    dry_run: bool = False
    user: Obj = field(default_factory=lambda: dict(CONTROLLER_USER))
    plugins: bool = True  # False: validation only (a simulated controller's update or delete)
    kind: tuple[str, str, str] | None = None  # (group, version, kind) of ``obj`` when not the resource's
    warnings: list[str] = field(default_factory=list)
    delay: float = 0.0  # seconds the webhooks took (the server waits this long before answering)
    mutated: bool = False

    def gvk(self) -> tuple[str, str, str]:
        if self.kind is not None:
            return self.kind
        return self.r.group, self.r.versions[0], self.r.kind


Plugin = Callable[[ClusterState, Request], None]


def namespace_lifecycle(st: ClusterState, req: Request) -> None:
    """``NamespaceLifecycle``: no content in a missing or terminating namespace; the system
    namespaces may not be deleted."""
    if req.r.key == ("", "namespaces"):
        if req.operation == "DELETE" and req.name in IMMORTAL_NAMESPACES and req.plugins:
            raise ApiError(403, "Forbidden", f'namespaces "{req.name}" is forbidden: this namespace may not be '
                           "deleted", {"name": req.name, "kind": "namespaces"})
        return
    if req.operation != "CREATE" or not req.r.namespaced or req.subresource:
        return
    ns = st.objects.get(("", "namespaces"), {}).get(("", req.namespace))
    if ns is None:
        raise ApiError(404, "NotFound", f'namespaces "{req.namespace}" not found',
                       {"name": req.namespace, "kind": "namespaces"})
    if ns["metadata"].get("deletionTimestamp"):
        raise ApiError(403, "Forbidden", f'{req.r.plural}{"." + req.r.group if req.r.group else ""} '
                       f'"{req.name}" is forbidden: unable to create new content in namespace {req.namespace} '
                       "because it is being terminated",
                       {"name": req.name, "group": req.r.group, "kind": req.r.plural,
                        "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                    "message": f"namespace {req.namespace} is being terminated"}]})


def eviction_budgets(st: ClusterState, req: Request) -> None:
    """The eviction subresource's PodDisruptionBudget check (429 when a budget allows no more
    disruptions). A pod already terminating, or finished, is evicted whatever the budgets say."""
    if req.operation != "CREATE" or req.subresource != "eviction" or req.r.key != ("", "pods"):
        return
    pod = st.get(req.r, req.name, req.namespace)
    if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return
    pods = st.list("pods", req.namespace)
    for pdb in st.list("poddisruptionbudgets", req.namespace):
        if not budgets.covers(pdb, pod):
            continue
        b = budgets.evaluate(pdb, pods)
        if b.allowed <= 0:
            raise ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                           "budget.", {"causes": [{
                               "reason": "DisruptionBudget",
                               "message": f"The disruption budget {pdb['metadata']['name']} needs {b.desired} "
                                          f"healthy pods and has {b.healthy} currently"}]})


def _breakdown(rule: Obj) -> list[Obj]:
    """A policy rule as the single-verb, single-resource rules the escalation check compares."""
    verbs = [str(v) for v in rule.get("verbs") or []]
    if rule.get("nonResourceURLs"):
        return [{"nonResourceURLs": [str(u)], "verbs": [v]} for u in rule["nonResourceURLs"] for v in verbs]
    names = [str(n) for n in rule.get("resourceNames") or []] or [""]
    return [{"apiGroups": [str(g)], "resources": [str(r)], "verbs": [v],
             **({"resourceNames": [n]} if n else {})}
            for g in rule.get("apiGroups") or [] for r in rule.get("resources") or [] for v in verbs for n in names]


def _compact(rule: Obj) -> str:
    """``rbacv1helpers.CompactString``: how the escalation error names a missing permission."""
    def q(values: list[str]) -> str:
        return "[" + " ".join(f'"{v}"' for v in values) + "]"
    parts = [f"{field}:{q(rule[key])}" for key, field in (
        ("apiGroups", "APIGroups"), ("resources", "Resources"), ("resourceNames", "ResourceNames"),
        ("nonResourceURLs", "NonResourceURLs"), ("verbs", "Verbs")) if rule.get(key)]
    return "{" + ", ".join(parts) + "}"


def _held(st: ClusterState, who: rbac.Identity, rule: Obj, namespace: str) -> bool:
    if rule.get("nonResourceURLs"):
        return rbac.authorize(st, who, rbac.Attributes(rule["verbs"][0], path=rule["nonResourceURLs"][0]))[0]
    resource, _, sub = rule["resources"][0].partition("/")
    attrs = rbac.Attributes(rule["verbs"][0], rule["apiGroups"][0], "", resource, sub, namespace,
                            (rule.get("resourceNames") or [""])[0])
    return rbac.authorize(st, who, attrs)[0]


def rbac_escalation(st: ClusterState, req: Request) -> None:
    """The RBAC storage's escalation check: a Role or ClusterRole may grant only what its writer
    holds (unless the writer may ``escalate`` it), a binding only a role the writer holds or may
    ``bind``. Run after the mutating webhooks and before validation, where the real storage does."""
    if req.r.group != rbac.GROUP or req.operation not in ("CREATE", "UPDATE") or req.obj is None or req.subresource:
        return
    user = req.user
    who = rbac.Identity(str(user.get("username") or ""), tuple(user.get("groups") or ()), str(user.get("uid") or ""))
    if who.masters or who.name == CONTROLLER_USER["username"]:
        return
    ns = req.namespace if req.r.namespaced else ""
    if req.r.plural in ("roles", "clusterroles"):
        if rbac.authorize(st, who, rbac.Attributes("escalate", rbac.GROUP, "", req.r.plural, "", ns, req.name))[0]:
            return
        rules = [r for r in req.obj.get("rules") or [] if isinstance(r, dict)]
    elif req.r.plural in ("rolebindings", "clusterrolebindings"):
        ref = req.obj.get("roleRef") or {}
        plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
        if rbac.authorize(st, who, rbac.Attributes("bind", rbac.GROUP, "", plural, "", ns,
                                                   str(ref.get("name") or "")))[0]:
            return
        rules = rbac.role_rules(st, ref, ns)
    else:
        return
    missing = [b for r in rules for b in _breakdown(r) if not _held(st, who, b, ns)]
    if not missing:
        return
    groups = " ".join(f'"{g}"' for g in who.groups)
    qualified = f"{req.r.plural}.{rbac.GROUP}"
    raise ApiError(403, "Forbidden", f'{qualified} "{req.name}" is forbidden: user "{who.name}" (groups=[{groups}]) '
                   "is attempting to grant RBAC permissions not currently held:\n"
                   + "\n".join(_compact(m) for m in missing),
                   {"name": req.name, "group": rbac.GROUP, "kind": req.r.plural})


class Chain:
    """The plugins of one cluster, by phase; ``admit`` runs them around the object's validation."""

    def __init__(self, st: ClusterState) -> None:
        self.st = st
        self.mutating: list[Plugin] = [namespace_lifecycle]
        self.storage: list[Plugin] = [rbac_escalation]  # the registry's own checks before validation
        self.validating: list[Plugin] = [eviction_budgets]

    def enable_webhooks(self, backends: Any = None) -> None:
        """The ``admissionWebhooks`` behaviour: the webhook configurations take effect."""
        from .webhooks import WebhookDispatcher

        self.mutating.append(WebhookDispatcher(mutating=True, backends=backends))
        self.validating.insert(0, WebhookDispatcher(mutating=False, backends=backends))

    def admit(self, req: Request, validate: Callable[[Obj], None] | None = None) -> Obj | None:
        """Mutating plugins, then ``validate`` on the (possibly patched) object, then the validating
        plugins; raises the first refusal as the API server answers it. Returns the object to store."""
        try:
            if req.plugins:
                for plugin in [*self.mutating, *self.storage]:
                    plugin(self.st, req)
            if validate is not None and req.obj is not None:
                validate(req.obj)
            if req.plugins:
                for plugin in self.validating:
                    plugin(self.st, req)
        except ApiError as e:
            if req.warnings:  # a refusal carries the warnings the webhooks gave before it
                e.headers.setdefault("Warning", warning_header(req.warnings))
            raise
        return req.obj

    # the store's three writes and the server's subresource writes, from a Writer

    def request(self, operation: str, r: Resource, obj: Obj | None, old: Obj | None, w: Writer, *,
                subresource: str = "", namespace: str | None = None, name: str | None = None,
                kind: tuple[str, str, str] | None = None) -> Request:
        meta = (obj if obj is not None else old or {}).get("metadata") or {}
        system = w is SYSTEM or w.user is None
        return Request(operation, r, str(namespace if namespace is not None else meta.get("namespace") or ""),
                       str(name if name is not None else meta.get("name") or ""), obj, old, subresource, w.dry_run,
                       dict(w.user) if w.user is not None else dict(CONTROLLER_USER),
                       plugins=w.admit and (operation == "CREATE" or not system), kind=kind)

    def admit_write(self, operation: str, r: Resource, obj: Obj | None, old: Obj | None, w: Writer,
                    validate: Callable[[Obj], None] | None = None, **kw: Any) -> Obj | None:
        req = self.request(operation, r, obj, old, w, **kw)
        try:
            return self.admit(req, validate)
        finally:
            if w is not SYSTEM:
                w.warnings.extend(req.warnings)
                w.delay += req.delay


def warning_header(warnings: list[str]) -> str:
    """RFC 7234 warn-values as the API server sends them (``299 - "text"``, comma-separated)."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ", ".join(f"299 - {quoted(w)}" for w in warnings)
