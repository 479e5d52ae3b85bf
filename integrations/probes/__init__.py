"""The probe port: Prometheus instant queries and HTTP probes for ``check``/``wait`` steps.

``build_prober(config)`` gives the engine one ``ProbePort``. ``probe("prometheus", {"query": ...,
"server": name?})`` uses the named Prometheus server of the config (default: ``default``, or the
only one configured); ``probe("http", {"url", "method", "expectStatus", "timeout"})`` checks an
endpoint. ``silences(config, name)`` gives the Alertmanager silence action with its undo, and
``build_silencer(config)`` the engine's ``SilencerPort`` over every configured Alertmanager.
Results are redacted of known secret values. Nothing here raises for remote failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient
from integrations.probes.alertmanager import Matcher, SilenceResult, Silences
from integrations.probes.httpcheck import http_probe
from integrations.probes.prometheus import PrometheusProbe
from integrations.secrets import redact
from mitigate.errors import MitigateError
from mitigate.ports import JSON, ProbeResult, SilenceRequest

__all__ = ["Matcher", "Prober", "SilenceResult", "Silencer", "Silences", "build_prober", "build_silencer",
           "silences"]


def _pick(servers: Mapping[str, object], name: str | None, kind: str) -> str:
    if name:
        if name not in servers:
            raise MitigateError(f"{kind} server {name!r} is not configured "
                                f"(configured: {', '.join(sorted(servers)) or 'none'})")
        return name
    if "default" in servers:
        return "default"
    if len(servers) == 1:
        return next(iter(servers))
    raise MitigateError(f"no {kind} server named 'default' in the integrations config; "
                        f"name one with `server:` (configured: {', '.join(sorted(servers)) or 'none'})")


class Prober:
    """Implements ``mitigate.ports.ProbePort``."""

    def __init__(self, config: IntegrationsConfig, http: HttpClient) -> None:
        self._config, self._http = config, http

    def probe(self, kind: Literal["prometheus", "http"], params: Mapping[str, JSON]) -> ProbeResult:
        try:
            if kind == "prometheus":
                query = params.get("query")
                if not isinstance(query, str) or not query.strip():
                    return ProbeResult(False, message="prometheus probe: 'query' is missing")
                server = params.get("server")
                name = _pick(self._config.prometheus, server if isinstance(server, str) else None, "prometheus")
                result = PrometheusProbe(name, self._config.prometheus[name], self._http).query(query)
            elif kind == "http":
                result = http_probe(params, transport=self._http.transport)
            else:
                return ProbeResult(False, message=f"unknown probe kind {kind!r} (prometheus or http)")
        except MitigateError as exc:
            result = ProbeResult(False, message=str(exc))
        result.message = str(redact(result.message))
        return result


def build_prober(config: IntegrationsConfig, *, http: HttpClient | None = None) -> Prober:
    return Prober(config, http or HttpClient(config.http.policy()))


def silences(config: IntegrationsConfig, name: str | None = None, *, http: HttpClient | None = None) -> Silences:
    """The Alertmanager silence action for the named (or default) server; MitigateError if none."""
    chosen = _pick(config.alertmanager, name, "alertmanager")
    return Silences(chosen, config.alertmanager[chosen], http or HttpClient(config.http.policy()))



class Silencer:
    """Implements ``mitigate.ports.SilencerPort`` over the config's Alertmanagers (one HTTP client)."""

    records_only = False

    def __init__(self, config: IntegrationsConfig, http: HttpClient) -> None:
        self._config, self._http = config, http

    def _server(self, name: str | None) -> Silences:
        return silences(self._config, name, http=self._http)

    def resolve(self, alertmanager: str | None) -> tuple[str, str]:
        server = self._server(alertmanager)
        return server.server_name, server.server.url

    def create(self, request: SilenceRequest) -> SilenceResult:
        try:
            server = self._server(request.alertmanager)
        except MitigateError as exc:
            return SilenceResult(False, message=str(exc))
        result = server.create([Matcher(m.name, m.value, m.is_regex, m.is_equal) for m in request.matchers],
                               duration=request.ends_at - request.starts_at, comment=request.comment,
                               created_by=request.created_by, starts_at=request.starts_at)
        result.message = str(redact(result.message))
        return result

    def expire(self, alertmanager: str, silence_id: str) -> SilenceResult:
        try:
            result = self._server(alertmanager).expire(silence_id)
        except MitigateError as exc:
            return SilenceResult(False, silence_id, str(exc))
        result.message = str(redact(result.message))
        return result

    def find(self, alertmanager: str, marker: str) -> list[str]:
        return self._server(alertmanager).find(marker)


def build_silencer(config: IntegrationsConfig, *, http: HttpClient | None = None) -> Silencer:
    return Silencer(config, http or HttpClient(config.http.policy()))
