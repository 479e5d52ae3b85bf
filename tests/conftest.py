"""Fixtures every test area shares.

``sandbox``: start sandbox API servers for a test (``sandbox(scenario)``, any scenario
``Sandbox.start`` takes); every one it started is stopped when the test ends, passed or failed,
so no server thread, port or temporary kubeconfig outlives its test.

The CLI signs journals with a per-installation key kept in the OS keyring; under test it is
kept in a file beside each test's journals instead, so no test writes the developer's keyring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.setdefault("MITIGATE_JOURNAL_KEYRING", "off")


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
