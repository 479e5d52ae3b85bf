"""The ports a rehearsal gets instead of the real integrations: nothing leaves the machine.

Status updates are never sent from a drill: :class:`DrillNotifier` records what would have
been sent (the engine journals it), so a rehearsal cannot page customers. No real
Alertmanager is touched either: :class:`DrillSilencer` records silences (the journal holds
their intent and outcome) and expires them on rollback. The composition root
(``mitigate.cli.wiring``) wires these for every drill, TUI and headless alike.
"""

from __future__ import annotations

from mitigate.ports import (
    CommandCall,
    CommandReply,
    HttpCall,
    HttpReply,
    Notification,
    NotifyResult,
    SilenceRequest,
    SilenceResult,
)


class DrillNotifier:
    """A NotifierPort that records status updates instead of sending them."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def channels(self) -> list[str]:
        return []

    def preview(self, note: Notification) -> str:
        return f"[drill: not sent] {note.channel}: {note.title}\n\n{note.body}"

    def send(self, note: Notification) -> NotifyResult:
        self.sent.append(note)
        return NotifyResult(ok=True, channel=note.channel, message="drill: recorded, not sent")


class DrillSilencer:
    """A SilencerPort that records silences instead of creating them (ids ``drill-1``, ...)."""

    URL = "drill://not-sent"
    records_only = True

    def __init__(self) -> None:
        self.silences: dict[str, tuple[SilenceRequest, bool]] = {}  # id -> (request, active)

    def resolve(self, alertmanager: str | None) -> tuple[str, str]:
        return alertmanager or "default", self.URL

    def create(self, request: SilenceRequest) -> SilenceResult:
        sid = f"drill-{len(self.silences) + 1}"
        self.silences[sid] = (request, True)
        return SilenceResult(True, sid, f"drill: silence {sid} recorded, not sent")

    def expire(self, alertmanager: str, silence_id: str) -> SilenceResult:
        if silence_id in self.silences:
            self.silences[silence_id] = (self.silences[silence_id][0], False)
        return SilenceResult(True, silence_id, f"drill: silence {silence_id} expired, not sent")

    def find(self, alertmanager: str, marker: str) -> list[str]:
        return [sid for sid, (req, active) in self.silences.items() if active and marker in req.comment]


class DrillHttp:
    """An HttpPort that records ``http`` steps instead of sending them: a rehearsal never calls a
    cloud or vendor API. The engine journals such a step as done, "recorded, not sent"."""

    records_only = True

    def __init__(self) -> None:
        self.calls: list[HttpCall] = []

    def send(self, call: HttpCall) -> HttpReply:
        self.calls.append(call)
        return HttpReply(None, error="drill: recorded, not sent")


class DrillCommands:
    """A CommandPort that records ``command`` steps instead of running them."""

    records_only = True

    def __init__(self) -> None:
        self.calls: list[CommandCall] = []

    def resolve(self, program: str) -> str:
        import shutil

        return shutil.which(program) or program

    def run(self, call: CommandCall) -> CommandReply:
        self.calls.append(call)
        return CommandReply(None, error="drill: recorded, not run", program=self.resolve(call.argv[0]))
