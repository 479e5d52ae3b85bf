"""Full pre-change copies, kept beside the journal and referenced from it by path and SHA-256.

Why not the journal: it is redacted (a Secret's data, a ``password`` key, a webhook URL become
``[REDACTED]``), so an undo folded from it would write ``[REDACTED]`` into the cluster. What an
undo needs is written here in full, readable by the owner only (files 0600, folders 0700);
the journal records where it is and its hash, and a rollback reads it back only when the hash
still matches, so a missing or altered backup stops the rollback instead of restoring
something else.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from mitigate.durable import write_synced
from mitigate.errors import MitigateError

UNDO_DIR = "undo"


def private_dir(path: Path) -> Path:
    """``path`` and its missing parents, each 0700 (an existing folder is narrowed to 0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, content: bytes) -> str:
    """Write ``content`` durably to ``path`` (0600, folders 0700); return its SHA-256 (hex)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    write_synced(tmp, content, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    os.replace(tmp, path)
    return hashlib.sha256(content).hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """The SHA-256 of a backup file the adapter wrote (None when it cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def save_undo(backups_dir: str | Path, step_id: str, undo: list[dict[str, Any]]) -> dict[str, str]:
    """Keep the full undo requests of one outcome; the journal reference ``{path, sha256}``."""
    root = Path(backups_dir)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in step_id)[:80] or "step"
    name = f"{safe}-{secrets.token_hex(6)}.json"
    content = json.dumps(undo, sort_keys=True, separators=(",", ":")).encode("utf-8")
    digest = write_private(root / UNDO_DIR / name, content)
    return {"path": f"{UNDO_DIR}/{name}", "sha256": digest}


def read_verified(backups_dir: str | Path, ref: Any, what: str) -> bytes:
    """The bytes a journal reference points at; MitigateError when missing, outside the backups
    folder or not what was written (the hash differs)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("path"), str) or not isinstance(ref.get("sha256"), str):
        raise MitigateError(f"{what}: the journal records no backup of it (written before backups were kept, "
                            "or not by this tool): refusing to roll back from the redacted journal")
    root = Path(backups_dir).resolve()
    path = (root / str(ref["path"])).resolve()
    if root not in path.parents:
        raise MitigateError(f"{what}: backup path {ref['path']!r} is outside the incident's backups folder")
    try:
        content: bytes = path.read_bytes()
    except OSError as exc:
        raise MitigateError(f"{what}: backup {ref['path']} cannot be read ({exc.strerror or exc}): "
                            "rollback stopped") from None
    if hashlib.sha256(content).hexdigest() != ref["sha256"]:
        raise MitigateError(f"{what}: backup {ref['path']} was altered since it was written "
                            "(SHA-256 differs from the journal's): rollback stopped")
    return content


def load_undo(backups_dir: str | Path, ref: Any, what: str) -> list[dict[str, Any]]:
    data = json.loads(read_verified(backups_dir, ref, what))
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise MitigateError(f"{what}: backup {ref.get('path')} does not hold undo requests")
    return data
