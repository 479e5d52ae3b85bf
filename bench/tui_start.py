"""Time-to-ready of the walker next to a minimal Textual app, same run (target: within 1.3x).

Ready = the app has mounted its first screen and processed the first refresh
(``App.run_test`` returns control to the pilot). Median of N runs each.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Label

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.tui.snapshot_apps import walker_app  # noqa: E402

RUNS = 7


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


def main() -> None:
    async def measure() -> tuple[float, float]:
        base = [await ready_ms(Minimal) for _ in range(RUNS)]
        apps = [walker_app()[0] for _ in range(RUNS)]
        ours = [await ready_ms(apps.pop) for _ in range(RUNS)]
        return statistics.median(base), statistics.median(ours)

    base, ours = asyncio.run(measure())
    print(f"minimal Textual app ready: {base:.0f} ms (median of {RUNS})")
    print(f"mitigate walker ready:     {ours:.0f} ms (median of {RUNS})")
    print(f"ratio: {ours / base:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
