"""``command`` steps: a local program run from an argv list (never a shell), shown exactly,
confirmed, its exit code and output journaled (redacted), with an optional undo command;
protection and drills as for cluster actions. What it shares with ``http`` (plan, run, journal,
recheck, undo) is :class:`mitigate.engine.outbound.OutboundKind`."""

from __future__ import annotations

from mitigate.engine.outbound import OutboundKind


class Command(OutboundKind):
    name = "command"


KIND = Command()
