"""``forEach``: one step run once per item of a list, with ``item`` in scope in every parameter.

Each item becomes one *unit* of the step, named by its key (``itemKey``, else ``namespace/name``
of an object, else the item itself), so the journal's applied units make retry and resume
continue where they stopped, as batches of targets do. Each unit has its own write-ahead
intent and outcome (``batch`` = the item's 1-based position in the list). ``batch.size`` groups
units between pauses and health gates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from mitigate.errors import MitigateError
from mitigate.runbook.datahelpers import ref
from mitigate.runbook.model import Step
from mitigate.runbook.templating import render

MAX_ITEMS = 10_000


def default_key(item: Any) -> str:
    """``namespace/name`` of an object, the text of a scalar, else a short digest of the item."""
    if isinstance(item, Mapping):
        named = ref(item)
        if named:
            return named
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return str(item)
    digest = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"item-{digest}"


def items(step: Step, ctx: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``[(key, item)]`` of a forEach step, keys unique. MitigateError naming the step."""
    raw = render(step.forEach, ctx)
    if isinstance(raw, Mapping) or isinstance(raw, str) or not isinstance(raw, (list, tuple)):
        raise MitigateError(f"step {step.id}: forEach must give a list, got {type(raw).__name__}")
    if len(raw) > MAX_ITEMS:
        raise MitigateError(f"step {step.id}: forEach gave {len(raw)} items (at most {MAX_ITEMS})")
    out: list[tuple[str, Any]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if step.itemKey is not None:
            key = render(step.itemKey, {**ctx, "item": item})
            key = str(key).strip()
            if not key:
                raise MitigateError(f"step {step.id}: itemKey rendered to empty text for item {index + 1}")
        else:
            key = default_key(item)
        if key in seen:
            raise MitigateError(f"step {step.id}: items {seen[key] + 1} and {index + 1} both have the key "
                                f"{key!r}: give an itemKey that tells them apart")
        seen[key] = index
        out.append((key, item))
    return out


def item_context(ctx: Mapping[str, Any], item: Any) -> dict[str, Any]:
    """The render context of one item."""
    return {**ctx, "item": item}
