"""Secrets for the integrations: the OS keyring, with an environment variable standing in.

Lookup order (documented for users): the environment variable ``MITIGATE_SECRET_<NAME>`` (upper
case, ``-`` and ``.`` become ``_``) wins, then the keyring service ``mitigate``. The variable
first, because it is how CI, containers and headless boxes without a keyring backend supply a
secret, and how a responder overrides a stale stored token for one run without touching it.

The keyring cannot enumerate entries, so ``set`` also keeps an index of names (never values) in
the keyring under ``INDEX_USER``; ``list`` reports those plus the names a config refers to.

Every secret value read through ``get_secret`` is remembered so ``redact`` can blank it out of
anything that is previewed, returned to the engine, journaled or shown (docs/ARCHITECTURE.md, Untrusted input and secrets).
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mitigate.errors import MitigateError
from mitigate.journal.redact import register_secrets

SERVICE = "mitigate"
INDEX_USER = "_mitigate_index"
REDACTED = "***"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

_known: set[str] = set()
_known_lock = threading.Lock()


class SecretError(MitigateError):
    """A secret is missing, or the keyring cannot be used."""


def env_var(name: str) -> str:
    """The environment variable that stands in for secret ``name``."""
    return "MITIGATE_SECRET_" + re.sub(r"[-.]", "_", name).upper()


def check_name(name: str) -> str:
    if not _NAME_RE.match(name) or name == INDEX_USER:
        raise SecretError(f"invalid secret name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


def remember(value: str) -> None:
    """Register a secret value so that ``redact`` hides it (values under 4 chars are not worth it).

    A secret URL (a Slack webhook) also registers its long path segments: services echo the
    token part alone in error bodies.
    """
    parts = [value] if len(value) >= 4 else []
    if value.startswith(("http://", "https://")):
        parts += [seg for seg in urlsplit(value).path.split("/") if len(seg) >= 12]
    with _known_lock:
        _known.update(parts)
    register_secrets(parts)  # and the journal, the screens and the postmortem mask them too


def redact(value: Any) -> Any:
    """Replace every known secret value inside strings (recursively through dicts and lists)."""
    if isinstance(value, str):
        with _known_lock:
            known = sorted(_known, key=len, reverse=True)
        for secret in known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


@dataclass(frozen=True)
class SecretStatus:
    name: str
    source: str  # "env", "keyring", "missing" or "keyring unavailable"


def _backend() -> Any:
    """The active keyring backend, or a SecretError naming the way out when there is none."""
    import keyring
    import keyring.backends.chainer
    import keyring.backends.fail

    try:
        kr = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - PYTHON_KEYRING_BACKEND naming a module that is not there
        backend = os.environ.get("PYTHON_KEYRING_BACKEND", "the configured backend")
        raise SecretError(f"the keyring backend {backend!r} cannot be loaded ({_line(exc)}); "
                          "fix or unset PYTHON_KEYRING_BACKEND") from None
    empty_chain = isinstance(kr, keyring.backends.chainer.ChainerBackend) and not kr.backends
    if isinstance(kr, keyring.backends.fail.Keyring) or empty_chain:
        raise SecretError("no keyring backend is available on this system")
    return kr


def _backends(kr: Any) -> list[Any]:
    import keyring.backends.chainer

    return list(kr.backends) if isinstance(kr, keyring.backends.chainer.ChainerBackend) else [kr]


def plaintext_backend(kr: Any | None = None) -> str | None:
    """The active backend's name when it keeps secrets in a plain file (keyrings.alt's
    PlaintextKeyring: readable by anything that can read the home directory), else None."""
    try:
        kr = kr if kr is not None else _backend()
    except SecretError:
        return None
    for backend in _backends(kr):
        if "plaintext" in type(backend).__name__.lower():
            where = getattr(backend, "file_path", "")
            return f"{type(backend).__module__}.{type(backend).__name__}" + (f" ({where})" if where else "")
    return None


JOURNAL_KEY_USER = "_mitigate_journal_key"


def journal_key(root: Any) -> Any:
    """This installation's journal key (``mitigate.journal.keys``): kept in the OS keyring; where
    there is none, or it stores plaintext, or ``MITIGATE_JOURNAL_KEYRING=off``, in a 0600 file
    beside the journals, and ``verify`` says which."""
    import secrets as random
    from pathlib import Path

    from keyring.errors import KeyringError

    from mitigate.journal.keys import JournalKey, file_key

    root = Path(root)
    if os.environ.get("MITIGATE_JOURNAL_KEYRING", "").lower() in ("0", "off", "no", "false"):
        return file_key(root, "MITIGATE_JOURNAL_KEYRING is off")
    try:
        kr = _backend()
        plain = plaintext_backend(kr)
        if plain:
            return file_key(root, f"the keyring {plain} stores plaintext")
        value = kr.get_password(SERVICE, JOURNAL_KEY_USER)
        if not value:
            value = random.token_hex(32)
            kr.set_password(SERVICE, JOURNAL_KEY_USER, value)
        return JournalKey(bytes.fromhex(value), f"the OS keyring ({type(kr).__name__})")
    except SecretError as exc:
        return file_key(root, str(exc).split(";")[0])
    except (KeyringError, ValueError) as exc:
        return file_key(root, f"the keyring failed: {_line(exc)}")


def _no_backend_message(name: str) -> str:
    return (f"no keyring backend is available on this system; set the environment variable "
            f"{env_var(name)} to provide secret {name!r}")


def get_secret(name: str) -> str:
    """The secret's value: ``$MITIGATE_SECRET_<NAME>`` first, then the keyring. Raises SecretError."""
    from keyring.errors import KeyringError

    check_name(name)
    value = os.environ.get(env_var(name))
    if not value:
        try:
            value = _backend().get_password(SERVICE, name)
        except SecretError as exc:
            raise SecretError(_no_backend_message(name) if "no keyring backend" in str(exc) else str(exc)) from None
        except KeyringError as exc:
            raise SecretError(f"keyring error reading secret {name!r}: {_line(exc)}; "
                              f"or set {env_var(name)}") from None
    if not value:
        raise SecretError(f"secret {name!r} is not set: run `mitigate secrets set {name}` "
                          f"or set the environment variable {env_var(name)}")
    remember(value)
    return value


def set_secret(name: str, value: str) -> None:
    from keyring.errors import KeyringError

    check_name(name)
    if not value:
        raise SecretError(f"refusing to store an empty value for secret {name!r}")
    try:
        kr = _backend()
        kr.set_password(SERVICE, name, value)
        names = _index(kr)
        if name not in names:
            kr.set_password(SERVICE, INDEX_USER, json.dumps(sorted({*names, name})))
    except SecretError as exc:
        raise SecretError(_no_backend_message(name) if "no keyring backend" in str(exc) else str(exc)) from None
    except KeyringError as exc:
        raise SecretError(f"keyring error storing secret {name!r}: {_line(exc)}") from None


def delete_secret(name: str) -> None:
    """Remove the secret from the keyring (the environment is the user's to change)."""
    from keyring.errors import KeyringError, PasswordDeleteError

    check_name(name)
    try:
        kr = _backend()
        names = _index(kr)
        try:
            kr.delete_password(SERVICE, name)
        except PasswordDeleteError:
            raise SecretError(f"secret {name!r} is not in the keyring") from None
        if name in names:
            kr.set_password(SERVICE, INDEX_USER, json.dumps(sorted(set(names) - {name})))
    except SecretError as exc:
        if "no keyring backend" in str(exc):
            raise SecretError(_no_backend_message(name)) from None
        raise
    except KeyringError as exc:
        raise SecretError(f"keyring error deleting secret {name!r}: {_line(exc)}") from None


def list_secrets(referenced: list[str] | tuple[str, ...] = ()) -> list[SecretStatus]:
    """Names stored through mitigate plus ``referenced`` ones, with where each would be read from."""
    from keyring.errors import KeyringError

    try:
        kr = _backend()
        stored = _index(kr)
    except (SecretError, KeyringError):
        kr, stored = None, []
    out = []
    for name in sorted({*stored, *referenced}):
        if os.environ.get(env_var(name)):
            source = "env"
        elif kr is None:
            source = "keyring unavailable"
        else:
            try:
                source = "keyring" if kr.get_password(SERVICE, name) else "missing"
            except KeyringError:
                source = "keyring unavailable"
        out.append(SecretStatus(name, source))
    return out


def _index(kr: Any) -> list[str]:
    raw = kr.get_password(SERVICE, INDEX_USER)
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
