"""Batch progress: a ProgressBar with ETA, counts and per-target results."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, RichLog


class BatchPanel(Vertical):
    """Fed from ``batch.progress`` and ``step.outcome`` journal records of the running step."""

    MAX_TARGET_LINES = 200

    def compose(self) -> ComposeResult:
        yield Label("", id="batch-label")
        yield ProgressBar(id="batch-bar", show_eta=True)
        yield RichLog(id="batch-targets", markup=False, max_lines=self.MAX_TARGET_LINES)

    def begin(self, step_id: str) -> None:
        """Reset for a new run; the panel shows itself at the first ``batch.progress``."""
        self.display = False
        self.query_one("#batch-label", Label).update(f"{step_id}: starting…  (esc cancels between batches)")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one(RichLog).clear()

    def progress(self, data: dict[str, Any]) -> None:
        self.display = True
        total, done = int(data.get("total") or 0), int(data.get("done") or 0)
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#batch-label", Label).update(
            f"{data.get('step')}: batch {data.get('batch')}/{data.get('batches')} · {done}/{total} targets · "
            f"{data.get('failures', 0)} failed  (esc cancels between batches)")

    def results(self, results: list[dict[str, Any]]) -> None:
        """Failures one per line (they need attention); successes as one line per batch."""
        log = self.query_one(RichLog)
        ok = [r for r in results if r.get("ok")]
        if ok:
            log.write(Text(f"✔ {len(ok)} target(s) ok: {ok[0].get('target')} … {ok[-1].get('target')}",
                           style="green"))
        for r in [r for r in results if not r.get("ok")][-self.MAX_TARGET_LINES:]:
            log.write(Text(f"✘ {r.get('target')} {r.get('message') or ''}".rstrip(), style="red"))

    def cancelled(self, data: dict[str, Any]) -> None:
        self.query_one("#batch-label", Label).update(
            f"{data.get('step')}: cancelled at {data.get('done')}/{data.get('total')} targets")
