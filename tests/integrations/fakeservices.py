"""A real local HTTP server on 127.0.0.1 playing the services mitigate talks to, for tests and drills.

It plays, under path prefixes of one server, enough of each API to exercise real clients:
Slack incoming webhooks (``/slack/hook/<token>``) and ``/slack/api/chat.postMessage``, a signed
webhook receiver (``/hook``, verifies ``X-Mitigate-Signature``), Statuspage (``/statuspage/v1``),
PagerDuty Events v2 (``/pagerduty/events/v2/enqueue``) and REST (``/pagerduty/api``), Prometheus
(``/prometheus/api/v1/query``), Alertmanager (``/alertmanager/api/v2``) and probe targets
(``/probe/status/<code>``). Every request is recorded (``requests``); ``inject(prefix, Reply...)``
queues scripted answers (429 with Retry-After, 500s, delays for timeouts, malformed bodies) that
are served before the normal behaviour.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SLACK_HOOK_TOKEN = "T000/B000/hooktoken123"
SLACK_BOT_TOKEN = "xoxb-bot-token-123"
WEBHOOK_KEY = "hook-signing-key"
STATUSPAGE_KEY = "sp-api-key-123"
PD_ROUTING_KEY = "pd-routing-key-123"
PD_API_TOKEN = "pd-api-token-123"
PROM_TOKEN = "prom-token-123"


@dataclass
class Reply:
    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (longer than the client timeout = a timeout)
    passthrough: bool = False  # process the request normally, only delay the answer (a lost answer)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    answered: int = 0
    verified: bool | None = None  # webhook: did the HMAC signature check out

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServices:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._faults: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self.statuspage_incidents: dict[str, dict[str, Any]] = {}
        self.pd_incidents: dict[str, dict[str, Any]] = {}  # dedup key -> {id, status, notes}
        self.prometheus_answers: dict[str, Any] = {}  # query -> full JSON answer
        self.silences: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, prefix: str, *replies: Reply) -> None:
        with self._lock:
            self._faults.setdefault(prefix, deque()).extend(replies)

    def received(self, prefix: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    # ------------------------------------------------------------------ dispatch

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        services = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Received(self.command, parts.path, parse_qs(parts.query),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                with services._lock:
                    services.requests.append(rec)
                fault = services._fault(parts.path)
                reply = fault or services._route(rec)
                if fault is not None and fault.passthrough:
                    reply = Reply(**{**services._route(rec).__dict__, "delay": fault.delay})
                rec.answered = reply.status
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    pass

            do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = _serve

        return Handler

    def _fault(self, path: str) -> Reply | None:
        with self._lock:
            for prefix, queue in self._faults.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def _route(self, r: Received) -> Reply:
        p = r.path
        if p.startswith("/slack/hook/"):
            return self._slack_hook(r)
        if p == "/slack/api/chat.postMessage":
            return self._slack_api(r)
        if p == "/hook":
            r.verified = hmac.compare_digest(
                "sha256=" + hmac.new(WEBHOOK_KEY.encode(), r.body, hashlib.sha256).hexdigest(),
                r.headers.get("x-mitigate-signature", ""))
            return Reply(204) if r.verified else Reply(401, "bad signature")
        if p.startswith("/statuspage/v1/pages/"):
            return self._statuspage(r)
        if p == "/pagerduty/events/v2/enqueue":
            return self._pd_event(r)
        if p.startswith("/pagerduty/api/"):
            return self._pd_api(r)
        if p == "/prometheus/api/v1/query":
            return self._prometheus(r)
        if p.startswith("/alertmanager/api/v2/"):
            return self._alertmanager(r)
        if p.startswith("/probe/status/"):
            return Reply(int(p.rsplit("/", 1)[1]), "probe")
        return Reply(404, "not found")

    # ------------------------------------------------------------------ services

    def _slack_hook(self, r: Received) -> Reply:
        if r.path != f"/slack/hook/{SLACK_HOOK_TOKEN}":
            return Reply(403, "invalid_token")
        try:
            text = json.loads(r.body).get("text")
        except ValueError:
            text = None
        return Reply(200, "ok") if isinstance(text, str) and text else Reply(400, "invalid_payload")

    def _slack_api(self, r: Received) -> Reply:
        if r.headers.get("authorization") != f"Bearer {SLACK_BOT_TOKEN}":
            return _json({"ok": False, "error": "invalid_auth"})
        payload = json.loads(r.body)
        if not payload.get("text"):
            return _json({"ok": False, "error": "no_text"})
        return _json({"ok": True, "channel": "C123", "ts": f"1700000000.{next(self._ids):06d}"})

    def _statuspage(self, r: Received) -> Reply:
        if r.headers.get("authorization") != f"OAuth {STATUSPAGE_KEY}":
            return _json({"error": "Could not authenticate"}, 401)
        rest = r.path.split("/incidents", 1)[1] if "/incidents" in r.path else None
        if rest is None:
            return Reply(404, "not found")
        if r.method == "GET" and rest == "/unresolved":
            return _json([i for i in self.statuspage_incidents.values() if i["status"] != "resolved"])
        if r.method == "POST" and rest == "":
            fields = json.loads(r.body)["incident"]
            iid = f"sp{next(self._ids)}"
            inc = {"id": iid, "name": fields["name"], "status": fields.get("status", "investigating"),
                   "metadata": fields.get("metadata", {}), "components": fields.get("components", {}),
                   "updates": [fields.get("body")]}
            self.statuspage_incidents[iid] = inc
            return _json(inc, 201)
        if r.method == "PATCH" and rest.startswith("/"):
            current = self.statuspage_incidents.get(rest[1:])
            if current is None:
                return _json({"error": "not found"}, 404)
            fields = json.loads(r.body)["incident"]
            current["status"] = fields.get("status", current["status"])
            current["components"].update(fields.get("components", {}))
            current["updates"].append(fields.get("body"))
            return _json(current)
        return Reply(405, "method not allowed")

    def _pd_event(self, r: Received) -> Reply:
        try:
            ev = json.loads(r.body)
        except ValueError:
            return _json({"status": "invalid event", "message": "Event object is invalid"}, 400)
        if ev.get("routing_key") != PD_ROUTING_KEY:
            return _json({"status": "invalid event", "message": "Event object is invalid",
                          "errors": ["Invalid routing key"]}, 400)
        key = ev.get("dedup_key") or str(uuid.uuid4())
        states = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
        inc = self.pd_incidents.setdefault(key, {"id": f"P{next(self._ids)}", "notes": [], "history": []})
        inc["status"] = states[ev["event_action"]]
        inc["history"].append(ev["event_action"])
        return _json({"status": "success", "message": "Event processed", "dedup_key": key}, 202)

    def _pd_api(self, r: Received) -> Reply:
        if r.headers.get("authorization") != f"Token token={PD_API_TOKEN}":
            return _json({"error": {"message": "Unauthorized", "code": 2006}}, 401)
        if r.method == "GET" and r.path == "/pagerduty/api/incidents":
            key = r.query.get("incident_key", [""])[0]
            found = [{"id": i["id"], "status": i["status"]} for k, i in self.pd_incidents.items() if k == key]
            return _json({"incidents": found})
        if r.method == "POST" and r.path.endswith("/notes"):
            pd_id = r.path.split("/")[-2]
            for inc in self.pd_incidents.values():
                if inc["id"] == pd_id:
                    if not r.headers.get("from"):
                        return _json({"error": {"message": "From header missing"}}, 400)
                    inc["notes"].append(json.loads(r.body)["note"]["content"])
                    return _json({"note": {"id": f"N{next(self._ids)}"}}, 201)
            return _json({"error": {"message": "Not Found"}}, 404)
        return Reply(404, "not found")

    def _prometheus(self, r: Received) -> Reply:
        query = r.query.get("query", [""])[0]
        if query in self.prometheus_answers:
            return _json(self.prometheus_answers[query])
        return _json({"status": "error", "errorType": "bad_data",
                      "error": f'1:1: parse error: unknown query "{query}"'}, 400)

    def _alertmanager(self, r: Received) -> Reply:
        if r.method == "GET" and r.path == "/alertmanager/api/v2/silences":
            return _json(list(self.silences.values()))
        if r.method == "POST" and r.path == "/alertmanager/api/v2/silences":
            sil = json.loads(r.body)
            sid = str(uuid.uuid4())
            self.silences[sid] = {**sil, "id": sid, "status": {"state": "active"}}
            return _json({"silenceID": sid})
        if r.method == "DELETE" and r.path.startswith("/alertmanager/api/v2/silence/"):
            sid = r.path.rsplit("/", 1)[1]
            if sid not in self.silences:
                return _json(f"silence {sid} not found", 404)
            self.silences[sid]["status"] = {"state": "expired"}
            return Reply(200)
        return Reply(404, "not found")


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data), {"Content-Type": "application/json"})
