"""The one headless driver: a session run start to finish without a person at the keyboard.

``mitigate run --auto-approve``, ``mitigate drill --headless`` and ``mitigate test`` all walk
their session through :func:`drive`: each current step is run; a manual step is acknowledged
when allowed (it is printed, not performed); a decision step takes its answer from
``decisions``; the walk halts at the first step that neither succeeds nor is skipped. What the
session confirms is up to its confirmer (``AutoApprove`` refuses protected contexts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mitigate.errors import UsageError

if TYPE_CHECKING:
    from mitigate.engine import Session, StepState

Say = Callable[[str], None]


@dataclass(frozen=True)
class Walk:
    """How a headless walk ended: ``halted_at`` is None when every step finished."""

    halted_at: str | None
    status: str | None = None

    @property
    def finished(self) -> bool:
        return self.halted_at is None


def drive(session: Session, *, decisions: Mapping[str, str], say: Say, ack_manual: bool = True,
          manual_hint: str = "pass --ack-manual", decision_hint: str = "pass --decide {step}=OPTION ({options})",
          after_step: Callable[[StepState], None] | None = None) -> Walk:
    """Run every step in order; ``after_step`` sees each finished step (drills check health there).

    A manual step without ``ack_manual``, or a decision without an answer, stops the walk with a
    :class:`UsageError` that names the step, the incident and the hint.
    """
    from mitigate.engine import StepStatus

    book = session.runbook
    while (current := session.current()) is not None:
        step = book.step(current.id)
        state = session.run(step.id)
        if state.status == StepStatus.PENDING and step.manual is not None:
            first = step.manual.strip().splitlines()[0] if step.manual.strip() else step.id
            if not ack_manual:
                raise UsageError(f"step {step.id} is manual ({first}); do it, then {manual_hint} "
                                 f"(incident {session.incident_id})")
            say(f"  manual, acknowledged: {first}")
            state = session.complete_manual(step.id)
        elif state.status == StepStatus.PENDING and step.decision is not None:
            if step.id not in decisions:
                options = ", ".join(o.id for o in step.decision.options)
                raise UsageError(f"step {step.id} needs a decision ({step.decision.prompt}): "
                                 + decision_hint.format(step=step.id, options=options)
                                 + f" (incident {session.incident_id})")
            state = session.decide(step.id, decisions[step.id])
        detail = state.reason or state.error or ""
        say(f"{state.status:>10}  {step.id}" + (f": {detail}" if detail else ""))
        if state.status not in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
            return Walk(step.id, str(state.status))
        if after_step is not None:
            after_step(state)
    return Walk(None)
