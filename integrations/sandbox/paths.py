"""Field paths for scenario health checks: dotted keys, list indices and quoted keys.

``spec.replicas``, ``webhooks[0].failurePolicy``, ``metadata.labels["app.kubernetes.io/name"]``,
``spec.template.spec.containers[-1].image``. A path that does not parse is a scenario error
(reported with its location when the scenario loads); a path that does not exist in an object
resolves to ``MISSING``.
"""

from __future__ import annotations

import re
from typing import Any

MISSING: Any = object()
_TOKEN = re.compile(r"""\.?([A-Za-z_$][A-Za-z0-9_$/-]*)|\[(-?\d+)\]|\[(["'])((?:(?!\3).)*)\3\]""")


class PathError(ValueError):
    pass


def parse_path(text: str) -> list[str | int]:
    """``a.b[0]["c.d"]`` -> ["a", "b", 0, "c.d"]; raises PathError on anything else."""
    out: list[str | int] = []
    pos = 0
    if not text or text.startswith("."):
        raise PathError(f"invalid field path {text!r}: expected a name like spec.replicas")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or (m.group(1) is not None and pos > 0 and text[pos] != "."):
            raise PathError(f"invalid field path {text!r} at character {pos + 1}: expected .name, [index] "
                            f"or [\"quoted.key\"]")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(m.group(4))
        pos = m.end()
    return out


def resolve_path(obj: Any, path: list[str | int]) -> Any:
    cur = obj
    for part in path:
        if isinstance(part, int):
            if not isinstance(cur, list) or not -len(cur) <= part < len(cur):
                return MISSING
            cur = cur[part]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return MISSING
            cur = cur[part]
    return cur


def as_text(value: Any) -> str:
    """How a field compares with a scenario's ``equals``: booleans as true/false, numbers as written."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
