"""Sandbox fixtures: one running sandbox per test module, and clients bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.sandbox import Sandbox
from tests.sandbox.helpers import SCENARIOS


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(SCENARIOS / "small.yaml")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def api(sb: Sandbox) -> Any:
    from kubernetes import config

    client = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
    yield client
    client.close()
