"""``http`` steps: a call to a cloud or vendor API, previewed as its curl line (credentials
masked), confirmed, journaled, with an optional undo call; protection and drills as for cluster
actions. What it shares with ``command`` (plan, run, journal, recheck, undo) is
:class:`mitigate.engine.outbound.OutboundKind`."""

from __future__ import annotations

from mitigate.engine.outbound import OutboundKind


class Http(OutboundKind):
    name = "http"


KIND = Http()
