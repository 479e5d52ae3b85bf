"""The real clock: UTC wall time, monotonic time and a cancellable sleep.

The engine and the journal take a ``ports.Clock`` so tests can inject a fake;
this is the one production implementation.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SystemClock:
    """``ports.Clock`` backed by the operating system."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep ``seconds``; return False as soon as ``cancel`` is set."""
        if cancel is None:
            time.sleep(max(0.0, seconds))
            return True
        return not cancel.wait(max(0.0, seconds))
