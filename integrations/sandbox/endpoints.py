"""The non-resource endpoints people reach for: health checks, Prometheus metrics, and pod logs.

``/healthz``, ``/livez`` and ``/readyz`` answer ``ok`` (or, with ``?verbose``, one line per
check and ``<name> check passed``) to anyone, as the API server's public-info-viewer role
allows. ``/metrics`` is Prometheus text built from counters the server keeps: request
totals labelled as the API server labels ``apiserver_request_total``, APF dispatches and
rejections, in-flight requests, and stored object counts. Pod logs come from a log source
the simulation may provide (``LogSource``); without one a container's log is empty.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
# (pod, container, previous) -> the container's log lines, oldest first; None: no such log
LogSource = Callable[[Obj, str, bool], list[str] | None]

_CHECKS = {
    "livez": ("ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer",
              "poststarthook/generic-apiserver-start-informers", "poststarthook/priority-and-fairness-config-consumer",
              "poststarthook/start-apiextensions-informers", "poststarthook/crd-informer-synced",
              "poststarthook/apiservice-registration-controller", "autoregister-completion"),
    "readyz": ("ping", "log", "etcd", "etcd-readiness", "informer-sync",
               "poststarthook/start-apiserver-admission-initializer", "poststarthook/generic-apiserver-start-informers",
               "poststarthook/priority-and-fairness-config-consumer", "poststarthook/start-apiextensions-informers",
               "poststarthook/crd-informer-synced", "poststarthook/apiservice-registration-controller",
               "autoregister-completion", "shutdown"),
    "healthz": ("ping", "log", "etcd", "poststarthook/start-apiserver-admission-initializer",
                "poststarthook/generic-apiserver-start-informers", "autoregister-completion"),
}


def health_text(kind: str, query: dict[str, str] | Any, path_rest: str = "") -> tuple[int, str]:
    """(status, body) for /healthz, /livez, /readyz and their per-check paths (/readyz/etcd)."""
    checks = _CHECKS[kind]
    if path_rest:
        return (200, "ok") if path_rest in checks else (404, "404 page not found\n")
    excluded = set(query.getall("exclude", [])) if hasattr(query, "getall") else set()
    if "verbose" not in query:
        return 200, "ok"
    lines = [f"[+]{c} {'excluded: ok' if c in excluded else 'ok'}" for c in checks]
    return 200, "\n".join(lines) + f"\n{kind} check passed\n"


class Metrics:
    """Counters for /metrics; ``observe`` is called once per finished request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, ...]] = Counter()
        self.dispatched: Counter[tuple[str, str]] = Counter()
        self.rejected: Counter[tuple[str, str, str]] = Counter()
        self.inflight = {"readOnly": 0, "mutating": 0}
        self.started = time.time()

    def enter(self, mutating: bool) -> None:
        with self.lock:
            self.inflight["mutating" if mutating else "readOnly"] += 1

    def leave(self, mutating: bool) -> None:
        with self.lock:
            self.inflight["mutating" if mutating else "readOnly"] -= 1

    def observe(self, verb: str, resource: str, group: str, version: str, scope: str, code: int,
                dry_run: bool, priority_level: str = "global-default", flow_schema: str = "global-default") -> None:
        plural, _, sub = resource.partition("/")
        verb_label = {"create": "POST", "update": "PUT", "patch": "PATCH", "delete": "DELETE",
                      "deletecollection": "DELETE", "get": "GET", "list": "LIST", "watch": "WATCH"}.get(verb, verb.upper())
        with self.lock:
            self.requests[(str(code), "All" if dry_run else "", group, plural, scope, sub, verb_label, version)] += 1
            if code == 429:
                self.rejected[(flow_schema, priority_level, "queue-full")] += 1
            else:
                self.dispatched[(flow_schema, priority_level)] += 1

    def text(self, object_counts: dict[str, int]) -> str:
        out: list[str] = []

        def family(name: str, help_: str, typ: str) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {typ}")

        with self.lock:
            family("apiserver_request_total", "[STABLE] Counter of apiserver requests broken out for each verb, "
                   "dry run value, group, version, resource, scope, component, and HTTP response code.", "counter")
            for (code, dry, group, res, scope, sub, verb, version), n in sorted(self.requests.items()):
                out.append(f'apiserver_request_total{{code="{code}",component="apiserver",dry_run="{dry}",'
                           f'group="{group}",resource="{res}",scope="{scope}",subresource="{sub}",verb="{verb}",'
                           f'version="{version}"}} {n}')
            family("apiserver_current_inflight_requests", "[STABLE] Maximal number of currently used inflight "
                   "request limit of this apiserver per request kind in last second.", "gauge")
            for kind, n in sorted(self.inflight.items()):
                out.append(f'apiserver_current_inflight_requests{{request_kind="{kind}"}} {n}')
            family("apiserver_flowcontrol_dispatched_requests_total", "[BETA] Number of requests executed by API "
                   "Priority and Fairness subsystem", "counter")
            for (fs, pl), n in sorted(self.dispatched.items()):
                out.append(f'apiserver_flowcontrol_dispatched_requests_total{{flow_schema="{fs}",'
                           f'priority_level="{pl}"}} {n}')
            family("apiserver_flowcontrol_rejected_requests_total", "[BETA] Number of requests rejected by API "
                   "Priority and Fairness subsystem", "counter")
            for (fs, pl, reason), n in sorted(self.rejected.items()):
                out.append(f'apiserver_flowcontrol_rejected_requests_total{{flow_schema="{fs}",'
                           f'priority_level="{pl}",reason="{reason}"}} {n}')
        family("apiserver_storage_objects", "[STABLE] Number of stored objects at the time of last check split by "
               "kind.", "gauge")
        for res, n in sorted(object_counts.items()):
            out.append(f'apiserver_storage_objects{{resource="{res}"}} {n}')
        family("process_start_time_seconds", "[ALPHA] Start time of the process since unix epoch in seconds.",
               "gauge")
        out.append(f"process_start_time_seconds {self.started:.2f}")
        return "\n".join(out) + "\n"


def rfc3339nano(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
