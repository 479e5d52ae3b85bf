"""What one field manager alone set on an object, read from ``metadata.managedFields``.

Why: after an unscoped operator changed objects it does not own, there is usually no backup
of their earlier state. The API server still records, per manager, which fields it set
(FieldsV1: ``f:<key>`` map keys, ``k:{...}``/``v:...`` list items, ``.`` = "added this
item"). Fields owned by that manager alone were set by it; fields another manager also
owns are left alone. This module turns those fields into a precise JSON patch.

It is deliberately conservative: without a backup only fields whose removal *is* the undo
are removed (label and annotation keys, list items the manager added, such as an env var or
an imagePullSecrets entry). A scalar it owns (say ``spec.replicas``) may have replaced an
earlier value that exists nowhere, so it is reported as "cannot restore", never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from integrations.fieldsv1 import Leaf, leaves

Obj = dict[str, Any]

REMOVABLE_MAPS = (("f:metadata", "f:labels"), ("f:metadata", "f:annotations"))


def _overlaps(mine: Leaf, other: Leaf) -> bool:
    """Does another manager's field touch one of ours?

    Our ``.`` (we added this item, map or list) is touched by anything the other owns inside
    it; a plain field of ours by anything beneath it, or by an atomic field of theirs above it.
    Their ``.`` on a list or item above our field does not touch it: adding a list does not
    own the items someone else added to it later.
    """
    if mine[-1:] == (".",):
        return other[: len(mine) - 1] == mine[:-1]
    return other[: len(mine)] == mine or (other[-1:] != (".",) and mine[: len(other)] == other)


def dotted(path: Leaf) -> str:
    """A readable field name: ``spec.template.spec.containers[name=app].env[name=X]``."""
    out = ""
    for token in path:
        if token == ".":
            continue
        if token.startswith("f:"):
            out += ("." if out else "") + token[2:]
        elif token.startswith("k:"):
            out += "[" + ",".join(f"{k}={v}" for k, v in json.loads(token[2:]).items()) + "]"
        elif token.startswith("v:"):
            out += f"[={token[2:]}]"
        else:
            out += f"[{token}]"
    return out


def pointer(obj: Obj, path: Leaf) -> tuple[str, Any] | None:
    """The JSON pointer and current value of a token path in ``obj``; None when absent."""
    cur: Any = obj
    ptr = ""
    for token in path:
        if token == ".":
            continue
        if token.startswith("f:") and isinstance(cur, dict) and token[2:] in cur:
            ptr += "/" + token[2:].replace("~", "~0").replace("/", "~1")
            cur = cur[token[2:]]
        elif token[:2] in ("k:", "v:", "i:") and isinstance(cur, list):
            want = json.loads(token[2:])
            for i, item in enumerate(cur):
                if (token[0] == "k" and isinstance(item, dict) and all(item.get(a) == b for a, b in want.items())) \
                        or (token[0] == "v" and item == want) or (token[0] == "i" and i == want):
                    ptr, cur = f"{ptr}/{i}", item
                    break
            else:
                return None
        else:
            return None
    return ptr, cur


@dataclass
class FieldPlan:
    """The fields of one object: what the patch removes or restores, and what it leaves and why."""

    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)      # "field (also owned by X)"
    unknown: list[str] = field(default_factory=list)     # sole fields whose earlier value exists nowhere
    refused: list[str] = field(default_factory=list)     # removal would make the object invalid
    ops: list[tuple[str, list[Obj]]] = field(default_factory=list)  # (field, its JSON patch operations)

    def patch(self, rv: str | None, names: set[str] | None = None) -> list[Obj]:
        """The JSON patch: a resourceVersion precondition (when given), then the operations (of
        ``names``), each after a ``test`` that the field still holds the value that was planned on."""
        body: list[Obj] = [] if rv is None else [{"op": "replace", "path": "/metadata/resourceVersion", "value": rv}]
        for name, ops in self.ops:
            if names is None or name in names:
                body.extend(ops)
        return body

    def summary(self) -> str:
        parts = []
        for label, values in (("removed", self.removed), ("restored from backup", self.restored),
                              ("cannot restore (earlier value unknown, no backup)", self.unknown),
                              ("kept (removal would make it invalid)", self.refused),
                              ("kept (shared)", self.shared)):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts) or "nothing of the manager's is left"


def sole_fields(obj: Obj, manager: str) -> tuple[set[Leaf], dict[Leaf, list[str]]]:
    """The manager's fields (main resource, not status) owned by nobody else, and the shared ones."""
    mine: set[Leaf] = set()
    others: dict[str, set[Leaf]] = {}
    for e in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict) or e.get("subresource"):
            continue
        got = leaves(e.get("fieldsV1"))
        if e.get("manager") == manager:
            mine |= got
        else:
            others.setdefault(str(e.get("manager")), set()).update(got)
    sole, shared = set(), {}
    for path in mine:
        with_ = sorted(m for m, paths in others.items() if any(_overlaps(path, p) for p in paths))
        if with_:
            shared[path] = with_
        else:
            sole.add(path)
    return sole, shared


def plan(obj: Obj, manager: str, backup: Obj | None) -> FieldPlan:
    """Which of the manager's sole fields to remove or restore, and which to report and leave."""
    sole, shared = sole_fields(obj, manager)
    out = FieldPlan(shared=[f"{dotted(p)} (also owned by {', '.join(m)})" for p, m in sorted(shared.items())])
    items = {p[:-1] for p in sole if p[-1] == "."}  # lists, maps and list items the manager added
    items = {i for i in items if _only_theirs(obj, i, sole)}
    units = items | {p for p in sole if p[-1] != "."}
    units = {u for u in units if not any(u[: len(i)] == i and u != i for i in items)}
    for unit in sorted(units):
        name = dotted(unit)
        if unit[:1] == ("f:metadata",) and unit[:2] not in REMOVABLE_MAPS:
            out.shared.append(f"{name} (object metadata: left to the server)")
            continue
        where = pointer(obj, unit)
        if where is None:
            continue  # recorded but no longer present: nothing to take back
        ptr, value = where
        if backup is not None:
            prior = pointer(backup, unit)
            if prior is not None:
                if prior[1] != value:
                    out.ops.append((name, [{"op": "test", "path": ptr, "value": value},
                                           {"op": "replace", "path": ptr, "value": prior[1]}]))
                    out.restored.append(name)
                continue
        elif unit not in items and unit[:2] not in REMOVABLE_MAPS:
            out.unknown.append(name)
            continue
        out.ops.append((name, [{"op": "test", "path": ptr, "value": value}, {"op": "remove", "path": ptr}]))
        out.removed.append(name)
    # remove list items from the highest index down so earlier removals do not shift later ones
    out.ops.sort(key=lambda o: _sort_key(o[1][-1]["path"]), reverse=True)
    return out


def _only_theirs(obj: Obj, unit: Leaf, sole: set[Leaf]) -> bool:
    """May a map or list the manager added go as a whole? Only if all it holds is the manager's
    (a controller may have added an unowned annotation to it since); a list item may always go:
    the fields beneath it nobody owns are the server's defaults."""
    if not unit[-1].startswith("f:"):
        return True
    where = pointer(obj, unit)
    if where is None:
        return True
    value = where[1]
    mine = {p[len(unit)] for p in sole if p[: len(unit)] == unit and len(p) > len(unit) and p[len(unit)] != "."}
    if isinstance(value, dict):
        return {f"f:{k}" for k in value} <= mine
    if isinstance(value, list):
        return all(isinstance(i, dict) and "k:" + json.dumps({"name": i.get("name")}, separators=(",", ":"))
                   in mine for i in value)
    return True


def _sort_key(ptr: str) -> tuple[Any, ...]:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in ptr.split("/"))
