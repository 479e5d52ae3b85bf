"""Fixtures for the HTTP integration tests: the local fake services, secrets and configs.

Secrets come from ``MITIGATE_SECRET_*`` environment variables (the documented stand-in), so
these tests never touch the developer's real keyring. HTTP timeouts are short (0.5 s) and
``sleep`` is recorded instead of slept, so retry behaviour is observable and fast.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient, RetryPolicy
from integrations.secrets import env_var
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


@pytest.fixture
def services() -> Iterator[FakeServices]:
    server = FakeServices()
    yield server
    server.stop()


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch, services: FakeServices) -> dict[str, str]:
    values = {k: v.replace("PLACEHOLDER", services.base) for k, v in SECRETS.items()}
    for name, value in values.items():
        monkeypatch.setenv(env_var(name), value)
    return values


class Waits(list[float]):
    """A recording ``sleep``: retries are observable without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def http(waits: Waits) -> Iterator[HttpClient]:
    client = HttpClient(RetryPolicy(timeout=0.5, max_attempts=3, base_delay=0.05, max_delay=0.2, budget=5.0),
                        sleep=waits, rng=random.Random(7))
    yield client
    client.close()


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


@pytest.fixture
def config(services: FakeServices) -> IntegrationsConfig:
    return config_for(services)
