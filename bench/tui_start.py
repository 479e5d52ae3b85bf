"""Time-to-ready of the walker next to a minimal Textual app, same run (target: within 1.3x).

Ready, the same for both apps: the app has mounted its first screen, painted it,
and processed every message queued by then (``App.run_test`` hands over the
pilot, then ``pilot.pause()`` waits until the app is idle: the next key is
handled at once). The two apps are measured alternately, so load on the
machine falls on both alike; medians of RUNS each.

Imports are timed apart, in fresh interpreters: ``import tui`` next to the
modules the minimal app needs (the engine a real session loads is not counted).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Label

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tui.snapshot_apps import walker_app  # noqa: E402

RUNS = 11
IMPORT_RUNS = 5


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("hello")
        yield Footer()


async def ready_ms(factory: Callable[[], App[None]]) -> float:
    start = time.perf_counter()
    app = factory()  # the walker's engine session is built beforehand: this times the TUI only
    async with app.run_test(size=(140, 40)) as pilot:
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
    async def measure() -> tuple[list[float], list[float]]:
        apps = [walker_app()[0] for _ in range(RUNS + 1)]
        await ready_ms(Minimal)  # warm both (first-use caches), not counted
        await ready_ms(apps.pop)
        base: list[float] = []
        ours: list[float] = []
        while apps:
            base.append(await ready_ms(Minimal))
            ours.append(await ready_ms(apps.pop))
        return base, ours

    base_runs, our_runs = asyncio.run(measure())
    base, ours = statistics.median(base_runs), statistics.median(our_runs)
    n = len(our_runs)
    print(f"minimal Textual app ready: {base:.0f} ms (median of {n}; {min(base_runs):.0f}-{max(base_runs):.0f})")
    print(f"mitigate walker ready:     {ours:.0f} ms (median of {n}; {min(our_runs):.0f}-{max(our_runs):.0f})")
    print(f"ratio: {ours / base:.2f}x (target <= 1.3x)")
    textual_only = import_ms("import textual.app, textual.widgets; textual.widgets.Footer; textual.widgets.Label")
    with_tui = import_ms("import tui")
    print(f"import, fresh interpreter: textual + Label/Footer {textual_only:.0f} ms, tui {with_tui:.0f} ms "
          f"(ratio {with_tui / textual_only:.2f}x, median of {IMPORT_RUNS})")


if __name__ == "__main__":
    main()
