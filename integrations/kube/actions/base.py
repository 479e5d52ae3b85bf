"""Shared machinery of prepared actions: scope checks, target resolution, the
dry-run/diff/execute/recheck cycle for actions that change existing objects.

Targets are resolved once, when the action is prepared, so what executes is
exactly what the responder saw and confirmed (a selector is not re-evaluated
between preview and execute).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mitigate.ports import (
    AccessCheck,
    ActionOutcome,
    ActionRequest,
    CircuitOpen,
    ClusterError,
    PartialOutcome,
    Preview,
    TargetResult,
)

from .. import render
from ..resources import Resolver, Resource, check_name
from ..transport import CONTENT_TYPES, ApiError, ConnectionFailed, Transport

LIST_INSTEAD_OF_GETS = 20  # more names than this: one paginated list beats one GET per name


NAMED_CHECKS = 20


def access_checks(items: Sequence[Item], wanted: Iterable[tuple[str, str]]) -> list[AccessCheck]:
    """One AccessCheck per (verb, subresource) and target, deduplicated; by namespace for many targets."""
    named = len(items) <= NAMED_CHECKS
    out: dict[AccessCheck, None] = {}
    for verb, sub in wanted:
        for item in items:
            out.setdefault(AccessCheck(verb, item.res.plural, item.res.group, sub, item.namespace or "",
                                       item.name if named else ""))
    return list(out)


class BatchHalted(CircuitOpen, PartialOutcome):
    """The circuit opened mid-batch; ``outcome`` records every target (attempted or not)."""


@dataclass
class Ctx:
    """Everything an action needs to talk to one cluster."""

    name: str
    namespace: str
    transport: Transport
    resolver: Resolver
    concurrency: int = 8


@dataclass
class Item:
    """One target object with its state when the action was prepared."""

    res: Resource
    namespace: str | None
    name: str
    obj: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.res.target(self.namespace, self.name)

    @property
    def path(self) -> str:
        return self.res.path(self.namespace, self.name)


def _as_name(value: Any) -> str | None:
    """A name, or an object as a check returns it -> ``namespace/name`` (``name`` if cluster-scoped)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
        meta = value["metadata"]
        if isinstance(meta.get("name"), str):
            return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
    return None


def strs(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    out = [_as_name(v) for v in values]
    if all(isinstance(v, str) for v in out):
        return [v for v in out if v is not None]
    raise ClusterError(f"{what} must be a name, namespace/name, an object or a list of them")


class Action:
    """Base of every verb. Subclasses resolve ``items`` in ``bind`` and implement the cycle."""

    verb: ClassVar[str] = ""
    DESTRUCTIVE: ClassVar[bool] = False
    SCOPE_KEYS: ClassVar[tuple[str, ...]] = ("name", "names", "selector", "namespace", "manifest")
    RBAC: ClassVar[tuple[tuple[str, str], ...]] = (("patch", ""),)
    """(verb, subresource) the action asks for on each target: the RBAC preflight's checks."""

    def __init__(self, ctx: Ctx, request: ActionRequest) -> None:
        self.ctx, self.request = ctx, request
        self.p: dict[str, Any] = dict(request.params)
        self.t, self.r = ctx.transport, ctx.resolver
        self.destructive = self.DESTRUCTIVE
        self.items: list[Item] = []
        self._check_scope()
        self.bind()
        self.targets: Sequence[str] = [i.target for i in self.items]

    # ------------------------------------------------------------------ scope and targets

    def _check_scope(self) -> None:
        scoped = any(self.p.get(k) not in (None, "", {}) for k in self.SCOPE_KEYS)
        if "names" in self.p and self.p["names"] == []:
            scoped = True  # an empty batch slice is scoped to nothing
        if not scoped and not self.request.cluster_scope:
            raise ClusterError(f"{self.verb}: refusing an unscoped mutation on {self.ctx.name}: give "
                               f"{', '.join(k for k in self.SCOPE_KEYS)} or state 'scope: cluster'")

    def bind(self) -> None:
        raise NotImplementedError

    def param(self, key: str, default: Any = None, *, required: bool = False) -> Any:
        value = self.p.get(key, default)
        if required and value in (None, ""):
            raise ClusterError(f"{self.verb}: parameter {key!r} is required")
        return value

    def permissions(self) -> list[AccessCheck]:
        """The checks of ``RBAC`` on every target (by name up to NAMED_CHECKS targets, so rules limited
        by resourceNames answer truly; per namespace beyond that)."""
        return access_checks(self.items, self.RBAC)

    def namespace(self) -> str | None:
        ns = self.p.get("namespace")
        if ns is None:
            return None
        check_name(ns, self.verb, "namespace")  # "" would widen a namespace to the whole cluster
        return str(ns)

    def select(self, res: Resource, *, names_key: str = "names") -> list[Item]:
        """Objects named by name/names, or matched by selector, with their current state.

        A name may carry its own namespace (``shop/web``), so one request can act across
        namespaces; ``namespace`` is the default for names without one.
        """
        ns = self.namespace() if res.namespaced else None
        default_ns = ns or (self.ctx.namespace if res.namespaced else None)
        refs: list[tuple[str | None, str]] = []
        for full in strs(self.p.get("name"), "name") + strs(self.p.get(names_key), names_key):
            own, sep, name = full.rpartition("/")
            if sep and not res.namespaced:
                raise ClusterError(f"{self.verb}: {res.kind} is not namespaced, so {full!r} cannot name "
                                   "a namespace")
            if sep and (not own or not name or "/" in own):
                raise ClusterError(f"{self.verb}: {full!r} is not a name or namespace/name")
            if sep:
                check_name(own, f"{self.verb} {res.kind}", "namespace")
            check_name(name if sep else full, f"{self.verb} {res.kind}")
            refs.append((own if sep else default_ns, name if sep else full))
        refs = list(dict.fromkeys(refs))
        selector = self.p.get("selector")
        named = bool(refs) or self.p.get("name") is not None or isinstance(self.p.get(names_key), list)
        items: list[Item] = []
        if len(refs) > LIST_INSTEAD_OF_GETS:
            spaces = {r[0] for r in refs}
            wanted = dict.fromkeys(refs)
            found: dict[tuple[str | None, str], dict[str, Any]] = {}
            for listed in self.t.list_pages(res.base(spaces.pop() if len(spaces) == 1 else None)):
                meta = listed["metadata"]
                key = (meta.get("namespace") if res.namespaced else None, meta["name"])
                if key in wanted:
                    found[key] = listed
            missing = [r for r in wanted if r not in found]
            if missing:
                raise ClusterError(f"{self.ctx.name}: {res.target(*missing[0])} not found"
                                   + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
            items = [Item(res, n_s, n, found[(n_s, n)]) for n_s, n in wanted]
        elif named:
            # exactly the named objects; an empty list (an empty batch slice) is nothing, never
            # "every object in the namespace"
            for n_s, name in refs:
                obj = self.t.get_or_none(res.path(n_s, name))
                if obj is None:
                    raise ClusterError(f"{self.ctx.name}: {res.target(n_s, name)} not found")
                items.append(Item(res, n_s, name, obj))
        elif selector or self.request.cluster_scope or ns:
            for obj in self.t.list_pages(res.base(ns), label_selector=str(selector) if selector else None):
                meta = obj.get("metadata") or {}
                items.append(Item(res, meta.get("namespace") if res.namespaced else None, meta["name"], obj))
        return items

    def resource(self, default_version: str | None = None, default_kind: str | None = None) -> Resource:
        api_version = self.p.get("apiVersion") or default_version
        kind = self.p.get("kind") or default_kind
        if not api_version or not kind:
            raise ClusterError(f"{self.verb}: apiVersion and kind are required")
        return self.r.resolve(str(api_version), str(kind))

    def undo_request(self, verb: str, params: Mapping[str, Any]) -> ActionRequest:
        return ActionRequest(context=self.ctx.name, verb=verb, params=dict(params),
                             step_id=self.request.step_id, cluster_scope=self.request.cluster_scope,
                             backup_dir=self.request.backup_dir)

    # ------------------------------------------------------------------ presentation

    def describe(self) -> str:
        return f"{self.verb} {render.join_targets(self.targets)} on {self.ctx.name}" if self.targets \
            else f"{self.verb}: no matching objects on {self.ctx.name}"

    def ns_flag(self, item: Item | None = None) -> str | None:
        if item is not None:
            return item.namespace if item.res.namespaced else None
        return self.namespace()

    def kubectl(self) -> list[str]:
        raise NotImplementedError

    def preview(self) -> Preview:
        raise NotImplementedError

    def recheck(self) -> list[TargetResult]:
        raise NotImplementedError

    # ------------------------------------------------------------------ execution

    def execute(self, *, on_target: Callable[[TargetResult], None] | None = None,
                cancel: threading.Event | None = None) -> ActionOutcome:
        """Run ``run_item`` over the items with bounded concurrency; each target reported once."""
        self.t.breaker.reset()  # a new execute is the responder's decision to try again
        outcome = ActionOutcome(results=[])
        lock = threading.Lock()
        halted: list[CircuitOpen] = []

        def one(item: Item) -> None:
            if halted or (cancel is not None and cancel.is_set()):
                why = f"not attempted: {halted[0]}" if halted else "not attempted: cancelled"
                results: list[TargetResult] = [TargetResult(item.target, False, why)]
                undo: list[ActionRequest] = []
            else:
                self.t.take_absorbed()
                try:
                    results, undo = self.run_item(item, cancel)
                except CircuitOpen as exc:
                    with lock:
                        halted.append(exc)
                    results, undo = [TargetResult(item.target, False, f"unknown: {exc}")], []
                except ClusterError as exc:
                    results, undo = [TargetResult(item.target, False, str(exc))], []
            absorbed = self.t.take_absorbed()
            with lock:
                outcome.results.extend(results)
                outcome.undo.extend(undo)
                outcome.api_errors_absorbed += absorbed
            for res in results:
                if on_target is not None:
                    on_target(res)

        self.run_all(one, self.items)
        outcome.undo = self.order_undo(outcome.undo)
        if halted:
            raise BatchHalted(str(halted[0]), outcome)
        return outcome

    def run_all(self, fn: Callable[[Item], None], items: Iterable[Item]) -> None:
        items = list(items)
        if self.ctx.concurrency <= 1 or len(items) <= 1:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(max_workers=min(self.ctx.concurrency, len(items))) as pool:
            list(pool.map(fn, items))

    def order_undo(self, undo: list[ActionRequest]) -> list[ActionRequest]:
        return undo

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        raise NotImplementedError


@dataclass
class Change:
    """One request that changes an object: a patch (by type) or a PUT/POST body."""

    body: Any
    patch_type: str = "merge"  # strategic | merge | json
    sub: str = ""


def patch_paths(body: Any, prefix: str = "") -> list[str]:
    """Dotted paths a patch writes: the leaves of an object patch, the ``path`` of JSON-patch ops."""
    if isinstance(body, list):
        return [".".join(p for p in str(op.get("path", "")).split("/") if p).replace("~1", "/").replace("~0", "~")
                for op in body if isinstance(op, dict)]
    if isinstance(body, dict) and body:
        out: list[str] = []
        for key, value in body.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(patch_paths(value, path) if isinstance(value, dict) and value else [path])
        return out
    return [prefix] if prefix else []


class ObjectChange(Action):
    """An action that patches existing objects: dry-run preview, preconditioned execute, undo."""

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        raise NotImplementedError

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        """Is the change in place? Default: a dry run of it would change nothing it touches.

        Only the patched paths count: controllers keep writing elsewhere (revision
        annotations, status) and must not make a landed change look missing.
        """
        after = self.send(item, obj, dry_run=True)
        touched = patch_paths(self.change(item, obj).body)
        return not [f for f in render.object_changes(obj, after)
                    if any(f == p or f.startswith((p + ".", p + "[")) for p in touched)]

    def undo_for(self, item: Item, before: dict[str, Any], after: dict[str, Any]) -> list[ActionRequest]:
        patch = render.restore_patch(after, before)
        if not patch:
            return []
        return [self.undo_request("patch", {
            "apiVersion": item.res.api_version, "kind": item.res.kind, "namespace": item.namespace,
            "name": item.name, "type": "merge", "patch": patch})]

    def send(self, item: Item, obj: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        ch = self.change(item, obj)
        body = ch.body
        precondition = False
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if rv and not dry_run and ch.patch_type in ("merge", "strategic") and isinstance(body, dict):
            body = {**body, "metadata": {**(body.get("metadata") or {}), "resourceVersion": rv}}
            precondition = True
        result = self.t.request("PATCH", item.res.path(item.namespace, item.name, ch.sub),
                                query={"dryRun": "All" if dry_run else None}, body=body,
                                content_type=CONTENT_TYPES[ch.patch_type], precondition=precondition)
        return result if isinstance(result, dict) else {}

    def preview(self) -> Preview:
        parts: list[str] = []
        fields: list[str] = []
        for item in self.items:
            before = item.obj or {}
            after = self.send(item, before, dry_run=True)
            parts.append(render.diff(before, after, item.target))
            fields.extend(f for f in render.object_changes(before, after) if f not in fields)
        return Preview(diff="".join(parts), changed_fields=fields, targets=list(self.targets))

    def run_item(self, item: Item, cancel: threading.Event | None) -> tuple[list[TargetResult], list[ActionRequest]]:
        before = item.obj or {}
        obj = before
        for _ in range(4):
            try:
                after = self.send(item, obj, dry_run=False)
            except ApiError as exc:
                if exc.status != 409:
                    raise
            except ConnectionFailed:
                # the change may or may not have landed: read back instead of guessing
                pass
            else:
                return [TargetResult(item.target, True, "changed", applied=True)], self.undo_for(item, before, after)
            current = self.t.get_or_none(item.path)
            if current is None:
                return [TargetResult(item.target, False, "object no longer exists")], []
            if self.applied(item, current):
                return [TargetResult(item.target, True, "changed (confirmed on re-read)", applied=True)], \
                    self.undo_for(item, before, current)
            obj = current
        return [TargetResult(item.target, False, "gave up after repeated conflicts")], []

    def recheck(self) -> list[TargetResult]:
        out = []
        for item in self.items:
            current = self.t.get_or_none(item.path)
            if current is None:
                out.append(TargetResult(item.target, False, "object no longer exists", applied=False))
                continue
            ok = self.applied(item, current)
            out.append(TargetResult(item.target, True, "in place" if ok else "not applied", applied=ok))
        return out
