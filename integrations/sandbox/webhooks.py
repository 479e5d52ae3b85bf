"""MutatingAdmissionWebhook and ValidatingAdmissionWebhook, as kube-apiserver calls them.

With the ``admissionWebhooks`` behaviour the admission chain (admission.py) runs the mutating
webhook configurations before the object's validation and the validating ones after it. A
webhook is called when one of its ``rules`` covers the request (``operations`` CREATE, UPDATE,
DELETE, CONNECT or ``*``; ``apiGroups``, ``apiVersions``; ``resources`` with subresources as
``pods/eviction``, ``pods/*``, ``*/*``, plain ``*`` or ``pods`` meaning no subresource; ``scope``)
and its ``namespaceSelector`` (the namespace's labels; a Namespace's own; ignored for other
cluster-scoped objects) and ``objectSelector`` (the object's or the old object's labels) match.
Configurations are called in name order, their webhooks in order; ``matchConditions`` and
``reinvocationPolicy`` are not evaluated (a mutating webhook is called once).

Each call sends an ``admission.k8s.io/v1`` AdmissionReview (a fresh ``uid``, ``kind``,
``resource``, ``subResource``, ``requestKind``..., ``name``, ``namespace``, ``operation``,
``userInfo``, ``object``, ``oldObject`` (UPDATE, DELETE), ``dryRun``, ``options``) to the backend:

* ``clientConfig.service``: the Service must exist and have a Running, Ready selected pod (what
  the endpoints controller would publish), else the call fails (``connection refused`` on its
  ClusterIP, ``service "x" not found``). A reachable Service answers as the scenario's
  ``webhookBackends`` entry for it says (allow or deny with a status, a JSON patch, warnings,
  latency), or forwards to that entry's real ``endpoint`` (an HTTPS server on loopback, verified
  against ``caBundle`` under the Service's DNS name), or, with no entry, allows.
* ``clientConfig.url``: a ``webhookBackends`` entry for the URL answers; otherwise a loopback
  URL (127.0.0.1, ::1, localhost) is really called over HTTPS (``caBundle`` or the system's
  roots); any other host is taken to allow (the sandbox reaches nothing outside the machine).

A response is checked as the API server checks it (``response`` present, ``uid`` echoed,
``admission.k8s.io/v1 AdmissionReview``, ``patch`` with ``patchType: JSONPatch``). A call that
fails (unreachable, past ``timeoutSeconds`` (default 10): ``context deadline exceeded``, an
invalid response) fails the request per ``failurePolicy``: ``Fail`` (the default) answers 500
``Internal error occurred: failed calling webhook "x": failed to call webhook: Post
"https://svc.ns.svc:443/path?timeout=10s": ...``, ``Ignore`` goes on without it. A denial answers
with the webhook's status (``admission webhook "x" denied the request: <message>``). Warnings go
to the response's ``Warning`` headers. A dry run reaches only webhooks declaring ``sideEffects:
None`` or ``NoneOnDryRun``; any other refuses it (400). Simulated latency is not slept under the
cluster lock: the server delays the response by it. A real backend is called synchronously.
A scenario cannot aim these calls at an arbitrary local service: only loopback addresses are
called, over HTTPS, and the request body is sent only after the server's certificate verified
(against the configuration's ``caBundle``, for the URL's host or the Service's DNS name).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .admission import Request
from .budgets import pod_ready
from .patch import PatchError, copy_json, json_patch
from .selectors import selector_object_matcher
from .store import ApiError, ClusterState, Obj

CONFIGS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
WEBHOOK_GROUP = "admissionregistration.k8s.io"
REVIEW_API = "admission.k8s.io/v1"
OPTIONS_KIND = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}


class CallError(Exception):
    """``ErrCallingWebhook``: the call did not produce a usable answer (failurePolicy decides)."""


@dataclass
class Backend:
    """A scenario-declared webhook server (``behaviours.webhookBackends``)."""

    service: tuple[str, str] | None = None  # (namespace, name)
    url: str | None = None
    path: str | None = None
    operations: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    latency: float = 0.0
    allowed: bool = True
    code: int = 403
    reason: str = "Forbidden"
    message: str = ""
    patch: list[Obj] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    endpoint: str | None = None  # a real HTTPS server answering for the Service

    def serves(self, client_config: Obj, req: Request) -> bool:
        service = client_config.get("service")
        if self.service is not None:
            if not isinstance(service, dict) or (str(service.get("namespace") or "default"),
                                                 str(service.get("name") or "")) != self.service:
                return False
            if self.path is not None and (service.get("path") or "/") != self.path:
                return False
        elif self.url is None or client_config.get("url") != self.url:
            return False
        if self.operations and req.operation not in self.operations:
            return False
        what = req.r.plural + (f"/{req.subresource}" if req.subresource else "")
        return not self.resources or what in self.resources

    def answer(self, uid: str) -> Obj:
        response: Obj = {"uid": uid, "allowed": self.allowed}
        if not self.allowed:
            response["status"] = {"code": self.code, "reason": self.reason, "message": self.message}
        if self.allowed and self.patch:
            response["patch"] = base64.b64encode(json.dumps(self.patch).encode()).decode()
            response["patchType"] = "JSONPatch"
        if self.warnings:
            response["warnings"] = list(self.warnings)
        return {"apiVersion": REVIEW_API, "kind": "AdmissionReview", "response": response}


def backend_ready(st: ClusterState, service: Any) -> bool:
    """Does the Service behind a webhook have a Ready endpoint (a Running, Ready selected pod)?"""
    if not isinstance(service, dict):
        return False
    ns, name = str(service.get("namespace") or "default"), str(service.get("name") or "")
    svc = st.find("services", name, ns)
    if svc is None:
        return False
    selector = (svc.get("spec") or {}).get("selector")
    if not selector:
        return False
    match = selector_object_matcher({"matchLabels": selector})
    return any(pod_ready(p) and not p["metadata"].get("deletionTimestamp")
               for p in st.list("pods", ns, match))


def _service_url(service: Obj) -> str:
    path = service.get("path") or "/"
    return f"https://{service.get('name')}.{service.get('namespace') or 'default'}.svc:{service.get('port', 443)}{path}"


def _covers(rule: Any, req: Request) -> bool:
    """``rules.Matcher``: operation, group, version, resource/subresource and scope."""
    if not isinstance(rule, dict):
        return False
    r = req.r
    ops = rule.get("operations") or []
    groups = rule.get("apiGroups") or []
    versions = rule.get("apiVersions") or []
    if not (("*" in ops or req.operation in ops) and ("*" in groups or r.group in groups)
            and ("*" in versions or any(v in versions for v in r.versions))):
        return False
    resource_ok = False
    for text in rule.get("resources") or []:
        res, _, sub = str(text).partition("/")
        if (res == "*" or res == r.plural) and (sub == "*" or sub == req.subresource):
            resource_ok = True
            break
    if not resource_ok:
        return False
    scope = rule.get("scope") or "*"
    if scope == "Cluster":
        return req.namespace == "" or not r.namespaced
    if scope == "Namespaced":
        return r.key != ("", "namespaces") and r.namespaced
    return True


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    if selector is None or selector == {}:
        return True
    return selector_object_matcher(selector)({"metadata": {"labels": labels}})


def _labels(obj: Obj | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _namespace_labels(st: ClusterState, req: Request) -> dict[str, str] | None:
    """The labels the namespaceSelector is matched against; None: it does not apply."""
    if req.r.key == ("", "namespaces"):
        labels = _labels(req.obj if req.obj is not None else req.old) or {}
        labels.setdefault("kubernetes.io/metadata.name", req.name)
        return labels
    if not req.r.namespaced:
        return None
    ns_obj = st.find("namespaces", req.namespace or "default")
    labels = dict(((ns_obj or {}).get("metadata") or {}).get("labels") or {})
    labels.setdefault("kubernetes.io/metadata.name", req.namespace or "default")
    return labels


def _matches(st: ClusterState, hook: Obj, req: Request) -> bool:
    if not any(_covers(rule, req) for rule in hook.get("rules") or []):
        return False
    ns_labels = _namespace_labels(st, req)
    if ns_labels is not None and not _selects(hook.get("namespaceSelector"), ns_labels):
        return False
    selector = hook.get("objectSelector")
    if selector is None or selector == {}:
        return True
    return any(labels is not None and _selects(selector, labels) for labels in (_labels(req.obj), _labels(req.old)))


def _review(req: Request, uid: str) -> Obj:
    group, version, kind = req.gvk()
    r = req.r
    request: Obj = {
        "uid": uid, "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": r.group, "version": r.versions[0], "resource": r.plural},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": r.group, "version": r.versions[0], "resource": r.plural},
        "operation": req.operation, "userInfo": req.user,
        "object": copy_json(req.obj), "oldObject": copy_json(req.old), "dryRun": req.dry_run}
    if req.subresource:
        request["subResource"] = request["requestSubResource"] = req.subresource
    if req.name:
        request["name"] = req.name
    if req.namespace:
        request["namespace"] = req.namespace
    if req.operation in OPTIONS_KIND:
        options: Obj = {"kind": OPTIONS_KIND[req.operation], "apiVersion": "meta.k8s.io/v1"}
        if req.dry_run:
            options["dryRun"] = ["All"]
        request["options"] = options
    return {"apiVersion": REVIEW_API, "kind": "AdmissionReview", "request": request}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ssl_context(ca_bundle: Any) -> ssl.SSLContext:
    if not ca_bundle:
        return ssl.create_default_context()
    try:
        pem = base64.b64decode(str(ca_bundle), validate=True).decode()
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError):
        raise CallError("failed to call webhook: unable to load root certificates: unable to parse bytes as "
                        "PEM block") from None


def _name_mismatch(host: str, port: int, wanted: str) -> str:
    """Go's ``HostnameError``: the names the certificate is valid for, and the one wanted."""
    from cryptography import x509

    try:
        pem = ssl.get_server_certificate((host, port), timeout=2)
        cert = x509.load_pem_x509_certificate(pem.encode())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]
    except (OSError, ValueError, x509.ExtensionNotFound):
        names = []
    if not names:
        return f"x509: certificate is not valid for any names, but wanted to match {wanted}"
    return f"x509: certificate is valid for {', '.join(names)}, not {wanted}"


def _post(target: str, post: str, review: Obj, timeout: float, ca_bundle: Any, server_name: str | None) -> Obj:
    """A real HTTPS call; errors worded as Go's HTTP client words them."""
    import httpx

    parts = urlsplit(target)
    host_port = f"{parts.hostname}:{parts.port or 443}"
    ctx = _ssl_context(ca_bundle)
    extensions = {"sni_hostname": server_name} if server_name else {}
    try:
        with httpx.Client(verify=ctx, timeout=timeout, trust_env=False) as client:
            resp = client.post(f"{target}?timeout={int(timeout)}s", json=review, extensions=extensions)
    except httpx.TimeoutException:
        raise CallError(f"failed to call webhook: {post}: context deadline exceeded") from None
    except httpx.ConnectError as e:
        text = str(e)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            why = (_name_mismatch(parts.hostname or "", parts.port or 443, server_name or parts.hostname or "")
                   if "mismatch" in text.lower() or "not valid for" in text
                   else "x509: certificate signed by unknown authority")
            raise CallError(f"failed to call webhook: {post}: tls: failed to verify certificate: {why}") from None
        raise CallError(f"failed to call webhook: {post}: dial tcp {host_port}: connect: connection refused") from None
    except httpx.HTTPError as e:
        raise CallError(f"failed to call webhook: {post}: {e}") from None
    if resp.status_code != 200:
        raise CallError(f'failed to call webhook: an error on the server ("{resp.text[:200]}") has prevented '
                        "the request from succeeding")
    try:
        body = resp.json()
    except ValueError as e:
        raise CallError(f"failed to call webhook: couldn't get version/kind; json parse error: {e}") from None
    if not isinstance(body, dict):
        raise CallError("failed to call webhook: couldn't get version/kind; json parse error: not an object")
    return body


def _verify(uid: str, mutating: bool, review: Obj) -> Obj:
    """``VerifyAdmissionResponse`` for v1 reviews."""
    response = review.get("response")
    if not isinstance(response, dict):
        raise CallError("received invalid webhook response: webhook response was absent")
    if response.get("uid") != uid:
        raise CallError(f'received invalid webhook response: expected response.uid="{uid}", got '
                        f'"{response.get("uid") or ""}"')
    if (review.get("apiVersion"), review.get("kind")) != (REVIEW_API, "AdmissionReview"):
        group, _, version = str(review.get("apiVersion") or "").rpartition("/")
        raise CallError(f"received invalid webhook response: expected webhook response of admission.k8s.io/v1, "
                        f"Kind=AdmissionReview, got {group}/{version}, Kind={review.get('kind') or ''}")
    if mutating:
        if response.get("patch") and response.get("patchType") is None:
            raise CallError("received invalid webhook response: webhook returned response.patch but not "
                            "response.patchType")
        if not response.get("patch") and response.get("patchType") is not None:
            raise CallError("received invalid webhook response: webhook returned response.patchType but not "
                            "response.patch")
        if response.get("patchType") == "":
            raise CallError('received invalid webhook response: webhook returned invalid response.patchType of ""')
    else:
        response = {k: v for k, v in response.items() if k not in ("patch", "patchType")}
    return response


def _denied(name: str, status: Any) -> ApiError:
    """``ToStatusErr``: the webhook's status, its message prefixed with who denied the request."""
    result = status if isinstance(status, dict) else {}
    denied_by = f'admission webhook "{name}" denied the request'
    if result.get("message"):
        message = f"{denied_by}: {result['message']}"
    elif result.get("reason"):
        message = f"{denied_by}: {result['reason']}"
    else:
        message = f"{denied_by} without explanation"
    given = result.get("code")
    code = given if isinstance(given, int) and given else 500
    reason = str(result.get("reason") or ("InternalError" if code == 500 else ""))
    details = result.get("details") if isinstance(result.get("details"), dict) else None
    return ApiError(code, reason, message, details)


def _internal(message: str) -> ApiError:
    text = f"Internal error occurred: {message}"
    return ApiError(500, "InternalError", text, {"causes": [{"message": message}]})


class WebhookDispatcher:
    """One admission plugin: the mutating or the validating webhook configurations."""

    def __init__(self, *, mutating: bool, backends: list[Backend] | None = None) -> None:
        self.mutating = mutating
        self.key = (WEBHOOK_GROUP, CONFIGS[1] if mutating else CONFIGS[0])
        self.backends = list(backends or [])

    def __call__(self, st: ClusterState, req: Request) -> None:
        if req.r.group == WEBHOOK_GROUP:
            return  # webhook configurations are never subject to webhooks (as in Kubernetes)
        with st.lock:  # every write asks: the bucket itself, not a lookup by name
            configs = list(st.objects.get(self.key, {}).values())
        if not configs:
            return
        start, longest = req.delay, 0.0
        try:
            for config in sorted(configs, key=lambda c: str(c["metadata"].get("name"))):
                for hook in config.get("webhooks") or []:
                    if isinstance(hook, dict) and _matches(st, hook, req):
                        before = req.delay
                        try:
                            self._call(st, hook, req)
                        finally:
                            if not self.mutating:  # validating webhooks are called in parallel
                                longest, req.delay = max(longest, req.delay - before), before
        finally:
            if not self.mutating:
                req.delay = start + longest

    def _call(self, st: ClusterState, hook: Obj, req: Request) -> None:
        name = str(hook.get("name") or "")
        if req.dry_run and hook.get("sideEffects") not in ("None", "NoneOnDryRun"):
            raise ApiError(400, "BadRequest", f'admission webhook "{name}" does not support dry run')
        try:
            response = self._response(st, hook, req)
        except CallError as e:
            if hook.get("failurePolicy") == "Ignore":
                return  # fails open
            raise _internal(f'failed calling webhook "{name}": {e}') from None
        req.warnings.extend(str(w) for w in response.get("warnings") or [])
        if not response.get("allowed"):
            raise _denied(name, response.get("status"))
        if self.mutating and response.get("patch"):
            self._patch(name, hook, req, response["patch"])

    def _response(self, st: ClusterState, hook: Obj, req: Request) -> Obj:
        cc = hook.get("clientConfig") or {}
        timeout = hook.get("timeoutSeconds")
        timeout = timeout if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0 else 10
        service = cc.get("service") if isinstance(cc.get("service"), dict) else None
        target = _service_url(service) if service is not None else str(cc.get("url") or "")
        post = f'Post "{target}?timeout={timeout}s"'
        if service is not None:
            ns, svc_name = str(service.get("namespace") or "default"), str(service.get("name") or "")
            svc = st.find("services", svc_name, ns)
            if svc is None:
                raise CallError(f'failed to call webhook: {post}: service "{svc_name}" not found')
            if not backend_ready(st, service):
                ip = (svc.get("spec") or {}).get("clusterIP") or "10.96.0.10"
                raise CallError(f"failed to call webhook: {post}: dial tcp {ip}:{service.get('port', 443)}: "
                                "connect: connection refused")
        uid = str(uuid.uuid4())
        review = _review(req, uid)
        backend = next((b for b in self.backends if b.serves(cc, req)), None)
        if backend is not None and backend.endpoint is None:
            spent = min(backend.latency, float(timeout))
            req.delay += spent
            if backend.latency >= timeout:
                raise CallError(f"failed to call webhook: {post}: context deadline exceeded")
            answer = backend.answer(uid)
        elif backend is not None and backend.endpoint is not None and service is not None:
            server_name = f"{service.get('name')}.{service.get('namespace') or 'default'}.svc"
            answer = _post(backend.endpoint.rstrip("/") + str(service.get("path") or "/"), post, review, timeout,
                           cc.get("caBundle"), server_name)
        elif service is None and _loopback(urlsplit(target).hostname or ""):
            answer = _post(target, post, review, timeout, cc.get("caBundle"), None)
        else:
            return {"uid": uid, "allowed": True}  # nothing declared to answer otherwise: it admits
        return _verify(uid, self.mutating, answer)

    def _patch(self, name: str, hook: Obj, req: Request, patch: Any) -> None:
        try:
            ops = json.loads(base64.b64decode(str(patch), validate=True))
        except (binascii.Error, ValueError) as e:
            if hook.get("failurePolicy") == "Ignore":
                return
            raise _internal(f'failed calling webhook "{name}": received undecodable patch in webhook response: '
                            f"{e}") from None
        if not ops:
            return
        if req.obj is None:
            raise _internal(f'admission webhook "{name}" attempted to modify the object, which is not supported '
                            "for this operation")
        try:
            patched = json_patch(copy_json(req.obj), ops)
        except PatchError as e:
            raise _internal(str(e)) from None
        if not isinstance(patched, dict):
            raise _internal("the patched object is not an object")
        req.obj, req.mutated = patched, True
