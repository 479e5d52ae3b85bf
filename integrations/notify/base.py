"""What every notification channel shares: the sender interface, results, and remembered remote ids.

A sender turns one rendered status update into one service's API calls. It never raises for a
remote failure: it returns ``NotifyResult(ok=False, message=<one line>)`` so the engine records
``notify.failed`` and the responder can retry while the runbook carries on.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Protocol

from integrations.http import CallResult, body_snippet
from integrations.secrets import SecretError, get_secret
from mitigate.ports import Notification, NotifyResult


class Sender(Protocol):
    def target(self) -> str:
        """Where messages go, for previews (no secrets)."""
        ...

    def preview(self, note: Notification, text: str) -> str:
        """The requests that ``send`` would make, described for the responder."""
        ...

    def send(self, note: Notification, text: str) -> NotifyResult: ...


class MissingSecret(Exception):
    """Raised inside a sender to turn a SecretError into a failed result."""


def secret(name: str) -> str:
    try:
        return get_secret(name)
    except SecretError as exc:
        raise MissingSecret(str(exc)) from None


def failure(channel: str, service: str, call: CallResult, *, credential: str = "") -> NotifyResult:
    """A one-line failure for a call that errored or answered with a non-success status."""
    if call.response is None:
        return NotifyResult(False, channel, f"{service}: {call.error}")
    status = call.response.status_code
    hint = f" (check the secret {credential!r})" if status in (401, 403) and credential else ""
    extra = f"; {call.error}" if call.error else ""
    return NotifyResult(False, channel, f"{service}: HTTP {status}{hint}: {body_snippet(call.response)}{extra}")


def json_object(call: CallResult) -> dict[str, object] | None:
    """The response body as a JSON object, or None when it is not one (malformed answers)."""
    if call.response is None:
        return None
    try:
        data = call.response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class RemoteIds:
    """Remote ids per (channel, mitigate incident id), e.g. the Statuspage incident to update.

    Kept in memory, and in a small JSON file when one is given (the incident directory), so a
    resumed session updates the same remote incident instead of opening a second one.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._ids: dict[str, dict[str, str]] = {}
        if path is not None and path.exists():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}
            if isinstance(raw, dict):
                self._ids = {str(k): {str(i): str(r) for i, r in v.items()}
                             for k, v in raw.items() if isinstance(v, dict)}

    def get(self, channel: str, incident_id: str) -> str | None:
        with self._lock:
            return self._ids.get(channel, {}).get(incident_id)

    def put(self, channel: str, incident_id: str, remote_id: str) -> None:
        with self._lock:
            self._ids.setdefault(channel, {})[incident_id] = remote_id
            if self._path is not None:
                tmp = self._path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._ids, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self._path)
