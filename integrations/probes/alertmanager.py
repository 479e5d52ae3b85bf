"""Alertmanager silences for the incident window, as an action with an undo.

``create`` posts a silence (``POST /api/v2/silences``) and returns its id; ``expire`` deletes it
(``DELETE /api/v2/silence/{id}``), which is the undo. Both return ``SilenceResult`` and never
raise. Creation is not retried after an ambiguous timeout (Alertmanager has no idempotency key;
a duplicate silence would outlive the undo): the result says ``uncertain`` instead, and ``find``
(``GET /api/v2/silences``) looks for a live silence by a marker in its comment. Expiring is
idempotent and is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations.config import Server
from integrations.http import HttpClient, body_snippet
from integrations.secrets import SecretError, get_secret
from mitigate.errors import MitigateError
from mitigate.ports import SilenceResult
from mitigate.timefmt import format_rfc3339

__all__ = ["Matcher", "SilenceResult", "Silences"]


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@dataclass
class Silences:
    server_name: str
    server: Server
    http: HttpClient

    def _headers(self) -> dict[str, str]:
        if not self.server.tokenSecret:
            return {}
        return {"Authorization": f"Bearer {get_secret(self.server.tokenSecret)}"}

    def create(self, matchers: list[Matcher], *, duration: timedelta, comment: str, created_by: str,
               starts_at: datetime | None = None) -> SilenceResult:
        if not matchers:
            return SilenceResult(False, message="alertmanager: a silence needs at least one matcher")
        start = (starts_at or datetime.now(UTC)).astimezone(UTC)
        body = {
            "matchers": [{"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}
                         for m in matchers],
            "startsAt": format_rfc3339(start),
            "endsAt": format_rfc3339(start + duration),
            "createdBy": created_by, "comment": comment,
        }
        try:
            headers = self._headers()
        except SecretError as exc:
            return SilenceResult(False, message=str(exc))
        call = self.http.request("POST", f"{self.server.url}/api/v2/silences", json=body, headers=headers,
                                 idempotent=False)
        where = f"alertmanager {self.server_name!r}"
        if call.response is None:
            # a read timeout on the POST: the silence may exist (the HTTP client did not resend it)
            return SilenceResult(False, message=f"{where}: {call.error}",
                                 uncertain="may have been received" in call.error)
        if not call.response.is_success:
            return SilenceResult(False, message=f"{where}: HTTP {call.response.status_code}: "
                                 f"{body_snippet(call.response)}")
        try:
            sid = call.response.json().get("silenceID")
        except (ValueError, AttributeError):
            sid = None
        if not isinstance(sid, str) or not sid:
            return SilenceResult(False, message=f"{where}: malformed answer: {body_snippet(call.response)}")
        return SilenceResult(True, sid, f"silence {sid} until {body['endsAt']}")

    def expire(self, silence_id: str) -> SilenceResult:
        try:
            headers = self._headers()
        except SecretError as exc:
            return SilenceResult(False, silence_id, str(exc))
        call = self.http.request("DELETE", f"{self.server.url}/api/v2/silence/{silence_id}", headers=headers,
                                 idempotent=True)
        where = f"alertmanager {self.server_name!r}"
        if call.response is None:
            return SilenceResult(False, silence_id, f"{where}: {call.error}")
        if not call.response.is_success:
            return SilenceResult(False, silence_id, f"{where}: HTTP {call.response.status_code}: "
                                 f"{body_snippet(call.response)}")
        return SilenceResult(True, silence_id, f"silence {silence_id} expired")

    def find(self, marker: str) -> list[str]:
        """Ids of the silences not expired whose comment contains ``marker``; MitigateError if unknown."""
        where = f"alertmanager {self.server_name!r}"
        try:
            headers = self._headers()
        except SecretError as exc:
            raise MitigateError(str(exc)) from None
        call = self.http.request("GET", f"{self.server.url}/api/v2/silences", headers=headers, idempotent=True)
        if call.response is None:
            raise MitigateError(f"{where}: {call.error}")
        if not call.response.is_success:
            raise MitigateError(f"{where}: HTTP {call.response.status_code}: {body_snippet(call.response)}")
        try:
            silences = call.response.json()
            return [str(s["id"]) for s in silences
                    if marker in str(s.get("comment", "")) and (s.get("status") or {}).get("state") != "expired"]
        except (ValueError, TypeError, KeyError, AttributeError):
            raise MitigateError(f"{where}: malformed silence list: {body_snippet(call.response)}") from None
