"""Atlassian Statuspage: one public incident per mitigate incident, moved through its statuses.

The first message creates the incident (status ``investigating`` unless given) with the
configured components set to the status mapped from the incident status; later messages PATCH
the same incident. The remote id is remembered per mitigate incident (``RemoteIds``).

Statuspage has no idempotency key, so creation is never retried after an ambiguous timeout;
instead, before creating, the unresolved incidents are searched for one whose ``metadata``
carries this mitigate incident id, and that one is adopted. A retried send after a lost
answer therefore updates rather than duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.config import StatuspageChannel
from integrations.http import HttpClient, body_snippet
from integrations.notify.base import RemoteIds, failure, json_object, secret
from mitigate.ports import Notification, NotifyResult


@dataclass
class StatuspageSender:
    channel: str
    config: StatuspageChannel
    http: HttpClient
    ids: RemoteIds

    def target(self) -> str:
        return f"Statuspage page {self.config.pageId}"

    def _incidents_url(self) -> str:
        return f"{self.config.apiUrl}/pages/{self.config.pageId}/incidents"

    def _fields(self, note: Notification, text: str, *, creating: bool) -> dict[str, Any]:
        status = note.status or ("investigating" if creating else None)
        fields: dict[str, Any] = {"body": text}
        if creating:
            fields.update(name=note.title, deliver_notifications=True,
                          metadata={"mitigate": {"incident_id": note.incident_id}})
        if status:
            fields["status"] = status
            if self.config.components:
                component_status = self.config.componentStatus.get(status)  # type: ignore[call-overload,unused-ignore]
                fields["component_ids"] = list(self.config.components)
                if component_status:
                    fields["components"] = {c: component_status for c in self.config.components}
        return fields

    def preview(self, note: Notification, text: str) -> str:
        remote = self.ids.get(self.channel, note.incident_id)
        action = f"update incident {remote}" if remote else f"create incident {note.title!r} (or adopt an open one)"
        fields = self._fields(note, text, creating=remote is None)
        extra = [f"{k}: {fields[k]}" for k in ("status", "components") if k in fields]
        return f"Statuspage page {self.config.pageId}: {action}\n" + "\n".join(extra) + f"\n\n{text}"

    def send(self, note: Notification, text: str) -> NotifyResult:
        key = secret(self.config.apiKeySecret)
        headers = {"Authorization": f"OAuth {key}"}
        remote = self.ids.get(self.channel, note.incident_id)
        if remote is None:
            found = self._find_open(note.incident_id, headers)
            if isinstance(found, NotifyResult):
                return found
            remote = found
        if remote is None:
            call = self.http.request("POST", self._incidents_url(), idempotent=False, headers=headers,
                                     json={"incident": self._fields(note, text, creating=True)})
            verb = "created"
        else:
            call = self.http.request("PATCH", f"{self._incidents_url()}/{remote}", idempotent=False,
                                     headers=headers, json={"incident": self._fields(note, text, creating=False)})
            verb = "updated"
        if call.response is None or not call.response.is_success:
            return failure(self.channel, "statuspage", call, credential=self.config.apiKeySecret)
        data = json_object(call)
        new_id = data.get("id") if data else None
        if not isinstance(new_id, str) or not new_id:
            return NotifyResult(False, self.channel,
                                f"statuspage: malformed answer (no incident id): {body_snippet(call.response)}")
        self.ids.put(self.channel, note.incident_id, new_id)
        return NotifyResult(True, self.channel, f"{verb} Statuspage incident {new_id} "
                            f"({data.get('status', note.status) if data else note.status})", remote_id=new_id)

    def _find_open(self, incident_id: str, headers: dict[str, str]) -> str | None | NotifyResult:
        """An unresolved incident already opened for ``incident_id`` (after a lost create answer)."""
        call = self.http.request("GET", f"{self._incidents_url()}/unresolved", idempotent=True, headers=headers)
        if call.response is None or not call.response.is_success:
            return failure(self.channel, "statuspage", call, credential=self.config.apiKeySecret)
        try:
            items = call.response.json()
        except ValueError:
            items = None
        if not isinstance(items, list):
            return NotifyResult(False, self.channel,
                                f"statuspage: malformed answer (expected a list): {body_snippet(call.response)}")
        for item in items:
            meta = item.get("metadata") if isinstance(item, dict) else None
            mine = meta.get("mitigate") if isinstance(meta, dict) else None
            if isinstance(mine, dict) and mine.get("incident_id") == incident_id and isinstance(item.get("id"), str):
                return str(item["id"])
        return None
