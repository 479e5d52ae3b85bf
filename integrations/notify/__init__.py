"""The notifier port: status updates to Slack, signed webhooks, Statuspage and PagerDuty.

``build_notifier(config)`` gives the engine one ``NotifierPort`` over every configured channel.
``Notification.body`` is the runbook's message (already rendered by the runbook templating); the
notifier wraps it in ``templates/status-update.md.j2`` (``render_status_update``) so every
channel sends the same text. ``preview`` shows exactly what would be sent; the engine asks the
responder to confirm before calling ``send``. Results and previews are redacted of every secret
value the integrations have read, so they can go to the journal as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from integrations.config import (
    IntegrationsConfig,
    PagerDutyChannel,
    SlackChannel,
    SlackWebhookChannel,
    StatuspageChannel,
    WebhookChannel,
)
from integrations.http import HttpClient
from integrations.notify.base import MissingSecret, RemoteIds, Sender
from integrations.notify.pagerduty import PagerDutySender
from integrations.notify.render import render_status_update
from integrations.notify.slack import SlackApiSender, SlackWebhookSender
from integrations.notify.statuspage import StatuspageSender
from integrations.notify.webhook import WebhookSender
from integrations.secrets import redact
from mitigate.errors import MitigateError
from mitigate.ports import Notification, NotifyResult

__all__ = ["Notifier", "build_notifier", "render_status_update"]


class Notifier:
    """Implements ``mitigate.ports.NotifierPort`` over named senders."""

    def __init__(self, senders: dict[str, Sender]) -> None:
        self._senders = senders

    def channels(self) -> list[str]:
        return sorted(self._senders)

    def _sender(self, note: Notification) -> Sender | None:
        return self._senders.get(note.channel)

    def _unknown(self, note: Notification) -> str:
        known = ", ".join(self.channels()) or "none: add channels to the integrations config"
        return f"channel {note.channel!r} is not configured (configured: {known})"

    def preview(self, note: Notification) -> str:
        sender = self._sender(note)
        if sender is None:
            return self._unknown(note)
        try:
            text = render_status_update(note)
        except MitigateError as exc:
            return str(exc)
        return str(redact(f"to {note.channel}: {sender.target()}\n{sender.preview(note, text)}"))

    def send(self, note: Notification) -> NotifyResult:
        sender = self._sender(note)
        if sender is None:
            return NotifyResult(False, note.channel, self._unknown(note))
        try:
            result = sender.send(note, render_status_update(note, now=datetime.now(UTC)))
        except (MissingSecret, MitigateError) as exc:
            result = NotifyResult(False, note.channel, str(exc))
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop the runbook
            result = NotifyResult(False, note.channel, f"internal error: {type(exc).__name__}: {exc}")
        return NotifyResult(result.ok, result.channel, str(redact(result.message)),
                            remote_id=redact(result.remote_id))


def build_notifier(config: IntegrationsConfig, *, state_file: Path | None = None,
                   http: HttpClient | None = None) -> Notifier:
    client = http or HttpClient(config.http.policy())
    ids = RemoteIds(state_file)
    senders: dict[str, Sender] = {}
    for name, ch in config.channels.items():
        if isinstance(ch, SlackWebhookChannel):
            senders[name] = SlackWebhookSender(name, ch, client)
        elif isinstance(ch, SlackChannel):
            senders[name] = SlackApiSender(name, ch, client)
        elif isinstance(ch, WebhookChannel):
            senders[name] = WebhookSender(name, ch, client)
        elif isinstance(ch, StatuspageChannel):
            senders[name] = StatuspageSender(name, ch, client, ids)
        elif isinstance(ch, PagerDutyChannel):
            senders[name] = PagerDutySender(name, ch, client)
    return Notifier(senders)
