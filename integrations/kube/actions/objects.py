"""Verbs that patch existing objects: patch, setResources, scale, label, annotate,
cordon, uncordon, rolloutRestart, rolloutUndo.

Each sends a patch carrying the resourceVersion it was computed from, so a
retry after a lost answer either lands once or meets a 409 and re-reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mitigate.ports import ActionRequest, ClusterError, TargetResult
from mitigate.timefmt import format_seconds

from .. import render
from .base import Change, Item, ObjectChange

NODE = ("v1", "Node")


class Patch(ObjectChange):
    verb = "patch"

    def bind(self) -> None:
        self.patch_type = str(self.param("type", "strategic"))
        if self.patch_type not in ("strategic", "merge", "json"):
            raise ClusterError(f"patch: type must be strategic, merge or json (got {self.patch_type!r})")
        body = self.param("patch", required=True)
        if not isinstance(body, (dict, list)):  # never parsed from text: a rendered input would become patch keys
            raise ClusterError(f"patch: 'patch' must be a mapping or a list, not {type(body).__name__} "
                               "(write it as data; values may be templates)")
        if (self.patch_type == "json") != isinstance(body, list):
            raise ClusterError("patch: a json patch is a list of operations; strategic/merge patches are objects")
        self.body = body
        self.items = self.select(self.resource())

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change(self.body, self.patch_type)

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "patch", render.obj(i.res.kubectl_type, i.name),
                               f"--type={self.patch_type}", f"--patch={render.compact(self.body)}",
                               namespace=self.ns_flag(i)) for i in self.items]


class SetResources(ObjectChange):
    verb = "setResources"

    def bind(self) -> None:
        self.container = str(self.param("container", required=True))
        self.requests = self.param("requests") or {}
        self.limits = self.param("limits") or {}
        if not self.requests and not self.limits:
            raise ClusterError("setResources: give requests or limits")
        for what, value in (("requests", self.requests), ("limits", self.limits)):
            if not isinstance(value, dict):
                raise ClusterError(f"setResources: {what} must be a mapping like {{cpu: 500m}}")
        self.items = self.select(self.resource("apps/v1", "Deployment"))
        for item in self.items:
            spec = (((item.obj or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
            if self.container not in [c.get("name") for c in spec.get("containers") or []]:
                raise ClusterError(f"setResources: {item.target} has no container {self.container!r}")

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        res = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in
               (("requests", self.requests), ("limits", self.limits)) if v}
        return Change({"spec": {"template": {"spec": {"containers": [{"name": self.container, "resources": res}]}}}},
                      "strategic")

    def kubectl(self) -> list[str]:
        flags = [f"--{k}=" + ",".join(f"{kk}={vv}" for kk, vv in v.items())
                 for k, v in (("requests", self.requests), ("limits", self.limits)) if v]
        return [render.kubectl(self.ctx.name, "set", "resources", render.obj(i.res.kubectl_type, i.name),
                               f"--containers={self.container}", *flags, namespace=self.ns_flag(i)) for i in self.items]


class Scale(ObjectChange):
    verb = "scale"

    def bind(self) -> None:
        replicas = self.param("replicas", required=True)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ClusterError(f"scale: replicas must be a non-negative integer (got {replicas!r})")
        self.replicas = replicas
        self.destructive = replicas == 0
        self.items = self.select(self.resource("apps/v1", "Deployment"))

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change({"spec": {"replicas": self.replicas}}, "merge")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        return (obj.get("spec") or {}).get("replicas") == self.replicas

    def undo_for(self, item: Item, before: dict[str, Any], after: dict[str, Any]) -> list[ActionRequest]:
        old = (before.get("spec") or {}).get("replicas", 1)
        return [self.undo_request("scale", {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                            "namespace": item.namespace, "name": item.name, "replicas": old})]

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "scale", render.obj(i.res.kubectl_type, i.name), f"--replicas={self.replicas}",
                               namespace=self.ns_flag(i)) for i in self.items]


class Label(ObjectChange):
    verb = "label"
    FIELD = "labels"

    def bind(self) -> None:
        values = self.param(self.FIELD, required=True)
        if not isinstance(values, dict) or not values:
            raise ClusterError(f"{self.verb}: {self.FIELD} must be a non-empty mapping (null removes a key)")
        self.values = {str(k): (None if v is None else str(v)) for k, v in values.items()}
        self.items = self.select(self.resource())

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change({"metadata": {self.FIELD: self.values}}, "merge")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        current = (obj.get("metadata") or {}).get(self.FIELD) or {}
        return all(current.get(k) == v for k, v in self.values.items())

    def undo_for(self, item: Item, before: dict[str, Any], after: dict[str, Any]) -> list[ActionRequest]:
        old = (before.get("metadata") or {}).get(self.FIELD) or {}
        restore = {k: old.get(k) for k in self.values if old.get(k) != self.values[k]}
        if not restore:
            return []
        return [self.undo_request(self.verb, {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                              "namespace": item.namespace, "name": item.name,
                                              self.FIELD: restore})]

    def kubectl(self) -> list[str]:
        args = [f"{k}-" if v is None else f"{k}={v}" for k, v in self.values.items()]
        if not self.items:
            return []
        res = self.items[0].res
        if self.p.get("selector") and not (self.p.get("name") or self.p.get("names")):
            every = ("--all-namespaces",) if res.namespaced and not self.namespace() else ()
            return [render.kubectl(self.ctx.name, self.verb, res.kubectl_type, f"--selector={self.p['selector']}",
                                   *args, "--overwrite", *every, namespace=self.namespace())]
        by_ns: dict[str | None, list[str]] = {}
        for i in self.items:
            by_ns.setdefault(self.ns_flag(i), []).append(render.obj(res.kubectl_type, i.name))
        return [render.kubectl(self.ctx.name, self.verb, *names, *args, "--overwrite",
                               namespace=ns) for ns, names in by_ns.items()]


class Annotate(Label):
    verb = "annotate"
    FIELD = "annotations"


class Cordon(ObjectChange):
    """Mark nodes unschedulable; nodes already cordoned are left alone and not uncordoned on undo."""

    verb = "cordon"
    SCOPE_KEYS = ("name", "names", "selector")
    VALUE: bool | None = True
    UNDO = "uncordon"

    def bind(self) -> None:
        self.items = self.select(self.r.resolve(*NODE))

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change({"spec": {"unschedulable": self.VALUE}}, "merge")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        return bool((obj.get("spec") or {}).get("unschedulable")) == bool(self.VALUE)

    def run_item(self, item: Item, cancel: Any) -> tuple[list[Any], list[ActionRequest]]:
        if item.obj is not None and self.applied(item, item.obj):
            return [self._already(item)], []
        return super().run_item(item, cancel)

    def _already(self, item: Item) -> TargetResult:
        return TargetResult(item.target, True, f"already {self.verb}ed", applied=True)

    def undo_for(self, item: Item, before: dict[str, Any], after: dict[str, Any]) -> list[ActionRequest]:
        return [self.undo_request(self.UNDO, {"names": [item.name]})]

    def order_undo(self, undo: list[ActionRequest]) -> list[ActionRequest]:
        names = sorted(n for u in undo for n in u.params.get("names") or [])
        return [self.undo_request(self.UNDO, {"names": names})] if names else []

    def kubectl(self) -> list[str]:
        if self.p.get("selector") and not (self.p.get("name") or self.p.get("names")):
            return [render.kubectl(self.ctx.name, self.verb, f"--selector={self.p['selector']}")]
        return [render.kubectl(self.ctx.name, self.verb, *[render.obj("nodes", i.name) for i in self.items])] \
            if self.items else []


class Uncordon(Cordon):
    verb = "uncordon"
    VALUE = None
    UNDO = "cordon"


class RolloutRestart(ObjectChange):
    verb = "rolloutRestart"
    KEY = "kubectl.kubernetes.io/restartedAt"

    def bind(self) -> None:
        self.stamp = format_seconds(datetime.now(UTC))
        self.items = self.select(self.resource("apps/v1", "Deployment"))

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change({"spec": {"template": {"metadata": {"annotations": {self.KEY: self.stamp}}}}}, "strategic")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        tmpl = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
        return (tmpl.get("annotations") or {}).get(self.KEY) == self.stamp

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "rollout", "restart", render.obj(i.res.kubectl_type, i.name),
                               namespace=self.ns_flag(i)) for i in self.items]


class DisableDaemonSet(ObjectChange):
    """Stop a DaemonSet everywhere without deleting it, as operators do in an incident: a
    nodeSelector no node matches makes the controller remove every pod, and the object, its
    history and its configuration stay. The undo (a merge patch restoring the old
    nodeSelector) brings the pods back."""

    verb = "disableDaemonSet"
    DESTRUCTIVE = True

    def bind(self) -> None:
        self.key = str(self.param("nodeSelectorKey", "mitigate.io/disabled"))
        self.value = str(self.param("nodeSelectorValue", "true"))
        res = self.resource("apps/v1", "DaemonSet")
        if res.kind != "DaemonSet":
            raise ClusterError(f"disableDaemonSet acts on DaemonSets (got {res.kind})")
        self.items = self.select(res)
        carriers = [n["metadata"]["name"] for n in self.t.list_pages(
            self.r.resolve(*NODE).base(None), label_selector=f"{self.key}={self.value}")]
        if carriers:
            raise ClusterError(f"disableDaemonSet: node(s) {', '.join(carriers[:3])} carry the label "
                               f"{self.key}={self.value}, so the DaemonSet would keep running there: "
                               "choose another nodeSelectorKey")

    def body(self) -> dict[str, Any]:
        return {"spec": {"template": {"spec": {"nodeSelector": {self.key: self.value}}}}}

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change(self.body(), "strategic")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        return (spec.get("nodeSelector") or {}).get(self.key) == self.value

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "patch", render.obj(i.res.kubectl_type, i.name),
                               f"--patch={render.compact(self.body())}",
                               namespace=self.ns_flag(i)) for i in self.items]


REVISION = "deployment.kubernetes.io/revision"
HISTORY_KINDS = ("DaemonSet", "StatefulSet")  # history in ControllerRevisions, as their controllers keep it


def selector_string(selector: Any) -> str | None:
    """A LabelSelector (matchLabels, matchExpressions) as a list-call label selector."""
    if not isinstance(selector, dict):
        return None
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), ",".join(map(str, e.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": str(key),
                      "DoesNotExist": f"!{key}"}.get(str(op), str(key)))
    return ",".join(parts) or None


class RolloutUndo(ObjectChange):
    """Roll a workload back to its previous (or given) revision, as ``kubectl rollout undo`` does.

    Deployments: the ReplicaSet revision's pod template is copied back. DaemonSets and
    StatefulSets: the controlled ControllerRevision (the second newest, or ``toRevision``)
    holds a strategic merge patch replacing ``spec.template``, which is applied as is.
    """

    verb = "rolloutUndo"

    def bind(self) -> None:
        res = self.resource("apps/v1", "Deployment")
        if res.kind != "Deployment" and res.kind not in HISTORY_KINDS:
            raise ClusterError(f"rolloutUndo supports Deployments, DaemonSets and StatefulSets (got {res.kind})")
        to_revision = self.param("toRevision")
        try:
            self.to_revision = None if to_revision in (None, "") else int(to_revision)
        except (TypeError, ValueError):
            self.to_revision = -1
        if isinstance(to_revision, bool) or (self.to_revision or 0) < 0:
            raise ClusterError(f"rolloutUndo: toRevision must be a non-negative integer (got {to_revision!r})")
        self.items = self.select(res)
        if res.kind in HISTORY_KINDS:
            cr_res = self.r.resolve("apps/v1", "ControllerRevision")
            for item in self.items:
                item.extra["patch"], item.extra["revision"] = self._find_history(item, cr_res)
                item.extra["template"] = {k: v for k, v in item.extra["patch"]["spec"]["template"].items()
                                          if k != "$patch"}
            return
        rs_res = self.r.resolve("apps/v1", "ReplicaSet")
        for item in self.items:
            item.extra["template"], item.extra["revision"] = self._find(item, rs_res)

    def _pick(self, item: Item, revisions: dict[int, dict[str, Any]], older: list[int]) -> int:
        if self.to_revision:
            wanted = self.to_revision
            if wanted not in revisions:
                raise ClusterError(f"rolloutUndo: {item.target} has no revision {wanted} "
                                   f"(known: {', '.join(map(str, sorted(revisions))) or 'none'})")
            return wanted
        if not older:
            raise ClusterError(f"rolloutUndo: {item.target} has no previous revision to roll back to")
        return max(older)

    def _find(self, item: Item, rs_res: Any) -> tuple[dict[str, Any], int]:
        uid = (item.obj or {}).get("metadata", {}).get("uid")
        current = int(((item.obj or {}).get("metadata", {}).get("annotations") or {}).get(REVISION, "0") or 0)
        revisions: dict[int, dict[str, Any]] = {}
        for rs in self.t.list_pages(rs_res.base(item.namespace)):
            owners = (rs.get("metadata") or {}).get("ownerReferences") or []
            if not any(o.get("uid") == uid for o in owners):
                continue
            rev = int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0") or 0)
            revisions[rev] = rs
        wanted = self._pick(item, revisions, [r for r in revisions if r < current] if current
                            else sorted(revisions)[:-1])
        template = json.loads(json.dumps((revisions[wanted].get("spec") or {}).get("template") or {}))
        labels = (template.get("metadata") or {}).get("labels") or {}
        labels.pop("pod-template-hash", None)
        return template, wanted

    def _find_history(self, item: Item, cr_res: Any) -> tuple[dict[str, Any], int]:
        """The ControllerRevision to restore, chosen as kubectl 1.20's rollbacker does: among the
        revisions matching the workload's selector and controlled by it, ``toRevision`` or else
        the second highest (the highest is the current template's)."""
        obj = item.obj or {}
        uid = (obj.get("metadata") or {}).get("uid")
        selector = selector_string((obj.get("spec") or {}).get("selector"))
        revisions: dict[int, dict[str, Any]] = {}
        for cr in self.t.list_pages(cr_res.base(item.namespace), label_selector=selector):
            owners = (cr.get("metadata") or {}).get("ownerReferences") or []
            if any(isinstance(o, dict) and o.get("controller") and o.get("uid") == uid for o in owners):
                revisions[int(cr.get("revision") or 0)] = cr
        wanted = self._pick(item, revisions, sorted(revisions)[:-1])
        data = revisions[wanted].get("data")
        template = ((data or {}).get("spec") or {}).get("template") if isinstance(data, dict) else None
        if not isinstance(template, dict):
            raise ClusterError(f"rolloutUndo: revision {wanted} of {item.target} "
                               f"(ControllerRevision {revisions[wanted]['metadata']['name']}) holds no pod template")
        return json.loads(json.dumps(data)), wanted

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        if "patch" in item.extra:
            return Change(item.extra["patch"], "strategic")
        return Change([{"op": "replace", "path": "/spec/template", "value": item.extra["template"]}], "json")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        return bool(render.changed_fields((obj.get("spec") or {}).get("template"), item.extra["template"]) == [])

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "rollout", "undo", render.obj(i.res.kubectl_type, i.name),
                               f"--to-revision={i.extra['revision']}", namespace=self.ns_flag(i))
                for i in self.items]


__all__ = ["DisableDaemonSet", "Patch", "SetResources", "Scale", "Label", "Annotate", "Cordon", "Uncordon", "RolloutRestart",
           "RolloutUndo"]
