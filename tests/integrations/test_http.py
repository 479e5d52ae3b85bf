"""The shared HTTP discipline: Retry-After parsing, jittered capped backoff, the time budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from integrations.http import HttpClient, RetryPolicy, parse_retry_after
from tests.integrations.fakeservices import FakeServices, Reply
from tests.integrations.helpers import Waits


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0 and parse_retry_after("0.25") == 0.25
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_is_full_jitter_under_the_cap(services: FakeServices) -> None:
    waits = Waits()
    client = HttpClient(RetryPolicy(timeout=1, max_attempts=6, base_delay=0.1, max_delay=0.3, budget=30),
                        sleep=waits, rng=random.Random(1))
    services.inject("/x", *[Reply(502)] * 6)
    result = client.request("GET", services.url("/x"), idempotent=True)
    assert result.status == 502 and result.attempts == 6 and "after 6 attempts" in result.error
    assert len(waits) == 5 and all(0 <= w <= 0.3 for w in waits) and len(set(waits)) == 5


def test_a_retry_after_beyond_the_budget_gives_up_at_once(services: FakeServices) -> None:
    waits = Waits()
    client = HttpClient(RetryPolicy(timeout=1, budget=10), sleep=waits)
    services.inject("/x", Reply(429, headers={"Retry-After": "120"}))
    result = client.request("POST", services.url("/x"), idempotent=False)
    assert result.attempts == 1 and waits == [] and "exceeds the 10s budget" in result.error


def test_connection_refused_is_retried_and_reported() -> None:
    waits = Waits()
    result = HttpClient(RetryPolicy(timeout=1, max_attempts=2), sleep=waits).request(
        "POST", "http://127.0.0.1:9/x", idempotent=False)
    assert result.response is None and result.attempts == 2 and "cannot connect to 127.0.0.1:9" in result.error


def test_client_errors_are_not_retried(services: FakeServices) -> None:
    services.inject("/x", Reply(400, "bad"))
    result = HttpClient(sleep=Waits()).request("GET", services.url("/x"), idempotent=True)
    assert result.status == 400 and result.attempts == 1 and result.error == ""
