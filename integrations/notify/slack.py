"""Slack: incoming webhooks and ``chat.postMessage`` with a bot token.

Slack offers no idempotency key for either API, so a POST that timed out after being sent is
NOT retried (a duplicate status update in the incident channel is worse than a visible failure
the responder can retry by hand). 429 (with ``Retry-After``) and 5xx answers are retried.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.config import SlackChannel, SlackWebhookChannel
from integrations.http import HttpClient, body_snippet
from integrations.notify.base import failure, json_object, secret
from mitigate.ports import Notification, NotifyResult


@dataclass
class SlackWebhookSender:
    channel: str
    config: SlackWebhookChannel
    http: HttpClient

    def target(self) -> str:
        return f"Slack incoming webhook (URL from secret {self.config.urlSecret!r})"

    def preview(self, note: Notification, text: str) -> str:
        return f"POST Slack incoming webhook\n\n{text}"

    def send(self, note: Notification, text: str) -> NotifyResult:
        call = self.http.request("POST", secret(self.config.urlSecret), json={"text": text}, idempotent=False)
        if call.response is None or call.response.status_code != 200:
            return failure(self.channel, "slack", call, credential=self.config.urlSecret)
        if call.response.text.strip() != "ok":
            return NotifyResult(False, self.channel,
                                f"slack: unexpected answer {body_snippet(call.response)!r} (expected 'ok')")
        return NotifyResult(True, self.channel, "posted to Slack webhook")


@dataclass
class SlackApiSender:
    channel: str
    config: SlackChannel
    http: HttpClient

    def target(self) -> str:
        return f"Slack {self.config.channel} via chat.postMessage"

    def preview(self, note: Notification, text: str) -> str:
        return f"POST {self.config.apiUrl}/chat.postMessage to {self.config.channel}\n\n{text}"

    def send(self, note: Notification, text: str) -> NotifyResult:
        token = secret(self.config.tokenSecret)
        call = self.http.request(
            "POST", f"{self.config.apiUrl}/chat.postMessage", idempotent=False,
            json={"channel": self.config.channel, "text": text, "mrkdwn": True},
            headers={"Authorization": f"Bearer {token}"},
        )
        if call.response is None or call.response.status_code != 200:
            return failure(self.channel, "slack", call, credential=self.config.tokenSecret)
        data = json_object(call)
        if data is None:
            return NotifyResult(False, self.channel,
                                f"slack: malformed answer (not JSON): {body_snippet(call.response)}")
        if data.get("ok") is not True:
            error = str(data.get("error") or "unknown error")
            hint = (f" (check the secret {self.config.tokenSecret!r})"
                    if error in ("invalid_auth", "not_authed", "token_revoked", "account_inactive") else "")
            return NotifyResult(False, self.channel, f"slack: chat.postMessage failed: {error}{hint}")
        ts = data.get("ts")
        return NotifyResult(True, self.channel, f"posted to Slack {self.config.channel}",
                            remote_id=str(ts) if ts is not None else None)
