"""revertChanges: undo what one field manager did in a time window (the IONOS lesson).

Searches every listable resource for objects whose ``metadata.managedFields``
carry the manager with a time inside [since, until]. Objects the manager
created in the window are deleted (after a backup); objects it changed are
restored from a backup in the incident directory when one exists. Without a
prior state nothing is guessed: the target is reported "cannot restore".
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from mitigate.ports import ActionRequest, ClusterError, Preview, TargetResult

from .. import render
from ..resources import Resource
from ..transport import CONTENT_TYPES, ApiError
from .base import Action, Item, strs
from .lifecycle import backup_path, write_backup


def parse_time(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ClusterError(f"revertChanges: {what} is not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ClusterError(f"revertChanges: {what} needs a timezone (e.g. 2026-05-01T10:00:00Z)")
    return parsed


class RevertChanges(Action):
    verb = "revertChanges"
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
                f"{self.ctx.name}: delete {created} created, restore {len(self.items) - created} changed")

    def preview(self) -> Preview:
        parts, fields, warnings = [], [], []
        for item in self.items:
            if item.extra["mode"] == "created":
                parts.append(render.diff(item.obj, None, item.target))
                fields.append(f"deleted: {item.target}")
                continue
            prior = self._backup_of(item)
            if prior is None:
                warnings.append(f"{item.target}: cannot restore: no prior state")
                continue
            patch = render.restore_patch(item.obj or {}, prior)
            after = self.t.request("PATCH", item.path, query={"dryRun": "All"}, body=patch,
                                   content_type=CONTENT_TYPES["merge"])
            parts.append(render.diff(item.obj, after, item.target))
            fields.extend(f"{item.target}: {f}" for f in render.object_changes(item.obj, after))
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
        prior = self._backup_of(item)
        if prior is None:
            return [TargetResult(item.target, False, "cannot restore: no prior state")], []
        patch = render.restore_patch(current, prior)
        if not patch:
            return [TargetResult(item.target, True, "already matches its backup", applied=True)], []
        rv = current["metadata"].get("resourceVersion")
        patch.setdefault("metadata", {})["resourceVersion"] = rv
        after = self.t.request("PATCH", item.path, body=patch, content_type=CONTENT_TYPES["merge"],
                               precondition=True)
        undo = render.restore_patch(after or {}, current)
        return ([TargetResult(item.target, True, "restored from backup", applied=True)],
                [self.undo_request("patch", {"apiVersion": item.res.api_version, "kind": item.res.kind,
                                             "namespace": item.namespace, "name": item.name, "type": "merge",
                                             "patch": undo})] if undo else [])

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            current = self.t.get_or_none(item.path)
            if item.extra["mode"] == "created":
                gone = current is None or current["metadata"].get("uid") != (item.obj or {})["metadata"].get("uid")
                out.append(TargetResult(item.target, True, "gone" if gone else "still present", applied=gone))
                continue
            prior = self._backup_of(item)
            ok = prior is not None and current is not None and not render.restore_patch(current, prior)
            out.append(TargetResult(item.target, prior is not None, "restored" if ok else "not restored", applied=ok))
        return out

    def kubectl(self) -> list[str]:
        out = []
        for item in self.items:
            ns = item.namespace if item.res.namespaced else None
            if item.extra["mode"] == "created":
                out.append(render.kubectl(self.ctx.name, "delete", item.res.kubectl_type, item.name, namespace=ns))
            elif self.request.backup_dir and self._backup_of(item) is not None:
                path = backup_path(self.request.backup_dir, self.ctx.name, item)
                out.append(render.kubectl(self.ctx.name, "apply", "-f", str(Path(path)), namespace=ns))
        return out
