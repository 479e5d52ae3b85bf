"""Fixtures for the HTTP integration tests: the local fake services, secrets and configs.

Secrets come from ``MITIGATE_SECRET_*`` environment variables (the documented stand-in), so
these tests never touch the developer's real keyring. HTTP timeouts are short (0.5 s) and
``sleep`` is recorded instead of slept, so retry behaviour is observable and fast.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient, RetryPolicy
from integrations.secrets import env_var
from tests.integrations.fakeservices import FakeServices
from tests.integrations.helpers import SECRETS, Waits, config_for


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


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def http(waits: Waits) -> Iterator[HttpClient]:
    client = HttpClient(RetryPolicy(timeout=0.5, max_attempts=3, base_delay=0.05, max_delay=0.2, budget=5.0),
                        sleep=waits, rng=random.Random(7))
    yield client
    client.close()


@pytest.fixture
def config(services: FakeServices) -> IntegrationsConfig:
    return config_for(services)
