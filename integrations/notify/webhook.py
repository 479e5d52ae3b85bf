"""Generic JSON webhook, signed so the receiver can trust it.

Headers: ``X-Mitigate-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>`` keyed with
the channel's signing secret, ``X-Mitigate-Timestamp`` (Unix seconds, also inside the signed body
as ``sent_at`` so it cannot be altered) and ``X-Mitigate-Delivery`` (a UUID, the same on every
retry of one message). Because receivers can drop a repeated delivery id, a timed-out POST *is*
retried, unlike Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from integrations.config import WebhookChannel
from integrations.http import HttpClient
from integrations.notify.base import failure, secret
from mitigate.ports import Notification, NotifyResult


def sign(secret_value: str, body: bytes) -> str:
    """The ``X-Mitigate-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret_value.encode(), body, hashlib.sha256).hexdigest()


def verify(secret_value: str, body: bytes, header: str) -> bool:
    """Receiver side: constant-time check of a signature header."""
    return hmac.compare_digest(sign(secret_value, body), header)


@dataclass
class WebhookSender:
    channel: str
    config: WebhookChannel
    http: HttpClient

    def target(self) -> str:
        return f"webhook {self.config.url} (signed)"

    def payload(self, note: Notification, text: str, sent_at: int) -> dict[str, object]:
        return {
            "event": "mitigate.status_update", "channel": self.channel, "incident_id": note.incident_id,
            "title": note.title, "status": note.status, "text": text, "sent_at": sent_at,
        }

    def preview(self, note: Notification, text: str) -> str:
        body = json.dumps(self.payload(note, text, int(time.time())), indent=2)
        return f"POST {self.config.url} (HMAC-SHA256 signed)\n\n{body}"

    def send(self, note: Notification, text: str) -> NotifyResult:
        key = secret(self.config.signingSecret)
        sent_at = int(time.time())
        body = json.dumps(self.payload(note, text, sent_at), separators=(",", ":")).encode()
        delivery = str(uuid.uuid4())
        call = self.http.request(
            "POST", self.config.url, idempotent=True, content=body,
            headers={"Content-Type": "application/json", "X-Mitigate-Signature": sign(key, body),
                     "X-Mitigate-Timestamp": str(sent_at), "X-Mitigate-Delivery": delivery},
        )
        if call.response is None or not call.response.is_success:
            return failure(self.channel, "webhook", call, credential=self.config.signingSecret)
        return NotifyResult(True, self.channel, f"delivered to {self.config.url}", remote_id=delivery)
