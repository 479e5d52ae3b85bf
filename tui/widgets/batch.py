"""Batch progress: a ProgressBar with ETA, counts, and the targets that failed.

Successful targets are counted, not listed: a 5,000-node batch must not write
5,000 lines (or one line per batch) while it runs; failures need attention and
are listed, newest last, capped.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, RichLog


class BatchPanel(Vertical):
    """Fed from ``batch.progress`` and ``step.outcome`` journal records of the running step."""

    MAX_FAILURE_LINES = 200

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ok = 0
        self._failed = 0

    def compose(self) -> ComposeResult:
        yield Label("", id="batch-label")
        yield ProgressBar(id="batch-bar", show_eta=True)
        yield Label("", id="batch-counts")
        yield RichLog(id="batch-targets", markup=False, max_lines=self.MAX_FAILURE_LINES)

    def begin(self, step_id: str) -> None:
        """Reset for a new run; the panel shows itself at the first ``batch.progress``."""
        self.display = False
        self._ok = self._failed = 0
        self.query_one("#batch-label", Label).update(f"{step_id}: starting…  (esc cancels between batches)")
        self.query_one("#batch-counts", Label).update("")
        self.query_one(ProgressBar).update(total=None, progress=0)
        log = self.query_one(RichLog)
        log.clear()
        log.display = False

    def progress(self, data: dict[str, Any]) -> None:
        self.display = True
        total, done = int(data.get("total") or 0), int(data.get("done") or 0)
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#batch-label", Label).update(
            f"{data.get('step')}: batch {data.get('batch')}/{data.get('batches')} · {done}/{total} targets · "
            f"{data.get('failures', 0)} failed  (esc cancels between batches)")

    def results(self, results: list[dict[str, Any]]) -> None:
        """Count every target; list the failures (the most recent ones when there are many)."""
        failed = [r for r in results if not r.get("ok")]
        self._ok += len(results) - len(failed)
        self._failed += len(failed)
        counts = Text()
        counts.append(f"✔ {self._ok:,} target(s) ok", style="green")
        if self._failed:
            counts.append(f"   ✘ {self._failed:,} failed", style="bold red")
        self.query_one("#batch-counts", Label).update(counts)
        if failed:
            log = self.query_one(RichLog)
            log.display = True
            for r in failed[-self.MAX_FAILURE_LINES:]:
                log.write(Text(f"✘ {r.get('target')} {r.get('message') or ''}".rstrip(), style="red"))

    def cancelled(self, data: dict[str, Any]) -> None:
        self.query_one("#batch-label", Label).update(
            f"{data.get('step')}: cancelled at {data.get('done')}/{data.get('total')} targets")
