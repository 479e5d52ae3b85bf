"""Server-side apply, simplified: merge the applied configuration, then drop the fields this
manager applied last time but no longer does, unless another manager also owns them.

Field sets are FieldsV1-style trees of map keys (lists are atomic), so removal works for
map fields (labels, annotations, spec keys); conflict detection is not modelled (every
apply behaves as ``force=true``).
"""

from __future__ import annotations

from typing import Any

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
