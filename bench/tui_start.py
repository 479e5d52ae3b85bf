"""Time-to-ready of the walker and of the home screen next to a minimal Textual app, same run.

Targets: the walker within 1.3x of the minimal app; the home screen over a library of 200
runbooks (read in its worker, listed and searchable) within 1.5x.

Ready, the same for both apps: the app has mounted its first screen, painted it,
and processed every message queued by then (``App.run_test`` hands over the
pilot, then ``pilot.pause()`` waits until the app is idle: the next key is
handled at once). The two apps are measured alternately, so load on the
machine falls on both alike; medians of RUNS each. Each run starts on a collected heap
(``gc.collect()`` first), as a fresh process would: garbage left by the app measured
before must not be collected on the next one's time.

Imports are timed apart, in fresh interpreters: ``import tui`` next to the
modules the minimal app needs (the engine a real session loads is not counted).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Footer, Label

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tui.snapshot_apps import StaticLauncher, walker_app  # noqa: E402

LIBRARY = 200


class Library200(StaticLauncher):
    """200 runbooks with titles, symptoms, tags and a paragraph of summary each."""

    def runbooks(self) -> list[Any]:
        base = super().runbooks()
        summary = "When every node retries authentication at once the API server cannot recover. " * 3
        return [dataclasses.replace(rb, name=f"{rb.name}-{n}", title=f"{rb.title} ({n})", summary=summary)
                for n in range(LIBRARY // len(base) + 1) for rb in base][:LIBRARY]


def home() -> App[None]:
    from tests.engine.fakes import FakeClock
    from tui import make_app

    return make_app(launcher=Library200(), now=FakeClock().now)


def home_ready(app: App[Any]) -> bool:
    """The library is listed: the home screen's worker has read it and the list shows it."""
    screen = app.screen
    return len(getattr(screen, "_shown", ())) == LIBRARY

RUNS = 11
IMPORT_RUNS = 5


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("hello")
        yield Footer()


async def ready_ms(factory: Callable[[], App[Any]], ready: Callable[[App[Any]], bool] | None = None) -> float:
    gc.collect()
    start = time.perf_counter()
    app = factory()  # the walker's engine session is built beforehand: this times the TUI only
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        while ready is not None and not ready(app):
            await asyncio.sleep(0.001)
        await pilot.pause()
        took = (time.perf_counter() - start) * 1000
    return took


def import_ms(statement: str) -> float:
    """Median wall time of a fresh interpreter running ``statement``."""
    times = []
    for _ in range(IMPORT_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    async def measure() -> tuple[list[float], list[float], list[float]]:
        apps = [walker_app()[0] for _ in range(RUNS + 1)]
        await ready_ms(Minimal)  # warm all three (first-use caches), not counted
        await ready_ms(apps.pop)
        await ready_ms(home, home_ready)
        base: list[float] = []
        ours: list[float] = []
        homes: list[float] = []
        while apps:
            base.append(await ready_ms(Minimal))
            ours.append(await ready_ms(apps.pop))
            homes.append(await ready_ms(home, home_ready))
        return base, ours, homes

    base_runs, our_runs, home_runs = asyncio.run(measure())
    base, ours, homes = (statistics.median(r) for r in (base_runs, our_runs, home_runs))
    n = len(our_runs)
    print(f"minimal Textual app ready: {base:.0f} ms (median of {n}; {min(base_runs):.0f}-{max(base_runs):.0f})")
    print(f"mitigate walker ready:     {ours:.0f} ms (median of {n}; {min(our_runs):.0f}-{max(our_runs):.0f})")
    print(f"ratio: {ours / base:.2f}x (target <= 1.3x)")
    print(f"home, {LIBRARY} runbooks listed: {homes:.0f} ms (median of {n}; "
          f"{min(home_runs):.0f}-{max(home_runs):.0f})")
    print(f"ratio: {homes / base:.2f}x (target <= 1.5x)")
    textual_only = import_ms("import textual.app, textual.widgets; textual.widgets.Footer; textual.widgets.Label")
    with_tui = import_ms("import tui")
    print(f"import, fresh interpreter: textual + Label/Footer {textual_only:.0f} ms, tui {with_tui:.0f} ms "
          f"(ratio {with_tui / textual_only:.2f}x, median of {IMPORT_RUNS})")


if __name__ == "__main__":
    main()
