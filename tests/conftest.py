"""Fixtures every test area shares.

``sandbox``: start sandbox API servers for a test (``sandbox(scenario)``, any scenario
``Sandbox.start`` takes); every one it started is stopped when the test ends, passed or failed,
so no server thread, port or temporary kubeconfig outlives its test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def sandbox() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def start(scenario: Any, **kwargs: Any) -> Any:
        from integrations.sandbox import Sandbox

        box = Sandbox.start(scenario, **kwargs)
        started.append(box)
        return box

    try:
        yield start
    finally:
        for box in reversed(started):
            box.stop()
