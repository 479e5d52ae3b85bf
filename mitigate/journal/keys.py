"""The per-installation journal key: a keyed chain tells our records from recomputed ones.

The SHA-256 chain shows that a journal is consistent, but anyone can append a record and
recompute the hashes (a forged ``step.outcome`` once made rollback delete an unrelated object).
Each record written with a key also carries ``mac``: HMAC-SHA256 of its ``hash`` under this
installation's key. Its ``hash`` covers its content and ``prev``, and ``prev`` covers the
previous line (its ``mac`` included), so the macs chain too: a changed, inserted or appended
record cannot carry a valid ``mac`` without the key. ``verify`` then tells "intact and written
by this installation" from "consistent but unkeyed" (or signed by another installation).

The core never touches the keyring: the CLI (composition root) installs a provider with
:func:`set_key_provider` that reads the key from the OS keyring, or, where there is no usable
one, from :func:`file_key` next to the journals (said so in ``verify``). Without a provider
(library use, most tests) records are written unkeyed, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mitigate.errors import MitigateError

KEY_FILE = ".journal-key"


@dataclass(frozen=True)
class JournalKey:
    secret: bytes = field(repr=False)
    source: str  # where it is kept, for people: "the OS keyring (SecretService)", "file /x/.journal-key ..."

    @property
    def id(self) -> str:
        """A short public fingerprint (never the key)."""
        return hmac.new(self.secret, b"mitigate journal key id", hashlib.sha256).hexdigest()[:16]

    def mac(self, digest: str) -> str:
        return hmac.new(self.secret, digest.encode(), hashlib.sha256).hexdigest()

    def verifies(self, digest: str, mac: str) -> bool:
        return hmac.compare_digest(self.mac(digest), mac)


Provider = Callable[[Path], "JournalKey | None"]
_provider: Provider | None = None
_cache: dict[Path, JournalKey | None] = {}


def key_provider() -> Provider | None:
    return _provider


def set_key_provider(provider: Provider | None) -> None:
    """Install (or remove, with None) the function that gives the key for a journal root."""
    global _provider
    _provider = provider
    _cache.clear()


def current_key(root: Path) -> JournalKey | None:
    """The key for journals under ``root`` (None: unkeyed). Asked once per root per process."""
    if _provider is None:
        return None
    root = Path(root)
    if root not in _cache:
        _cache[root] = _provider(root)
    return _cache[root]


def file_key(root: Path, why: str) -> JournalKey:
    """The fallback: 32 random bytes in ``root/.journal-key`` (0600), made on first use."""
    path = Path(root) / KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise MitigateError(f"{path}: cannot read or create the journal key: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    if len(secret) < 16:
        raise MitigateError(f"{path}: the journal key is too short; remove the file to make a new one")
    return JournalKey(secret, f"file {path} ({why})")
