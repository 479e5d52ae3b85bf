"""ServiceAccount tokens: the TokenRequest API (``POST .../serviceaccounts/NAME/token``, what
``kubectl create token`` calls) and the authenticator that accepts what it issues.

As the API server does (pkg/registry/core/serviceaccount/storage/token.go, pkg/serviceaccount):
``spec.expirationSeconds`` defaults to 3600 and may not be under 600 (10 minutes) or over 2^32;
``spec.audiences`` defaults to the API server's own audience; a ``boundObjectRef`` (a Pod, a
Secret or a Node) must exist (a Pod must run as that ServiceAccount, a given uid must match) and
the token dies with it. The token is a JWT with the real claims (``iss``, ``sub``
``system:serviceaccount:NS:NAME``, ``aud``, ``exp``, ``iat``, ``nbf``, ``jti``,
``kubernetes.io``); it authenticates as that user with the groups ``system:serviceaccounts``,
``system:serviceaccounts:NS`` and ``system:authenticated`` and the credential-id extra, while it
is in date, names the API server among its audiences, and its ServiceAccount (same uid) and bound
object still exist. Signed HS256 with a key per cluster (the real one signs RS256 with the
service-account key; clients never verify it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
import weakref
from typing import Any

from .nodelife import iso
from .rbac import AUTHENTICATED, Identity
from .store import ApiError, ClusterState, Obj

API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"  # --api-audiences defaults to the issuer
ISSUER = API_AUDIENCE
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
MAX_SECONDS = 1 << 32
_KEYS: dict[int, bytes] = {}  # id(cluster state) -> its signing key, dropped with the state
_BOUND = {"Pod": "pods", "Secret": "secrets", "Node": "nodes"}


def _key(st: ClusterState) -> bytes:
    key = _KEYS.get(id(st))
    if key is None:
        key = _KEYS[id(st)] = secrets.token_bytes(32)
        weakref.finalize(st, _KEYS.pop, id(st), None)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(causes: list[str]) -> ApiError:
    text = causes[0] if len(causes) == 1 else "[" + ", ".join(causes) + "]"
    return ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "" is invalid: {text}',
                    {"group": "authentication.k8s.io", "kind": "TokenRequest", "causes": [
                        {"reason": "FieldValueInvalid", "message": c.split(": ", 1)[1], "field": c.split(":", 1)[0]}
                        for c in causes]})


def request(st: ClusterState, namespace: str, name: str, body: Any) -> Obj:
    """The TokenRequest the API server answers (201) for ServiceAccount ``namespace/name``."""
    if not isinstance(body, dict) or body.get("kind") not in (None, "TokenRequest"):
        raise ApiError(400, "BadRequest", "the request body must be a TokenRequest")
    spec: Obj = body["spec"] if isinstance(body.get("spec"), dict) else {}
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_SECONDS if seconds is None else seconds
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise ApiError(400, "BadRequest", "spec.expirationSeconds must be an integer")
    causes = []
    if seconds < MIN_SECONDS:
        causes.append(f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than "
                      "10 minutes")
    if seconds > MAX_SECONDS:
        causes.append(f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration larger than "
                      "2^32 seconds")
    if causes:
        raise _invalid(causes)
    audiences = [str(a) for a in spec.get("audiences") or []] or [API_AUDIENCE]
    sa = st.get("serviceaccounts", name, namespace)
    private: Obj = {"namespace": namespace, "serviceaccount": {"name": name, "uid": sa["metadata"]["uid"]}}
    ref = spec.get("boundObjectRef")
    bound = None
    if isinstance(ref, dict):
        kind, api = str(ref.get("kind") or ""), str(ref.get("apiVersion") or "v1")
        if kind not in _BOUND or api != "v1":
            group = api.rpartition("/")[0]
            raise ApiError(400, "BadRequest", f"cannot bind token to object of type {api.rpartition('/')[2]}, "
                           f"Kind={kind}" if not group else f"cannot bind token to object of type {group}/"
                           f"{api.rpartition('/')[2]}, Kind={kind}")
        obj = st.get(_BOUND[kind], str(ref.get("name") or ""), namespace if kind != "Node" else None)
        if kind == "Pod" and (obj.get("spec") or {}).get("serviceAccountName", "default") != name:
            raise ApiError(400, "BadRequest", f'cannot bind token for serviceaccount "{name}" to pod running with '
                           "different serviceaccount name.")
        uid = obj["metadata"]["uid"]
        if ref.get("uid") and ref["uid"] != uid:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{obj["metadata"]["name"]}": '
                           f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record "
                           f"({uid}). The object might have been deleted and then recreated",
                           {"name": obj["metadata"]["name"], "kind": kind})
        private[kind.lower()] = {"name": obj["metadata"]["name"], "uid": uid}
        if kind == "Pod" and (obj.get("spec") or {}).get("nodeName"):
            node = st.find("nodes", str(obj["spec"]["nodeName"]))
            if node is not None:
                private["node"] = {"name": node["metadata"]["name"], "uid": node["metadata"]["uid"]}
        bound = {"kind": kind, "apiVersion": "v1", "name": obj["metadata"]["name"], "uid": uid}
    now = int(time.time())
    claims = {"aud": audiences, "exp": now + seconds, "iat": now, "iss": ISSUER, "jti": str(uuid.uuid4()),
              "kubernetes.io": private, "nbf": now, "sub": f"system:serviceaccount:{namespace}:{name}"}
    head = _b64(json.dumps({"alg": "HS256", "kid": hashlib.sha256(_key(st)).hexdigest()[:16]}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64(hmac.new(_key(st), f"{head}.{payload}".encode(), hashlib.sha256).digest())
    out_spec: Obj = {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": bound}
    meta = dict(body.get("metadata") or {}) if isinstance(body.get("metadata"), dict) else {}
    meta.setdefault("name", name)
    meta.setdefault("namespace", namespace)
    meta.setdefault("creationTimestamp", None)
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": meta, "spec": out_spec,
            "status": {"token": f"{head}.{payload}.{sig}", "expirationTimestamp": iso(now + seconds)}}


def authenticate(st: ClusterState, authorization: str) -> Identity | None:
    """The ServiceAccount a bearer token this cluster issued stands for, or None (401)."""
    if not authorization.startswith("Bearer "):
        return None
    parts = authorization[len("Bearer "):].strip().split(".")
    if len(parts) != 3:
        return None
    mac = _b64(hmac.new(_key(st), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, parts[2]):
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("iss") != ISSUER or API_AUDIENCE not in (claims.get("aud") or []):
        return None  # a token for another audience (vault, a webhook) is not one for the API server
    now = time.time()
    if not claims.get("exp", 0) > now >= claims.get("nbf", 0) - 60:
        return None
    private = claims.get("kubernetes.io") or {}
    ns, sa_ref = str(private.get("namespace") or ""), private.get("serviceaccount") or {}
    sa = st.find("serviceaccounts", str(sa_ref.get("name") or ""), ns)
    if sa is None or sa["metadata"]["uid"] != sa_ref.get("uid"):
        return None  # the ServiceAccount was deleted (or recreated): its tokens die with it
    extra: dict[str, tuple[str, ...]] = {"authentication.kubernetes.io/credential-id": (f"JTI={claims.get('jti')}",)}
    for kind, plural in _BOUND.items():
        ref = private.get(kind.lower())
        if not isinstance(ref, dict) or (kind == "Node" and "pod" in private):
            continue
        obj = st.find(plural, str(ref.get("name") or ""), ns if kind != "Node" else None)
        if obj is None or obj["metadata"]["uid"] != ref.get("uid"):
            return None  # a bound token dies with its object
        if kind in ("Pod", "Node"):
            extra[f"authentication.kubernetes.io/{kind.lower()}-name"] = (str(ref.get("name")),)
            extra[f"authentication.kubernetes.io/{kind.lower()}-uid"] = (str(ref.get("uid")),)
    if "pod" in private and isinstance(private.get("node"), dict):
        extra["authentication.kubernetes.io/node-name"] = (str(private["node"].get("name")),)
        extra["authentication.kubernetes.io/node-uid"] = (str(private["node"].get("uid")),)
    return Identity(str(claims.get("sub")), ("system:serviceaccounts", f"system:serviceaccounts:{ns}", AUTHENTICATED),
                    str(sa_ref.get("uid") or ""), extra)
