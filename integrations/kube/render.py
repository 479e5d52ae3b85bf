"""What responders read: kubectl lines, YAML diffs, changed-field lists, undo patches.

Diffs compare objects with the server's bookkeeping stripped (managedFields,
resourceVersion, generation, timestamps, status) so that a dry run shows only
what the action changes.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import shlex
from collections.abc import Iterable
from typing import Any

import yaml

NOISE_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def kubectl(context: str, *args: str, namespace: str | None = None, stdin: str | None = None) -> str:
    """One shell-quoted kubectl command line; ``stdin`` is passed as a quoted heredoc.

    Values from the cluster or a runbook never stand alone where kubectl parses flags: flag
    values are joined to their flag (``--context=...``) and objects are named as
    ``type/name`` (see :func:`obj`), so a name like ``--all`` stays a name.
    """
    parts = ["kubectl", *args, f"--context={context}"]
    if namespace:
        parts.append(f"--namespace={namespace}")
    line = " ".join(shlex.quote(p) for p in parts)
    if stdin is not None:
        line += " <<'EOF'\n" + stdin.rstrip("\n") + "\nEOF"
    return line


def obj(kind: str, name: str) -> str:
    """One object as kubectl names it, ``type/name``: never read as a flag, even for ``--all``
    (kubectl splits at the first ``/``, and a name holds none)."""
    return f"{kind}/{name}"


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def clean(obj: dict[str, Any] | None, *, keep_status: bool = False) -> dict[str, Any]:
    """The object without server bookkeeping, for diffs and backups-to-recreate."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in NOISE_METADATA:
            meta.pop(key, None)
    if not keep_status:
        out.pop("status", None)
    return out


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def fingerprint(value: Any) -> str:
    """What a screen may show of a secret value: its size and a short hash (changes stay visible)."""
    raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return f"<secret: {len(raw)} chars, sha256:{hashlib.sha256(raw.encode('utf-8')).hexdigest()[:12]}>"


def is_secret(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("kind") == "Secret" and str(obj.get("apiVersion", "v1")) == "v1"


def shown(obj: Any) -> Any:
    """``obj`` as it may be shown or journaled: a Secret's ``data``/``stringData`` become their keys
    with a fingerprint each, and its last-applied annotation (a copy of the data) a fingerprint."""
    if isinstance(obj, list):
        return [shown(o) for o in obj]
    if not is_secret(obj):
        return obj
    out = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = {k: fingerprint(v) for k, v in out[key].items()}
    ann = (out.get("metadata") or {}).get("annotations")
    if isinstance(ann, dict) and LAST_APPLIED in ann:
        ann[LAST_APPLIED] = fingerprint(ann[LAST_APPLIED])
    return out


def to_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False) if obj else ""


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None, label: str) -> str:
    """A unified YAML diff; never a Secret's values (keys and fingerprints, see :func:`shown`)."""
    a, b = to_yaml(shown(clean(before))), to_yaml(shown(clean(after)))
    lines = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                 fromfile=f"{label} (before)", tofile=f"{label} (after)")
    return "".join(lines)


def changed_fields(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose values differ (lists compared whole, indexed when equal length)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in before or key not in after:
                out.append(path)
            else:
                out.extend(changed_fields(before[key], after[key], path))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (x, y) in enumerate(zip(before, after, strict=True)):
            out.extend(changed_fields(x, y, f"{prefix}[{i}]"))
        return out
    return [] if before == after else [prefix]


def object_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    return changed_fields(clean(before), clean(after))


def merge_patch(current: Any, target: Any) -> Any:
    """RFC 7386 merge patch that turns ``current`` into ``target`` (used for undo)."""
    if not isinstance(current, dict) or not isinstance(target, dict):
        return copy.deepcopy(target)
    patch: dict[str, Any] = {}
    for key in current.keys() - target.keys():
        patch[key] = None
    for key, value in target.items():
        if key not in current:
            patch[key] = copy.deepcopy(value)
        elif current[key] != value:
            patch[key] = merge_patch(current[key], value)
    return patch


def restore_patch(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """A merge patch putting back ``before``'s spec, data, labels and annotations."""
    a, b = clean(after), clean(before)
    patch = merge_patch({k: v for k, v in a.items() if k not in ("metadata", "apiVersion", "kind")},
                        {k: v for k, v in b.items() if k not in ("metadata", "apiVersion", "kind")})
    meta: dict[str, Any] = {}
    for key in ("labels", "annotations"):
        am, bm = (a.get("metadata") or {}).get(key) or {}, (b.get("metadata") or {}).get(key) or {}
        if am != bm:
            meta[key] = merge_patch(am, bm)
    if meta:
        patch["metadata"] = meta
    return dict(patch)


def join_targets(targets: Iterable[str], limit: int = 5) -> str:
    items = list(targets)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
