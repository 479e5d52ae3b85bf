"""The one place every Kubernetes request goes through.

Why one place: the Scaleway outage was a retry storm. Every request, first
attempts and retries alike, takes a token from the cluster's bucket, so the
rate the API server sees is bounded no matter how many errors come back.
Retries happen only where repeating cannot change the outcome twice: reads,
429s (the server did not process the request) and mutations that carry a
precondition (resourceVersion or UID). A circuit breaker stops after repeated
failed calls and hands the decision back to the responder.

Responses are read raw (``_preload_content`` off, ``json.loads``) so a 5,000
node list never builds a model object per item.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes.client import ApiClient

from mitigate.ports import CircuitOpen, ClusterError

READ_METHODS = frozenset({"GET", "HEAD"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
CONTENT_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class ApiError(ClusterError):
    """A non-2xx answer, with the server's Status message on one line."""

    def __init__(self, status: int, message: str, *, context: str = "", path: str = "",
                 retry_after: float | None = None, body: dict[str, Any] | None = None) -> None:
        self.status, self.message, self.context, self.path = status, message, context, path
        self.retry_after, self.body = retry_after, body or {}
        where = f"{context}: " if context else ""
        super().__init__(f"{where}{status} {message}".strip())


class ConnectionFailed(ClusterError):
    """The request may or may not have reached the server (timeout, reset, refused)."""


class TokenBucket:
    """QPS + burst limiter, thread-safe.

    Guarantee: in any interval of length ``t`` seconds at most ``burst + qps * t``
    tokens are taken. A token is taken under the lock at the moment the caller goes
    on to send, never reserved ahead: a thread the OS wakes late simply finds the
    token then, so late wake-ups cannot bunch sends above the rate (a reservation
    scheme can: several late sleepers would all send at once).
    """

    def __init__(self, qps: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if qps <= 0 or burst < 1:
            raise ClusterError(f"rate limit needs qps > 0 and burst >= 1 (got qps={qps}, burst={burst})")
        self.qps, self.burst = float(qps), int(burst)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()

    def acquire(self) -> float:
        """Wait for a token and take it; return the clock reading at which it was taken."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.qps)
                self._stamp = now
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens -= 1.0
                    return now
                wait = (1.0 - self._tokens) / self.qps
            self._sleep(wait)


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter (AWS style), honouring Retry-After."""

    attempts: int = 6
    base: float = 0.05
    cap: float = 5.0
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        jitter = self.rng.uniform(0, min(self.cap, self.base * (2 ** attempt)))
        if retry_after is not None:
            return max(min(retry_after, self.max_retry_after), jitter)
        return jitter


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed calls; a new action resets it."""

    def __init__(self, threshold: int = 5) -> None:
        self.threshold = threshold
        self._failures = 0
        self._lock = threading.Lock()
        self.last_error = ""

    @property
    def open(self) -> bool:
        return self._failures >= self.threshold

    def check(self, context: str) -> None:
        if self.open:
            raise CircuitOpen(f"{context}: stopped after {self._failures} consecutive failed requests "
                              f"(last: {self.last_error}); decide whether to retry")

    def record(self, ok: bool, error: str = "") -> None:
        with self._lock:
            if ok:
                self._failures = 0
            else:
                self._failures += 1
                self.last_error = error

    def reset(self) -> None:
        with self._lock:
            self._failures = 0


class Transport:
    """Rate-limited, retrying, circuit-broken raw JSON access to one cluster."""

    def __init__(self, api: ApiClient, context: str, *, qps: float = 20, burst: int = 40,
                 retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
                 timeout: float = 30.0) -> None:
        self.api, self.context = api, context
        self.bucket = TokenBucket(qps, burst)
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.timeout = timeout
        self._absorbed = threading.local()
        self._lock = threading.Lock()
        self.absorbed_total = 0
        self.on_send: Callable[[float], None] | None = None  # audit hook: monotonic time of each send
        self.who = ""  # "user U (exec:aws ...)" from the kubeconfig, for errors that name the credential
        self.cluster_name = ""  # the kubeconfig cluster entry, for TLS errors that name its CA
        # the credential was refused (401): forget it; True when a fresh one may be had (exec plugins).
        # A 401 is answered before the request is processed, so one retry is safe for any method.
        self.on_unauthorized: Callable[[], bool] | None = None

    # ---------------------------------------------------------------- counting absorbed errors

    def absorbed(self) -> int:
        """Transient errors retried away since the last ``take_absorbed`` on this thread."""
        return int(getattr(self._absorbed, "n", 0))

    def take_absorbed(self) -> int:
        n = self.absorbed()
        self._absorbed.n = 0
        return n

    def _absorb(self) -> None:
        self._absorbed.n = self.absorbed() + 1
        with self._lock:
            self.absorbed_total += 1

    # ---------------------------------------------------------------- requests

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                body: Any = None, content_type: str | None = None, precondition: bool = False,
                cancel: threading.Event | None = None, retry_429: bool = True) -> Any:
        """Send one logical request; return the parsed JSON body (None when empty).

        ``precondition`` states that the body carries a resourceVersion or UID
        precondition, which makes a mutation safe to repeat.
        """
        method = method.upper()
        if method not in READ_METHODS and (path.endswith("/") or "//" in path or "/../" in path + "/"):
            # an empty segment is a collection URL or another object's: ``DELETE .../deployments/``
            # deletes every Deployment on a real API server
            raise ClusterError(f"{self.context}: refusing {method} {path}: an empty or '..' path segment")
        retry_errors = method in READ_METHODS or precondition
        attempt = 0
        reauthenticated = False
        while True:
            self.breaker.check(self.context)
            if cancel is not None and cancel.is_set():
                raise ClusterError(f"{self.context}: cancelled")
            try:
                result = self._once(method, path, query, body, content_type)
            except ApiError as exc:
                transient = exc.status == 429 or exc.status in TRANSIENT_STATUSES
                if exc.status not in TRANSIENT_STATUSES:
                    self.breaker.record(True)  # the server answered; an answer is not a failure
                if exc.status == 429 and not retry_429:
                    raise
                if (exc.status == 401 and not reauthenticated and self.on_unauthorized is not None
                        and self.on_unauthorized()):
                    reauthenticated = True
                    continue
                if transient and (exc.status == 429 or retry_errors) and attempt + 1 < self.retry.attempts:
                    self._backoff(attempt, exc.retry_after, cancel)
                    attempt += 1
                    continue
                if exc.status in TRANSIENT_STATUSES:
                    self.breaker.record(False, str(exc))
                raise
            except ConnectionFailed as exc:
                if retry_errors and attempt + 1 < self.retry.attempts:
                    self._backoff(attempt, None, cancel)
                    attempt += 1
                    continue
                self.breaker.record(False, str(exc))
                raise
            self.breaker.record(True)
            return result

    def _backoff(self, attempt: int, retry_after: float | None, cancel: threading.Event | None) -> None:
        self._absorb()
        delay = self.retry.delay(attempt, retry_after)
        if cancel is not None:
            if cancel.wait(delay):
                raise ClusterError(f"{self.context}: cancelled while waiting to retry")
        else:
            time.sleep(delay)

    def _once(self, method: str, path: str, query: Mapping[str, Any] | None, body: Any,
              content_type: str | None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        if content_type == CONTENT_TYPES["apply"] and not isinstance(body, (str, bytes)):
            body = json.dumps(body)  # JSON is YAML; the client sends str bodies as-is
        _m, url, hdrs, sbody, _p = self.api.param_serialize(
            method=method, resource_path=path, query_params=params, header_params=headers,
            body=body, auth_settings=["BearerToken"])
        taken = self.bucket.acquire()
        if self.on_send is not None:
            self.on_send(taken)
        try:
            resp = self.api.call_api(_m, url, header_params=hdrs, body=sbody, _request_timeout=self.timeout)
            raw: bytes = resp.read()  # type: ignore[no-untyped-call]
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ConnectionFailed(self._unreachable(exc)) from None
        except Exception as exc:  # the client wraps TLS problems in ApiException(status=0)
            if type(exc).__name__ == "ApiException":
                raise ConnectionFailed(self._unreachable(exc)) from None
            raise
        status = int(resp.status)
        if 200 <= status < 300:
            return json.loads(raw) if raw else None
        retry_after: str | None = resp.getheader("Retry-After")  # type: ignore[no-untyped-call]
        raise _api_error(status, raw, retry_after, self.context, path, self.who)

    def _unreachable(self, exc: BaseException) -> str:
        """A connection failure in words that say what to check: the CA, the name, the port, the time."""
        host = self.api.configuration.host
        text = " ".join(str(exc).split())
        lowered = text.lower()
        if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered or "x509" in lowered:
            what = "is not signed by" if "self-signed" in lowered or "unable to get" in lowered else "does not match"
            return (f"{self.context}: x509: the certificate of {host} {what} the certificate authority the "
                    f"kubeconfig trusts for cluster {self.cluster_name or '?'} (certificate-authority-data); "
                    f"check that entry or the server URL")
        if any(k in lowered for k in ("name or service not known", "nodename nor servname", "getaddrinfo failed",
                                      "temporary failure in name resolution", "no address associated")):
            return f"{self.context}: DNS: cannot resolve the host of {host}; check the server URL and your network"
        if "connection refused" in lowered:
            return f"{self.context}: connection refused by {host}: nothing listens there (API server down, or wrong port)"
        if "timed out" in lowered or "timeout" in lowered:
            return f"{self.context}: no answer from {host} within {self.timeout:g}s (network or API server overloaded)"
        return f"{self.context}: cannot reach {host} ({type(exc).__name__}: {text[:160]})"

    # ---------------------------------------------------------------- helpers

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query)

    def get_or_none(self, path: str) -> dict[str, Any] | None:
        try:
            obj = self.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return obj if isinstance(obj, dict) else None

    def list_pages(self, path: str, *, label_selector: str | None = None, field_selector: str | None = None,
                   limit: int = 500) -> Iterator[dict[str, Any]]:
        """Yield the items of a list, page by page (``limit`` / ``continue``)."""
        token: str | None = None
        while True:
            page = self.request("GET", path, query={
                "limit": limit, "continue": token, "labelSelector": label_selector,
                "fieldSelector": field_selector})
            if not isinstance(page, dict):
                raise ClusterError(f"{self.context}: {path} did not return a list")
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _api_error(status: int, raw: bytes, retry_after: str | None, context: str, path: str,
               who: str = "") -> ApiError:
    body: dict[str, Any] = {}
    message = ""
    try:
        parsed = json.loads(raw) if raw else {}
        if isinstance(parsed, dict):
            body = parsed
            message = str(parsed.get("message") or parsed.get("reason") or "")
    except ValueError:
        message = raw[:200].decode("utf-8", "replace")
    if not message:
        message = {401: "Unauthorized: the credentials were rejected",
                   403: "Forbidden", 404: "not found", 429: "Too Many Requests"}.get(status, "error")
    if status == 401:
        fix = ""
        if "exec:" in who:
            plugin = who.split("exec:", 1)[1].split(" ", 1)[0].rstrip(")")
            fix = f"; the token from the exec plugin {plugin} was refused: log in again with the tool that " \
                  f"provides it, then retry"
        elif "auth-provider" in who:
            fix = "; the auth-provider token expired or was refused: log in again, then retry"
        elif "client-certificate" in who:
            fix = "; the client certificate was refused or expired: renew it"
        message = (f"Unauthorized: the credentials of {who or 'this context'} were rejected ({message}){fix}")
    elif status == 403:
        message = f"Forbidden: {message}"
    return ApiError(status, " ".join(message.split()), context=context, path=path,
                    retry_after=_retry_after(retry_after), body=body)


def seg(value: str) -> str:
    """A path segment, percent-encoded."""
    return quote(value, safe="")
