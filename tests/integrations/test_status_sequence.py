"""A whole incident's status updates, sent to every configured channel, arrive in order.

This is the notifier's half of "a drill run with notifications configured posts the expected
sequence": the engine sends one Notification per ``notify`` step or status change; here the same
sequence goes through ``build_ports`` to the fake services and is checked where it lands.
"""

from __future__ import annotations

import pytest

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient
from integrations.notify import build_notifier, render_status_update
from mitigate.ports import Notification
from tests.integrations.fakeservices import FakeServices

STATUSES = ["investigating", "identified", "monitoring", "resolved"]


def test_render_status_update_has_every_part() -> None:
    from datetime import UTC, datetime

    text = render_status_update(
        Notification(channel="x", title="API down", body="Raising limits.  \n", status="monitoring",
                     incident_id="INC-7"),
        now=datetime(2026, 5, 8, 9, 30, tzinfo=UTC), next_update="in 30 minutes")
    assert text == ("*API down* [Monitoring]\n\nRaising limits.\n\n"
                    "_2026-05-08 09:30 UTC · incident INC-7 · next update in 30 minutes_\n")


@pytest.mark.usefixtures("secrets_env")
def test_an_incident_posts_its_status_sequence_everywhere(config: IntegrationsConfig, http: HttpClient,
                                                          services: FakeServices) -> None:
    notifier = build_notifier(config, http=http)
    for status in STATUSES:
        for channel in notifier.channels():
            result = notifier.send(Notification(channel=channel, title="Registry outage", status=status,
                                                body=f"Now {status}.", incident_id="INC-9"))
            assert result.ok, result.message
    slack = [r.json()["text"] for r in services.received("/slack/")]
    assert [s for t in slack for s in STATUSES if f"[{s.capitalize()}]" in t] == [s for s in STATUSES for _ in (1, 2)]
    assert [r.json()["status"] for r in services.received("/hook")] == STATUSES
    assert all(r.verified for r in services.received("/hook"))
    (incident,) = services.statuspage_incidents.values()
    assert [u.split("\n")[0] for u in incident["updates"]] == [f"*Registry outage* [{s.capitalize()}]" for s in STATUSES]
    assert services.pd_incidents["INC-9"]["history"] == ["trigger", "acknowledge", "acknowledge", "resolve"]
