"""PagerDuty: Events API v2 (trigger / acknowledge / resolve) and REST incident notes.

The event's ``dedup_key`` is the mitigate incident id (or the note's own ``dedup_key``), so the
Events API deduplicates and a timed-out event is safely retried. Status mapping: investigating
or no status -> trigger, identified / monitoring -> acknowledge, resolved -> resolve.

When ``apiTokenSecret`` is configured the message is also added as a note to the PagerDuty
incident found by that key; notes have no idempotency key, so a timed-out note is not retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.config import PagerDutyChannel
from integrations.http import HttpClient, body_snippet
from integrations.notify.base import failure, json_object, secret
from mitigate.ports import Notification, NotifyResult

ACTIONS = {None: "trigger", "investigating": "trigger", "identified": "acknowledge",
           "monitoring": "acknowledge", "resolved": "resolve"}


@dataclass
class PagerDutySender:
    channel: str
    config: PagerDutyChannel
    http: HttpClient

    def target(self) -> str:
        return "PagerDuty Events API v2" + (" + incident notes" if self.config.apiTokenSecret else "")

    def _event(self, note: Notification, text: str, routing_key: str) -> dict[str, object]:
        action = ACTIONS.get(note.status, "trigger")
        event: dict[str, object] = {"routing_key": routing_key, "event_action": action,
                                    "dedup_key": note.dedup_key or note.incident_id}
        if action == "trigger":
            event["payload"] = {"summary": note.title[:1024], "source": self.config.source,
                                "severity": self.config.severity,
                                "custom_details": {"status": note.status, "message": text}}
        return event

    def preview(self, note: Notification, text: str) -> str:
        event = self._event(note, text, "<routing key>")
        lines = [f"PagerDuty event: {event['event_action']} (dedup_key {event['dedup_key']})"]
        if self.config.apiTokenSecret:
            lines.append("PagerDuty incident note:")
        return "\n".join(lines) + f"\n\n{text}"

    def send(self, note: Notification, text: str) -> NotifyResult:
        event = self._event(note, text, secret(self.config.routingKeySecret))
        call = self.http.request("POST", f"{self.config.eventsUrl}/v2/enqueue", json=event, idempotent=True)
        if call.response is None or call.response.status_code != 202:
            status = call.status
            data = json_object(call)
            if status == 400 and data is not None:
                errors = data.get("errors")
                detail = "; ".join(map(str, errors)) if isinstance(errors, list) and errors else str(data.get("message"))
                return NotifyResult(False, self.channel, f"pagerduty: event rejected: {detail} "
                                    f"(check the secret {self.config.routingKeySecret!r})")
            return failure(self.channel, "pagerduty", call, credential=self.config.routingKeySecret)
        data = json_object(call)
        if data is None or data.get("status") != "success":
            return NotifyResult(False, self.channel,
                                f"pagerduty: malformed answer: {body_snippet(call.response)}")
        dedup = str(data.get("dedup_key") or event["dedup_key"])
        message = f"PagerDuty {event['event_action']} sent (dedup_key {dedup})"
        if self.config.apiTokenSecret:
            noted = self._note(dedup, text)
            if not noted.ok:
                return NotifyResult(False, self.channel, f"{message}, but {noted.message}", remote_id=dedup)
            message += f", {noted.message}"
        return NotifyResult(True, self.channel, message, remote_id=dedup)

    def _note(self, dedup_key: str, text: str) -> NotifyResult:
        assert self.config.apiTokenSecret is not None
        token = secret(self.config.apiTokenSecret)
        headers = {"Authorization": f"Token token={token}", "Accept": "application/vnd.pagerduty+json;version=2",
                   "From": self.config.fromEmail or ""}
        found = self.http.request("GET", f"{self.config.apiUrl}/incidents", idempotent=True, headers=headers,
                                  params={"incident_key": dedup_key})
        if found.response is None or not found.response.is_success:
            return failure(self.channel, "pagerduty notes", found, credential=self.config.apiTokenSecret)
        data = json_object(found)
        incidents = data.get("incidents") if data else None
        if not isinstance(incidents, list) or not incidents or not isinstance(incidents[0], dict):
            return NotifyResult(False, self.channel, f"pagerduty notes: no incident found for key {dedup_key}")
        pd_id = str(incidents[0].get("id"))
        call = self.http.request("POST", f"{self.config.apiUrl}/incidents/{pd_id}/notes", idempotent=False,
                                 headers=headers, json={"note": {"content": text}})
        if call.response is None or not call.response.is_success:
            return failure(self.channel, "pagerduty notes", call, credential=self.config.apiTokenSecret)
        return NotifyResult(True, self.channel, f"note added to incident {pd_id}")
