"""Fixtures every test area shares.

``sandbox``: start sandbox API servers for a test (``sandbox(scenario)``, any scenario
``Sandbox.start`` takes); every one it started is stopped when the test ends, passed or failed,
so no server thread, port or temporary kubeconfig outlives its test.

The CLI signs journals with a per-installation key kept in the OS keyring; under test it is
kept in a file beside each test's journals instead, so no test writes the developer's keyring.

Every test also checks that the records the product writes follow the journal vocabulary
(``mitigate/events.py``).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mitigate.events import payload_problems
from mitigate.journal import Journal

TESTS = Path(__file__).resolve().parent

os.environ.setdefault("MITIGATE_JOURNAL_KEYRING", "off")


@pytest.fixture(autouse=True)
def _no_secret_outlives_its_test() -> Iterator[None]:
    """Secret values are registered per process (``mitigate.journal.redact``): one test's must not
    mask another test's text."""
    yield
    from mitigate.journal.redact import forget_secrets

    forget_secrets()


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


@functools.cache
def _in_tests(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(TESTS)


@pytest.fixture(autouse=True)
def _records_follow_the_event_vocabulary(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every record the product writes (engine, CLI, TUI, integrations) is an event of
    ``mitigate.events`` with the keys its payload declares. Records a test writes itself
    (partial journals for a store or a snapshot test) are its own business. Problems are
    collected and reported at teardown, so code that catches broad exceptions cannot hide them."""
    problems: list[str] = []
    append = Journal.append

    def checked(self: Journal, type: str, data: dict[str, Any], **kwargs: Any) -> Any:
        frame = sys._getframe(1)
        caller = frame.f_globals.get("__name__", "")
        if not _in_tests(frame.f_code.co_filename) and isinstance(data, dict):
            problems.extend(f"{caller}: {p}" for p in payload_problems(type, data))
        return append(self, type, data, **kwargs)

    monkeypatch.setattr(Journal, "append", checked)
    yield
    assert not problems, "records outside the event vocabulary (mitigate/events.py):\n" + "\n".join(
        dict.fromkeys(problems))
