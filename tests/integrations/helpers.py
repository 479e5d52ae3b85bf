"""Helpers for the integrations tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

from integrations.config import IntegrationsConfig
from tests.integrations import fakeservices as fs
from tests.integrations.fakeservices import FakeServices

SECRETS = {
    "slack-hook": f"PLACEHOLDER/slack/hook/{fs.SLACK_HOOK_TOKEN}",
    "slack-bot": fs.SLACK_BOT_TOKEN,
    "hook-key": fs.WEBHOOK_KEY,
    "sp-key": fs.STATUSPAGE_KEY,
    "pd-routing": fs.PD_ROUTING_KEY,
    "pd-api": fs.PD_API_TOKEN,
    "prom-token": fs.PROM_TOKEN,
}


class Waits(list[float]):
    """A recording ``sleep``: retries are observable without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def config_for(services: FakeServices, **extra: Any) -> IntegrationsConfig:
    """Every channel and server type, pointed at the fake services."""
    data: dict[str, Any] = {
        "protectedContexts": ["*prod*"],
        "channels": {
            "slack-hook": {"type": "slack-webhook", "urlSecret": "slack-hook"},
            "slack-bot": {"type": "slack", "channel": "#incidents", "tokenSecret": "slack-bot",
                          "apiUrl": services.url("/slack/api")},
            "hook": {"type": "webhook", "url": services.url("/hook"), "signingSecret": "hook-key"},
            "status": {"type": "statuspage", "pageId": "page1", "apiKeySecret": "sp-key",
                       "apiUrl": services.url("/statuspage/v1"), "components": ["cmp-api"]},
            "pager": {"type": "pagerduty", "routingKeySecret": "pd-routing", "apiTokenSecret": "pd-api",
                      "fromEmail": "oncall@example.com", "eventsUrl": services.url("/pagerduty/events"),
                      "apiUrl": services.url("/pagerduty/api")},
        },
        "prometheus": {"default": {"url": services.url("/prometheus"), "tokenSecret": "prom-token"}},
        "alertmanager": {"default": {"url": services.url("/alertmanager")}},
    }
    data.update(extra)
    return IntegrationsConfig.model_validate(data)
