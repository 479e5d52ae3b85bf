"""Field ownership the way the API server records it in ``metadata.managedFields`` (FieldsV1).

Why: revert tools (and ``kubectl``) read fieldsV1 to learn which fields a manager set, so the
sandbox must record them faithfully enough: ``f:<key>`` for map keys, ``k:{"name":...}`` for
items of lists keyed by ``name`` (containers, env, volumes, imagePullSecrets ...), a ``.``
leaf meaning "this manager added this item" (or, on the list, "added the list"), other
lists atomic. An Update takes ownership of
the fields it *changed* (taken from every other manager, as the real server does without a
conflict), and fields that no longer exist are dropped from every manager's set.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.fieldsv1 import Leaf, leaves

Obj = dict[str, Any]

_BOOKKEEPING = ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation")


def _keyed(value: list[Any]) -> bool:
    return bool(value) and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in value)


def item_key(item: Obj) -> str:
    return "k:" + json.dumps({"name": item["name"]}, separators=(",", ":"))


def field_set(body: Any, depth: int = 0) -> Obj:
    """The FieldsV1 tree naming every field ``body`` sets."""
    if not isinstance(body, dict) or depth > 12:
        return {}
    out: Obj = {}
    for k, v in body.items():
        if depth == 0 and k in ("apiVersion", "kind"):
            continue
        if depth == 1 and k in _BOOKKEEPING:
            continue
        if isinstance(v, dict):
            out[f"f:{k}"] = field_set(v, depth + 1)
        elif isinstance(v, list) and _keyed(v):
            out[f"f:{k}"] = {".": {}, **{item_key(i): {".": {}, **field_set(i, depth + 1)} for i in v}}
        else:
            out[f"f:{k}"] = {}
    return out


def tree(paths: set[Leaf]) -> Obj:
    out: Obj = {}
    for path in sorted(paths):
        cur = out
        for token in path:
            cur = cur.setdefault(token, {})
    return out


def lookup(obj: Any, path: Leaf) -> tuple[bool, Any]:
    """(found, value) of a token path in an object (``.`` is the list item itself)."""
    cur = obj
    for token in path:
        if token == ".":
            continue
        if token.startswith("f:") and isinstance(cur, dict) and token[2:] in cur:
            cur = cur[token[2:]]
        elif token.startswith("k:") and isinstance(cur, list):
            want = json.loads(token[2:])
            match = [i for i in cur if isinstance(i, dict) and all(i.get(a) == b for a, b in want.items())]
            if not match:
                return False, None
            cur = match[0]
        elif token.startswith("v:") and isinstance(cur, list) and json.loads(token[2:]) in cur:
            cur = json.loads(token[2:])
        else:
            return False, None
    return True, cur


def changed(old: Obj | None, new: Obj) -> set[Leaf]:
    """The fields of ``new`` an update set: added, or with a value different from ``old``'s."""
    out = set()
    for path in leaves(field_set(new)):
        before = lookup(old, path) if old is not None else (False, None)
        if path[-1] == ".":
            if not before[0]:
                out.add(path)
        elif before != lookup(new, path):
            out.add(path)
    return out


def _prefixes(paths: set[Leaf]) -> set[Leaf]:
    return {p[:i] for p in paths for i in range(1, len(p) + 1)}


def record(obj: Obj, old: Obj | None, manager: str, operation: str, version: str, now: str,
           applied: Any = None) -> None:
    """Update ``obj``'s managedFields for one write (``applied``: the Apply configuration)."""
    meta = obj["metadata"]
    entries = [e for e in meta.get("managedFields") or [] if isinstance(e, dict)]
    present = _prefixes(leaves(field_set(obj)))
    present |= {(*p, ".") for p in present}  # a map's "." (its existence) stays while the map does
    if operation == "Apply":
        taken = leaves(field_set(applied if applied is not None else obj))
    else:
        taken = changed(old, obj)
    mine: set[Leaf] = set()
    if operation != "Apply":  # an Update adds to what this manager owned; an Apply replaces it
        for e in entries:
            if e.get("manager") == manager and e.get("operation") == operation:
                mine |= leaves(e.get("fieldsV1"))
    mine |= taken
    kept = []
    for e in entries:
        if e.get("manager") == manager and e.get("operation") == operation:
            continue
        own = leaves(e.get("fieldsV1"))
        left = {p for p in own if p in present and (operation == "Apply" or p not in taken)}
        if left == own:
            kept.append(e)
        elif left:
            kept.append({**e, "fieldsV1": tree(left)})
    mine = {p for p in mine if p in present}
    if mine or old is None:
        kept.append({"manager": manager, "operation": operation, "apiVersion": version, "time": now,
                     "fieldsType": "FieldsV1", "fieldsV1": tree(mine)})
    meta["managedFields"] = kept
