"""Status updates carry the journal's head hash (issue 12, point 8): a journal cut short after
a message was sent has another head than the one the channel received."""

from __future__ import annotations

from datetime import UTC, datetime

from integrations.notify import render_status_update
from mitigate.ports import Notification
from tests.engine.helpers import Harness
from tests.engine.runbooks import HEADER

NOTIFY = HEADER + """
steps:
  - id: note
    manual: nothing
  - id: tell
    notify: {channels: [slack], status: identified, message: "We know."}
"""


def test_a_status_update_carries_the_head_of_the_journal_when_it_was_sent(harness: Harness) -> None:
    s = harness.start(NOTIFY, context="lab")
    s.complete_manual("note")
    s.run("tell")
    (sent,) = harness.notifier.sent
    records = s.journal.records()
    before = [r for r in records if r.type == "notify.sent"][0].seq - 1
    assert sent.journal_head and sent.journal_head in {r.hash for r in records if r.seq <= before}
    text = render_status_update(sent, now=datetime(2026, 5, 8, 9, 30, tzinfo=UTC))
    assert f"journal head {sent.journal_head[:16]}" in text


def test_without_a_head_the_footer_is_unchanged() -> None:
    text = render_status_update(Notification(channel="x", title="t", body="b", incident_id="I"),
                                now=datetime(2026, 5, 8, 9, 30, tzinfo=UTC))
    assert "journal head" not in text
