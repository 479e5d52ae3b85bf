"""The action catalogue: every cluster change a runbook may ask for, with its parameters.

Why a closed catalogue: each verb has a known preview, a known undo and a known blast radius,
so the engine can show the exact kubectl, classify destructive changes and refuse unscoped
ones. The Kubernetes adapter (integrations/kube) implements these verbs; the loader validates
runbooks against the same models, so a typo is caught before an incident, not during one.

Values that may only be known at run time (``names: "{{ steps['find'].names }}"``) are
allowed as template strings; the engine renders them and validates again with
:func:`parse_params` before calling the adapter, and :func:`check_scoped` refuses a rendered
action that ended up with no target (an empty list or an empty selector).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from mitigate.errors import MitigateError
from mitigate.runbook.model import parse_duration
from mitigate.runbook.templating import single_expression


def _template_only(value: str) -> str:
    if "{{" not in value:
        raise ValueError("expected a '{{ ... }}' template")
    return value


Tmpl = Annotated[str, AfterValidator(_template_only)]
"""A template string standing in for a non-string value (a list, a number, a mapping)."""


def _duration(value: str) -> str:
    if "{{" not in value:
        parse_duration(value)
    return value


Duration = Annotated[str, AfterValidator(_duration)]


def name_problem(value: str, what: str = "name") -> str | None:
    """Why ``value`` cannot name one object (or namespace), or None when it can.

    An empty name widens scope: ``DELETE .../deployments/`` is a delete of the whole
    collection on a real API server, and ``..`` walks up the URL (a namespace, or more).
    Whitespace at either end and control characters are never part of a real name; a
    ``/`` would make a different URL. Kubernetes itself refuses all of these as names.
    """
    if value == "":
        return f"empty {what}: an empty {what} would address every object, not one"
    if not value.strip():
        return f"blank {what} {value!r}: it would address every object, not one"
    if value != value.strip():
        return f"{what} {value!r} starts or ends with whitespace"
    if "/" in value:
        return f"{what} {value!r} contains '/': a {what} is one path segment"
    if value in (".", ".."):
        return f"{what} {value!r} is not a name (it walks the URL)"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        return f"{what} {value!r} contains control characters"
    return None


def target_problem(value: str) -> str | None:
    """``name_problem`` for a target that may carry its namespace (``shop/web``)."""
    if value.count("/") == 1 and value.strip():
        ns, name = value.split("/")
        return name_problem(ns, "namespace") or name_problem(name)
    return name_problem(value)


def _rendered(info: ValidationInfo) -> bool:
    """Validated after rendering (``parse_params``): templates are no excuse any more."""
    return bool(isinstance(info.context, Mapping) and info.context.get("rendered"))


def _checked(problem: Callable[[str], str | None]) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        if "{{" in value and not _rendered(info):
            return value  # checked again once rendered
        found = problem(value)
        if found:
            raise ValueError(found)
        return value
    return check


def _target_object(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    inner = value.get("metadata")
    meta: dict[str, Any] = inner if isinstance(inner, dict) else value
    for key in ("name", "namespace"):
        item = meta.get(key)
        if isinstance(item, str) and ("{{" not in item or _rendered(info)):
            found = name_problem(item, key)
            if found:
                raise ValueError(f"target object: {found}")
    return value


Name = Annotated[str, AfterValidator(_checked(name_problem))]
"""One object's name: never empty, blank, '/'-containing, '.' or '..' (literal now, rendered later)."""
Namespace = Annotated[str, AfterValidator(_checked(lambda v: name_problem(v, "namespace")))]
TargetName = Annotated[str, AfterValidator(_checked(target_problem))]
Names = list[Name] | Tmpl
TargetNames = list[TargetName | Annotated[dict[str, Any], AfterValidator(_target_object)]] | Tmpl
"""Targets: names, ``namespace/name`` (the object's own namespace), or objects as a check
returns them (``"{{ steps['find'].items }}"``); :func:`target_names` turns them into names."""
Int = int | Tmpl
Bool = bool | Tmpl
Object = dict[str, Any] | Tmpl


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Targeted(Params):
    """Scope parameters shared by the verbs that act on existing objects.

    ``names`` entries may carry their own namespace (``shop/web``) or be objects from a
    check (``metadata.namespace``/``metadata.name``), so one step can act across namespaces;
    ``namespace`` is then only the default for entries without one.
    """

    namespace: Namespace | None = None
    name: TargetName | None = None
    names: TargetNames | None = None
    selector: str | None = Field(None, description="label selector, e.g. app=web,tier!=db")

    @model_validator(mode="after")
    def _one_target_form(self) -> Targeted:
        given = [k for k in ("name", "names", "selector") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of name, names, selector (has {', '.join(given)})")
        return self


class Typed(Targeted):
    apiVersion: str
    kind: str


def _one_expression(value: str) -> str:
    if single_expression(value) is None:
        raise ValueError("a patch is data: write it as a YAML mapping (or list, for type: json) whose values "
                         "may be templates, or as one '{{ expression }}' giving one; never as text to parse")
    return value


class PatchParams(Typed):
    type: Literal["strategic", "merge", "json"] = "strategic"
    # Built as data, never by parsing rendered text: an input holding '", "spec": {"replicas": 0}'
    # must stay a string value, not become part of the patch.
    patch: dict[str, Any] | list[Any] | Annotated[str, AfterValidator(_one_expression)]

    @model_validator(mode="after")
    def _json_is_list(self) -> PatchParams:
        if self.type == "json" and isinstance(self.patch, dict):
            raise ValueError("a json patch is a list of operations")
        if self.type != "json" and isinstance(self.patch, list):
            raise ValueError(f"a {self.type} patch is a mapping (a list needs type: json)")
        return self


class SetResourcesParams(Targeted):
    apiVersion: str = "apps/v1"
    kind: str = "Deployment"
    container: str
    requests: dict[str, str] | Tmpl | None = None
    limits: dict[str, str] | Tmpl | None = None

    @model_validator(mode="after")
    def _something(self) -> SetResourcesParams:
        if self.requests is None and self.limits is None:
            raise ValueError("setResources needs requests or limits")
        return self


class ScaleParams(Targeted):
    apiVersion: str = "apps/v1"
    kind: str = "Deployment"
    replicas: Annotated[int, Field(ge=0)] | Tmpl


class NodeParams(Params):
    """cordon / uncordon: Nodes by name or selector."""

    names: Names | None = None
    selector: str | None = None


class DrainParams(NodeParams):
    gracePeriod: Int = 30
    timeout: Duration = "5m"
    ignoreDaemonSets: Bool = True
    deleteEmptyDirData: Bool = True
    force: Bool = False  # evict pods no controller owns (they are lost), as kubectl drain --force
    # as kubectl drain --skip-wait-for-delete-timeout: pods whose deletion began more than this many seconds
    # ago are not waited for (0 = wait for every pod); what lets a drain of an unreachable node finish
    skipWaitForDeleteTimeout: Int = 0


class EvictParams(Params):
    namespace: Namespace | None = Field(None, description="default namespace of names without one")
    names: TargetNames | None = None
    selector: str | None = None


class DeleteParams(Typed):
    backup: Bool = True
    gracePeriod: Int | None = None


class ManifestParams(Params):
    manifest: dict[str, Any] | list[dict[str, Any]] | Tmpl

    @model_validator(mode="after")
    def _named(self, info: ValidationInfo) -> ManifestParams:
        docs = self.manifest if isinstance(self.manifest, list) else [self.manifest]
        for i, doc in enumerate(docs):
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            if not isinstance(meta, dict):
                continue
            for key in ("name", "namespace"):
                value = meta.get(key)
                if not isinstance(value, str) or ("{{" in value and not _rendered(info)):
                    continue
                problem = name_problem(value, key)
                if problem:
                    where = f"manifest[{i}]" if isinstance(self.manifest, list) else "manifest"
                    raise ValueError(f"{where}.metadata.{key}: {problem}")
        return self


class ApplyParams(ManifestParams):
    fieldManager: str = "mitigate"


class RolloutParams(Targeted):
    apiVersion: str = "apps/v1"
    kind: str = "Deployment"


class RolloutUndoParams(RolloutParams):
    toRevision: Int | None = None


class LabelParams(Typed):
    labels: dict[str, str | None] | Tmpl


class AnnotateParams(Typed):
    annotations: dict[str, str | None] | Tmpl


class DisableDaemonSetParams(Targeted):
    """Stop a DaemonSet everywhere without deleting it: its pod template gets a nodeSelector no
    node matches, so the controller removes every pod; undo restores the old nodeSelector."""

    apiVersion: str = "apps/v1"
    kind: Literal["DaemonSet"] = "DaemonSet"
    nodeSelectorKey: str = Field("mitigate.io/disabled", description="a label key no node carries")
    nodeSelectorValue: str = "true"


class ThrottleParams(Params):
    """An APF FlowSchema + PriorityLevelConfiguration that confines the named clients."""

    name: Name = Field(description="the PriorityLevelConfiguration")
    flowSchema: Name | None = Field(None, description="default: name; several FlowSchemas may share one level")
    users: Names | None = None
    groups: Names | None = None
    serviceAccounts: Names | None = Field(None, description="namespace/name")
    nominalConcurrencyShares: Int
    queues: Int | None = None
    handSize: Int | None = None
    queueLengthLimit: Int | None = None
    matchingPrecedence: Int | None = None


class RelaxThrottleParams(Params):
    name: Name
    nominalConcurrencyShares: Int


class RemoveThrottleParams(Params):
    name: Name


class DeleteMachineParams(Params):
    names: Names


class RestoreCustomResourcesParams(Params):
    """Re-create a deleted CustomResourceDefinition, wait until it is Established, then re-create
    its objects (the undo of deleting a CRD; the objects come from the incident's backups)."""

    crd: dict[str, Any] | Tmpl
    objects: list[dict[str, Any]] | Tmpl = Field(default_factory=list)
    timeout: Duration = "2m"


class RevertChangesParams(Params):
    fieldManager: str
    since: str
    until: str | None = None
    namespaces: list[Namespace] | Tmpl | None = None
    selector: str | None = None
    kinds: Names | None = None


def target_name(value: Any) -> str:
    """One target as a name: a string as is, an object as ``namespace/name`` (or ``name``)."""
    if isinstance(value, Mapping):
        inner = value.get("metadata")
        meta: Mapping[str, Any] = inner if isinstance(inner, Mapping) else value
        name, ns = meta.get("name"), meta.get("namespace")
        if not isinstance(name, str) or not name:
            raise MitigateError(f"a target object has no metadata.name: {str(value)[:80]}")
        return f"{ns}/{name}" if isinstance(ns, str) and ns else name
    if isinstance(value, str):
        return value
    raise MitigateError(f"a target must be a name or an object, got {type(value).__name__} {value!r}")


def target_names(values: Any) -> list[str]:
    """``names`` as rendered (names, ``ns/name``, objects) -> a list of names (order kept, no repeats)."""
    if isinstance(values, (str, Mapping)):
        values = [values]
    return list(dict.fromkeys(target_name(v) for v in values or []))


def list_params(verb: str) -> list[str]:
    """The parameters of ``verb`` that take a list (what ``batch.param`` may name)."""
    info = CATALOGUE.get(verb)
    if info is None:
        return []
    out = []
    for key, fld in info.params_model.model_fields.items():
        if "list" in str(fld.annotation):
            out.append(key)
    return out


@dataclass(frozen=True)
class VerbInfo:
    params_model: type[Params]
    destructive: bool
    mutating: bool = True
    scope_params: tuple[str, ...] = ("namespace", "name", "names", "selector")
    destructive_when: Callable[[Mapping[str, Any]], bool] | None = None
    inverses: tuple[str, ...] = ()
    """The verbs an undo of this verb may use (a journaled undo of any other verb is refused)."""


_NODES = ("names", "selector")
_PATCH = ("patch",)
CATALOGUE: dict[str, VerbInfo] = {
    "patch": VerbInfo(PatchParams, False, inverses=_PATCH),
    "setResources": VerbInfo(SetResourcesParams, False, inverses=_PATCH),
    "scale": VerbInfo(ScaleParams, False, destructive_when=lambda p: p.get("replicas") == 0, inverses=("scale",)),
    "cordon": VerbInfo(NodeParams, False, scope_params=_NODES, inverses=("uncordon",)),
    "uncordon": VerbInfo(NodeParams, False, scope_params=_NODES, inverses=("cordon",)),
    "drain": VerbInfo(DrainParams, True, scope_params=_NODES, inverses=("uncordon",)),
    "evict": VerbInfo(EvictParams, True, scope_params=("namespace", "names", "selector")),
    "delete": VerbInfo(DeleteParams, True, inverses=("create", "restoreCustomResources")),
    "apply": VerbInfo(ApplyParams, False, scope_params=("manifest",), inverses=("delete", "patch")),
    "create": VerbInfo(ManifestParams, False, scope_params=("manifest",), inverses=("delete", "patch")),
    "rolloutRestart": VerbInfo(RolloutParams, False, inverses=_PATCH),
    "disableDaemonSet": VerbInfo(DisableDaemonSetParams, True, inverses=_PATCH),
    "rolloutUndo": VerbInfo(RolloutUndoParams, False, inverses=_PATCH),
    "label": VerbInfo(LabelParams, False, inverses=("label",)),
    "annotate": VerbInfo(AnnotateParams, False, inverses=("annotate",)),
    "throttle": VerbInfo(ThrottleParams, False, scope_params=("name",), inverses=("delete", "patch")),
    "relaxThrottle": VerbInfo(RelaxThrottleParams, False, scope_params=("name",), inverses=("relaxThrottle",)),
    "removeThrottle": VerbInfo(RemoveThrottleParams, True, scope_params=("name",), inverses=("create",)),
    "deleteMachine": VerbInfo(DeleteMachineParams, True, scope_params=("names",)),
    "revertChanges": VerbInfo(RevertChangesParams, True, scope_params=("namespaces", "selector"),
                              inverses=("create", "patch")),
    "restoreCustomResources": VerbInfo(RestoreCustomResourcesParams, False, scope_params=("crd",),
                                       inverses=("delete",)),
}


def check_inverse(verb: str, undo_verb: str) -> None:
    """MitigateError unless ``undo_verb`` is a declared inverse of ``verb``: a journaled undo
    is data anyone who can write the journal can forge, and a forged one must not turn a
    cordon's rollback into a delete of something else."""
    info = CATALOGUE.get(verb)
    allowed = info.inverses if info else ()
    if undo_verb not in allowed:
        raise MitigateError(f"refusing an undo {undo_verb!r} for a {verb!r} step: not its declared inverse"
                            + (f" ({', '.join(allowed)})" if allowed else " (it has none)"))


# The kind an undo of these verbs acts on without naming it (``uncordon {names: [n1]}`` is Nodes).
_IMPLICIT_KIND = {"cordon": "Node", "uncordon": "Node", "drain": "Node",
                  "relaxThrottle": "PriorityLevelConfiguration"}


def undo_objects(verb: str, params: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, namespace or ``""``, name) of every object an undo request acts on.

    An undo names its objects: the adapter builds it from the objects it changed. One that
    does not (a selector, no name, a manifest as text) is refused: a journaled undo is data
    anyone who can write the journal can forge."""
    def refuse(why: str) -> MitigateError:
        return MitigateError(f"refusing an undo {verb!r}: {why} (an undo names the objects it restores)")

    if params.get("selector") not in (None, "", {}):
        raise refuse("it has a selector")
    if verb == "restoreCustomResources":
        crd = params.get("crd")
        meta = crd.get("metadata") if isinstance(crd, Mapping) else None
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if not isinstance(name, str) or not name:
            raise refuse("its crd has no name")
        spec = crd.get("spec") if isinstance(crd, Mapping) else None
        spec = spec if isinstance(spec, Mapping) else {}
        kind = (spec.get("names") or {}).get("kind") if isinstance(spec.get("names"), Mapping) else None
        group = spec.get("group")
        for obj in params.get("objects") or []:
            api_version = obj.get("apiVersion") if isinstance(obj, Mapping) else None
            if not isinstance(obj, Mapping) or obj.get("kind") != kind or not isinstance(api_version, str) \
                    or api_version.rpartition("/")[0] != group:
                shown = f"{obj.get('kind')} {obj.get('apiVersion')}" if isinstance(obj, Mapping) else repr(obj)[:40]
                raise refuse(f"it would restore a {shown} object with CRD {name}, which defines {kind} of {group}")
        return [("CustomResourceDefinition", "", name)]
    manifest = params.get("manifest")
    if manifest is not None:
        docs = manifest if isinstance(manifest, list) else [manifest]
        out = []
        for doc in docs:
            meta = doc.get("metadata") if isinstance(doc, Mapping) else None
            if not isinstance(meta, Mapping) or not isinstance(doc.get("kind"), str) \
                    or not isinstance(meta.get("name"), str):
                raise refuse("its manifest is not a list of named objects")
            out.append((str(doc["kind"]), str(meta.get("namespace") or ""), str(meta["name"])))
        return out
    kind = params.get("kind") or _IMPLICIT_KIND.get(verb)
    raw = params.get("names") if params.get("names") is not None else (
        [params["name"]] if params.get("name") is not None else [])
    if not isinstance(kind, str) or not kind or not isinstance(raw, list) or not raw \
            or not all(isinstance(n, str) and n for n in raw):
        raise refuse("it names no kind and object")
    namespace = str(params.get("namespace") or "")
    out = []
    for name in raw:
        ns, _, bare = name.rpartition("/")
        out.append((kind, ns or namespace, bare))
    return out


def check_undo_targets(step_id: str, verb: str, context: str, params: Mapping[str, Any],
                       targets: Iterable[tuple[str, str]]) -> None:
    """MitigateError unless every object the undo acts on is one its step acted on in that context:
    ``targets`` are the step's journaled (context, ``Kind/namespace/name`` or ``Kind/name``) pairs,
    from the outcome that carries the undo and its intent. With :func:`check_inverse`, a forged
    undo can neither change the verb nor point the inverse at another object."""
    known = {t for c, t in targets if c == context}
    for kind, namespace, name in undo_objects(verb, params):
        wanted = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
        if wanted in known or (namespace and f"{kind}/{name}" in known):  # a cluster-scoped object
            continue
        acted = ", ".join(sorted(known)[:5]) + (f" (+{len(known) - 5})" if len(known) > 5 else "") if known \
            else "nothing"
        raise MitigateError(f"refusing an undo {verb!r} of {wanted} on {context}: not an object step "
                            f"{step_id!r} acted on there (its journal names {acted})")


class ScopeError(MitigateError):
    """A mutating action that would touch everything because nothing narrows it."""


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict)):
        return bool(value)
    return True


def scope_of(verb: str, params: Mapping[str, Any], cluster_scope: bool = False) -> str | None:
    """What narrows this action, in words (``names: a, b``), or None when it is unscoped.

    Empty lists and blank selectors do not count: ``selector: ""`` matches everything.
    ``cluster_scope`` (the step said ``scope: cluster``) is an explicit whole-cluster scope.
    """
    info = CATALOGUE.get(verb)
    keys = info.scope_params if info else ("namespace", "name", "names", "selector", "manifest")
    parts = []
    for key in keys:
        value = params.get(key)
        if not _present(value):
            continue
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:5]) + (f" (+{len(value) - 5})" if len(value) > 5 else "")
        elif isinstance(value, dict):
            shown = str(value.get("kind", "object"))
        else:
            shown = str(value)
        parts.append(f"{key}: {shown}")
    if parts:
        return "; ".join(parts)
    return "cluster" if cluster_scope else None


def check_scoped(verb: str, params: Mapping[str, Any], cluster_scope: bool = False) -> str:
    """The action's scope; ScopeError when a mutating action has none."""
    info = CATALOGUE.get(verb)
    scope = scope_of(verb, params, cluster_scope)
    if scope is None and (info is None or info.mutating):
        wanted = ", ".join(info.scope_params if info else ("name", "names", "selector", "namespace"))
        raise ScopeError(
            f"unscoped action {verb!r}: give one of {wanted} (non-empty), "
            "or state `scope: cluster` on the step to act on everything"
        )
    return scope or "cluster"


def is_destructive(verb: str, params: Mapping[str, Any]) -> bool:
    info = CATALOGUE[verb]
    return info.destructive or (info.destructive_when is not None and info.destructive_when(params))


def parse_params(verb: str, params: Mapping[str, Any]) -> Params:
    """Validate rendered parameters at run time; MitigateError with a one-line reason."""
    info = CATALOGUE.get(verb)
    if info is None:
        raise MitigateError(f"unknown action {verb!r}")
    try:
        return info.params_model.model_validate(dict(params), context={"rendered": True})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = next((e for e in errors if e["type"] == "value_error"), errors[0])  # ours, not a union branch's
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("list[", "function-", "str", "dict")))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise MitigateError(f"action {verb}: {where + ': ' if where else ''}{message}") from None
