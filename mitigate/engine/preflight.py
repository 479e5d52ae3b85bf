"""The RBAC preflight: ask the API server, before a change is confirmed, whether it will be allowed.

A responder whose RBAC forbids part of a runbook should meet a clear refusal before anything
changes, not a 403 in the middle of a batch. Each action declares the permissions it will use
(:meth:`mitigate.ports.PreparedAction.permissions`); the cluster answers them with
SelfSubjectAccessReview (as the impersonated user when impersonating). A denial stops the step
before its confirmation; an answer the cluster could not give (the review API failed) is shown
and needs the typed context to go on, because only the responder can judge it. Dry runs are
authorised like the real request, so a forbidden preview fails the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mitigate.errors import MitigateError
from mitigate.ports import AccessAnswer, AccessCheck, ClusterPort


@dataclass
class Preflight:
    context: str
    checked: int = 0
    denied: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """Lines for a plan, a preview or a confirmation."""
        out = [f"RBAC on {self.context}: you cannot {d}" for d in self.denied]
        out += [f"RBAC on {self.context}: could not check {u}" for u in self.uncertain]
        if self.checked and not out:
            out.append(f"RBAC on {self.context}: {self.checked} permission(s) checked, all allowed")
        return out

    def data(self, step: str) -> dict[str, Any]:
        return {"step": step, "context": self.context, "checked": self.checked, "denied": self.denied,
                "uncertain": self.uncertain}

    def refuse(self, what: str) -> None:
        """Raise the one-line refusal when anything is denied."""
        if self.denied:
            more = f" (and {len(self.denied) - 1} more)" if len(self.denied) > 1 else ""
            raise MitigateError(f"RBAC preflight on {self.context}: you cannot {self.denied[0]}{more}: "
                                f"{what} would fail; nothing was changed")


def preflight(cluster: ClusterPort, context: str, checks: Sequence[AccessCheck]) -> Preflight:
    """Ask once per distinct check; a cluster that cannot answer at all makes every check uncertain."""
    unique = list(dict.fromkeys(checks))
    result = Preflight(context, checked=len(unique))
    if not unique:
        return result
    ask: Callable[[str, Sequence[AccessCheck]], list[AccessAnswer]] | None = getattr(cluster, "access", None)
    if ask is None:
        result.uncertain = [c.text for c in unique]
        return result
    try:
        answers = ask(context, unique)
    except Exception as exc:  # noqa: BLE001 - an unreachable review API is uncertainty, never a crash
        result.uncertain = [f"{c.text} ({exc})" for c in unique]
        return result
    result.denied = _grouped([a.check for a in answers if a.allowed is False])
    for answer in answers:
        if answer.allowed is None:
            result.uncertain.append(answer.check.text + (f" ({answer.reason})" if answer.reason else ""))
    return result


def _grouped(checks: Sequence[AccessCheck]) -> list[str]:
    """Denials of one verb on one resource in one namespace read as one line, names shortened."""
    groups: dict[tuple[str, str, str, str, str], list[AccessCheck]] = {}
    for check in checks:
        groups.setdefault((check.verb, check.resource, check.group, check.subresource, check.namespace), []).append(check)
    out: list[str] = []
    for same in groups.values():
        names = [c.name for c in same if c.name]
        if len(names) <= 1:
            out.extend(c.text for c in same)
            continue
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        first = same[0]
        out.append(AccessCheck(first.verb, first.resource, first.group, first.subresource, first.namespace,
                               shown).text)
    return out
