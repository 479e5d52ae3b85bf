"""Helpers for the tui tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot


async def until(pilot: Pilot[None], cond: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app (and its worker threads) run until ``cond`` holds; fail loudly on timeout."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)  # not pilot.pause(): that waits for idle, a running batch is not


def status(app: App[None], step_id: str) -> str:
    """A step's status as the walker shows it (read from its cache: no wait on the engine's lock)."""
    from tui.screens.walker import WalkerScreen

    walker = getattr(app, "walker", None)
    if not isinstance(walker, WalkerScreen):
        return ""
    return next((str(getattr(s.status, "value", s.status)) for s in walker.step_states if s.id == step_id), "")
