"""Verbs that create or remove objects: create, apply, delete, deleteMachine, evict, drain.

Deletes write a backup first and carry a UID precondition, so a retried delete
can never remove a same-named replacement; evictions honour PodDisruptionBudget
429s by retrying until the action's timeout.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import yaml

from mitigate.durable import write_synced
from mitigate.ports import AccessCheck, ActionRequest, ClusterError, Preview, TargetResult
from mitigate.timefmt import parse_rfc3339

from .. import render
from ..resources import check_name
from ..transport import CONTENT_TYPES, ApiError
from .base import Action, Item, access_checks, strs
from .objects import Cordon

POD = ("v1", "Pod")
MIRROR = "kubernetes.io/config.mirror"
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")


def is_crd(item: Item) -> bool:
    return (item.res.group, item.res.kind) == CRD


def crd_storage(crd: dict[str, Any]) -> tuple[str, str, str, bool] | None:
    """(group, storage version, plural, namespaced) of a CRD, or None when it has no storage version."""
    spec = crd.get("spec") or {}
    version = next((v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")),
                   None)
    plural = (spec.get("names") or {}).get("plural")
    if not isinstance(version, str) or not isinstance(plural, str) or not isinstance(spec.get("group"), str):
        return None
    return spec["group"], version, plural, spec.get("scope") == "Namespaced"


def status_subresource(crd: dict[str, Any]) -> bool:
    """Does the CRD's storage version serve ``/status`` (so its main endpoint ignores status)?"""
    version = next((v for v in (crd.get("spec") or {}).get("versions") or []
                    if isinstance(v, dict) and v.get("storage")), None)
    subresources = (version or {}).get("subresources")
    return isinstance(subresources, dict) and "status" in subresources


def custom_objects_path(crd: dict[str, Any]) -> str | None:
    """Every object of the CRD, all namespaces, in its storage version's form."""
    found = crd_storage(crd)
    return f"/apis/{found[0]}/{found[1]}/{found[2]}" if found else None


def restorable(obj: dict[str, Any], *, keep_status: bool = False) -> dict[str, Any]:
    manifest = render.clean(obj, keep_status=keep_status)
    manifest.get("metadata", {}).pop("deletionTimestamp", None)
    manifest.get("metadata", {}).pop("deletionGracePeriodSeconds", None)
    return manifest


def backup_path(backup_dir: str, context: str, item: Item) -> Path:
    group = item.res.group or "core"
    return Path(backup_dir) / context / f"{item.res.kind}.{group}" / (item.namespace or "_cluster") / f"{item.name}.yaml"


def write_backup(backup_dir: str | None, context: str, item: Item, obj: dict[str, Any]) -> str:
    if not backup_dir:
        raise ClusterError(f"refusing to delete {item.target} without a backup directory")
    return write_private(backup_path(backup_dir, context, item), yaml.safe_dump(obj, sort_keys=True))


def write_private(path: Path, text: str) -> str:
    """A backup holds what the journal redacts (a Secret's data): owner-only, files 0600 and
    folders 0700, written whole (fsynced, then renamed into place)."""
    for parent in reversed([path.parent, *path.parent.parents]):
        if not parent.exists():
            parent.mkdir(mode=0o700, exist_ok=True)  # threads back up side by side
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    write_synced(tmp, text.encode("utf-8"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.replace(tmp, path)
    return str(path)


def manifest_docs(manifest: Any) -> str:
    """The manifest as a printed heredoc: a Secret's values are fingerprints (see render.shown),
    so the line never shows them; the tool itself sends the real values."""
    docs = manifest if isinstance(manifest, list) else [manifest]
    return yaml.safe_dump_all(render.shown(docs), sort_keys=True)


class Delete(Action):
    verb = "delete"
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("delete", ""),)
    DESTRUCTIVE = True

    def bind(self) -> None:
        self.backup = self.param("backup", True) is not False
        self.grace = self.param("gracePeriod")
        self.items = self.select(self.resource())

    def body(self, item: Item) -> dict[str, Any]:
        opts: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        uid = ((item.obj or {}).get("metadata") or {}).get("uid")
        if uid:
            opts["preconditions"] = {"uid": uid}
        if self.grace is not None:
            opts["gracePeriodSeconds"] = int(self.grace)
        return opts

    def preview(self) -> Preview:
        parts = []
        for item in self.items:
            self.t.request("DELETE", item.path, query={"dryRun": "All"}, body=self.body(item), precondition=True)
            parts.append(render.diff(item.obj, None, item.target))
        return Preview(diff="".join(parts), changed_fields=[f"deleted: {t}" for t in self.targets],
                       targets=list(self.targets))

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        current = self.t.get_or_none(item.path)
        if current is None:
            return [TargetResult(item.target, True, "already gone", applied=True)], []
        uid = (item.obj or {}).get("metadata", {}).get("uid")
        if uid and current.get("metadata", {}).get("uid") != uid:
            return [TargetResult(item.target, False, "was replaced by a new object (UID changed); not deleted")], []
        backup = write_backup(self.request.backup_dir, self.ctx.name, item, current) if self.backup else None
        if is_crd(item):
            # deleting a CRD deletes every object of it: keep them all, or nothing can bring them back
            item.extra["objects"] = self.custom_objects(current)
            if self.backup:
                write_private(Path(backup or "").with_suffix(".objects.yaml"),
                              yaml.safe_dump_all(item.extra["objects"], sort_keys=True))
        try:
            self.t.request("DELETE", item.path, body=self.body(item), precondition=True, cancel=cancel)
        except ApiError as exc:
            if exc.status != 404:
                raise
        return [TargetResult(item.target, True, "deleted", applied=True, backup=backup)], self.undo_for(item, current)

    def custom_objects(self, crd: dict[str, Any]) -> list[dict[str, Any]]:
        path = custom_objects_path(crd)
        if path is None:
            raise ClusterError(f"{self.ctx.name}: CRD {crd.get('metadata', {}).get('name')} has no storage version: "
                               "refusing to delete what cannot be backed up")
        # status kept: a CRD with the status subresource gets it back through PUT .../status
        return [restorable(o, keep_status=True) | {"apiVersion": path.split("/", 2)[2].rsplit("/", 1)[0],
                                 "kind": ((crd.get("spec") or {}).get("names") or {}).get("kind")}
                for o in self.t.list_pages(path)]

    def undo_for(self, item: Item, before: dict[str, Any]) -> list[ActionRequest]:
        if is_crd(item):
            return [self.undo_request("restoreCustomResources", {
                "crd": restorable(before), "objects": item.extra.get("objects", [])})]
        return [self.undo_request("create", {"manifest": restorable(before)})]

    def order_undo(self, undo: list[ActionRequest]) -> list[ActionRequest]:
        return list(reversed(undo))

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            current = self.t.get_or_none(item.path)
            gone = current is None or current.get("metadata", {}).get("uid") != (item.obj or {}).get(
                "metadata", {}).get("uid")
            out.append(TargetResult(item.target, True, "gone" if gone else "still present", applied=gone))
        return out

    def kubectl(self) -> list[str]:
        out = []
        for i in self.items:
            if self.backup:
                out.append(render.kubectl(self.ctx.name, "get", render.obj(i.res.kubectl_type, i.name), "--output=yaml",
                                          namespace=self.ns_flag(i)) + " > " + shlex.quote(f"{i.name}.yaml"))
                found = crd_storage(i.obj or {}) if is_crd(i) else None
                if found:  # the objects go with their CRD: save them too
                    group, version, plural, _ = found
                    out.append(render.kubectl(self.ctx.name, "get", f"{plural}.{version}.{group}", "--all-namespaces",
                                              "--output=yaml") + " > " + shlex.quote(f"{i.name}.objects.yaml"))
            grace = [f"--grace-period={int(self.grace)}"] if self.grace is not None else []
            out.append(render.kubectl(self.ctx.name, "delete", render.obj(i.res.kubectl_type, i.name), *grace,
                                      namespace=self.ns_flag(i)))
        return out


class DeleteMachine(Delete):
    """Delete the Cluster API Machine behind each Node; its MachineSet provisions a replacement."""

    verb = "deleteMachine"
    SCOPE_KEYS = ("names",)
    MACHINE_ANN, NS_ANN = "cluster.x-k8s.io/machine", "cluster.x-k8s.io/cluster-namespace"

    def bind(self) -> None:
        self.backup, self.grace = True, None
        res = self.r.resolve(str(self.param("apiVersion", "cluster.x-k8s.io/v1beta1")), "Machine")
        node_res = self.r.resolve("v1", "Node")
        by_node: dict[str, Item] | None = None
        for node_name in strs(self.param("names", required=True), "names"):
            node = self.t.get_or_none(node_res.path(None, node_name)) or {}
            ann = (node.get("metadata") or {}).get("annotations") or {}
            machine = None
            if ann.get(self.MACHINE_ANN):
                ns = ann.get(self.NS_ANN) or self.ctx.namespace
                obj = self.t.get_or_none(res.path(ns, ann[self.MACHINE_ANN]))
                machine = Item(res, ns, ann[self.MACHINE_ANN], obj) if obj else None
            if machine is None:
                if by_node is None:
                    by_node = {}
                    for m in self.t.list_pages(res.base(None)):
                        ref = ((m.get("status") or {}).get("nodeRef") or {}).get("name")
                        if ref:
                            meta = m["metadata"]
                            by_node[ref] = Item(res, meta.get("namespace"), meta["name"], m)
                machine = by_node.get(node_name)
            if machine is None:
                raise ClusterError(f"deleteMachine: no Machine found for Node {node_name!r} on {self.ctx.name}")
            # the annotation is only a pointer (anyone who can edit a Node can write it): the Machine
            # itself must say it runs this Node, or deleting it would replace some other node
            ref = ((machine.obj or {}).get("status") or {}).get("nodeRef") or {}
            if not isinstance(ref, dict) or ref.get("name") != node_name:
                claimed = ref.get("name") if isinstance(ref, dict) else None
                raise ClusterError(
                    f"deleteMachine: refusing {machine.target} for Node {node_name!r}: its status.nodeRef "
                    + (f"names Node {claimed!r}" if claimed else "is not set") + f" on {self.ctx.name}")
            machine.extra["node"] = node_name
            self.items.append(machine)

    def undo_for(self, item: Item, before: dict[str, Any]) -> list[ActionRequest]:
        return []  # the MachineSet replaces the Machine; re-creating the old one would double it


class Create(Action):
    verb = "create"
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("create", ""),)
    SCOPE_KEYS = ("manifest",)
    METHOD = "POST"

    def bind(self) -> None:
        manifest = self.param("manifest", required=True)
        docs = manifest if isinstance(manifest, list) else [manifest]
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                raise ClusterError(f"{self.verb}: manifest[{i}] needs apiVersion and kind")
            meta = doc.get("metadata") or {}
            if not meta.get("name"):
                raise ClusterError(f"{self.verb}: manifest[{i}] needs metadata.name")
            res = self.r.resolve(str(doc["apiVersion"]), str(doc["kind"]))
            ns = (meta.get("namespace") or self.namespace() or self.ctx.namespace) if res.namespaced else None
            body = {**doc, "metadata": {**meta, **({"namespace": ns} if ns else {})}}
            item = Item(res, ns, str(meta["name"]), self.t.get_or_none(res.path(ns, str(meta["name"]))))
            item.extra["body"] = body
            self.items.append(item)

    def send(self, item: Item, dry_run: bool) -> dict[str, Any]:
        query = {"dryRun": "All" if dry_run else None}
        result = self.t.request("POST", item.res.base(item.namespace), query=query, body=item.extra["body"])
        return result if isinstance(result, dict) else {}

    def preview(self) -> Preview:
        parts: list[str] = []
        fields: list[str] = []
        for item in self.items:
            after = self.send(item, True)
            parts.append(render.diff(item.obj, after, item.target))
            fields.extend(f for f in render.object_changes(item.obj, after) if f not in fields)
        return Preview(diff="".join(parts), changed_fields=fields, targets=list(self.targets))

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        try:
            after = self.send(item, False)
        except ApiError as exc:
            if exc.status == 409:
                return [TargetResult(item.target, False, "already exists")], []
            raise
        return [TargetResult(item.target, True, "created", applied=True)], self.undo_for(item, None, after)

    def undo_for(self, item: Item, before: dict[str, Any] | None, after: dict[str, Any]) -> list[ActionRequest]:
        if before is None:
            return [self.undo_request("delete", {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                                 "namespace": item.namespace, "names": [item.name],
                                                 "backup": True})]
        patch = render.restore_patch(after, before)
        return [self.undo_request("patch", {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                            "namespace": item.namespace, "name": item.name,
                                            "type": "merge", "patch": patch})] if patch else []

    def order_undo(self, undo: list[ActionRequest]) -> list[ActionRequest]:
        return list(reversed(undo))

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            present = self.t.get_or_none(item.path) is not None
            out.append(TargetResult(item.target, True, "present" if present else "absent", applied=present))
        return out

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "create", "-f", "-", namespace=self.namespace(),
                               stdin=manifest_docs(self.p["manifest"]))]


class RestoreCustomResources(Action):
    """The undo of deleting a CRD: create it again, wait until the API server says Established
    (before that its objects cannot be created), then create every object that was backed up."""

    verb = "restoreCustomResources"
    SCOPE_KEYS = ("crd",)

    def bind(self) -> None:
        crd = self.param("crd", required=True)
        if not isinstance(crd, dict) or crd_storage(crd) is None or not (crd.get("metadata") or {}).get("name"):
            raise ClusterError("restoreCustomResources: crd must be a CustomResourceDefinition with a storage version")
        objects = self.param("objects", []) or []
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise ClusterError("restoreCustomResources: objects must be a list of objects")
        timeout = self.param("timeout", "2m")
        from mitigate.runbook.model import parse_duration
        try:
            self.timeout = float(timeout) if isinstance(timeout, (int, float)) else parse_duration(str(timeout))
        except ValueError as exc:
            raise ClusterError(f"restoreCustomResources: {exc}") from None
        self.crd_res = self.r.resolve("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        name = str(crd["metadata"]["name"])
        self.crd = {**crd, "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}
        self.objects = objects
        self.items = [Item(self.crd_res, None, name, self.t.get_or_none(self.crd_res.path(None, name)))]

    def describe(self) -> str:
        return (f"re-create CRD {self.items[0].name} and {len(self.objects)} of its objects on {self.ctx.name}")

    def preview(self) -> Preview:
        item = self.items[0]
        after = self.t.request("POST", self.crd_res.base(None), query={"dryRun": "All"}, body=self.crd)
        return Preview(diff=render.diff(item.obj, after if isinstance(after, dict) else None, item.target),
                       changed_fields=[f"created: {item.target}", f"created: {len(self.objects)} objects"],
                       targets=list(self.targets))

    def _established(self, cancel: threading.Event | None) -> bool:
        deadline = time.monotonic() + self.timeout
        while True:
            crd = self.t.get_or_none(self.items[0].path) or {}
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions
                   if isinstance(c, dict)):
                return True
            if time.monotonic() > deadline or (cancel is not None and cancel.is_set()):
                return False
            time.sleep(0.2)

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        try:
            self.t.request("POST", self.crd_res.base(None), body=self.crd)
        except ApiError as exc:
            if exc.status != 409:
                raise
        if not self._established(cancel):
            return [TargetResult(item.target, False, f"created, but not Established within {int(self.timeout)}s: "
                                                     "its objects were not restored")], []
        group, version, plural, namespaced = crd_storage(self.crd) or ("", "", "", False)
        base = f"/apis/{group}/{version}"
        with_status = status_subresource(self.crd)
        results = [TargetResult(item.target, True, "re-created (Established)", applied=True)]
        for obj in self.objects:
            meta = obj.get("metadata") or {}
            ns, name = meta.get("namespace"), str(meta.get("name") or "")
            check_name(name, f"restore {plural}")
            path = f"{base}/namespaces/{ns}/{plural}" if namespaced and ns else f"{base}/{plural}"
            target = f"{obj.get('kind')}/{ns}/{name}" if namespaced and ns else f"{obj.get('kind')}/{name}"
            try:
                created = self.t.request("POST", path, body=obj, cancel=cancel)
            except ApiError as exc:
                if exc.status == 409:
                    results.append(TargetResult(target, True, "already present", applied=True))
                else:
                    results.append(TargetResult(target, False, f"not restored: {exc.message}"))
                continue
            status = obj.get("status")
            if not with_status or not status or not isinstance(created, dict):
                results.append(TargetResult(target, True, "restored", applied=True))
                continue
            # the status subresource is on: the create ignored status, which is written through
            # PUT .../status (the created object's resourceVersion as the precondition)
            try:
                self.t.request("PUT", f"{path}/{name}/status", body={**created, "status": status}, cancel=cancel)
                results.append(TargetResult(target, True, "restored (with its status)", applied=True))
            except ApiError as exc:
                results.append(TargetResult(target, False, f"restored, but not its status: {exc.message}"))
        return results, [self.undo_request("delete", {"apiVersion": "apiextensions.k8s.io/v1",
                                                      "kind": "CustomResourceDefinition", "names": [item.name],
                                                      "backup": True})]

    def recheck(self) -> list[TargetResult]:
        present = self.t.get_or_none(self.items[0].path) is not None
        return [TargetResult(self.items[0].target, True, "present" if present else "absent", applied=present)]

    def kubectl(self) -> list[str]:
        name = self.items[0].name
        lines = [render.kubectl(self.ctx.name, "create", "--filename=-", stdin=manifest_docs(self.crd)),
                 render.kubectl(self.ctx.name, "wait", "--for=condition=Established", render.obj("crd", name),
                                f"--timeout={int(self.timeout)}s")]
        if self.objects:
            lines.append(render.kubectl(self.ctx.name, "create", "--filename=-", stdin=manifest_docs(self.objects)))
        found = crd_storage(self.crd)
        if found and status_subresource(self.crd):  # create ignored their status: write it back
            group, version, plural, namespaced = found
            for obj in self.objects:
                meta = obj.get("metadata") or {}
                if obj.get("status"):
                    lines.append(render.kubectl(
                        self.ctx.name, "patch", render.obj(f"{plural}.{version}.{group}", str(meta.get("name"))),
                        "--subresource=status", "--type=merge", "--patch=" + render.compact({"status": obj["status"]}),
                        namespace=str(meta["namespace"]) if namespaced and meta.get("namespace") else None))
        return lines


class Apply(Create):
    """Server-side apply with a field manager; declarative, so safe to repeat."""

    verb = "apply"
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("create", ""), ("patch", ""))

    def bind(self) -> None:
        super().bind()
        self.manager = str(self.param("fieldManager", "mitigate"))

    def send(self, item: Item, dry_run: bool) -> dict[str, Any]:
        query = {"fieldManager": self.manager, "force": "true", "dryRun": "All" if dry_run else None}
        result = self.t.request("PATCH", item.path, query=query, body=item.extra["body"],
                                content_type=CONTENT_TYPES["apply"], precondition=True)
        return result if isinstance(result, dict) else {}

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        after = self.send(item, False)
        return ([TargetResult(item.target, True, "applied" if item.obj else "created", applied=True)],
                self.undo_for(item, item.obj, after))

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            current = self.t.get_or_none(item.path)
            ok = current is not None and not render.object_changes(current, self.send(item, True))
            out.append(TargetResult(item.target, True, "in place" if ok else "not applied", applied=ok))
        return out

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "apply", "--server-side", f"--field-manager={self.manager}",
                               "--force-conflicts", "-f", "-", namespace=self.namespace(),
                               stdin=manifest_docs(self.p["manifest"]))]


def _eviction(item: Item, grace: int | None, *, uid: bool = True) -> dict[str, Any]:
    opts: dict[str, Any] = {"preconditions": {"uid": ((item.obj or {}).get("metadata") or {}).get("uid")}} \
        if uid else {}
    if grace is not None:
        opts["gracePeriodSeconds"] = grace
    return {"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": item.name, "namespace": item.namespace}, "deleteOptions": opts}


def evict(action: Action, item: Item, grace: int | None, deadline: float,
          cancel: threading.Event | None) -> TargetResult:
    """Evict one pod; a PDB's 429 is retried (honouring Retry-After) until ``deadline``."""
    t = action.t
    while True:
        try:
            t.request("POST", item.res.path(item.namespace, item.name, "eviction"), body=_eviction(item, grace),
                      precondition=True, cancel=cancel, retry_429=False)
            return TargetResult(item.target, True, "evicted", applied=True)
        except ApiError as exc:
            if exc.status == 404:
                return TargetResult(item.target, True, "already gone", applied=True)
            if exc.status != 429:
                return TargetResult(item.target, False, f"eviction refused: {exc.message}")
            wait = min(max(exc.retry_after or 1.0, 0.2), 5.0)
            if time.monotonic() + wait > deadline:
                return TargetResult(item.target, False, f"timed out: {exc.message}")
            if cancel is not None and cancel.wait(wait):
                return TargetResult(item.target, False, "cancelled while waiting for the disruption budget")
            if cancel is None:
                time.sleep(wait)


class Evict(Action):
    verb = "evict"
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("create", "eviction"),)
    DESTRUCTIVE = True

    def bind(self) -> None:
        self.grace = self.param("gracePeriod")
        self.timeout = float(self.param("timeoutSeconds", 300))
        self.items = self.select(self.r.resolve(*POD))

    def preview(self) -> Preview:
        for item in self.items:
            self.t.request("POST", item.res.path(item.namespace, item.name, "eviction"), query={"dryRun": "All"},
                           body=_eviction(item, self.grace), precondition=True)
        return Preview(diff="".join(render.diff(i.obj, None, i.target) for i in self.items),
                       changed_fields=[f"evicted: {t}" for t in self.targets], targets=list(self.targets))

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        return [evict(self, item, self.grace, time.monotonic() + self.timeout, cancel)], []

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            cur = self.t.get_or_none(item.path)
            gone = cur is None or cur["metadata"].get("uid") != (item.obj or {}).get("metadata", {}).get("uid") \
                or bool(cur["metadata"].get("deletionTimestamp"))
            out.append(TargetResult(item.target, True, "evicted" if gone else "still running", applied=gone))
        return out

    def kubectl(self) -> list[str]:
        return [render.kubectl(self.ctx.name, "create", f"--raw={i.res.path(i.namespace, i.name, 'eviction')}",
                               "--filename=-",
                               namespace=i.namespace, stdin=render.compact(_eviction(i, self.grace, uid=False)))
                for i in self.items]


class Drain(Cordon):
    """Cordon, then evict every pod but DaemonSet-owned and mirror pods, within the timeout."""

    verb = "drain"
    DESTRUCTIVE = True

    def bind(self) -> None:
        super().bind()
        self.grace = int(self.param("gracePeriod", 30))
        timeout = self.param("timeout", "5m")
        try:
            from mitigate.runbook.model import parse_duration
            self.timeout = float(timeout) if isinstance(timeout, (int, float)) else parse_duration(str(timeout))
        except ValueError as exc:
            raise ClusterError(f"drain: {exc}") from None
        self.ignore_ds = self.param("ignoreDaemonSets", True) is not False
        self.empty_dir = self.param("deleteEmptyDirData", True) is not False
        self.force = self.param("force", False) is True
        self.skip_wait = int(self.param("skipWaitForDeleteTimeout", 0) or 0)
        self.pod_res = self.r.resolve(*POD)

    def permissions(self) -> list[AccessCheck]:
        checks = access_checks(self.items, (("patch", ""),))
        checks.append(AccessCheck("list", self.pod_res.plural, self.pod_res.group))
        pods: list[Item] = []
        for item in self.items:
            try:
                pods.extend(self.pods(item.name)[0])
            except (ApiError, ClusterError):
                pass  # the list itself is checked above
        namespaces = sorted({p.namespace or "" for p in pods})
        checks += [AccessCheck("create", self.pod_res.plural, self.pod_res.group, "eviction", ns) for ns in namespaces]
        return checks

    def pods(self, node: str) -> tuple[list[Item], list[str]]:
        """Pods to evict on ``node`` and the reasons it cannot be drained (empty when it can).

        The rules are kubectl drain's: mirror pods are left alone, DaemonSet pods are skipped
        (or refused without ignoreDaemonSets), a pod no controller owns is refused unless
        ``force`` (nothing recreates it: evicting it loses it), and so is a pod with emptyDir
        data unless ``deleteEmptyDirData``; a finished pod (Succeeded/Failed) is always evictable.
        """
        evictable, problems = [], []
        for pod in self.t.list_pages(self.pod_res.base(None), field_selector=f"spec.nodeName={node}"):
            meta = pod.get("metadata") or {}
            name = f"{meta.get('namespace')}/{meta['name']}"
            controller = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
            if MIRROR in (meta.get("annotations") or {}):
                continue
            if self._skipped(pod):
                continue  # kubectl drain's skipDeletedFilter: deleted long ago, not waited for
            if controller is not None and controller.get("kind") == "DaemonSet":
                if not self.ignore_ds:
                    problems.append(f"DaemonSet pod {name} (ignoreDaemonSets: true skips it)")
                continue
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if controller is None and not finished and not self.force:
                problems.append(f"pod {name} has no controller: evicting it loses it for good "
                                "(force: true evicts it anyway, as kubectl drain --force)")
            if (not self.empty_dir and not finished
                    and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or [])):
                problems.append(f"pod {name} has emptyDir data (deleteEmptyDirData: true deletes it)")
            evictable.append(Item(self.pod_res, meta.get("namespace"), meta["name"], pod))
        return evictable, problems

    def preview(self) -> Preview:
        prev = super().preview()
        for item in self.items:
            pods, problems = self.pods(item.name)
            prev.warnings.extend(f"{item.name}: would evict {p.target}" for p in pods)
            prev.warnings.extend(f"{item.name}: cannot drain: {p}" for p in problems)
        return prev

    def run_item(self, item: Item, cancel: Any) -> tuple[list[TargetResult], list[ActionRequest]]:
        deadline = time.monotonic() + self.timeout
        results, undo = super().run_item(item, cancel)
        if not results[0].ok:
            return results, undo
        pods, problems = self.pods(item.name)
        if problems:
            return [TargetResult(item.target, False, "cordoned but not drained: " + "; ".join(problems))], undo
        pod_results = [evict(self, p, self.grace, deadline, cancel) for p in pods]
        for pod, res in zip(pods, pod_results, strict=True):
            if res.ok and not self._wait_gone(pod, deadline, cancel):
                res.ok, res.message = False, "evicted but still terminating at the timeout"
        failed = [r for r in pod_results if not r.ok]
        node = TargetResult(item.target, not failed,
                            f"drained ({len(pods)} pods evicted)" if not failed else f"{len(failed)} pods not evicted",
                            applied=not failed)
        return [node, *pod_results], undo

    def _skipped(self, pod: dict[str, Any]) -> bool:
        """kubectl drain's shouldSkipPod: deletion began more than skipWaitForDeleteTimeout seconds ago."""
        if self.skip_wait <= 0:
            return False
        ts = (pod.get("metadata") or {}).get("deletionTimestamp")
        if not ts:
            return False
        try:
            since = parse_rfc3339(str(ts), assume_utc=False).timestamp()
        except ValueError:
            return False
        return time.time() - since > self.skip_wait

    def _wait_gone(self, pod: Item, deadline: float, cancel: threading.Event | None) -> bool:
        uid = (pod.obj or {}).get("metadata", {}).get("uid")
        while True:
            cur = self.t.get_or_none(pod.path)
            if cur is None or cur.get("metadata", {}).get("uid") != uid or self._skipped(cur):
                return True
            if time.monotonic() > deadline or (cancel is not None and cancel.is_set()):
                return False
            time.sleep(0.2)

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            node = self.t.get_or_none(item.path) or {}
            pods, _ = self.pods(item.name)
            ok = bool((node.get("spec") or {}).get("unschedulable")) and not pods
            out.append(TargetResult(item.target, True, "drained" if ok else f"{len(pods)} pods left", applied=ok))
        return out

    def kubectl(self) -> list[str]:
        flags = [f"--grace-period={self.grace}", f"--timeout={int(self.timeout)}s"]
        flags += ["--ignore-daemonsets"] if self.ignore_ds else []
        flags += ["--delete-emptydir-data"] if self.empty_dir else []
        flags += ["--force"] if self.force else []
        flags += [f"--skip-wait-for-delete-timeout={self.skip_wait}"] if self.skip_wait > 0 else []
        if self.p.get("selector") and not (self.p.get("name") or self.p.get("names")):
            return [render.kubectl(self.ctx.name, "drain", f"--selector={self.p['selector']}", *flags)]
        return [render.kubectl(self.ctx.name, "drain", *[render.obj("nodes", i.name) for i in self.items], *flags)] \
            if self.items else []
