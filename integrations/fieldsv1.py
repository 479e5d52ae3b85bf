"""Reading the FieldsV1 format of ``metadata.managedFields``, shared by the Kubernetes
adapter (which reads what a manager set, to revert it) and the sandbox API server (which
records it): one reading of the wire format, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

Leaf = tuple[str, ...]
"""A field as a token path, e.g. ``("f:spec", "f:replicas")``."""


def leaves(tree: Any, prefix: Leaf = ()) -> set[Leaf]:
    """Every owned field of a FieldsV1 tree as a token path."""
    if not isinstance(tree, dict) or not tree:
        return {prefix} if prefix else set()
    out: set[Leaf] = set()
    for k, v in tree.items():
        if isinstance(k, str):
            out |= leaves(v, (*prefix, k))
    return out
