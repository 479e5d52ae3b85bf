"""One HTTP calling discipline for every integration (Slack, webhooks, Statuspage, PagerDuty, Prometheus).

Why one module: during an incident a flaky chat service must never block or crash the runbook.
So every call here has a timeout, retries 429/5xx with capped exponential backoff and full
jitter (honouring ``Retry-After``) inside a total time budget, and never raises: the caller gets
a ``CallResult`` with either a response or a one-line error.

Ambiguous failures (the request may have reached the server, e.g. a read timeout after a POST)
are retried only when the caller says the request is idempotent (dedup keys, GETs, delivery ids).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long one call may take and how hard to retry it."""

    timeout: float = 5.0  # seconds, per attempt (connect, read, write, pool)
    max_attempts: int = 4
    base_delay: float = 0.5  # first backoff ceiling, doubled per attempt
    max_delay: float = 8.0  # cap of one backoff
    budget: float = 30.0  # total seconds for all attempts and waits of one call


@dataclass
class CallResult:
    """A response (any status) or an error line; ``attempts`` counts the requests made."""

    response: httpx.Response | None
    error: str = ""
    attempts: int = 0

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


@dataclass
class HttpClient:
    """A small wrapper over ``httpx.Client`` applying a ``RetryPolicy`` to every call.

    ``sleep`` and ``rng`` are injectable so tests can observe waits without slowing down.
    """

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    transport: httpx.BaseTransport | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.policy.timeout),
                transport=self.transport,
                headers={"User-Agent": "mitigate"},
                follow_redirects=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> CallResult:
        """Send with retries. Never raises; see the module docstring for the retry rules."""
        policy = self.policy
        start = time.monotonic()
        attempts = 0
        last = CallResult(None, "no attempt made")
        while True:
            attempts += 1
            try:
                resp = self._http().request(
                    method, url, json=json, content=content, headers=dict(headers or {}),
                    params=dict(params or {}),
                    timeout=httpx.Timeout(timeout if timeout is not None else policy.timeout),
                )
            except httpx.ConnectError as exc:  # never reached the server: always safe to retry
                last = CallResult(None, f"cannot connect to {_host(url)}: {_reason(exc)}", attempts)
                retry_after = None
            except httpx.TimeoutException as exc:
                last = CallResult(None, f"timed out after {policy.timeout:g}s talking to {_host(url)}", attempts)
                if not idempotent and not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                    last.error += " (not retried: the request may have been received)"
                    return last
                retry_after = None
            except httpx.HTTPError as exc:
                last = CallResult(None, f"HTTP error talking to {_host(url)}: {_reason(exc)}", attempts)
                return last
            else:
                last = CallResult(resp, "", attempts)
                if resp.status_code not in RETRY_STATUSES:
                    return last
                last.error = f"HTTP {resp.status_code} from {_host(url)}"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if attempts >= policy.max_attempts:
                last.error += f" after {attempts} attempts"
                return last
            backoff = self.rng.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempts - 1)))
            wait = max(retry_after, backoff) if retry_after is not None else backoff
            remaining = policy.budget - (time.monotonic() - start)
            if wait > remaining:
                last.error += f" (gave up: retry in {wait:.1f}s exceeds the {policy.budget:g}s budget)"
                return last
            self.sleep(wait)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions accepted) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def body_snippet(resp: httpx.Response, limit: int = 160) -> str:
    """The start of a response body on one line, for error messages."""
    text = " ".join(resp.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _host(url: str) -> str:
    try:
        u = httpx.URL(url)
    except Exception:  # noqa: BLE001 - a malformed URL must still give a message
        return "<bad url>"
    return f"{u.host}:{u.port}" if u.port else u.host


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
