"""Secrets for the integrations: the OS keyring, with an environment variable standing in.

Lookup order (documented for users): the environment variable ``MITIGATE_SECRET_<NAME>`` (upper
case, ``-`` and ``.`` become ``_``) wins, then the keyring service ``mitigate``. The variable
first, because it is how CI, containers and headless boxes without a keyring backend supply a
secret, and how a responder overrides a stale stored token for one run without touching it.

The keyring cannot enumerate entries, so ``set`` also keeps an index of names (never values) in
the keyring under ``INDEX_USER``; ``list`` reports those plus the names a config refers to.

Every secret value read through ``get_secret`` is remembered so ``redact`` can blank it out of
anything that is previewed, returned to the engine, journaled or shown (DESIGN.md section 14).
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

    kr = keyring.get_keyring()
    empty_chain = isinstance(kr, keyring.backends.chainer.ChainerBackend) and not kr.backends
    if isinstance(kr, keyring.backends.fail.Keyring) or empty_chain:
        raise SecretError("no keyring backend is available on this system")
    return kr


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
        except SecretError:
            raise SecretError(_no_backend_message(name)) from None
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
    except SecretError:
        raise SecretError(_no_backend_message(name)) from None
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
