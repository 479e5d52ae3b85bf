"""Label and field selectors, parsed once per request and matched per object.

Label selector strings support =, ==, !=, in, notin, exists and !exists; selector
objects (matchLabels/matchExpressions, as in PDBs and Deployments) compile to the same
matcher. Field selectors support =, == and != on any dotted path, which covers the ones
the real server allows (metadata.name, metadata.namespace, spec.nodeName, status.phase).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[dict[str, Any]], bool]


class SelectorError(ValueError):
    """A selector the server cannot parse (answered with 400 BadRequest)."""


_SET = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_./:-]*)\s*$")
_FIELD_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*(.*?)\s*$")  # field values: anything but ','
# a field missing from the object reads as its Go zero value, as the API server's field sets do
FIELD_DEFAULTS = {"spec.unschedulable": "false", "spec.hostNetwork": "false", "status.replicas": "0",
                  "status.successful": "0"}


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


Requirement = tuple[str, str, frozenset[str]]  # key, op (=, !=, in, notin, exists, !exists), values


def parse_labels(text: str) -> list[Requirement]:
    reqs: list[Requirement] = []
    for part in _split(text):
        m = _EQ.match(part)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, frozenset([m.group(3)])))
            continue
        m = _SET.match(part)
        if not m or (m.group(1) and m.group(3)):
            raise SelectorError(f"unable to parse requirement {part.strip()!r}")
        if m.group(3):
            values = frozenset(v.strip() for v in m.group(4).split(",") if v.strip())
            reqs.append((m.group(2), m.group(3), values))
        else:
            reqs.append((m.group(2), "!exists" if m.group(1) else "exists", frozenset()))
    return reqs


def _requirements_matcher(reqs: list[Requirement]) -> Matcher:
    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        for key, op, values in reqs:
            present = key in labels
            if op == "=" or op == "in":
                if not present or labels[key] not in values:
                    return False
            elif op == "!=" or op == "notin":
                if present and labels[key] in values:
                    return False
            elif op == "exists":
                if not present:
                    return False
            elif present:
                return False
        return True

    return match


def label_matcher(text: str | None) -> Matcher | None:
    if not text:
        return None
    return _requirements_matcher(parse_labels(text))


def selector_object_matcher(sel: Any) -> Matcher:
    """A matcher for a LabelSelector object; an empty selector matches everything."""
    if not isinstance(sel, dict):
        return lambda obj: False
    reqs: list[Requirement] = [(k, "=", frozenset([str(v)])) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for e in sel.get("matchExpressions") or []:
        if isinstance(e, dict) and e.get("operator") in ops:
            reqs.append((str(e.get("key")), ops[e["operator"]], frozenset(str(v) for v in e.get("values") or [])))
    return _requirements_matcher(reqs)


def selector_to_string(sel: Any) -> str:
    """The string form of a LabelSelector object (Scale status.selector, Table cells)."""
    if not isinstance(sel, dict):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        vals = ",".join(sorted(str(v) for v in e.get("values") or []))
        parts.append({"In": f"{e.get('key')} in ({vals})", "NotIn": f"{e.get('key')} notin ({vals})",
                      "Exists": str(e.get("key")), "DoesNotExist": f"!{e.get('key')}"}.get(op, ""))
    return ",".join(p for p in parts if p)


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def _unescape(v: str) -> str:
    return re.sub(r"\\(.)", r"\1", v)


def field_matcher(text: str | None, supported: frozenset[str] | set[str] | None = None) -> Matcher | None:
    """A field selector; ``supported`` names the field labels the resource allows (400 for others)."""
    if not text:
        return None
    reqs: list[tuple[str, bool, str]] = []
    for part in re.split(r"(?<!\\),", text):
        m = _FIELD_EQ.match(part)
        if not m:
            raise SelectorError(f"invalid field selector: {part.strip()!r}: the operator must be =, == or !=")
        if supported is not None and m.group(1) not in supported:
            raise SelectorError(f"field label not supported: {m.group(1)}")
        reqs.append((m.group(1), m.group(2) != "!=", _unescape(m.group(3))))

    def match(obj: dict[str, Any]) -> bool:
        return all(((field_value(obj, p) or FIELD_DEFAULTS.get(p, "")) == v) == eq for p, eq, v in reqs)

    return match
