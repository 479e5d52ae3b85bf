"""Prometheus instant queries (``/api/v1/query``) for ``check`` and ``wait`` steps.

``value`` is the scalar a runbook expression compares with a threshold: the number for a
scalar result or a one-series vector, ``None`` for an empty vector or several series (write
an aggregating query, e.g. ``sum(...)``, to get one number). ``rows`` is the table for the TUI:
one row per series, its labels plus ``value``. NaN and infinities become ``None`` so results
stay valid JSON for the journal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from integrations.config import Server
from integrations.http import HttpClient, body_snippet
from integrations.secrets import SecretError, get_secret
from mitigate.ports import JSON, ProbeResult


def _number(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass
class PrometheusProbe:
    server_name: str
    server: Server
    http: HttpClient

    def query(self, promql: str) -> ProbeResult:
        headers = {}
        if self.server.tokenSecret:
            try:
                headers["Authorization"] = f"Bearer {get_secret(self.server.tokenSecret)}"
            except SecretError as exc:
                return ProbeResult(False, message=str(exc))
        call = self.http.request("GET", f"{self.server.url}/api/v1/query", idempotent=True,
                                 params={"query": promql}, headers=headers)
        where = f"prometheus {self.server_name!r}"
        if call.response is None:
            return ProbeResult(False, message=f"{where}: {call.error}")
        try:
            data = call.response.json()
        except ValueError:
            data = None
        status = call.response.status_code
        if isinstance(data, dict) and data.get("status") == "error":
            return ProbeResult(False, message=f"{where}: {data.get('errorType', 'error')}: {data.get('error', '')}")
        if status in (401, 403):
            hint = f" (check the secret {self.server.tokenSecret!r})" if self.server.tokenSecret else ""
            return ProbeResult(False, message=f"{where}: HTTP {status} unauthorized{hint}")
        if status != 200:
            return ProbeResult(False, message=f"{where}: HTTP {status}: {body_snippet(call.response)}")
        parsed = _parse(data)
        if parsed is None:
            return ProbeResult(False, message=f"{where}: malformed answer: {body_snippet(call.response)}")
        value, rows = parsed
        latency = call.response.elapsed.total_seconds() * 1000
        return ProbeResult(True, value=value, rows=rows, latency_ms=round(latency, 1),
                           message=f"{len(rows)} series" if len(rows) != 1 else "1 series")


def _parse(data: Any) -> tuple[JSON, list[dict[str, JSON]]] | None:
    """(value, rows) from a success answer, or None when it is not the documented shape."""
    if not isinstance(data, dict) or data.get("status") != "success" or not isinstance(data.get("data"), dict):
        return None
    kind, result = data["data"].get("resultType"), data["data"].get("result")
    if kind in ("scalar", "string"):
        if not isinstance(result, list) or len(result) != 2:
            return None
        value = _number(result[1]) if kind == "scalar" else result[1]
        return value, [{"value": value}]
    if kind == "vector" and isinstance(result, list):
        rows: list[dict[str, JSON]] = []
        for series in result:
            if not isinstance(series, dict) or not isinstance(series.get("value"), list) or len(series["value"]) != 2:
                return None
            metric = series.get("metric")
            labels = metric if isinstance(metric, dict) else {}
            rows.append({**{str(k): str(v) for k, v in labels.items()}, "value": _number(series["value"][1])})
        return (rows[0]["value"] if len(rows) == 1 else None), rows
    if kind == "matrix" and isinstance(result, list):
        return None, [{**s.get("metric", {}), "value": _number(s["values"][-1][1]) if s.get("values") else None}
                      for s in result if isinstance(s, dict)]
    return None
