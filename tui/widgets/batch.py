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
from textual.widgets import ProgressBar, RichLog

from tui.widgets.line import Line


class BatchPanel(Vertical):
    """Fed from ``batch.progress`` and ``step.outcome`` journal records of the running step."""

    MAX_FAILURE_LINES = 200

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ok = 0
        self._failed = 0
        self.has_progress = False  # shown once a batch reported; hidden while another step is selected
        # built here, not in compose: the walker mounts this panel at the first run and feeds it at once
        self._label = Line(id="batch-label")
        self._bar = ProgressBar(id="batch-bar", show_eta=True)
        self._counts = Line(id="batch-counts")
        self._log = RichLog(id="batch-targets", markup=False, max_lines=self.MAX_FAILURE_LINES)

    def compose(self) -> ComposeResult:
        yield self._label
        yield self._bar
        yield self._counts
        yield self._log

    def begin(self, step_id: str) -> None:
        """Reset for a new run; the panel shows itself at the first ``batch.progress``."""
        self.display = self.has_progress = False
        self._ok = self._failed = 0
        self._label.update(f"{step_id}: starting…  (esc cancels between batches)")
        self._counts.update("")
        self._bar.update(total=None, progress=0)
        log = self._log
        log.clear()
        log.display = False

    def progress(self, data: dict[str, Any]) -> None:
        self.display = self.has_progress = True
        total, done = int(data.get("total") or 0), int(data.get("done") or 0)
        self._bar.update(total=max(total, 1), progress=done)
        self._label.update(
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
        self._counts.update(counts)
        if failed:
            log = self._log
            log.display = True
            for r in failed[-self.MAX_FAILURE_LINES:]:
                log.write(Text(f"✘ {r.get('target')} {r.get('message') or ''}".rstrip(), style="red"))

    def cancelled(self, data: dict[str, Any]) -> None:
        self._label.update(
            f"{data.get('step')}: cancelled at {data.get('done')}/{data.get('total')} targets")
