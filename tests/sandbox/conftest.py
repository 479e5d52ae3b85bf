"""Sandbox fixtures: one running sandbox per test module, and clients bound to it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.sandbox import Sandbox

SCENARIOS = Path(__file__).parent / "scenarios"


def wait_for(pred: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until ``pred()`` is truthy (the simulation ticks every 50 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


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
