"""Prometheus queries, HTTP probes and Alertmanager silences against the local fake services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient
from integrations.probes import Matcher, build_prober, silences
from integrations.secrets import env_var
from mitigate.ports import ProbePort
from tests.integrations import fakeservices as fs
from tests.integrations.fakeservices import FakeServices, Reply

pytestmark = pytest.mark.usefixtures("secrets_env")


def vector(*series: tuple[dict[str, str], str]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [1700000000.0, value]} for labels, value in series]}}


def test_prometheus_single_series_gives_the_value_and_a_row(config: IntegrationsConfig, http: HttpClient,
                                                            services: FakeServices) -> None:
    services.prometheus_answers["sum(up)"] = vector(({}, "42"))
    prober = build_prober(config, http=http)
    assert isinstance(prober, ProbePort)
    result = prober.probe("prometheus", {"query": "sum(up)"})
    assert result.ok and result.value == 42.0 and result.rows == [{"value": 42.0}]
    (req,) = services.received("/prometheus/")
    assert req.query["query"] == ["sum(up)"] and req.headers["authorization"] == f"Bearer {fs.PROM_TOKEN}"


def test_prometheus_many_series_fill_the_table_and_leave_value_empty(
        config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.prometheus_answers["up"] = vector(({"instance": "a"}, "1"), ({"instance": "b"}, "NaN"))
    result = build_prober(config, http=http).probe("prometheus", {"query": "up"})
    assert result.ok and result.value is None
    assert result.rows == [{"instance": "a", "value": 1.0}, {"instance": "b", "value": None}]


def test_prometheus_scalar_result(config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.prometheus_answers["scalar(1)"] = {"status": "success",
                                                "data": {"resultType": "scalar", "result": [1.0, "0.25"]}}
    assert build_prober(config, http=http).probe("prometheus", {"query": "scalar(1)"}).value == 0.25


def test_prometheus_query_error_is_reported(config: IntegrationsConfig, http: HttpClient) -> None:
    result = build_prober(config, http=http).probe("prometheus", {"query": "up{"})
    assert not result.ok and "bad_data" in result.message and "parse error" in result.message


def test_prometheus_503_is_retried(config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.prometheus_answers["up"] = vector(({}, "1"))
    services.inject("/prometheus/", Reply(503, "overloaded"), Reply(delay=1.0))
    result = build_prober(config, http=http).probe("prometheus", {"query": "up"})
    assert result.ok and len(services.received("/prometheus/")) == 3


def test_prometheus_malformed_and_unauthorized_answers(config: IntegrationsConfig, http: HttpClient,
                                                       services: FakeServices,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    prober = build_prober(config, http=http)
    services.inject("/prometheus/", Reply(200, "{not json"), Reply(200, '{"status": "success"}'),
                    Reply(401, "Unauthorized"))
    assert "malformed answer" in prober.probe("prometheus", {"query": "up"}).message
    assert "malformed answer" in prober.probe("prometheus", {"query": "up"}).message
    unauthorized = prober.probe("prometheus", {"query": "up"})
    assert not unauthorized.ok and "401" in unauthorized.message and "'prom-token'" in unauthorized.message


def test_prometheus_unknown_server_name(config: IntegrationsConfig, http: HttpClient) -> None:
    result = build_prober(config, http=http).probe("prometheus", {"query": "up", "server": "eu"})
    assert not result.ok and "prometheus server 'eu' is not configured" in result.message


def test_http_probe_status_and_latency(config: IntegrationsConfig, http: HttpClient,
                                       services: FakeServices) -> None:
    prober = build_prober(config, http=http)
    ok = prober.probe("http", {"url": services.url("/probe/status/200")})
    assert ok.ok and ok.value == 200 and ok.latency_ms is not None and ok.latency_ms >= 0
    bad = prober.probe("http", {"url": services.url("/probe/status/503"), "expectStatus": [200, 204]})
    assert not bad.ok and bad.value == 503 and "expected 200, 204" in bad.message


def test_http_probe_timeout_and_refused_connection(config: IntegrationsConfig, http: HttpClient,
                                                   services: FakeServices) -> None:
    prober = build_prober(config, http=http)
    services.inject("/probe/", Reply(delay=1.0))
    slow = prober.probe("http", {"url": services.url("/probe/status/200"), "timeout": "300ms"})
    assert not slow.ok and "no answer within 0.3s" in slow.message
    refused = prober.probe("http", {"url": "http://127.0.0.1:9/"})
    assert not refused.ok and refused.value is None


def test_http_probe_rejects_a_bad_url(config: IntegrationsConfig, http: HttpClient) -> None:
    result = build_prober(config, http=http).probe("http", {"url": "file:///etc/passwd"})
    assert not result.ok and "not an http(s) URL" in result.message


def test_alertmanager_silence_and_its_undo(config: IntegrationsConfig, http: HttpClient,
                                           services: FakeServices) -> None:
    am = silences(config, http=http)
    created = am.create([Matcher("cluster", "prod-par")], duration=timedelta(hours=2),
                        comment="INC-42 apiserver OOM", created_by="alice@host")
    assert created.ok and created.silence_id
    stored = services.silences[created.silence_id]
    assert stored["matchers"] == [{"name": "cluster", "value": "prod-par", "isRegex": False, "isEqual": True}]
    assert stored["endsAt"] > stored["startsAt"]
    expired = am.expire(created.silence_id)
    assert expired.ok and services.silences[created.silence_id]["status"]["state"] == "expired"
    assert not am.expire("no-such-id").ok


def test_alertmanager_errors_do_not_raise(config: IntegrationsConfig, http: HttpClient,
                                          services: FakeServices) -> None:
    services.inject("/alertmanager/", Reply(400, "bad matchers"), Reply(200, "[]"))
    am = silences(config, http=http)
    assert "HTTP 400" in am.create([Matcher("a", "b")], duration=timedelta(minutes=5), comment="c",
                                   created_by="me").message
    assert "malformed answer" in am.create([Matcher("a", "b")], duration=timedelta(minutes=5), comment="c",
                                           created_by="me").message


def test_probe_messages_are_redacted(config: IntegrationsConfig, http: HttpClient, services: FakeServices,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    services.inject("/prometheus/", Reply(500, f"token {fs.PROM_TOKEN} rejected"), *[Reply(500, "x")] * 2)
    result = build_prober(config, http=http).probe("prometheus", {"query": "up"})
    assert not result.ok and fs.PROM_TOKEN not in result.message
    assert env_var("prom-token") == "MITIGATE_SECRET_PROM_TOKEN"
