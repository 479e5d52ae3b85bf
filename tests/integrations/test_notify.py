"""Each notifier against the local fake services: success, throttling, errors, timeouts, secrets."""

from __future__ import annotations

import json

import pytest

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient
from integrations.notify import build_notifier
from integrations.notify.webhook import verify
from integrations.secrets import env_var
from mitigate.ports import Notification, NotifierPort
from tests.integrations import fakeservices as fs
from tests.integrations.fakeservices import FakeServices, Reply
from tests.integrations.helpers import Waits

pytestmark = pytest.mark.usefixtures("secrets_env")


def note(channel: str, status: str | None = "investigating", body: str = "API latency is high.") -> Notification:
    return Notification(channel=channel, title="API outage", body=body, status=status, incident_id="INC-42")


def test_notifier_implements_the_port_and_lists_channels(config: IntegrationsConfig, http: HttpClient) -> None:
    notifier = build_notifier(config, http=http)
    assert isinstance(notifier, NotifierPort)
    assert notifier.channels() == ["hook", "pager", "slack-bot", "slack-hook", "status"]


def test_slack_webhook_posts_the_rendered_status_update(config: IntegrationsConfig, http: HttpClient,
                                                          services: FakeServices) -> None:
    result = build_notifier(config, http=http).send(note("slack-hook"))
    assert result.ok, result.message
    (req,) = services.received("/slack/hook/")
    text = req.json()["text"]
    assert "*API outage* [Investigating]" in text and "API latency is high." in text and "INC-42" in text


def test_slack_api_returns_the_message_ts(config: IntegrationsConfig, http: HttpClient,
                                          services: FakeServices) -> None:
    result = build_notifier(config, http=http).send(note("slack-bot"))
    assert result.ok and result.remote_id and result.remote_id.startswith("1700000000.")
    (req,) = services.received("/slack/api/")
    assert req.json()["channel"] == "#incidents"


def test_slack_429_waits_for_retry_after_then_succeeds(config: IntegrationsConfig, http: HttpClient,
                                                        services: FakeServices, waits: Waits) -> None:
    services.inject("/slack/api/", Reply(429, "rate_limited", {"Retry-After": "1.5"}))
    result = build_notifier(config, http=http).send(note("slack-bot"))
    assert result.ok, result.message
    assert len(services.received("/slack/api/")) == 2
    assert waits and waits[0] >= 1.5


def test_slack_repeated_500s_fail_with_one_line_after_the_attempt_limit(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.inject("/slack/hook/", *[Reply(500, "internal_error")] * 3)
    result = build_notifier(config, http=http).send(note("slack-hook"))
    assert not result.ok
    assert "HTTP 500" in result.message and "after 3 attempts" in result.message and "\n" not in result.message
    assert len(services.received("/slack/hook/")) == 3


def test_slack_post_is_not_repeated_after_an_ambiguous_timeout(config: IntegrationsConfig, http: HttpClient,
                                                               services: FakeServices) -> None:
    services.inject("/slack/api/", Reply(delay=1.0, passthrough=True))
    result = build_notifier(config, http=http).send(note("slack-bot"))
    assert not result.ok and "timed out" in result.message and "not retried" in result.message
    assert len(services.received("/slack/api/")) == 1


def test_slack_wrong_credentials_name_the_secret(config: IntegrationsConfig, http: HttpClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var("slack-bot"), "xoxb-wrong")
    result = build_notifier(config, http=http).send(note("slack-bot"))
    assert not result.ok and "invalid_auth" in result.message and "'slack-bot'" in result.message


def test_slack_malformed_answer_is_a_failure_not_a_crash(config: IntegrationsConfig, http: HttpClient,
                                                         services: FakeServices) -> None:
    services.inject("/slack/api/", Reply(200, "<html>proxy error</html>"))
    result = build_notifier(config, http=http).send(note("slack-bot"))
    assert not result.ok and "malformed answer" in result.message


def test_webhook_signature_verifies_on_the_receiving_side(config: IntegrationsConfig, http: HttpClient,
                                                          services: FakeServices) -> None:
    result = build_notifier(config, http=http).send(note("hook", status="identified"))
    assert result.ok, result.message
    (req,) = services.received("/hook")
    assert req.verified is True
    assert verify(fs.WEBHOOK_KEY, req.body, req.headers["x-mitigate-signature"])
    payload = req.json()
    assert payload["status"] == "identified" and payload["incident_id"] == "INC-42"
    assert str(payload["sent_at"]) == req.headers["x-mitigate-timestamp"]


def test_webhook_with_the_wrong_key_is_rejected_by_the_receiver(config: IntegrationsConfig, http: HttpClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var("hook-key"), "not-the-key")
    result = build_notifier(config, http=http).send(note("hook"))
    assert not result.ok and "HTTP 401" in result.message and "'hook-key'" in result.message


def test_webhook_retries_a_timeout_with_the_same_delivery_id(config: IntegrationsConfig, http: HttpClient,
                                                             services: FakeServices) -> None:
    services.inject("/hook", Reply(delay=1.0, passthrough=True))
    result = build_notifier(config, http=http).send(note("hook"))
    assert result.ok, result.message
    first, second = services.received("/hook")
    assert first.headers["x-mitigate-delivery"] == second.headers["x-mitigate-delivery"] == result.remote_id


def test_statuspage_creates_then_updates_one_incident_through_the_statuses(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices, tmp_path: object) -> None:
    notifier = build_notifier(config, http=http)
    ids = {notifier.send(note("status", status=s)).remote_id
           for s in ("investigating", "identified", "monitoring", "resolved")}
    assert len(ids) == 1
    (inc,) = services.statuspage_incidents.values()
    assert inc["status"] == "resolved" and inc["components"] == {"cmp-api": "operational"}
    assert inc["metadata"] == {"mitigate": {"incident_id": "INC-42"}} and len(inc["updates"]) == 4
    methods = [r.method for r in services.received("/statuspage/") if r.method != "GET"]
    assert methods == ["POST", "PATCH", "PATCH", "PATCH"]


def test_statuspage_remote_id_survives_a_restart_through_the_state_file(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices, tmp_path: pytest.TempPathFactory) -> None:
    state = tmp_path / "notify-state.json"  # type: ignore[operator]
    first = build_notifier(config, http=http, state_file=state).send(note("status"))
    second = build_notifier(config, http=http, state_file=state).send(note("status", status="monitoring"))
    assert first.remote_id == second.remote_id and len(services.statuspage_incidents) == 1
    assert json.loads(state.read_text())["status"]["INC-42"] == first.remote_id


def test_statuspage_adopts_the_incident_whose_create_answer_was_lost(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    notifier = build_notifier(config, http=http)
    # the lookup of open incidents is answered normally, the create is processed but its answer lost
    services.inject("/statuspage/v1/pages/page1/incidents", Reply(passthrough=True),
                    Reply(delay=1.0, passthrough=True))
    lost = notifier.send(note("status"))
    assert not lost.ok and "timed out" in lost.message
    retried = build_notifier(config, http=http).send(note("status"))
    assert retried.ok, retried.message
    assert len(services.statuspage_incidents) == 1 and retried.message.startswith("updated")


def test_statuspage_wrong_api_key(config: IntegrationsConfig, http: HttpClient,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var("sp-key"), "nope")
    result = build_notifier(config, http=http).send(note("status"))
    assert not result.ok and "HTTP 401" in result.message and "Could not authenticate" in result.message


def test_pagerduty_trigger_acknowledge_resolve_with_notes(config: IntegrationsConfig, http: HttpClient,
                                                          services: FakeServices) -> None:
    notifier = build_notifier(config, http=http)
    for status in ("investigating", "identified", "resolved"):
        result = notifier.send(note("pager", status=status))
        assert result.ok, result.message
        assert result.remote_id == "INC-42"
    inc = services.pd_incidents["INC-42"]
    assert inc["history"] == ["trigger", "acknowledge", "resolve"] and inc["status"] == "resolved"
    assert len(inc["notes"]) == 3 and "[Resolved]" in inc["notes"][-1]


def test_pagerduty_invalid_routing_key_is_reported(config: IntegrationsConfig, http: HttpClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var("pd-routing"), "wrong")
    result = build_notifier(config, http=http).send(note("pager"))
    assert not result.ok and "Invalid routing key" in result.message and "'pd-routing'" in result.message


def test_pagerduty_event_timeout_is_retried_because_dedup_keys_make_it_safe(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.inject("/pagerduty/events/", Reply(delay=1.0, passthrough=True))
    result = build_notifier(config, http=http).send(note("pager"))
    assert result.ok, result.message
    assert len(services.received("/pagerduty/events/")) == 2
    assert services.pd_incidents["INC-42"]["history"] == ["trigger", "trigger"]  # one incident, deduplicated


def test_failed_notification_is_returned_and_can_be_retried(config: IntegrationsConfig, http: HttpClient,
                                                            services: FakeServices) -> None:
    notifier = build_notifier(config, http=http)
    services.inject("/slack/api/", *[Reply(503, "unavailable")] * 3)
    failed = notifier.send(note("slack-bot"))
    assert not failed.ok and failed.channel == "slack-bot" and "HTTP 503" in failed.message
    again = notifier.send(note("slack-bot"))
    assert again.ok, again.message


def test_missing_secret_fails_the_send_and_names_the_variable(config: IntegrationsConfig, http: HttpClient,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends.fail import Keyring as NoBackend

    monkeypatch.delenv(env_var("slack-bot"))
    previous = keyring.get_keyring()
    keyring.set_keyring(NoBackend())
    try:
        result = build_notifier(config, http=http).send(note("slack-bot"))
    finally:
        keyring.set_keyring(previous)
    assert not result.ok and "no keyring backend" in result.message and "MITIGATE_SECRET_SLACK_BOT" in result.message


def test_unknown_channel_is_a_failed_result(config: IntegrationsConfig, http: HttpClient) -> None:
    result = build_notifier(config, http=http).send(note("nope"))
    assert not result.ok and "'nope' is not configured" in result.message


def test_secrets_echoed_by_a_service_are_redacted(config: IntegrationsConfig, http: HttpClient,
                                                  services: FakeServices) -> None:
    services.inject("/slack/hook/", Reply(404, f"no_service for {fs.SLACK_HOOK_TOKEN}"))
    result = build_notifier(config, http=http).send(note("slack-hook"))
    assert not result.ok and fs.SLACK_HOOK_TOKEN not in result.message and "***" in result.message


def test_preview_shows_what_would_be_sent_without_sending(config: IntegrationsConfig, http: HttpClient,
                                                          services: FakeServices) -> None:
    notifier = build_notifier(config, http=http)
    for channel in notifier.channels():
        text = notifier.preview(note(channel))
        assert "API latency is high." in text and channel in text
    assert "create incident 'API outage'" in notifier.preview(note("status"))
    assert "trigger (dedup_key INC-42)" in notifier.preview(note("pager"))
    assert services.requests == []
