"""Incident metrics from milestones: defined once here, printed in the document.

A metric is the time between two milestones. A missing milestone makes the
metric "not recorded" (never a guess from some other event), and an end that
comes before its start (an out-of-order or mistyped backdated entry) is
flagged for the author instead of being shown as a negative duration.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mitigate.postmortem.model import Metric

# key, name, start milestone, end milestone, definition
METRIC_DEFINITIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ttd", "Time to detect", "impact-start", "detected",
     "from the start of customer impact (`impact-start`) to the moment the problem was detected (`detected`)"),
    ("tta", "Time to acknowledge", "detected", "acknowledged",
     "from detection (`detected`) to a responder acknowledging and taking the incident (`acknowledged`)"),
    ("ttm", "Time to mitigate", "impact-start", "mitigated",
     "from the start of impact (`impact-start`) to impact being stopped or contained (`mitigated`), "
     "whether or not the cause is fixed"),
    ("ttr", "Time to resolve", "impact-start", "resolved",
     "from the start of impact (`impact-start`) to the service being fully restored (`resolved`)"),
)


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h 02m 05s"``; days are spelled out for long incidents."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def compute_metrics(milestones: Mapping[str, datetime]) -> list[Metric]:
    """The four standard metrics from the milestone times (UTC)."""
    metrics = []
    for key, name, start, end, definition in METRIC_DEFINITIONS:
        missing = [m for m in (start, end) if m not in milestones]
        if missing:
            metrics.append(Metric(
                key=key, name=name, definition=definition, start=start, end=end, seconds=None,
                status="not-recorded",
                display="not recorded (no " + " or ".join(f"`{m}`" for m in missing) + " milestone)",
            ))
            continue
        seconds = (milestones[end] - milestones[start]).total_seconds()
        if seconds < 0:
            metrics.append(Metric(
                key=key, name=name, definition=definition, start=start, end=end, seconds=None,
                status="flagged",
                display=f"⚠️ check the timeline: `{end}` is recorded {format_duration(-seconds)} "
                        f"before `{start}` (out-of-order or mistyped entry)",
            ))
            continue
        metrics.append(Metric(key=key, name=name, definition=definition, start=start, end=end,
                              seconds=seconds, status="ok", display=format_duration(seconds)))
    return metrics
