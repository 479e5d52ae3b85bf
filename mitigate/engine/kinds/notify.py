"""Notify steps: a status update per channel, previewed, confirmed, sent. A failed send is
recorded and never halts the runbook."""

from __future__ import annotations

from typing import Any

from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan
from mitigate.events import Event
from mitigate.ports import ConfirmRequest, Notification
from mitigate.runbook.templating import render


class Notify(StepKind):
    name = "notify"

    def run(self, ctx: StepContext) -> None:
        step, values = ctx.step, ctx.values
        spec = step.notify
        assert spec is not None
        body = str(render(spec.message, values))
        incident = values["incident"]
        title = str(render(spec.title, values)) if spec.title else (
            f"{incident['title']}: {spec.status or incident['status']}")
        sent: list[str] = []
        failed: list[str] = []
        declined: list[str] = []
        for channel in spec.channels:
            note = Notification(channel=channel, title=title, body=body, status=spec.status,
                                incident_id=ctx.incident_id, dedup_key=ctx.incident_id, journal_head=ctx.head())
            notifier = ctx.ports.notifier
            if notifier is None:
                ctx.record(Event.NOTIFY_FAILED, {"step": step.id, "channel": channel, "status": spec.status,
                                             "ok": False, "message": "no notifier configured"})
                failed.append(channel)
                continue
            request = ConfirmRequest(step_id=step.id, title=step.title or f"status update to {channel}",
                                     description=f"send a status update to {channel}: {title}",
                                     kubectl=(), context="", scope=f"channel {channel}", target_count=1,
                                     destructive=False, protected=False, diff=notifier.preview(note),
                                     kind="notify")
            approved, _ = ctx.confirm(request)
            if not approved:
                declined.append(channel)
                continue
            try:
                result = notifier.send(note)
                ok, message, remote = result.ok, result.message, result.remote_id
            except Exception as exc:  # noqa: BLE001 - a notifier bug must not halt the runbook
                ok, message, remote = False, f"{type(exc).__name__}: {exc}", None
            ctx.record(Event.NOTIFY_SENT if ok else Event.NOTIFY_FAILED, {
                "step": step.id, "channel": channel, "status": spec.status, "ok": ok,
                "message": message, "remote_id": remote, "title": title, "text": body})
            (sent if ok else failed).append(channel)
        result_data: dict[str, Any] = {"sent": sent, "failed": failed, "declined": declined}
        if declined and not sent and not failed:
            return  # every channel declined: the step stays previewed (step.declined says why)
        error = f"not delivered to {', '.join(failed)} (recorded; the runbook goes on)" if failed else None
        ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": result_data, "error": error})

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        spec = ctx.step.notify
        assert spec is not None
        out.description = f"notify {', '.join(spec.channels)}" + (
            f" (status {spec.status})" if spec.status else "")


KIND = Notify()
