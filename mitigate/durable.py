"""Durable file writes: the bytes are on disk (fsynced) before the call returns.

The journal's own appends keep their descriptor open (:mod:`mitigate.journal.store`); these
are the one-shot writes beside it: rollback backups, undo copies, a torn line set aside.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_synced(path: Path, content: bytes, flags: int) -> None:
    """Open ``path`` with ``flags`` (mode 0600 if created), write ``content``, fsync, close."""
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
