"""Server-side apply, simplified: merge the applied configuration, then drop the fields this
manager applied last time but no longer does, unless another manager also owns them.

Field sets are FieldsV1-style trees of map keys (lists are atomic), so removal works for
map fields (labels, annotations, spec keys). ``conflicts`` finds the applied fields another
manager owns with a different value: the API server answers 409 for them unless the apply
is forced, in which case the applier takes them over.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.fieldsv1 import Leaf, leaves

from .fieldsets import field_set, lookup
from .store import ApiError

Obj = dict[str, Any]
Path = tuple[str, ...]


def leaf_paths(fields: Any, prefix: Path = ()) -> set[Path]:
    """The leaves of a FieldsV1 tree as key paths (``f:`` prefixes stripped)."""
    keys = [k for k in fields if isinstance(k, str) and k.startswith("f:")] if isinstance(fields, dict) else []
    if not keys:  # a leaf, or a keyed list (``k:`` items): whole lists are the unit of removal here
        return {prefix} if prefix else set()
    out: set[Path] = set()
    for k in keys:
        out |= leaf_paths(fields[k], (*prefix, k[2:]))
    return out


def _owned(entries: list[Any], path: Path) -> bool:
    """Does any of these managedFields entries own ``path`` (or a field beneath it)?"""
    for e in entries:
        if not isinstance(e, dict):
            continue
        for p in leaf_paths(e.get("fieldsV1")):
            if p[: len(path)] == path or path[: len(p)] == p:
                return True
    return False


def _remove(obj: Obj, path: Path) -> None:
    cur: Any = obj
    for k in path[:-1]:
        cur = cur.get(k) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def drop_unapplied(merged: Obj, live: Obj, manager: str, applied_fields: Obj) -> Obj:
    """Remove from ``merged`` what ``manager`` applied before (per ``live``'s managedFields) but
    not now, when no other manager owns it. Returns ``merged`` (modified in place)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    mine = [e for e in entries if isinstance(e, dict) and e.get("manager") == manager
            and e.get("operation") == "Apply"]
    others = [e for e in entries if isinstance(e, dict) and e not in mine]
    if not mine:
        return merged
    now = leaf_paths(applied_fields)
    for path in sorted(leaf_paths(mine[0].get("fieldsV1")) - now, key=len, reverse=True):
        if path[:1] == ("metadata",) and path[1:2] not in (("labels",), ("annotations",)):
            continue
        if any(p[: len(path)] == path for p in now) or _owned(others, path):
            continue
        _remove(merged, path)
    return merged


def _dotted(path: Leaf) -> str:
    """A field path as the API server prints it in conflicts: ``.spec.containers[name="c"].image``."""
    out = ""
    for token in path:
        if token.startswith("f:"):
            out += "." + token[2:]
        elif token.startswith("k:"):
            key = json.loads(token[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in key.items()) + "]"
        elif token.startswith("v:"):
            out += f"[={token[2:]}]"
    return out


def conflicts(live: Obj, applied: Obj, merged: Obj, manager: str) -> list[tuple[str, str, Leaf]]:
    """(other manager, its apiVersion, field) for each applied field another manager owns whose
    value the apply changes (``merged``: the live object with the configuration merged in, so
    list items merged by key compare as the API server compares them)."""
    fields = {p for p in leaves(field_set(applied)) if p[-1] != "." and p[:1] != ("f:status",)}
    found: list[tuple[str, str, Leaf]] = []
    for e in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict) or e.get("manager") == manager:
            continue
        for p in sorted(fields & leaves(e.get("fieldsV1"))):
            if lookup(live, p) != lookup(merged, p):
                found.append((str(e.get("manager")), str(e.get("apiVersion", "")), p))
    return found


def conflict_error(found: list[tuple[str, str, Leaf]]) -> ApiError:
    """The API server's 409 for apply conflicts, message and causes as it words them."""
    by: dict[tuple[str, str], list[str]] = {}
    for m, v, p in found:
        by.setdefault((m, v), []).append(_dotted(p))
    n = len(found)
    if n == 1:
        (m, v), paths = next(iter(by.items()))
        msg = f'Apply failed with 1 conflict: conflict with "{m}" using {v}: {paths[0]}'
    else:
        parts = []
        for (m, v), paths in by.items():
            parts.append(f'conflicts with "{m}" using {v}:\n' + "\n".join(f"- {p}" for p in paths))
        msg = f"Apply failed with {n} conflicts: " + "\n".join(parts)
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {v}', "field": _dotted(p)}
              for m, v, p in found]
    return ApiError(409, "Conflict", msg, {"causes": causes})


def take_over(obj: Obj, found: list[tuple[str, str, Leaf]]) -> None:
    """A forced apply: the other managers lose the fields it took (their entries shrink or go)."""
    lost: dict[str, set[Leaf]] = {}
    for m, _, p in found:
        lost.setdefault(m, set()).add(p)
    meta = obj.get("metadata") or {}
    kept = []
    for e in meta.get("managedFields") or []:
        manager = e.get("manager") if isinstance(e, dict) else None
        gone = lost.get(manager) if isinstance(manager, str) else None
        if not gone:
            kept.append(e)
            continue
        left = leaves(e.get("fieldsV1")) - gone
        left = {q for q in left if not any(q[: len(g)] == g for g in gone)}
        if left:
            tree: Obj = {}
            for path in sorted(left):
                cur = tree
                for token in path:
                    cur = cur.setdefault(token, {})
            kept.append({**e, "fieldsV1": tree})
    meta["managedFields"] = kept
