"""One cluster's objects: CRUD semantics, resource versions, watch history, ownership.

``ClusterState`` is the single source of truth the HTTP handlers, the simulation and
tests share. Every method takes the cluster lock, so tests can read and write state from
their own thread while the server thread serves requests. Stored objects are never
mutated in place (writers build a new dict), which lets list responses reuse each
object's cached JSON bytes and lets watch history keep snapshots without copying.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import defaults, fieldsets
from .patch import copy_json
from .resources import Registry, Resource
from .storage import CRD_FINALIZER as CRD_FINALIZER  # re-exported: the controllers import them from here
from .storage import deletion_timestamp
from .storage import now_iso as now_iso
from .validation import shape_causes, update_causes

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
QUIET_SEEDS = {("", "pods"), ("", "nodes"), ("", "namespaces"), ("", "configmaps")}  # no simulation work at start


class ApiError(Exception):
    """An API failure answered as a ``Status`` body."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = headers or {}

    def status(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": self.message, "reason": self.reason}
        if self.details is not None:  # the API server's field order; an empty (core) group is omitted
            body["details"] = {k: v for k, v in self.details.items() if not (k == "group" and not v)}
        body["code"] = self.code
        return body


def not_found(r: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{r.plural}{"." + r.group if r.group else ""} "{name}" not found',
                    {"name": name, "group": r.group, "kind": r.plural})


def conflict(r: Resource, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {r.plural} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                    {"name": name, "group": r.group, "kind": r.plural})


def invalid(r: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 as apimachinery's NewInvalid words it: the group-qualified kind (``Deployment.apps``;
    core kinds bare), and one cause as it is, several as ``[a, b]`` (an aggregate's Error()).
    kubectl prints ``The Deployment "x" is invalid`` from the details' plain kind."""
    errors = [f"{f}: {m}" for f, m in causes]
    msg = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
    qualified = f"{r.kind}.{r.group}" if r.group else r.kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {msg}',
                    {"name": name, "group": r.group, "kind": r.kind,
                     "causes": [{"reason": "FieldValueRequired" if "Required" in m else "FieldValueInvalid",
                                 "message": m, "field": f} for f, m in causes]})


def _dig(obj: Obj, path: str) -> Any:
    cur: Any = obj
    for p in path.split("."):
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def fields_v1(body: Any) -> Obj:
    """A FieldsV1 set naming the fields ``body`` sets (see fieldsets.py)."""
    return fieldsets.field_set(body)


@dataclass
class WatchEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    rkey: tuple[str, str]
    obj: Obj
    old: Obj | None = None  # the previous state of a MODIFIED object (selector transitions)


@dataclass
class Writer:
    """Who is writing: the manager recorded in managedFields and whether it is a dry run."""

    manager: str = "sandbox"
    operation: str = "Update"
    dry_run: bool = False
    fields: Any = None  # the request body (for managedFields); None = the whole object
    user: Obj | None = None  # the requester's userInfo for admission (None: a simulated controller)
    admit: bool = True  # False: admitted already (a subresource write the server admitted as such)
    warnings: list[str] = field(default_factory=list)  # admission warnings for the response
    delay: float = 0.0  # seconds the admission webhooks took, which the response waits


SYSTEM = Writer()


@dataclass
class ClusterState:
    """All objects of one simulated cluster."""

    name: str
    registry: Registry = field(default_factory=Registry.builtin)
    grace_seconds: float = 0.3  # simulated wait before a gracefully deleted pod disappears
    history_size: int = 5000
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[Key, Obj]] = {}
        self._cache: dict[tuple[str, str], dict[Key, bytes]] = {}
        self._rv = 1
        self.history: deque[WatchEvent] = deque(maxlen=self.history_size)
        self.compacted_rv = 1  # events at or below this rv are gone
        self._watchers: list[Callable[[WatchEvent], None]] = []
        self._owned: dict[str, set[tuple[tuple[str, str], Key]]] = {}
        self.pending_removal: dict[tuple[tuple[str, str], Key], float] = {}
        self.dirty: set[tuple[tuple[str, str], Key]] = set()  # touched since the last simulation tick
        self._uid_prefix = str(uuid.uuid4())[:24]
        self._uid_seq = 0
        # every create, update and delete passes the admission chain (admission.py); seeding bypasses it
        from .admission import Chain

        self.admission = Chain(self)

    def new_uid(self) -> str:
        """A unique UUID-shaped uid: random per cluster, then a counter (uuid4 per object is too slow)."""
        self._uid_seq += 1
        return f"{self._uid_prefix}{self._uid_seq:012x}"

    # ------------------------------------------------------------------ basics

    @property
    def rv(self) -> int:
        return self._rv

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def resource(self, name: str) -> Resource:
        return self.registry.lookup(name)

    def bucket(self, r: Resource) -> dict[Key, Obj]:
        return self.objects.setdefault(r.key, {})

    def serialized(self, r: Resource, key: Key) -> bytes:
        """The object's JSON bytes, cached until it changes."""
        cache = self._cache.setdefault(r.key, {})
        b = cache.get(key)
        if b is None:
            b = json.dumps(self.objects[r.key][key], separators=(",", ":")).encode()
            cache[key] = b
        return b

    def subscribe(self, fn: Callable[[WatchEvent], None]) -> Callable[[], None]:
        with self.lock:
            self._watchers.append(fn)

        def cancel() -> None:
            with self.lock:
                if fn in self._watchers:
                    self._watchers.remove(fn)

        return cancel

    def events_since(self, rv: int) -> list[WatchEvent] | None:
        """History after ``rv``; None when it was compacted away (410 Expired)."""
        with self.lock:
            if rv < self.compacted_rv:
                return None
            return [e for e in self.history if e.rv > rv]

    def snapshot_at(self, r: Resource, rv: int) -> dict[Key, Obj] | None:
        """The resource's objects as they were at ``rv`` (a list with resourceVersionMatch=Exact),
        rewound from the watch history; None when that history was compacted away."""
        with self.lock:
            if rv < self.compacted_rv:
                return None
            state = dict(self.bucket(r))
            for ev in reversed(self.history):
                if ev.rv <= rv:
                    break
                if ev.rkey != r.key:
                    continue
                meta = ev.obj.get("metadata") or {}
                key = (meta.get("namespace", "") if r.namespaced else "", meta.get("name", ""))
                if ev.type == "ADDED":
                    state.pop(key, None)
                elif ev.type == "MODIFIED" and ev.old is not None:
                    state[key] = ev.old
                elif ev.type == "DELETED":
                    state[key] = ev.obj
            return state

    def compact(self) -> None:
        """Forget watch history and outstanding continue tokens (as etcd compaction does)."""
        with self.lock:
            self.history.clear()
            self._rv += 1
            self.compacted_rv = self._rv

    def _store(self, r: Resource, key: Key, obj: Obj, event: str | None) -> None:
        bucket = self.bucket(r)
        old = bucket.get(key)
        if old is not None:
            self._unindex(r, key, old)
        rv = self._next_rv()
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        bucket[key] = obj
        self._cache.setdefault(r.key, {}).pop(key, None)
        self._index(r, key, obj)
        self.dirty.add((r.key, key))
        if event:
            self._emit(WatchEvent(rv, event, r.key, obj, old))

    def _drop(self, r: Resource, key: Key) -> Obj | None:
        obj = self.bucket(r).pop(key, None)
        if obj is None:
            return None
        self._cache.get(r.key, {}).pop(key, None)
        self._unindex(r, key, obj)
        self.pending_removal.pop((r.key, key), None)
        rv = self._next_rv()
        gone = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(rv)))
        self.dirty.add((r.key, key))
        self._emit(WatchEvent(rv, "DELETED", r.key, gone))
        return gone

    def _emit(self, ev: WatchEvent) -> None:
        if len(self.history) == self.history.maxlen:
            self.compacted_rv = self.history[0].rv
        self.history.append(ev)
        for w in list(self._watchers):
            w(ev)

    def _index(self, r: Resource, key: Key, obj: Obj) -> None:
        for ref in obj["metadata"].get("ownerReferences") or ():
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if uid:
                self._owned.setdefault(uid, set()).add((r.key, key))

    def _unindex(self, r: Resource, key: Key, obj: Obj) -> None:
        for ref in obj["metadata"].get("ownerReferences") or ():
            uid = ref.get("uid") if isinstance(ref, dict) else None
            if uid and uid in self._owned:
                self._owned[uid].discard((r.key, key))

    def dependents(self, uid: str) -> list[tuple[Resource, Key, Obj]]:
        out = []
        with self.lock:
            for rkey, key in list(self._owned.get(uid, ())):
                r = self.registry.by_key.get(rkey)
                obj = self.objects.get(rkey, {}).get(key)
                if r is not None and obj is not None:
                    out.append((r, key, obj))
        return out

    # ------------------------------------------------------------------ reads

    def get(self, r: Resource | str, name: str, namespace: str | None = None) -> Obj:
        """A stored object (do not mutate it; use ``update``/``put``)."""
        r = self.resource(r) if isinstance(r, str) else r
        with self.lock:
            obj = self.bucket(r).get((namespace or "" if r.namespaced else "", name))
        if obj is None:
            raise not_found(r, name)
        return obj

    def find(self, r: Resource | str, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return self.get(r, name, namespace)
        except ApiError:
            return None

    def list(self, r: Resource | str, namespace: str | None = None,
             match: Callable[[Obj], bool] | None = None) -> list[Obj]:
        r = self.resource(r) if isinstance(r, str) else r
        with self.lock:
            items = list(self.bucket(r).items())
        return [o for (ns, _), o in items if (namespace is None or ns == namespace) and (match is None or match(o))]

    def count(self, r: Resource | str) -> int:
        r = self.resource(r) if isinstance(r, str) else r
        return len(self.bucket(r))

    # ------------------------------------------------------------------ writes

    def _key(self, r: Resource, obj: Obj) -> Key:
        meta = obj["metadata"]
        return (meta.get("namespace", "") if r.namespaced else "", meta["name"])

    def _allocate_ip(self) -> str:
        if not hasattr(self, "_ips"):
            self._ips = defaults.ClusterIPs()
        used = {str((s.get("spec") or {}).get("clusterIP")) for s in self.bucket(self.resource("services")).values()}
        return self._ips.allocate(used)

    def validate(self, r: Resource, obj: Obj) -> None:
        """Raise a 422 Invalid ApiError for missing required fields or malformed shapes."""
        name = str(_dig(obj, "metadata.name") or "")
        causes = shape_causes(r.key, obj)
        causes += [(p, "Required value") for p in r.required if _dig(obj, p) in (None, "", [], {})]
        if causes:
            raise invalid(r, name, causes)

    def _record_manager(self, obj: Obj, w: Writer, version: str, old: Obj | None = None) -> None:
        if w is SYSTEM and w.fields is None:
            return
        fieldsets.record(obj, old, w.manager, w.operation, version, now_iso(), applied=w.fields)

    def create(self, r: Resource | str, obj: Obj, w: Writer = SYSTEM, *, namespace: str | None = None) -> Obj:
        r = self.resource(r) if isinstance(r, str) else r
        obj = copy_json(obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if r.namespaced:
            ns = meta.get("namespace") or namespace or "default"
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                               "the namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise invalid(r, "", [("metadata.name", "Required value: name or generateName is required")])
        obj["apiVersion"], obj["kind"] = r.api_version(), r.kind
        if r.custom and "status" in r.subresources and w is not SYSTEM:
            # a CRD with the status subresource: the main endpoint ignores status, on create too
            # (the apiextensions strategy's PrepareForCreate); clients write it through PUT .../status
            obj.pop("status", None)
        with self.lock:
            defaults.apply(r.key, obj, self._allocate_ip)

        def validate(o: Obj) -> None:
            if o is not obj:  # a mutating webhook's patch: defaulted again, as the API server does
                defaults.apply(r.key, o, self._allocate_ip)
            self.validate(r, o)

        with self.lock:
            admitted = self.admission.admit_write("CREATE", r, obj, None, w, validate)
            assert admitted is not None
            obj, meta = admitted, admitted["metadata"]
            key = self._key(r, obj)
            if key in self.bucket(r):
                raise ApiError(409, "AlreadyExists", f'{r.plural}{"." + r.group if r.group else ""} '
                               f'"{key[1]}" already exists', {"name": key[1], "group": r.group, "kind": r.plural})
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(k, None)
            meta["uid"] = self.new_uid()
            meta["creationTimestamp"] = now_iso()
            meta["generation"] = 1
            r.strategy.prepare_create(self, obj)
            self._record_manager(obj, w, r.api_version())
            if w.dry_run:
                meta["resourceVersion"] = str(self._rv)
                return obj
            self._store(r, key, obj, "ADDED")
            r.strategy.after_create(self, obj, seeding=False)
            return obj

    def seed(self, r: Resource, obj: Obj) -> None:
        """Fast insert for scenario loading: no copies, checks or events (called before serving)."""
        meta = obj["metadata"]
        if "uid" not in meta:
            meta["uid"] = self.new_uid()
        meta.setdefault("creationTimestamp", now_iso())
        meta.setdefault("generation", 1)
        obj["apiVersion"], obj["kind"] = r.api_version(), r.kind
        defaults.apply(r.key, obj, self._allocate_ip)  # what the API server would have stored
        key = self._key(r, obj)
        if key in self.bucket(r):
            if r.strategy.implicit(key):  # the scenario spells out a controller-made object: it wins
                self.bucket(r).pop(key)
            else:
                raise ApiError(409, "AlreadyExists", f'{r.kind} "{key[1]}" is defined twice')
        r.strategy.prepare_create(self, obj)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self.bucket(r)[key] = obj
        self._index(r, key, obj)
        r.strategy.after_create(self, obj, seeding=True)
        if r.key not in QUIET_SEEDS or not (obj.get("status") or {}):
            self.dirty.add((r.key, key))

    def update(self, r: Resource | str, new: Obj, w: Writer = SYSTEM, *, subresource: str = "",
               check_rv: bool = True) -> Obj:
        """Replace an object (PUT semantics); status-only when ``subresource == "status"``."""
        r = self.resource(r) if isinstance(r, str) else r
        new = copy_json(new)
        meta = new.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise invalid(r, "", [("metadata.name", "Required value")])
        with self.lock:
            key = (meta.get("namespace", "") if r.namespaced else "", meta["name"])
            old = self.bucket(r).get(key)
            if old is None:
                raise not_found(r, key[1])
            om = old["metadata"]
            if check_rv and meta.get("resourceVersion") and meta["resourceVersion"] != om["resourceVersion"]:
                raise conflict(r, key[1])
            if subresource == "status":
                merged = copy_json(old)
                merged["status"] = new.get("status")
                new = merged
            else:
                if "status" in r.subresources and w is not SYSTEM:
                    if "status" in old:
                        new["status"] = copy_json(old["status"])
                    else:
                        new.pop("status", None)
                for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
                    if k in om:
                        meta[k] = om[k]
                    else:
                        meta.pop(k, None)
                if "namespace" in om:
                    meta["namespace"] = om["namespace"]
                meta["generation"] = om.get("generation", 1) + (1 if new.get("spec") != old.get("spec") else 0)
                if "managedFields" not in meta and "managedFields" in om:
                    meta["managedFields"] = om["managedFields"]
            new["apiVersion"], new["kind"] = old["apiVersion"], r.kind
            r.strategy.prepare_update(self, old, new)
            if w is not SYSTEM and subresource != "status":  # decoded again: defaulted again (PUT, PATCH)
                defaults.apply(r.key, new, self._allocate_ip)

            def validate(o: Obj) -> None:
                self.validate(r, o)
                if w is not SYSTEM and subresource != "status":  # clients, not the simulated controllers
                    frozen = update_causes(r.key, old, o)
                    if frozen:
                        raise invalid(r, key[1], frozen)

            admitted = self.admission.admit_write("UPDATE", r, new, old, w, validate, subresource=subresource)
            assert admitted is not None
            new = admitted
            self._record_manager(new, w, r.api_version(), old)
            if w.dry_run:
                new["metadata"]["resourceVersion"] = om["resourceVersion"]
                return new
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                self._store(r, key, new, None)
                return self._drop(r, key) or new
            self._store(r, key, new, "MODIFIED")
            return new

    def put(self, r: Resource | str, obj: Obj) -> Obj:
        """System write used by the simulation: replaces without rv checks or manager entries."""
        return self.update(r, obj, SYSTEM, check_rv=False, subresource="")

    def delete(self, r: Resource | str, name: str, namespace: str | None = None, w: Writer = SYSTEM, *,
               grace: int | None = None, propagation: str | None = None,
               preconditions: dict[str, Any] | None = None) -> Obj:
        """Delete with finalizers, graceful pod deletion and owner-reference cascade."""
        r = self.resource(r) if isinstance(r, str) else r
        with self.lock:
            key = (namespace or "" if r.namespaced else "", name)
            obj = self.bucket(r).get(key)
            if obj is None:
                raise not_found(r, name)
            meta = obj["metadata"]
            pre = preconditions or {}
            if (pre.get("uid") and pre["uid"] != meta.get("uid")) or (
                    pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion")):
                raise conflict(r, name)
            self.admission.admit_write("DELETE", r, None, obj, w)
            if w.dry_run:
                return obj
            r.strategy.before_delete(self, obj)
            if propagation != "Orphan":  # the garbage collector's deletes (not admitted: see admission.py)
                for dr, dkey, _ in self.dependents(meta["uid"]):
                    if dkey in self.bucket(dr):
                        self.delete(dr, dkey[1], dkey[0] or None, SYSTEM, propagation=propagation)
            else:
                for dr, dkey, dobj in self.dependents(meta["uid"]):
                    d = copy_json(dobj)
                    d["metadata"]["ownerReferences"] = [
                        o for o in d["metadata"].get("ownerReferences") or [] if o.get("uid") != meta["uid"]]
                    self._store(dr, dkey, d, "MODIFIED")
            grace = r.strategy.grace_period(obj, grace)  # None: this kind goes at once
            if grace == 0 and meta.get("deletionTimestamp") and not meta.get("finalizers"):
                return self._drop(r, key) or obj  # a force delete of a Terminating pod (grace 0)
            if meta.get("finalizers") or (grace is not None and grace > 0):
                if meta.get("deletionTimestamp"):
                    return obj
                new: Obj = copy_json(obj)
                # a graceful delete's deletionTimestamp is when its grace period ends, as the API server sets it
                new["metadata"]["deletionTimestamp"] = deletion_timestamp(grace)
                if grace is not None:
                    new["metadata"]["deletionGracePeriodSeconds"] = grace
                self._store(r, key, new, "MODIFIED")
                if not meta.get("finalizers"):
                    self.pending_removal[(r.key, key)] = time.monotonic() + min(float(grace or 0),
                                                                                 self.grace_seconds)
                return new
            return self._drop(r, key) or obj

    def remove_now(self, r: Resource, key: Key) -> None:
        with self.lock:
            self._drop(r, key)

    def due_removals(self, now: float) -> Iterable[tuple[tuple[str, str], Key]]:
        with self.lock:
            due = [k for k, t in self.pending_removal.items() if t <= now]
            for k in due:
                self.pending_removal.pop(k, None)
        return due

    def take_dirty(self) -> set[tuple[tuple[str, str], Key]]:
        with self.lock:
            d, self.dirty = self.dirty, set()
        return d
