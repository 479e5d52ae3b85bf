"""HTTP probe: is an endpoint answering with an expected status, and how fast.

No retries: a probe measures the target's health right now, and a retry would hide the very
failure the responder is checking for. The configured timeout bounds the wait.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from mitigate.ports import JSON, ProbeResult
from mitigate.runbook.model import parse_duration


def _timeout(raw: JSON) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    return parse_duration(str(raw))


def http_probe(params: Mapping[str, JSON], *, transport: httpx.BaseTransport | None = None) -> ProbeResult:
    """``params``: url, method (GET/HEAD/POST), expectStatus (list of ints), timeout (duration)."""
    url = params.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return ProbeResult(False, message=f"http probe: not an http(s) URL: {url!r}")
    method = str(params.get("method") or "GET").upper()
    expect_raw = params.get("expectStatus") or [200]
    expect = [int(s) for s in expect_raw] if isinstance(expect_raw, list) else [int(str(expect_raw))]
    try:
        timeout = _timeout(params.get("timeout", "5s"))
    except ValueError as exc:
        return ProbeResult(False, message=f"http probe: {exc}")
    start = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                          headers={"User-Agent": "mitigate-probe"}) as client:
            resp = client.request(method, url)
    except httpx.TimeoutException:
        return ProbeResult(False, message=f"{method} {url}: no answer within {timeout:g}s",
                           latency_ms=round((time.perf_counter() - start) * 1000, 1))
    except httpx.HTTPError as exc:
        return ProbeResult(False, message=f"{method} {url}: {' '.join(str(exc).split()) or type(exc).__name__}")
    latency = round((time.perf_counter() - start) * 1000, 1)
    ok = resp.status_code in expect
    verdict = "as expected" if ok else f"expected {', '.join(map(str, expect))}"
    return ProbeResult(ok, value=resp.status_code, latency_ms=latency,
                       rows=[{"url": url, "status": resp.status_code, "latency_ms": latency}],
                       message=f"{method} {url}: HTTP {resp.status_code} in {latency:.0f} ms ({verdict})")
