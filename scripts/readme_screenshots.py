"""Regenerate the README's TUI screenshots at 120x40: ``python scripts/readme_screenshots.py``.

The same fixed-state apps as the snapshot tests (tests/tui/snapshot_apps.py: the real engine
over an in-memory cluster, a fixed clock and incident id), so a screenshot changes only when
the screen does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tui.snapshot_apps import confirm_request, walker_app  # noqa: E402
from tui.screens.confirm import ConfirmScreen  # noqa: E402

SIZE = (120, 40)


async def shoot(app: Any, path: Path, *, before: Any = None, title: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        if before is not None:
            await before(pilot)
        await pilot.pause(0.3)
        path.write_text(app.export_screenshot(title=title), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


async def main() -> None:
    docs = ROOT / "docs"
    app, _ = walker_app(protected=True)

    async def on_the_check(pilot: Any) -> None:  # the check's result table, kept in view
        pilot.app.screen.go_to_step("find-notready")

    await shoot(app, docs / "walker.svg", before=on_the_check, title="mitigate: the runbook walker")
    app, _ = walker_app(protected=True)

    async def confirming(pilot: Any) -> None:
        pilot.app.push_screen(ConfirmScreen(confirm_request(protected=True)))

    await shoot(app, docs / "confirm.svg", before=confirming, title="mitigate: a protected, destructive step")


if __name__ == "__main__":
    asyncio.run(main())
