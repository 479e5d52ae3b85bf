"""The HTTP face of one sandbox cluster: an aiohttp application speaking the Kubernetes API.

Each cluster gets its own application on its own loopback port, so every kubeconfig
context is a plain server URL that kubectl and the python client use unchanged. Paths are
the :data:`ROUTES` table (aiohttp's router): discovery, OpenAPI, health, metrics and the
resource paths. Requests pass, in order: authentication (not for the public health and probe
routes), impersonation, fault injection, the overloaded-apiserver model, RBAC, then the
route's handler; a resource request goes to the handler of its verb (:data:`VERB_HANDLERS`)
or of its subresource. Which resources and subresources exist, and which verbs each takes, is
:mod:`.resources`. Every request is logged.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import yaml
from aiohttp import web

from mitigate.errors import LocatedError
from mitigate.yamlloc import check_yaml_budget

from . import openapi, protobuf, rbac, tokens
from .admission import warning_header
from .apply import conflict_error, conflicts, drop_unapplied, take_over
from .endpoints import LogSource, Metrics, health_text, rfc3339nano
from .faults import FaultSet, RequestLogEntry
from .patch import PatchError, copy_json, json_patch, merge_patch, strategic_merge
from .resources import SUBRESOURCES, Resource
from .selectors import (
    SelectorError,
    field_matcher,
    label_matcher,
    selector_to_string,
)
from .store import ApiError, ClusterState, Obj, WatchEvent, Writer, fields_v1, invalid, not_found
from .tables import SCALE_COLUMNS, table

log = logging.getLogger(__name__)
MAX_BODY = 3 * 1024 * 1024
VERSION = {"major": "1", "minor": "29", "gitVersion": "v1.29.0-sandbox", "gitCommit": "sandbox",
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.21",
           "compiler": "gc", "platform": "linux/amd64"}
INFO: web.RequestKey[dict[str, Any]] = web.RequestKey("info", dict)
BODY_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic", "application/apply-patch+yaml": "apply"}


@dataclass(frozen=True)
class Route:
    """One entry of the routing table: a path pattern (aiohttp's), the methods it takes, its
    handler (a :class:`ClusterApp` method), and how far into the filter chain it goes first."""

    path: str
    handler: str
    verb: str = "discovery"
    """The request log's and the faults' verb; "" for resource requests (their verb is parsed)."""
    methods: tuple[str, ...] = ("GET",)
    chain: str = "full"
    """``public``: answered before authentication; ``authenticated``: after it, before impersonation,
    faults and RBAC; ``authorized``: authenticated, then RBAC for the path as a nonResourceURL (the
    health checks and /metrics: system:public-info-viewer opens /healthz, /livez and /readyz to
    anyone, system:monitoring the individual checks and the metrics); ``full``: the whole chain."""


_CHECKS = "{check:healthz|livez|readyz}"
ROUTES: tuple[Route, ...] = (
    Route("/sandbox/{probe:.*}", "_probe", "probe", ("*",), chain="public"),
    Route(f"/{_CHECKS}", "_health", "health", chain="authorized"),
    Route(f"/{_CHECKS}/{{rest:.+}}", "_health", "health", chain="authorized"),
    Route("/metrics", "_metrics", "metrics", chain="authorized"),
    Route("/version", "_version"),
    Route("/api", "_api_versions"),
    Route("/api/{version}", "_core_resources"),
    Route("/apis", "_group_list"),
    Route("/apis/{group}", "_group_doc"),
    Route("/apis/{group}/{version}", "_group_resources"),
    Route("/openapi/{doc:v2|v3}", "_openapi"),
    Route("/openapi/{doc:v3}/{path:.+}", "_openapi"),
    Route("/api/{version}/{rest:.+}", "_resource", "", ("*",)),
    Route("/apis/{group}/{version}/{rest:.+}", "_resource", "", ("*",)),
)
VERBS_BY_METHOD: dict[tuple[str, bool], str] = {
    ("GET", True): "get", ("GET", False): "list", ("POST", False): "create", ("POST", True): "create",
    ("PUT", True): "update", ("PUT", False): "update", ("PATCH", True): "patch", ("PATCH", False): "patch",
    ("DELETE", True): "delete", ("DELETE", False): "deletecollection",
}
"""(method, names an object) -> the request's verb (a GET of a collection with ``watch=true`` is ``watch``)."""
VERB_HANDLERS: dict[tuple[str, bool], str] = {
    ("get", True): "_get", ("list", False): "_list", ("watch", False): "_watch", ("create", False): "_create",
    ("update", True): "_update", ("patch", True): "_patch", ("delete", True): "_delete",
    ("deletecollection", False): "_delete_collection",
}
"""(verb, names an object) -> its handler; status and finalize are plain reads and writes of their parent."""
SUBRESOURCE_HANDLERS: dict[str, str] = {"eviction": "_evict", "scale": "_scale", "log": "_log", "token": "_token"}
"""Subresources with a handler of their own (their verbs and discovery: resources.SUBRESOURCES)."""
_NOT_FOUND = "the server could not find the requested resource"


@dataclass
class Target:
    """A parsed resource path."""

    r: Resource
    version: str
    namespace: str | None
    name: str | None
    sub: str
    verb: str = ""


TARGET: web.RequestKey[Target | None] = web.RequestKey("target", object)  # type: ignore[arg-type]
IDENTITY: web.RequestKey[rbac.Identity] = web.RequestKey("identity", rbac.Identity)
WRITERS: web.RequestKey[list[Writer]] = web.RequestKey("writers", list)


def _status_ok(details: Obj | None = None) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        body["details"] = details
    return body


def _go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``32s`` or ``1m0s`` (0 when absent or malformed)."""
    total, num = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    for ch in text:
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        else:
            return 0.0
    return total if not num else 0.0


def _no_log_source(pod: Obj, container: str, previous: bool) -> list[str] | None:
    """Without a simulated log source: empty logs; a previous log only after a restart."""
    if not previous:
        return []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(cs, dict) and cs.get("name") == container and (cs.get("lastState") or {}).get("terminated"):
            return []
    return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return web.Response(body=data, status=status, content_type="application/json", headers=headers)


class ClusterApp:
    """Routes and handlers for one cluster."""

    def __init__(self, state: ClusterState, *, context: str, token: str, faults: FaultSet,
                 users: rbac.Directory | None = None,
                 log_sink: Callable[[RequestLogEntry], None],
                 overload: Callable[[], int | None] | None = None,
                 ingress: Callable[[], tuple[bool, str]] | None = None,
                 health: Callable[[], tuple[bool, str]] | None = None,
                 bookmark_seconds: float = 1.0, logs: LogSource | None = None) -> None:
        self.state, self.context, self.token, self.faults = state, context, token, faults
        self.users = users or rbac.Directory(token)
        self.logs = logs
        self.metrics = Metrics()
        self.log_sink, self.overload, self.ingress, self.health = log_sink, overload, ingress, health
        self.bookmark_seconds = bookmark_seconds
        self.watch_queues: set[asyncio.Queue[WatchEvent | None]] = set()
        self.port = 0
        self._routes: dict[Any, Route] = {}  # aiohttp's resource of each ROUTES entry -> the entry

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._middleware])
        for route in ROUTES:
            # a trailing slash names the same document (the python client asks for /apis/{group}/{version}/)
            paths = (route.path,) if route.path.endswith("+}") else (route.path, route.path + "/")
            for path in paths:
                for method in route.methods:
                    added = app.router.add_route(method, path, getattr(self, route.handler))
                    self._routes[added.resource] = route
        return app

    def stop_watches(self) -> None:
        for q in list(self.watch_queues):
            q.put_nowait(None)

    # ------------------------------------------------------------------ plumbing

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        info: dict[str, Any] = {"verb": "unknown", "resource": "", "namespace": "", "name": "", "dry_run": False,
                                "stored": True}
        request[INFO] = info
        status = 500
        mutating = request.method not in ("GET", "HEAD", "OPTIONS")
        self.metrics.enter(mutating)
        try:
            resp = await self._guarded(request, handler, info)
            status = resp.status
            return resp
        except ConnectionResetError:
            status = 0
            raise
        finally:
            self.metrics.leave(mutating)
            if info.get("version"):
                self.metrics.observe(info["verb"], info["resource"], info["group"], info["version"], info["scope"],
                                     status, info["dry_run"])
            self.log_sink(RequestLogEntry(time.time(), self.context, info["verb"], request.method,
                                          request.path_qs, status, request.headers.get("User-Agent", ""),
                                          info["resource"], info["namespace"], info["name"], info["dry_run"],
                                          info["stored"]))

    async def _guarded(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                       info: dict[str, Any]) -> web.StreamResponse:
        route = self._routes.get(request.match_info.route.resource)
        if route is not None and route.chain == "public":
            info["verb"] = route.verb
            return await handler(request)
        peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
        authorization = request.headers.get("Authorization", "")
        who = self.users.authenticate(authorization, peer) or tokens.authenticate(self.state, authorization)
        if who is None and not authorization and not peer:
            who = rbac.ANONYMOUS  # no credentials at all: the anonymous authenticator
        if who is None:
            return json_response(ApiError(401, "Unauthorized", "Unauthorized").status(), 401)
        if route is not None and route.chain in ("authenticated", "authorized"):
            info["verb"] = route.verb
            if route.chain == "authorized":  # nonResourceURLs, as the default roles grant them
                try:
                    rbac.check(self.state, who, rbac.Attributes("get" if request.method == "GET"
                                                                else request.method.lower(), path=request.path))
                except ApiError as e:
                    return json_response(e.status(), e.code)
            return await handler(request)
        try:
            who = rbac.impersonate(self.state, who, request.headers, request.headers.getall("Impersonate-Group", []))
            request[IDENTITY] = who
            target = self._classify(request, info) if route is not None and not route.verb else None
            if route is not None and route.verb:
                info["verb"] = route.verb
            elif route is None:
                info["verb"] = "discovery"  # a path no route knows: authorized as a non-resource URL, then 404
            for f in self.faults.pick(info["verb"], info["resource"]):
                if f.latency:
                    await asyncio.sleep(f.latency)
                if f.drop:
                    if request.transport is not None:
                        request.transport.close()
                    raise ConnectionResetError("fault: connection dropped")
                if f.status:
                    headers = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                    reason = {429: "TooManyRequests", 503: "ServiceUnavailable", 500: "InternalError",
                              504: "Timeout"}.get(f.status, "InternalError")
                    raise ApiError(f.status, reason, f.message, {"retryAfterSeconds": f.retry_after or 0},
                                   headers)
            overloaded = self.overload() if self.overload else None
            if overloaded:
                raise ApiError(overloaded, "TooManyRequests" if overloaded == 429 else "ServiceUnavailable",
                               "the server is currently unable to handle the request (apiserver overloaded)",
                               {"retryAfterSeconds": 1}, {"Retry-After": "1"})
            self._authorize(request, target, info, who)
            if route is None:
                if isinstance(request.match_info.http_exception, web.HTTPMethodNotAllowed):
                    raise ApiError(405, "MethodNotAllowed", f"method {request.method} not allowed")
                raise ApiError(404, "NotFound", _NOT_FOUND)
            request[TARGET] = target
            resp = await handler(request)
            await self._admitted(request, resp.headers)
            return resp
        except ApiError as e:
            await self._admitted(request, e.headers)
            return json_response(e.status(), e.code, e.headers)
        except PatchError as e:
            return json_response(ApiError(422, "Invalid", f"the patch could not be applied: {e}").status(), 422)
        except SelectorError as e:
            return json_response(ApiError(400, "BadRequest", str(e)).status(), 400)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as e:  # a sandbox bug: answer like the API server would, keep serving
            log.exception("sandbox handler failed: %s %s", request.method, request.path_qs)
            return json_response(ApiError(500, "InternalError", f"sandbox internal error: {e}").status(), 500)

    def _authorize(self, request: web.Request, t: Target | None, info: dict[str, Any], who: rbac.Identity) -> None:
        """RBAC, after priority and fairness as in the real filter chain (403 with the real message)."""
        if t is None:
            attrs = rbac.Attributes("get" if request.method == "GET" else request.method.lower(), path=request.path)
        else:
            attrs = rbac.Attributes(info["verb"], t.r.group, t.version, t.r.plural, t.sub, t.namespace or "",
                                    t.name or "")
        rbac.check(self.state, who, attrs)

    async def _probe(self, request: web.Request) -> web.Response:
        if request.path == "/sandbox/health":
            ok, msg = self.ingress() if self.ingress else (True, "ok")
        elif request.path == "/sandbox/mitigated":
            ok, msg = self.health() if self.health else (True, "ok")
        else:
            return web.Response(status=404, text="not found\n")
        return web.Response(status=200 if ok else 503, text=msg + "\n")

    async def _health(self, request: web.Request) -> web.Response:
        code, text = health_text(request.match_info["check"], request.query, request.match_info.get("rest", ""))
        return web.Response(status=code, text=text, content_type="text/plain")

    async def _metrics(self, request: web.Request) -> web.Response:
        counts = {f"{r.plural}.{r.group}" if r.group else r.plural: self.state.count(r)
                  for r in list(self.state.registry.by_key.values()) if r.stored}
        return web.Response(text=self.metrics.text(counts), content_type="text/plain",
                            headers={"X-Content-Type-Options": "nosniff"})

    def _classify(self, request: web.Request, info: dict[str, Any]) -> Target:
        """Work out verb and resource of a resource path before faults are rolled."""
        group, version = request.match_info.get("group", ""), request.match_info["version"]
        rest = [unquote(p) for p in request.match_info["rest"].split("/") if p]
        reg = self.state.registry
        if not rest:
            raise ApiError(404, "NotFound", _NOT_FOUND)
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and reg.get(group, version, rest[2]) is not None \
                and (len(rest) > 3 or rest[2] not in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        r = reg.get(group, version, rest[0])
        if r is None or len(rest) > 3 or (bool(namespace) and not r.namespaced):
            raise ApiError(404, "NotFound", _NOT_FOUND)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in r.subresources:
            raise ApiError(404, "NotFound", _NOT_FOUND)
        q = request.query
        verb = VERBS_BY_METHOD.get((request.method, name is not None))
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", f"method {request.method} not allowed")
        if verb == "list" and q.get("watch") in ("true", "1"):
            verb = "watch"
        dry = q.getall("dryRun", [])
        if any(d != "All" for d in dry):
            raise ApiError(400, "BadRequest", f"invalid dry run value {dry!r}: only 'All' is supported")
        info.update(verb=verb, resource=r.plural + (f"/{sub}" if sub else ""), namespace=namespace or "",
                    name=name or "", dry_run=bool(dry), group=group, version=version, stored=r.stored,
                    scope="resource" if name else "namespace" if namespace else "cluster")
        return Target(r, version, namespace, name, sub, verb)

    async def _body(self, request: web.Request, *, yaml_ok: bool = False) -> Any:
        """The decoded request body, by Content-Type: JSON, YAML, Kubernetes protobuf (415 otherwise)."""
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        raw = await request.read()
        if len(raw) > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == protobuf.MEDIA_TYPE:
            try:
                return protobuf.decode(raw)
            except protobuf.ProtoError as e:
                raise ApiError(400, "BadRequest", f"the request body is not a valid protobuf object: {e}") from None
        if ctype in ("application/yaml", "application/apply-patch+yaml"):
            yaml_ok = True
        elif ctype not in ("", "application/json", "*/*") and ctype not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                           f'accepted media types include: {", ".join(BODY_TYPES)}')
        try:
            if yaml_ok:  # apply-patch bodies: the same budgets as runbooks (an alias bomb is 1 kB)
                text = raw.decode()
                check_yaml_budget(text, "body")
                return yaml.safe_load(text)
            return json.loads(raw or b"null")
        except LocatedError as e:
            raise ApiError(400, "BadRequest", f"the request body is over a budget: {e}") from None
        except (ValueError, yaml.YAMLError) as e:
            raise ApiError(400, "BadRequest", f"the request body is not valid "
                           f"{'YAML' if yaml_ok else 'JSON'}: {str(e).splitlines()[0]}") from None

    def _writer(self, request: web.Request, operation: str = "Update", fields: Any = None) -> Writer:
        manager = request.query.get("fieldManager") or request.headers.get("User-Agent", "unknown").split("/")[0]
        who = request.get(IDENTITY)
        w = Writer(manager=manager or "unknown", operation=operation,
                   dry_run=bool(request.query.getall("dryRun", [])), fields=fields,
                   user=who.user_info() if who is not None else None)
        request[WRITERS] = [*request.get(WRITERS, []), w]
        return w

    async def _admitted(self, request: web.Request, headers: Any) -> None:
        """What admission handed back for the response: the webhooks' warnings as ``Warning``
        headers, and the time their (simulated) calls took, waited here off the cluster lock."""
        writers: list[Writer] = request.get(WRITERS, [])
        warnings = [text for w in writers for text in w.warnings]
        if warnings and "Warning" not in headers:
            extra = warning_header(warnings)
            headers["Warning"] = f"{headers['Warning']}, {extra}" if headers.get("Warning") else extra
        delay = sum(w.delay for w in writers)
        if delay > 0:
            await asyncio.sleep(delay)

    def _out(self, t: Target, obj: Obj) -> Obj:
        if t.r.api_version(t.version) != obj.get("apiVersion"):
            obj = dict(obj, apiVersion=t.r.api_version(t.version))
        return obj

    # ------------------------------------------------------------------ resource requests

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        """A resource request, by its verb: the subresource's handler, or the verb's (the tables above)."""
        t: Target | None = request.get(TARGET)
        assert t is not None
        named = t.name is not None
        if t.sub:
            if t.verb not in SUBRESOURCES[t.sub].verbs:
                raise ApiError(405, "MethodNotAllowed", f"{t.sub} does not support {request.method}")
            own = SUBRESOURCE_HANDLERS.get(t.sub)
            if own is not None:
                handler: Callable[[web.Request, Target], Awaitable[web.StreamResponse]] = getattr(self, own)
                return await handler(request, t)
        elif t.verb not in t.r.verbs:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        name = VERB_HANDLERS.get((t.verb, named))
        if name is None:
            if t.verb == "create":
                raise ApiError(405, "MethodNotAllowed", "POST to a named resource is not allowed")
            raise ApiError(405, "MethodNotAllowed", f"method {request.method} not allowed here")
        handle: Callable[[web.Request, Target], Awaitable[web.StreamResponse]] = getattr(self, name)
        return await handle(request, t)

    def _crd_schemas(self) -> dict[tuple[str, str, str], Obj]:
        return openapi.crd_schemas(self.state.list("customresourcedefinitions"))

    # ------------------------------------------------------------------ discovery

    async def _version(self, request: web.Request) -> web.Response:
        return json_response(VERSION)

    async def _api_versions(self, request: web.Request) -> web.Response:
        return json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]})

    async def _core_resources(self, request: web.Request) -> web.Response:
        if request.match_info["version"] != "v1":
            raise ApiError(404, "NotFound", _NOT_FOUND)
        return json_response(self.state.registry.resource_list("", "v1"))

    async def _group_list(self, request: web.Request) -> web.Response:
        groups = [self._group(g, vs) for g, vs in sorted(self.state.registry.groups().items())]
        return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    async def _group_doc(self, request: web.Request) -> web.Response:
        group, groups = request.match_info["group"], self.state.registry.groups()
        if group not in groups:
            raise ApiError(404, "NotFound", _NOT_FOUND)
        return json_response(dict(self._group(group, groups[group]), kind="APIGroup", apiVersion="v1"))

    async def _group_resources(self, request: web.Request) -> web.Response:
        group, version = request.match_info["group"], request.match_info["version"]
        reg = self.state.registry
        if version not in reg.groups().get(group, []):
            raise ApiError(404, "NotFound", _NOT_FOUND)
        return json_response(reg.resource_list(group, version))

    async def _openapi(self, request: web.Request) -> web.Response:
        parts = [request.match_info["doc"], *(p for p in request.match_info.get("path", "").split("/") if p)]
        accept = request.headers.get("Accept", "")
        if parts == ["v2"] and openapi.PROTO_V2 in accept.replace(".v1.0+", "@v1.0+"):  # kubectl < 1.23
            doc = openapi.v2_document(self.state.registry, self._crd_schemas())
            return web.Response(body=openapi.v2_protobuf(doc), content_type="application/octet-stream")
        if accept and not any(a.split(";")[0].strip() in ("application/json", "*/*", "application/*")
                              for a in accept.split(",")):
            raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: application/json "
                           f"(asked for {accept})")
        crds = self._crd_schemas()
        reg = self.state.registry
        if parts == ["v2"]:
            return json_response(openapi.v2_document(reg, crds))
        if parts == ["v3"]:
            return json_response(openapi.v3_root(reg, crds))
        if parts[:1] == ["v3"]:
            group_doc = openapi.v3_document(reg, "/".join(parts[1:]), crds)
            if group_doc is not None:
                return json_response(group_doc, headers={"Cache-Control": "public, immutable"}
                                     if request.query.get("hash") else None)
        raise ApiError(404, "NotFound", _NOT_FOUND)

    def _field_check(self, request: web.Request, t: Target, body: Any) -> dict[str, str]:
        """Decode-time checks against the kind's schema: type errors (400), unknown fields by the
        request's fieldValidation (Strict: 400, Warn, the default: a Warning header, Ignore)."""
        if not isinstance(body, dict):
            return {}
        mode = request.query.get("fieldValidation", "Warn")
        if mode not in ("Ignore", "Warn", "Strict"):
            raise ApiError(400, "BadRequest", f'fieldValidation: Unsupported value: "{mode}": supported values: '
                           '"Ignore", "Strict", "Warn"')
        schema_errors: list[tuple[str, str]] = []
        unknown, errors = openapi.field_problems(body, t.r, t.version, self._crd_schemas(),
                                                 prune=mode != "Strict", schema_errors=schema_errors)
        if schema_errors:
            raise invalid(t.r, str((body.get("metadata") or {}).get("name") or t.name or ""), schema_errors)
        what = f'{t.r.kind} in version "{t.version}" cannot be handled as a {t.r.kind}'
        if errors:
            raise ApiError(400, "BadRequest", f"{what}: {errors[0]}")
        if not unknown or mode == "Ignore":
            return {}
        if mode == "Strict":
            fields = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise ApiError(400, "BadRequest", f"{what}: strict decoding error: {fields}")
        return {"Warning": ", ".join('299 - "unknown field \\"' + u + '\\""' for u in unknown)}

    @staticmethod
    def _group(name: str, versions: list[str]) -> Obj:
        vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": vs, "preferredVersion": vs[0]}

    # ------------------------------------------------------------------ reads

    def _wants_table(self, request: web.Request) -> bool:
        accept = request.headers.get("Accept", "")
        return "as=Table" in accept.split(",")[0] or accept.startswith("application/json;as=Table")

    def _matchers(self, request: web.Request, r: Resource | None = None) -> tuple[Any, Any]:
        return label_matcher(request.query.get("labelSelector")), field_matcher(
            request.query.get("fieldSelector"), r.field_labels if r is not None else None)

    async def _get(self, request: web.Request, t: Target) -> web.Response:
        st = self.state
        assert t.name is not None
        with st.lock:
            obj = st.get(t.r, t.name, t.namespace)
            if self._wants_table(request):
                return json_response(table(t.r, [self._out(t, obj)], str(st.rv),
                                           request.query.get("includeObject", "Metadata")))
            if t.sub == "status" or t.r.api_version(t.version) != obj["apiVersion"]:
                return json_response(self._out(t, obj))
            return json_response(st.serialized(t.r, ((t.namespace or "") if t.r.namespaced else "", t.name)))

    async def _list(self, request: web.Request, t: Target) -> web.Response:
        st = self.state
        lm, fm = self._matchers(request, t.r)
        q = request.query
        limit = int(q["limit"]) if q.get("limit", "").isdigit() and int(q["limit"]) > 0 else 0
        start: tuple[str, str] | None = None
        rvm, rv_text = q.get("resourceVersionMatch", ""), q.get("resourceVersion", "")
        if rvm and rvm not in ("Exact", "NotOlderThan"):
            raise ApiError(422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported '
                           f'value: "{rvm}": supported values: "Exact", "NotOlderThan"')
        if rvm and not rv_text:
            raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                           "resourceVersionMatch is forbidden unless resourceVersion is provided")
        if rvm and q.get("continue"):
            raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                           "resourceVersionMatch is forbidden when continue is provided")
        with st.lock:
            list_rv = st.rv
            snapshot: dict[tuple[str, str], Obj] | None = None
            if rv_text not in ("", "0"):
                want = int(rv_text) if rv_text.isdigit() else -1
                if want < 0:
                    raise ApiError(400, "BadRequest", f"invalid resource version {rv_text!r}")
                if want > st.rv:
                    raise ApiError(504, "Timeout", f"Too large resource version: {want}, current: {st.rv}",
                                   {"causes": [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}], "retryAfterSeconds": 1})
                if rvm == "Exact" and want < st.rv:
                    snapshot = st.snapshot_at(t.r, want)
                    if snapshot is None:
                        raise ApiError(410, "Expired", f"The resourceVersion for the provided list is too old. "
                                       f"(requested {want}, oldest {st.compacted_rv})")
                    list_rv = want
            if q.get("continue"):
                try:
                    tok = json.loads(base64.urlsafe_b64decode(q["continue"].encode()))
                    token_rv, start = int(tok["rv"]), (str(tok["start"][0]), str(tok["start"][1]))
                except (ValueError, KeyError, TypeError, IndexError):
                    raise ApiError(400, "BadRequest", "continue key is not valid") from None
                if token_rv < st.compacted_rv:
                    raise ApiError(410, "Expired", "The provided continue parameter is too old to display a "
                                   "consistent list result. You can start a new list without the continue "
                                   "parameter.")
                list_rv = token_rv
            bucket = st.bucket(t.r) if snapshot is None else snapshot
            keys = sorted(bucket) if (limit or start) else list(bucket)
            out_keys: list[tuple[str, str]] = []
            cont = ""
            for k in keys:
                if start is not None and k <= start:
                    continue
                if t.namespace and k[0] != t.namespace:
                    continue
                o = bucket[k]
                if (lm and not lm(o)) or (fm and not fm(o)):
                    continue
                if limit and len(out_keys) == limit:
                    last = out_keys[-1]
                    cont = base64.urlsafe_b64encode(json.dumps({"rv": list_rv, "start": list(last)}).encode()
                                                    ).decode()
                    break
                out_keys.append(k)
            if self._wants_table(request):
                objs = [self._out(t, bucket[k]) for k in out_keys]
                return json_response(table(t.r, objs, str(list_rv), q.get("includeObject", "Metadata"), cont))
            if snapshot is not None or t.r.api_version(t.version) != t.r.api_version():
                chunks = [json.dumps(self._out(t, bucket[k])).encode() for k in out_keys]
            else:
                chunks = [st.serialized(t.r, k) for k in out_keys]
        meta: Obj = {"resourceVersion": str(list_rv)}
        if cont:
            meta["continue"] = cont
        head = json.dumps({"kind": f"{t.r.kind}List", "apiVersion": t.r.api_version(t.version),
                           "metadata": meta})[:-1].encode()
        return json_response(head + b',"items":[' + b",".join(chunks) + b"]}")

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        st = self.state
        lm, fm = self._matchers(request, t.r)
        q = request.query
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        as_table = self._wants_table(request)
        include = q.get("includeObject", "Metadata")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds", "").isdigit() else 1800.0
        timeout = min(timeout, _go_duration(q.get("timeout", "")) or timeout)
        rv_text = q.get("resourceVersion", "")

        def deliver(ev: WatchEvent) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, ev)
            except RuntimeError:  # the loop closed under a writer in another thread: nobody to tell
                pass

        def matches(obj: Obj) -> bool:
            if t.namespace and (obj.get("metadata") or {}).get("namespace") != t.namespace:
                return False
            return not ((lm and not lm(obj)) or (fm and not fm(obj)))

        def wanted(ev: WatchEvent) -> WatchEvent | None:
            """The event as this watcher sees it: an object leaving the selector is DELETED for
            it, one entering is ADDED (as the API server does)."""
            if ev.rkey != t.r.key:
                return None
            now = matches(ev.obj)
            if ev.type != "MODIFIED" or ev.old is None:
                return ev if now else None
            before = matches(ev.old)
            if now and not before:
                return WatchEvent(ev.rv, "ADDED", ev.rkey, ev.obj)
            if before and not now:
                return WatchEvent(ev.rv, "DELETED", ev.rkey, ev.obj)
            return ev if now else None

        send_initial = q.get("sendInitialEvents") in ("true", "1")
        if send_initial and (q.get("resourceVersionMatch") != "NotOlderThan" or not bookmarks):
            raise ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: '
                           "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to "
                           "NotOlderThan and allowWatchBookmarks is true")
        if send_initial and rv_text.isdigit() and int(rv_text) > st.rv:
            raise ApiError(504, "Timeout", f"Too large resource version: {rv_text}, current: {st.rv}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                            "retryAfterSeconds": 1})
        with st.lock:
            cancel = st.subscribe(deliver)
            if rv_text in ("", "0") or send_initial:  # the state now: a plain watch from 0, or a watch-list
                initial = [WatchEvent(int(o["metadata"]["resourceVersion"]), "ADDED", t.r.key, o)
                           for o in st.list(t.r, t.namespace)]
                since = st.rv
            else:
                since = int(rv_text) if rv_text.isdigit() else -1
                replay = st.events_since(since) if since >= 0 else None
                initial = replay if replay is not None else []
                expired = replay is None
                since = st.rv if expired else since
            if rv_text not in ("", "0") and not send_initial and expired:
                initial_error = ApiError(410, "Expired", f"too old resource version: {rv_text} "
                                         f"({st.compacted_rv})").status()
            else:
                initial_error = None
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        self.watch_queues.add(queue)
        last_rv = since

        async def send(typ: str, obj: Any) -> None:
            await resp.write(json.dumps({"type": typ, "object": obj}, separators=(",", ":")).encode() + b"\n")

        try:
            if initial_error is not None:
                await send("ERROR", initial_error)
                return resp
            for old in initial:
                seen = wanted(old)
                if seen is not None:
                    await self._send_event(send, t, seen, as_table, include)
                last_rv = max(last_rv, old.rv)
            if send_initial:
                # a watch-list (client-go's WatchList, kubectl 1.35): the initial state ends with this bookmark
                await send("BOOKMARK", {"kind": t.r.kind, "apiVersion": t.r.api_version(t.version), "metadata": {
                    "resourceVersion": str(max(last_rv, since)),
                    "annotations": {"k8s.io/initial-events-end": "true"}}})
            deadline = loop.time() + timeout
            next_bookmark = loop.time() + self.bookmark_seconds
            while True:
                now = loop.time()
                if now >= deadline:
                    break
                if request.transport is None or request.transport.is_closing():
                    break  # the client went away
                wait = min(deadline, next_bookmark, now + 1.0) - now if bookmarks else min(deadline - now, 1.0)
                try:
                    ev: WatchEvent | None = await asyncio.wait_for(queue.get(), timeout=max(wait, 0.001))
                except TimeoutError:
                    if bookmarks and loop.time() >= next_bookmark:
                        await send("BOOKMARK", {"kind": t.r.kind, "apiVersion": t.r.api_version(t.version),
                                                "metadata": {"resourceVersion": str(max(last_rv, st.rv))}})
                        next_bookmark = loop.time() + self.bookmark_seconds
                    continue
                if ev is None:
                    break
                if ev.rv <= last_rv:
                    continue
                last_rv = ev.rv
                seen = wanted(ev)
                if seen is not None:
                    await self._send_event(send, t, seen, as_table, include)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            cancel()
            self.watch_queues.discard(queue)
        return resp

    async def _send_event(self, send: Callable[[str, Any], Awaitable[None]], t: Target, ev: WatchEvent,
                          as_table: bool, include: str) -> None:
        obj = self._out(t, ev.obj)
        await send(ev.type, table(t.r, [obj], str(ev.rv), include) if as_table else obj)

    # ------------------------------------------------------------------ writes

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        kind = body.get("kind")
        if kind and kind != t.r.kind:
            raise ApiError(400, "BadRequest", f"the body kind {kind!r} does not match {t.r.kind!r}")
        warn = self._field_check(request, t, body)
        if not t.r.stored:
            return json_response(self._review(t, body, request[IDENTITY]), 201)
        obj = self.state.create(t.r, body, self._writer(request, fields=body), namespace=t.namespace)
        return json_response(self._out(t, obj), 201, warn)

    def _review(self, t: Target, body: Obj, who: rbac.Identity) -> Obj:
        """Answered from the RBAC rules for the requesting (or impersonated) user, never stored."""
        out = dict(body, apiVersion=t.r.api_version(t.version), kind=t.r.kind)
        out["metadata"] = dict(body.get("metadata") or {}, creationTimestamp=None)
        out["status"] = rbac.review(self.state, who, t.r.plural, body)
        return out

    async def _update(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        warn = self._field_check(request, t, body)
        meta = body.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != t.name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        meta["name"] = t.name
        if t.r.namespaced:
            meta["namespace"] = t.namespace
        obj = self.state.update(t.r, body, self._writer(request, fields=body), subresource=t.sub)
        return json_response(self._out(t, obj), headers=warn)

    def _patch_type(self, request: web.Request, t: Target) -> str:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        ptype = PATCH_TYPES.get(ctype)
        if ptype is None:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {', '.join(PATCH_TYPES)}")
        if ptype == "strategic" and t.r.custom:
            raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom "
                           f"resources ({t.r.plural}.{t.r.group}); use a merge or JSON patch")
        if ptype == "apply" and not request.query.get("fieldManager"):
            raise ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required "
                           "value: is required for apply patch")
        return ptype

    @staticmethod
    def _apply_patch(ptype: str, current: Obj, patch: Any) -> Obj:
        if ptype == "json":
            out = json_patch(current, patch)
        elif ptype == "merge":
            out = merge_patch(current, patch)
        else:
            if not isinstance(patch, dict):
                raise PatchError("a strategic merge patch must be a JSON object")
            out = strategic_merge(current, patch)
        if not isinstance(out, dict):
            raise PatchError("the patched document is not an object")
        return out

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        ptype = self._patch_type(request, t)
        patch = await self._body(request, yaml_ok=ptype == "apply")
        warn = self._field_check(request, t, patch) if ptype != "json" and not t.sub else {}
        st = self.state
        w = self._writer(request, "Apply" if ptype == "apply" else "Update", fields=patch)
        with st.lock:
            current = st.find(t.r, t.name, t.namespace)
            if current is None:
                if ptype != "apply":
                    raise not_found(t.r, t.name)
                if not isinstance(patch, dict):
                    raise ApiError(400, "BadRequest", "an apply patch must be an object")
                created = st.create(t.r, dict(patch, metadata=dict(patch.get("metadata") or {}, name=t.name)), w,
                                    namespace=t.namespace)
                return json_response(self._out(t, created), 201, warn)
            patched = self._apply_patch("strategic" if ptype == "apply" and not t.r.custom else
                                        "merge" if ptype == "apply" else ptype, copy_json(current), patch)
            found = conflicts(current, patch, patched, w.manager) if ptype == "apply" else []
            if found and request.query.get("force") not in ("true", "1"):
                raise conflict_error(found)
            if ptype == "apply":
                patched = drop_unapplied(patched, current, w.manager, fields_v1(patch))
                if found:
                    take_over(patched, found)
            meta = patched.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise PatchError("metadata must be an object")
            meta["name"] = t.name
            if t.r.namespaced:
                meta["namespace"] = t.namespace
            obj = st.update(t.r, patched, w, subresource=t.sub)
        return json_response(self._out(t, obj), headers=warn)

    def _delete_options(self, request: web.Request, body: Any) -> tuple[int | None, str | None, Obj]:
        opts = body if isinstance(body, dict) else {}
        q = request.query
        grace = opts.get("gracePeriodSeconds")
        if q.get("gracePeriodSeconds", "").lstrip("-").isdigit():
            grace = int(q["gracePeriodSeconds"])
        prop = q.get("propagationPolicy") or opts.get("propagationPolicy")
        if opts.get("orphanDependents") is True:
            prop = "Orphan"
        if opts.get("dryRun"):
            request[INFO]["dry_run"] = True
        return grace, prop, opts.get("preconditions") or {}

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        body = await self._body(request) if request.can_read_body else None
        grace, prop, pre = self._delete_options(request, body)
        w = self._writer(request)
        if request[INFO]["dry_run"]:
            w.dry_run = True
        obj = self.state.delete(t.r, t.name, t.namespace, w, grace=grace, propagation=prop, preconditions=pre)
        if w.dry_run or t.r.returns_deleted or self.state.find(t.r, t.name, t.namespace) is not None:
            return json_response(self._out(t, obj))  # still there (grace period, finalizers), or its storage says so
        details: Obj = {"name": t.name, "group": t.r.group, "kind": t.r.plural, "uid": obj["metadata"].get("uid")}
        if not t.r.group:
            del details["group"]
        return json_response(_status_ok(details))

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request) if request.can_read_body else None
        grace, prop, _ = self._delete_options(request, body)
        lm, fm = self._matchers(request, t.r)
        w = self._writer(request)
        if request[INFO]["dry_run"]:
            w.dry_run = True
        st = self.state
        deleted = []
        with st.lock:
            for o in st.list(t.r, t.namespace):
                if (lm and not lm(o)) or (fm and not fm(o)):
                    continue
                meta = o["metadata"]
                try:
                    deleted.append(self._out(t, st.delete(t.r, meta["name"], meta.get("namespace"), w,
                                                          grace=grace, propagation=prop)))
                except ApiError as e:
                    if e.code != 404:
                        raise  # refused (an admission webhook): the API server stops at the first error
                    continue  # removed by a cascade earlier in this loop
        return json_response({"kind": f"{t.r.kind}List", "apiVersion": t.r.api_version(t.version),
                              "metadata": {"resourceVersion": str(st.rv)}, "items": deleted})

    # ------------------------------------------------------------------ subresources

    async def _evict(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        body = await self._body(request)
        if not isinstance(body, dict) or body.get("kind") not in (None, "Eviction"):
            raise ApiError(400, "BadRequest", "the request body must be an Eviction")
        if (body.get("metadata") or {}).get("name") not in (None, t.name):
            raise ApiError(400, "BadRequest", "the eviction name does not match the pod name")
        opts = body.get("deleteOptions") or {}
        st = self.state
        w = self._writer(request)
        if opts.get("dryRun"):
            w.dry_run = request[INFO]["dry_run"] = True
        eviction = dict(body, apiVersion=body.get("apiVersion") or "policy/v1", kind="Eviction")
        with st.lock:
            st.get(t.r, t.name, t.namespace)
            # a CREATE of pods/eviction: webhooks, then the PodDisruptionBudgets (admission.py); the
            # pod's deletion that follows is not admitted again, as in the eviction storage
            st.admission.admit_write("CREATE", t.r, eviction, None, w, subresource="eviction", namespace=t.namespace,
                                     name=t.name, kind=("policy", "v1", "Eviction"))
            st.delete(t.r, t.name, t.namespace, dataclasses.replace(w, admit=False),
                      grace=opts.get("gracePeriodSeconds"), preconditions=opts.get("preconditions"))
        return json_response(_status_ok(), 201)

    async def _token(self, request: web.Request, t: Target) -> web.Response:
        """serviceaccounts/token: a TokenRequest answered with a token this cluster accepts."""
        assert t.name is not None
        body = await self._body(request)
        with self.state.lock:
            return json_response(tokens.request(self.state, t.namespace or "", t.name, body), 201)

    def _scale_of(self, t: Target, obj: Obj) -> Obj:
        meta = obj["metadata"]
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta["uid"],
                             "resourceVersion": meta["resourceVersion"],
                             "creationTimestamp": meta.get("creationTimestamp")},
                "spec": {"replicas": spec.get("replicas", 1)},
                "status": {"replicas": status.get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
                           if t.r.key == ("", "replicationcontrollers") else selector_to_string(spec.get("selector"))}}

    async def _scale(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        st = self.state
        m = request.method
        if m == "GET":
            scale = self._scale_of(t, st.get(t.r, t.name, t.namespace))
            if self._wants_table(request):
                return json_response(table(t.r, [scale], str(st.rv), request.query.get("includeObject", "Metadata"),
                                           cols=SCALE_COLUMNS))
            return json_response(scale)
        if m not in ("PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", f"scale does not support {m}")
        ptype = self._patch_type(request, Target(t.r, t.version, t.namespace, t.name, "")) if m == "PATCH" else ""
        body = await self._body(request, yaml_ok=ptype == "apply")
        w = self._writer(request, fields={"spec": {"replicas": None}})
        with st.lock:
            obj = st.get(t.r, t.name, t.namespace)
            scale = self._scale_of(t, obj)
            new_scale = body if m == "PUT" else self._apply_patch(
                "merge" if ptype == "apply" else ptype, scale, body)
            if not isinstance(new_scale, dict):
                raise ApiError(400, "BadRequest", "the request body must be a Scale object")
            replicas = (new_scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale "{t.name}" is invalid: spec.replicas: Invalid value')
            want_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            # an UPDATE of <resource>/scale: admitted as a Scale, then stored without a second admission
            new_scale = dict(new_scale, apiVersion="autoscaling/v1", kind="Scale",
                             metadata=dict(scale["metadata"], **(new_scale.get("metadata") or {})))
            admitted = st.admission.admit_write("UPDATE", t.r, new_scale, scale, w, subresource="scale",
                                                namespace=t.namespace, name=t.name, kind=("autoscaling", "v1", "Scale"))
            replicas = ((admitted or new_scale).get("spec") or {}).get("replicas", replicas)
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale "{t.name}" is invalid: spec.replicas: Invalid value')
            updated = copy_json(obj)
            updated.setdefault("spec", {})["replicas"] = replicas
            if want_rv:
                updated["metadata"]["resourceVersion"] = want_rv
            res = st.update(t.r, updated, dataclasses.replace(w, admit=False))
        return json_response(self._scale_of(t, res))

    # ------------------------------------------------------------------ pods/log

    def _log_lines(self, t: Target, container: str, previous: bool) -> list[str]:
        assert t.name is not None
        pod = self.state.get(t.r, t.name, t.namespace)
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
        inits = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or [] if isinstance(c, dict)]
        if not container:
            if len(names) != 1:
                raise ApiError(400, "BadRequest", f"a container name must be specified for pod {t.name}, choose "
                               f"one of: [{' '.join(str(n) for n in names)}]")
            container = str(names[0])
        elif container not in names + inits:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {t.name}")
        lines = self.logs(pod, container, previous) if self.logs else _no_log_source(pod, container, previous)
        if lines is None:
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{t.name}" '
                           "not found")
        return lines

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        container = q.get("container", "")
        previous = q.get("previous") in ("true", "1")
        follow = q.get("follow") in ("true", "1")
        stamps = q.get("timestamps") in ("true", "1")
        tail = int(q["tailLines"]) if q.get("tailLines", "").lstrip("-").isdigit() else -1
        limit = int(q["limitBytes"]) if q.get("limitBytes", "").isdigit() else 0
        lines = self._log_lines(t, container, previous)

        def fmt(chunk: list[str]) -> bytes:
            now = rfc3339nano(time.time())
            return "".join(f"{now} {ln}\n" if stamps else f"{ln}\n" for ln in chunk).encode()

        shown = lines[-tail:] if tail > 0 else [] if tail == 0 else lines
        body = fmt(shown)
        if limit:
            body = body[:limit]
        if not follow:
            return web.Response(body=body, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(body)
        seen = len(lines)
        try:
            while request.transport is not None and not request.transport.is_closing():
                await asyncio.sleep(0.2)
                try:
                    now_lines = self._log_lines(t, container, previous)
                except ApiError:
                    break  # the pod is gone: the stream ends, as the kubelet's does
                if len(now_lines) > seen:
                    await resp.write(fmt(now_lines[seen:]))
                    seen = len(now_lines)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp
