"""The engine's ConfirmerPort, answered by a modal on the UI thread.

The engine calls ``confirm`` from the worker thread that runs the step; the
worker blocks on a Future while the modal is shown on the UI thread, and the
modal's dismiss callback resolves it. If the app goes away while a modal is
open the step is declined, so a worker never hangs the exit.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from textual.app import App

from mitigate.ports import ConfirmDecision, ConfirmRequest
from tui.text import safe


class TuiConfirmer:
    """Implements ``mitigate.ports.ConfirmerPort`` for the Textual app."""

    def __init__(self) -> None:
        self._app: App[Any] | None = None
        self._pending: set[Future[ConfirmDecision]] = set()
        self._lock = threading.Lock()

    def attach(self, app: App[Any]) -> None:
        self._app = app

    def confirm(self, request: ConfirmRequest) -> ConfirmDecision:
        from tui.screens.confirm import ConfirmScreen

        app = self._app
        if app is None or not app.is_running:
            return ConfirmDecision(approved=False, reason="no interactive terminal")
        fut: Future[ConfirmDecision] = Future()
        with self._lock:
            self._pending.add(fut)

        def done(decision: ConfirmDecision | None) -> None:
            if not fut.done():
                fut.set_result(decision or ConfirmDecision(approved=False, reason="dismissed"))

        try:
            app.call_from_thread(app.push_screen, ConfirmScreen(request), done)
            while True:
                try:
                    return fut.result(timeout=0.25)
                except FutureTimeout:
                    if not app.is_running:
                        return ConfirmDecision(approved=False, reason="the app closed")
        finally:
            with self._lock:
                self._pending.discard(fut)

    def ask_secret(self, name: str, question: str) -> str | None:
        """A secret input's value, typed masked (``Ports.ask_secret``): in a modal while the app
        runs (the engine calls from a worker thread), else on the terminal before it starts
        (``mitigate resume ID``); None when declined or there is no terminal."""
        from tui.screens.prompt import TextPrompt

        app = self._app
        if app is None or not app.is_running:
            import getpass
            import sys

            if not sys.stdin.isatty():
                return None
            try:
                return getpass.getpass(f"{safe(question, multiline=False)}: ") or None
            except (EOFError, KeyboardInterrupt):
                return None
        fut: Future[str | None] = Future()

        def done(answer: str | None) -> None:
            if not fut.done():
                fut.set_result(answer)

        app.call_from_thread(app.push_screen, TextPrompt(question, placeholder=f"{name} (masked, never journaled)",
                                                          password=True), done)
        while True:
            try:
                return fut.result(timeout=0.25)
            except FutureTimeout:
                if not app.is_running:
                    return None

    def decline_all(self, reason: str) -> None:
        """Resolve open confirmations as declined (the app is closing)."""
        with self._lock:
            for fut in self._pending:
                if not fut.done():
                    fut.set_result(ConfirmDecision(approved=False, reason=reason))
