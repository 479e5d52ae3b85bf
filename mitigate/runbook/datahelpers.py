"""Template helpers for real cluster data: optional nested fields, predicates over lists,
joins across two result sets, container states, and JMESPath queries.

Why these exist: under ``StrictUndefined`` a missing field is an error, which is what makes a
typo safe, but real objects leave most fields out (``failurePolicy``, ``nodeSelector``,
``lastState``), so ``selectattr('failurePolicy', ...)`` raises on the first object without it.
``get`` reads a field that may be absent, with a default; the list helpers take a predicate
that is either a helper (``is_ready``) or an expression string with ``item`` in scope
(``"get(item, 'failurePolicy', 'Fail') == 'Fail'"``), evaluated in the same sandbox.

JMESPath (the ``jmespath`` package, the query language of the AWS CLI and ``kubectl``-adjacent
tools) is offered as one helper, ``jmes(data, 'webhooks[?failurePolicy==`Fail`].name')``, for
projections over nested lists that Jinja expresses badly. It is declarative and cannot call
anything, so it adds no reach to the sandbox. It is not a second language for ``where:``:
one expression language for conditions keeps runbooks readable, and ``jmes`` inside a
Jinja expression covers the cases where a projection is clearer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
import jmespath
from jmespath.exceptions import JMESPathError

from mitigate.errors import MitigateError


class HelperError(MitigateError):
    """A helper was called with something it cannot use (message names the helper)."""


_SEGMENT = re.compile(r"""\[(\d+)\]|\[(['"])(.*?)\2\]|([^.\[\]]+)""")


@lru_cache(maxsize=2048)
def _split_path(path: str) -> tuple[str | int, ...]:
    """``spec.containers[0].name`` / ``metadata.labels['app.kubernetes.io/name']`` / ``a.0.b``."""
    out: list[str | int] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        m = _SEGMENT.match(text, pos)
        if m is None:
            raise HelperError(f"get(): cannot read the path {path!r}")
        index, _, quoted, plain = m.groups()
        if index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(quoted)
        else:
            out.append(int(plain) if plain.isdigit() else plain)
        pos = m.end()
    return tuple(out)


def _path(path: Any) -> tuple[str | int, ...]:
    if isinstance(path, str):
        return _split_path(path)
    if isinstance(path, (list, tuple)) and all(isinstance(p, (str, int)) for p in path):
        return tuple(path)
    raise HelperError(f"a field path is a dotted string or a list of keys, not {path!r}")


_MISSING = object()


def _lookup(obj: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(obj, Mapping):
            obj = obj.get(key, _MISSING) if isinstance(key, str) else obj.get(str(key), _MISSING)
        elif isinstance(obj, (list, tuple)) and isinstance(key, int):
            obj = obj[key] if -len(obj) <= key < len(obj) else _MISSING
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def get(obj: Any, path: Any, default: Any = None) -> Any:
    """The field at ``path`` (``'spec.template.spec.nodeSelector'``), or ``default`` when any
    part is absent or null. Never raises for a missing field."""
    found = _lookup(obj, _path(path))
    return default if found is _MISSING or found is None or isinstance(found, jinja2.Undefined) else found


def has(obj: Any, path: Any) -> bool:
    """Is the field present (even when null)?"""
    return _lookup(obj, _path(path)) is not _MISSING


def _predicate(ctx: Any, pred: Any, helper: str) -> Callable[[Any], Any]:
    if pred is None:
        return bool
    if isinstance(pred, str):
        from mitigate.runbook.templating import compile_expression

        run = compile_expression(pred)
        base = dict(ctx.get_all()) if ctx is not None else {}
        return lambda item: run({**base, "item": item})
    if callable(pred) and not isinstance(pred, jinja2.Undefined):
        return pred  # type: ignore[no-any-return]
    raise HelperError(f"{helper}(): the predicate is an expression string with `item` in scope "
                      f"(e.g. \"item.spec.unschedulable\") or a helper such as is_ready, not {pred!r}")


def _items(items: Any, helper: str) -> list[Any]:
    if items is None:
        return []
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise HelperError(f"{helper}(): expected a list, got {type(items).__name__}")
    return list(items)


@jinja2.pass_context
def any_(ctx: Any, items: Any, pred: Any = None) -> bool:
    """True when ``pred`` holds for some item: ``items | any("get(item, 'failurePolicy') == 'Fail'")``."""
    test = _predicate(ctx, pred, "any")
    return any(test(i) for i in _items(items, "any"))


@jinja2.pass_context
def all_(ctx: Any, items: Any, pred: Any = None) -> bool:
    """True when ``pred`` holds for every item (also for an empty list)."""
    test = _predicate(ctx, pred, "all")
    return all(test(i) for i in _items(items, "all"))


@jinja2.pass_context
def where(ctx: Any, items: Any, pred: Any) -> list[Any]:
    """The items for which ``pred`` holds (an expression string over ``item``, or a helper)."""
    test = _predicate(ctx, pred, "where")
    return [i for i in _items(items, "where") if test(i)]


def pluck(items: Any, path: Any, default: Any = None) -> list[Any]:
    """``get(item, path, default)`` of each item."""
    p = _path(path)
    out = []
    for item in _items(items, "pluck"):
        found = _lookup(item, p)
        out.append(default if found is _MISSING or found is None else found)
    return out


def unnest(items: Any, path: Any) -> list[dict[str, Any]]:
    """One entry per element of the list at ``path`` in each item, with its parent and index:
    ``configs | unnest('webhooks')`` -> ``[{parent: config, item: webhook, index: 0}, ...]``,
    so a per-element patch can name ``/webhooks/{{ item.index }}`` of ``item.parent``."""
    p = _path(path)
    out: list[dict[str, Any]] = []
    for parent in _items(items, "unnest"):
        found = _lookup(parent, p)
        if found is _MISSING or found is None:
            continue
        if not isinstance(found, (list, tuple)):
            raise HelperError(f"unnest(): {path!r} is not a list in {ref(parent) or 'an item'}")
        out.extend({"parent": parent, "item": e, "index": i} for i, e in enumerate(found))
    return out


def ref(obj: Any) -> str | None:
    """``namespace/name`` of an object (``name`` when cluster-scoped), as targets take it."""
    meta = get(obj, "metadata", {})
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not name:
        return None
    ns = meta.get("namespace")
    return f"{ns}/{name}" if ns else str(name)


def owner_name(obj: Any, kind: str | None = None) -> str | None:
    """The name of the controlling owner (else the first owner), optionally only of that kind:
    ``owner_name(pod)`` -> its ReplicaSet's name, for joins (``owner()`` gives ``Kind/name``)."""
    refs = [r for r in get(obj, "metadata.ownerReferences", []) or [] if isinstance(r, Mapping)]
    if kind is not None:
        refs = [r for r in refs if r.get("kind") == kind]
    if not refs:
        return None
    ref_ = next((r for r in refs if r.get("controller")), refs[0])
    name = ref_.get("name")
    return None if name is None else str(name)


def _key_fn(key: Any, helper: str) -> Callable[[Any], Any]:
    if isinstance(key, (list, tuple)) and key and all(isinstance(k, str) for k in key):
        paths = [_path(k) for k in key]
        return lambda item: tuple(_norm(_lookup(item, p)) for p in paths)
    if isinstance(key, str):
        p = _path(key)
        return lambda item: _norm(_lookup(item, p))
    if callable(key):
        return key  # type: ignore[no-any-return]
    raise HelperError(f"{helper}(): a key is a field path, a list of field paths or a helper such as ref, "
                      f"not {key!r}")


def _norm(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, (dict, list)):
        return repr(value)
    return value


def join_on(left: Any, right: Any, left_key: Any, right_key: Any = None, how: str = "inner") -> list[Any]:
    """Join two result sets on a key (a field path, a list of paths for a composite key, or a helper).

    ``how``: ``inner`` -> ``[{left, right}]`` for every matching pair; ``left`` -> also the
    unmatched left items with ``right: None``; ``anti`` -> the left items with no match (as is).
    E.g. webhook services without endpoints:
    ``join_on(services, steps['eps'].items, ['item.clientConfig.service.namespace',
    'item.clientConfig.service.name'], ['metadata.namespace', 'metadata.name'], how='anti')``.
    """
    if how not in ("inner", "left", "anti"):
        raise HelperError(f"join_on(): how is 'inner', 'left' or 'anti', not {how!r}")
    lk = _key_fn(left_key, "join_on")
    rk = _key_fn(right_key if right_key is not None else left_key, "join_on")
    index: dict[Any, list[Any]] = {}
    for r in _items(right, "join_on"):
        k = rk(r)
        if k is not None and k != () and not (isinstance(k, tuple) and all(v is None for v in k)):
            index.setdefault(k, []).append(r)
    out: list[Any] = []
    for item in _items(left, "join_on"):
        matches = index.get(lk(item), [])
        if how == "anti":
            if not matches:
                out.append(item)
        elif matches:
            out.extend({"left": item, "right": m} for m in matches)
        elif how == "left":
            out.append({"left": item, "right": None})
    return out


def distinct(items: Any, key: Any = None) -> list[Any]:
    """The items without repeats, first kept; by ``key`` (a path, paths or a helper) when given.
    Unlike Jinja's ``unique`` it takes mappings (``[{namespace, name}, ...]``)."""
    fn = _key_fn(key, "distinct") if key is not None else (lambda item: _norm(item))
    seen: set[Any] = set()
    out = []
    for item in _items(items, "distinct"):
        k = fn(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def index_by(items: Any, key: Any) -> dict[Any, Any]:
    """``{key: item}`` (the last item wins for a repeated key)."""
    fn = _key_fn(key, "index_by")
    return {fn(i): i for i in _items(items, "index_by")}


# --------------------------------------------------------------------------- containers


def container_states(pod: Any) -> list[dict[str, Any]]:
    """Each container of a pod (init containers first) as
    ``{name, init, ready, restarts, state, reason, exitCode, lastReason, lastExitCode}``;
    ``state`` is waiting / running / terminated / unknown."""
    out: list[dict[str, Any]] = []
    for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
        for cs in get(pod, ["status", key], []) or []:
            if not isinstance(cs, Mapping):
                continue
            state = get(cs, "state", {}) or {}
            kind = next((k for k in ("waiting", "running", "terminated") if isinstance(state.get(k), Mapping)),
                        "unknown")
            now = state.get(kind) if kind != "unknown" else {}
            last = get(cs, "lastState.terminated", {}) or {}
            out.append({"name": cs.get("name"), "init": init, "ready": bool(cs.get("ready")),
                        "restarts": int(cs.get("restartCount") or 0), "state": kind,
                        "reason": (now or {}).get("reason"), "exitCode": (now or {}).get("exitCode"),
                        "lastReason": last.get("reason"), "lastExitCode": last.get("exitCode")})
    return out


def waiting_reason(pod: Any) -> str | None:
    """Why the first waiting container waits (``CrashLoopBackOff``, ``ImagePullBackOff``), or None."""
    return next((c["reason"] for c in container_states(pod) if c["state"] == "waiting" and c["reason"]), None)


def restart_count(pod: Any, container: str | None = None) -> int:
    """Restarts of one container, or of the pod's containers together."""
    return sum(c["restarts"] for c in container_states(pod) if container is None or c["name"] == container)


def last_exit_code(pod: Any, container: str | None = None) -> int | None:
    """The exit code of the last termination of a container (the first one found), or None."""
    for c in container_states(pod):
        if (container is None or c["name"] == container) and c["lastExitCode"] is not None:
            return int(c["lastExitCode"])
    return None


# --------------------------------------------------------------------------- JMESPath


@lru_cache(maxsize=512)
def _jmes(expression: str) -> Any:
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise HelperError(f"jmes(): bad JMESPath {expression!r}: {str(exc).splitlines()[0]}") from None


def jmes(data: Any, expression: str) -> Any:
    """``jmespath.search(expression, data)``: ``jmes(item, 'webhooks[?failurePolicy==`Fail`].name')``."""
    if not isinstance(expression, str):
        raise HelperError(f"jmes(): the expression is a string, not {expression!r}")
    try:
        return _jmes(expression).search(data)
    except JMESPathError as exc:
        raise HelperError(f"jmes(): {expression!r}: {str(exc).splitlines()[0]}") from None


DATA_HELPERS: dict[str, Callable[..., Any]] = {
    "get": get, "has": has, "any": any_, "all": all_, "where": where, "pluck": pluck, "unnest": unnest,
    "ref": ref, "owner_name": owner_name, "join_on": join_on, "index_by": index_by, "distinct": distinct,
    "container_states": container_states,
    "waiting_reason": waiting_reason, "restart_count": restart_count, "last_exit_code": last_exit_code,
    "jmes": jmes,
}
