"""The drill scorecard: how fast and how cleanly the runbook was walked.

Computed from the session state (itself folded from the journal), so a
scorecard can be printed for any incident, live or after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from mitigate.engine.state import SessionState
from mitigate.events import StepStatus
from mitigate.timefmt import parse_rfc3339


@dataclass(frozen=True)
class Scorecard:
    time_to_mitigated: float | None  # seconds from start to the mitigated milestone (or last step)
    mitigated: bool  # a `mitigated` milestone was recorded
    steps_run: int
    steps_skipped: int
    steps_failed: int
    steps_total: int
    api_errors_absorbed: int

    def render(self) -> str:
        if self.time_to_mitigated is None:
            ttm = "n/a"
        else:
            minutes, seconds = divmod(self.time_to_mitigated, 60)
            took = f"{int(minutes)}m{seconds:04.1f}s"
            ttm = took if self.mitigated else f"not mitigated (no mitigated milestone; last step after {took})"
        return "\n".join([
            "Scorecard",
            f"  time to mitigated   {ttm}",
            f"  steps run           {self.steps_run}/{self.steps_total}",
            f"  steps skipped       {self.steps_skipped}",
            f"  steps failed        {self.steps_failed}",
            f"  API errors absorbed {self.api_errors_absorbed}",
        ])


def scorecard(state: SessionState, total_steps: int, *, client_absorbed: int | None = None) -> Scorecard:
    """The drill scorecard. ``client_absorbed``: transient API errors the cluster client
    retried away over the whole run (checks and waits included), when the composition
    root can ask its adapter; otherwise only what action outcomes reported is counted."""
    started = next((m.get("at") or m["ts"] for m in state.milestones if m.get("name") == "started"),
                   state.opened_ts)
    mitigated = next((m.get("at") or m["ts"] for m in state.milestones if m.get("name") == "mitigated"), None)
    end = mitigated or state.last_step_ts or None
    ttm = (parse_rfc3339(end) - parse_rfc3339(started)).total_seconds() if end and started else None
    statuses = [rec.status for rec in state.steps.values()]
    ran = (StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.ROLLED_BACK, StepStatus.UNKNOWN)
    return Scorecard(
        time_to_mitigated=ttm, mitigated=mitigated is not None,
        steps_run=sum(s in ran for s in statuses), steps_skipped=statuses.count(StepStatus.SKIPPED),
        steps_failed=statuses.count(StepStatus.FAILED), steps_total=total_steps,
        api_errors_absorbed=max(state.api_errors_absorbed, client_absorbed or 0))
