"""revertChanges: undo what one field manager did in a time window (the IONOS lesson).

Searches every listable resource for objects whose ``metadata.managedFields``
carry the manager with a time inside [since, until]. Objects the manager
created in the window are deleted (after a backup). From objects it changed,
the fields it alone owns (managedfields.py) are taken back with one JSON patch
carrying a resourceVersion precondition: restored from a backup in the incident
directory when one exists, else removed where removal is the undo (label and
annotation keys, list items it added). Nothing is guessed: a field whose earlier
value exists nowhere, a field another manager also owns and a field whose removal
the server rejects as invalid are left and named in the outcome.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any, ClassVar

import yaml

from mitigate.ports import ActionRequest, ClusterError, Preview, TargetResult
from mitigate.timefmt import parse_rfc3339

from .. import managedfields, render
from ..resources import Resource
from ..transport import CONTENT_TYPES, ApiError
from .base import Action, Item, strs
from .lifecycle import backup_path, write_backup


def parse_time(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parse_rfc3339(str(value))
    except ValueError:
        raise ClusterError(f"revertChanges: {what} is not an RFC 3339 time: {value!r}") from None
    try:
        return parse_rfc3339(str(value), assume_utc=False)
    except ValueError:
        raise ClusterError(f"revertChanges: {what} needs a timezone (e.g. 2026-05-01T10:00:00Z)") from None


CONFLICT_RETRIES = 5  # fresh read + recomputed patch after a 409, as ``retry.RetryOnConflict`` does


class RevertChanges(Action):
    verb = "revertChanges"
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("patch", ""), ("delete", ""))
    DESTRUCTIVE = True
    SCOPE_KEYS = ("namespaces", "selector", "kinds")

    def bind(self) -> None:
        self.manager = str(self.param("fieldManager", required=True))
        self.since = parse_time(self.param("since", required=True), "since")
        until = self.param("until")
        self.until = parse_time(until, "until") if until else None
        namespaces = strs(self.p.get("namespaces"), "namespaces")
        kinds = set(strs(self.p.get("kinds"), "kinds"))
        selector = self.p.get("selector")
        for res in self.r.listable():
            if kinds and res.kind not in kinds and f"{res.kind}.{res.group}" not in kinds:
                continue
            if namespaces and not res.namespaced:
                continue
            for ns in (namespaces if namespaces and res.namespaced else [None]):
                for obj in self._list(res, ns, selector):
                    mode = self.classify(obj)
                    if mode:
                        meta = obj["metadata"]
                        item = Item(res, meta.get("namespace") if res.namespaced else None, meta["name"], obj)
                        item.extra["mode"] = mode
                        self.items.append(item)

    def _list(self, res: Resource, ns: str | None, selector: Any) -> list[dict[str, Any]]:
        try:
            return list(self.t.list_pages(res.base(ns), label_selector=str(selector) if selector else None))
        except ApiError as exc:
            if exc.status in (403, 404, 405):
                return []  # not listable for us: skipped, as kubectl api-resources would
            raise

    def _in_window(self, stamp: Any) -> bool:
        if not stamp:
            return False
        t = parse_time(stamp, "managedFields time")
        return t >= self.since and (self.until is None or t <= self.until)

    def classify(self, obj: dict[str, Any]) -> str | None:
        """"created", "changed" or None (the manager did nothing to it in the window).

        managedFields record Apply or Update, never Create, so creation is inferred: the
        object was created inside the window and no other manager wrote its main resource
        (not ``status``) in the second it was created.
        """
        meta = obj.get("metadata") or {}
        fields = meta.get("managedFields") or []
        mine = [m for m in fields if m.get("manager") == self.manager]
        if not any(self._in_window(m.get("time")) for m in mine):
            return None
        born = meta.get("creationTimestamp")
        if not self._in_window(born):
            return "changed"
        born_at = parse_time(born, "creationTimestamp").replace(microsecond=0)
        for m in fields:
            if m.get("manager") != self.manager and m.get("subresource", "") != "status" and m.get("time") \
                    and parse_time(m["time"], "managedFields time").replace(microsecond=0) <= born_at:
                return "changed"
        return "created"

    def _backup_of(self, item: Item) -> dict[str, Any] | None:
        if not self.request.backup_dir:
            return None
        path = backup_path(self.request.backup_dir, self.ctx.name, item)
        if not path.is_file():
            return None
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None

    def describe(self) -> str:
        created = sum(1 for i in self.items if i.extra["mode"] == "created")
        return (f"revert changes by field manager {self.manager!r} since {self.since.isoformat()} on "
                f"{self.ctx.name}: delete {created} created, take back its fields from "
                f"{len(self.items) - created} changed")

    def _plan(self, item: Item, obj: dict[str, Any]) -> managedfields.FieldPlan:
        """The manager's sole fields of ``obj``, with removals the server rejects moved to ``refused``.

        Validity is the server's call: the patch is dry-run; when it is rejected (422), each
        field's operations are dry-run alone and the rejected ones are left and reported.
        """
        fp = managedfields.plan(obj, self.manager, self._backup_of(item))
        if fp.ops and self._dry_run(item, fp.patch(None)) is None:
            for name, _ in list(fp.ops):
                if self._dry_run(item, fp.patch(None, {name})) is None:
                    fp.ops = [o for o in fp.ops if o[0] != name]
                    fp.removed = [n for n in fp.removed if n != name]
                    fp.restored = [n for n in fp.restored if n != name]
                    fp.refused.append(name)
        return fp

    def _dry_run(self, item: Item, patch: list[dict[str, Any]]) -> dict[str, Any] | None:
        try:
            out = self.t.request("PATCH", item.path, query={"dryRun": "All"}, body=patch,
                                 content_type=CONTENT_TYPES["json"])
        except ApiError as exc:
            if exc.status in (400, 422):
                return None
            raise
        return out if isinstance(out, dict) else None

    def preview(self) -> Preview:
        parts: list[str] = []
        fields: list[str] = []
        warnings: list[str] = []
        for item in self.items:
            if item.extra["mode"] == "created":
                parts.append(render.diff(item.obj, None, item.target))
                fields.append(f"deleted: {item.target}")
                continue
            obj = self.t.get_or_none(item.path)
            if obj is None:
                warnings.append(f"{item.target}: already gone")
                continue
            fp = self._plan(item, obj)
            item.extra["plan"] = fp
            for label, names in (("cannot restore (earlier value unknown, no backup)", fp.unknown),
                                 ("kept, removal would make it invalid", fp.refused),
                                 ("kept, shared", fp.shared)):
                warnings.extend(f"{item.target}: {label}: {n}" for n in names)
            if not fp.ops:
                continue
            after = self._dry_run(item, fp.patch(None))
            parts.append(render.diff(obj, after, item.target))
            fields.extend(f"{item.target}: removed {n}" for n in fp.removed)
            fields.extend(f"{item.target}: restored {n}" for n in fp.restored)
        return Preview(diff="".join(parts), changed_fields=fields, targets=list(self.targets), warnings=warnings)

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        current = self.t.get_or_none(item.path)
        if current is None:
            return [TargetResult(item.target, True, "already gone", applied=True)], []
        if item.extra["mode"] == "created":
            backup = write_backup(self.request.backup_dir, self.ctx.name, item, current)
            uid = current["metadata"].get("uid")
            try:
                self.t.request("DELETE", item.path, body={"apiVersion": "v1", "kind": "DeleteOptions",
                                                          "preconditions": {"uid": uid}}, precondition=True)
            except ApiError as exc:
                if exc.status != 404:
                    raise
            return ([TargetResult(item.target, True, "deleted (created in the window)", applied=True, backup=backup)],
                    [self.undo_request("create", {"manifest": render.clean(current)})])
        for _attempt in range(CONFLICT_RETRIES):
            fp = self._plan(item, current)
            complete = not fp.unknown and not fp.refused
            if not fp.ops:
                return [TargetResult(item.target, complete, fp.summary(), applied=complete)], []
            try:
                after = self.t.request("PATCH", item.path,
                                       body=fp.patch(str(current["metadata"]["resourceVersion"])),
                                       content_type=CONTENT_TYPES["json"], precondition=True)
            except ApiError as exc:
                if exc.status != 409:
                    raise
                # someone wrote it since we read it (controllers update status all the time):
                # read again and recompute the fields from the fresh managedFields
                fresh = self.t.get_or_none(item.path)
                if fresh is None:
                    return [TargetResult(item.target, True, "already gone", applied=True)], []
                current = fresh
                continue
            # no backup file here: that path holds the *prior* state a later run would restore
            # from; the undo request below carries the state before this patch
            undo = render.restore_patch(after or {}, current)
            return ([TargetResult(item.target, complete, fp.summary(), applied=True)],
                    [self.undo_request("patch", {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                                 "namespace": item.namespace, "name": item.name,
                                                 "type": "merge", "patch": undo})] if undo else [])
        return [TargetResult(item.target, False, f"still conflicting after {CONFLICT_RETRIES} fresh reads; "
                                                 "nothing changed")], []

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            current = self.t.get_or_none(item.path)
            if item.extra["mode"] == "created":
                gone = current is None or current["metadata"].get("uid") != (item.obj or {})["metadata"].get("uid")
                out.append(TargetResult(item.target, True, "gone" if gone else "still present", applied=gone))
                continue
            if current is None:
                out.append(TargetResult(item.target, True, "already gone", applied=True))
                continue
            fp = managedfields.plan(current, self.manager, self._backup_of(item))
            done = not fp.ops  # what can be taken back was; the summary names what cannot
            out.append(TargetResult(item.target, done and not fp.unknown and not fp.refused,
                                    fp.summary() if done else "the manager's fields are still present",
                                    applied=done))
        return out

    def kubectl(self) -> list[str]:
        out = []
        for item in self.items:
            ns = item.namespace if item.res.namespaced else None
            if item.extra["mode"] == "created":
                out.append(render.kubectl(self.ctx.name, "delete", render.obj(item.res.kubectl_type, item.name),
                                          namespace=ns))
                continue
            # the value tests are the precondition here: a printed resourceVersion goes stale within
            # seconds on a live object (controllers write status), the field values do not
            fp = item.extra.get("plan") or managedfields.plan(item.obj or {}, self.manager, self._backup_of(item))
            if fp.ops:
                body = json.dumps(fp.patch(None), separators=(",", ":"))
                out.append(render.kubectl(self.ctx.name, "patch", render.obj(item.res.kubectl_type, item.name),
                                          "--type=json", f"--patch={body}", namespace=ns))
        return out
