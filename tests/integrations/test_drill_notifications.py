"""A runbook run by the real engine, with notifications configured, posts its status sequence.

The engine sends each ``notify`` step through the live wiring's notifier (``mitigate.cli.wiring.ports``) to the local fake
services; the journal records ``notify.sent`` without any secret value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.config import IntegrationsConfig
from mitigate.cli.wiring import ports
from mitigate.engine import AutoApprove, IncidentMeta, Session
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.integrations.fakeservices import FakeServices

STATUSES = ["investigating", "identified", "monitoring", "resolved"]
RUNBOOK = "\n".join([
    "apiVersion: mitigate/v1", "kind: Runbook",
    "metadata: {name: comms-drill, title: Comms drill, source: IONOS status page report 2026-05}",
    "steps:",
    *[f"  - id: say-{s}\n    notify: {{channels: [hook, status, pager], status: {s}, message: 'We are {s}.'}}"
      for s in STATUSES],
]) + "\n"


@pytest.mark.usefixtures("secrets_env")
def test_engine_run_posts_the_status_sequence(config: IntegrationsConfig, services: FakeServices,
                                              secrets_env: dict[str, str], tmp_path: Path) -> None:
    runbook = load_runbook_text(RUNBOOK, "comms-drill.yaml")
    journal = Journal.create(tmp_path, title="Comms drill")
    session = Session.start(runbook, {}, journal, ports("live", None, AutoApprove(), config, journal.dir),
                            meta=IncidentMeta(title="Comms drill"))
    while (current := session.current()) is not None:
        session.run(current.id)
    journal.close()

    assert [r.json()["status"] for r in services.received("/hook")] == STATUSES
    (incident,) = services.statuspage_incidents.values()
    assert incident["status"] == "resolved" and len(incident["updates"]) == 4
    assert services.pd_incidents[journal.id]["history"] == ["trigger", "acknowledge", "acknowledge", "resolve"]
    sent = [r for r in journal.records() if r.type == "notify.sent"]
    assert [(r.data["channel"], r.data["status"]) for r in sent] == [(c, s) for s in STATUSES
                                                                    for c in ("hook", "status", "pager")]
    written = "".join(p.read_text() for p in journal.dir.iterdir() if p.is_file() and p.suffix == ".jsonl")
    assert "notify.sent" in written and not any(value in written for value in secrets_env.values())
