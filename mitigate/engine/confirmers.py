"""Confirmation policies for headless runs (the TUI brings its own modal).

``--plan`` uses :class:`PlanOnly`, which never approves, so nothing can execute
even if a step were run by mistake. ``--auto-approve`` uses
:class:`AutoApprove`, which approves ordinary steps and refuses protected
contexts: a production cluster is never changed without a human typing its name.
"""

from __future__ import annotations

from mitigate.ports import ConfirmDecision, ConfirmRequest


class PlanOnly:
    """Never approves anything: the plan is shown, nothing is executed."""

    def confirm(self, request: ConfirmRequest) -> ConfirmDecision:
        return ConfirmDecision(approved=False, reason="plan mode: nothing is executed")


class AutoApprove:
    """Approves every request except those on protected contexts (unless told otherwise)."""

    def __init__(self, *, protected_refused: bool = True) -> None:
        self.protected_refused = protected_refused

    def confirm(self, request: ConfirmRequest) -> ConfirmDecision:
        if request.protected and self.protected_refused:
            return ConfirmDecision(
                approved=False,
                reason=(f"context {request.context} is protected" if not request.protected_contexts else
                        f"protected context(s) among them: {', '.join(request.protected_contexts)}")
                       + ": --auto-approve never acts on protected contexts; run this step interactively and "
                         "type the context name",
            )
        return ConfirmDecision(approved=True, typed=request.context if request.needs_typed else "")
