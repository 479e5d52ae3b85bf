"""Who is asking, and may they: authentication, RBAC and impersonation as the API server does them.

Authentication: the sandbox's own admin token (user ``sandbox-admin`` in ``system:masters``), the
scenario's ``users:`` with a bearer token, a client certificate signed by the sandbox's client CA
(CN = user, O = groups, as the x509 authenticator reads them), or a short-lived token that an exec
credential plugin mints (HMAC-signed, ``user.expiry.mac``; expired tokens answer 401 so clients
re-run the plugin), or an OIDC id-token (a JWT the sandbox signs itself, HS256, written into the
kubeconfig's ``auth-provider: oidc``), checked as the API server's OIDC authenticator configured with
``--oidc-issuer-url=OIDC_ISSUER --oidc-client-id=OIDC_CLIENT_ID --oidc-username-claim=sub
--oidc-username-prefix=- --oidc-groups-claim=groups`` checks it: signature, ``iss``, ``aud``,
``exp``; or a ServiceAccount token from the TokenRequest API (``tokens.py``). Every authenticated
user is in ``system:authenticated``; a request with no credentials at all is ``system:anonymous``
in ``system:unauthenticated`` (anonymous auth is on, as in kubeadm clusters), a wrong one is 401.

Authorization follows the RBAC authorizer (``plugin/pkg/auth/authorizer/rbac``): ClusterRoleBindings
grant their ClusterRole everywhere, RoleBindings grant a Role or ClusterRole in their namespace;
rules match verbs, API groups, resources (``*``, ``resource/subresource``, ``*/subresource``),
resourceNames and nonResourceURLs (``*`` suffix). ``system:masters`` may do everything (the
privileged-group authorizer). The bootstrap roles are built in rather than stored:
``system:basic-user`` (self access and rules reviews, SelfSubjectReview) and ``system:discovery``
for every authenticated user, ``system:public-info-viewer`` (``/healthz``, ``/livez``,
``/readyz``, ``/version``) for anonymous ones too, and ``system:monitoring`` (``/metrics`` and the
individual checks ``/readyz/*``...) for the ``system:monitoring`` group, so ``/metrics`` needs
that group, cluster-admin or a rule of one's own. Aggregated ClusterRoles are not evaluated.

Denials answer 403 with the real message (``responsewriters.forbiddenMessage`` wrapped in
``NewForbidden``); impersonation headers need the ``impersonate`` verb on ``users``, ``groups``,
``serviceaccounts`` or ``uids`` (``authentication.k8s.io``), as the impersonation filter checks them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .store import ApiError, ClusterState, Obj

ADMIN = "sandbox-admin"
OIDC_ISSUER = "https://oidc.sandbox.invalid"  # never contacted: an id-token in date needs no issuer
OIDC_CLIENT_ID = "mitigate-sandbox"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
MONITORING = "system:monitoring"

# The bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy), evaluated without being
# stored: what every authenticated user gets (system:basic-user, system:discovery,
# system:public-info-viewer), what anonymous requests get (system:public-info-viewer), and
# system:monitoring (the metrics and the individual health checks) for the system:monitoring group.
_PUBLIC_INFO: Obj = {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}
_BASIC_RULES: tuple[Obj, ...] = (
    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
     "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                         "/readyz", "/version", "/version/"], "verbs": ["get"]},
)
_MONITORING_RULES: tuple[Obj, ...] = (
    {"nonResourceURLs": ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz",
                         "/readyz/*"], "verbs": ["get"]},
)

GROUP = "rbac.authorization.k8s.io"

@dataclass(frozen=True)
class Identity:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def masters(self) -> bool:
        return MASTERS in self.groups

    def user_info(self) -> Obj:
        info: Obj = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = {k: list(v) for k, v in self.extra.items()}
        return info


ANONYMOUS = Identity("system:anonymous", (UNAUTHENTICATED,))  # a request without credentials


@dataclass(frozen=True)
class Attributes:
    """What a request asks (``authorizer.Attributes``)."""

    verb: str
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # for non-resource requests

    @property
    def resource_request(self) -> bool:
        return bool(self.resource)


# ----------------------------------------------------------------------------- authorization


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def _resource_matches(rule: Obj, attrs: Attributes) -> bool:
    combined = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    for res in rule.get("resources") or []:
        if res == "*" or res == combined:
            return True
        if attrs.subresource and res == f"*/{attrs.subresource}":
            return True
    return False


def _path_matches(rule: Obj, path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(rule: Obj, attrs: Attributes) -> bool:
    if not _matches(rule.get("verbs") or [], attrs.verb):
        return False
    if not attrs.resource_request:
        return _path_matches(rule, attrs.path)
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    names = rule.get("resourceNames") or []
    return (_matches(rule.get("apiGroups") or [], attrs.group) and _resource_matches(rule, attrs)
            and (not names or attrs.name in names))


def _subject_matches(subject: Obj, who: Identity, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == who.name
    if kind == "Group":
        return subject.get("name") in who.groups
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return who.name == f"system:serviceaccount:{ns}:{subject.get('name')}"
    return False


def role_rules(state: ClusterState, ref: Obj, namespace: str) -> list[Obj]:
    kind, name = ref.get("kind"), str(ref.get("name") or "")
    try:
        role = (state.get("clusterroles", name) if kind == "ClusterRole"
                else state.get("roles", name, namespace) if kind == "Role" else None)
    except ApiError:
        return []
    return [r for r in (role or {}).get("rules") or [] if isinstance(r, dict)]


@dataclass(frozen=True)
class Grant:
    """Rules one binding gives a user, and where (``namespace`` "" = everywhere)."""

    binding: str
    role: str
    namespace: str
    rules: tuple[Obj, ...]


def grants(state: ClusterState, who: Identity) -> list[Grant]:
    """Every grant that applies to ``who``, the built-in bootstrap rules first."""
    if AUTHENTICATED in who.groups:
        found = [Grant('ClusterRoleBinding "system:basic-user"', 'ClusterRole "system:basic-user"', "", _BASIC_RULES)]
    else:
        found = [Grant('ClusterRoleBinding "system:public-info-viewer"', 'ClusterRole "system:public-info-viewer"',
                       "", (_PUBLIC_INFO,))]
    if MONITORING in who.groups:
        found.append(Grant('ClusterRoleBinding "system:monitoring"', 'ClusterRole "system:monitoring"', "",
                           _MONITORING_RULES))
    for b in state.list("clusterrolebindings"):
        if any(_subject_matches(s, who, "") for s in b.get("subjects") or [] if isinstance(s, dict)):
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                found.append(Grant(f'ClusterRoleBinding "{b["metadata"]["name"]}"', f'ClusterRole "{ref.get("name")}"',
                                   "", tuple(role_rules(state, ref, ""))))
    for b in state.list("rolebindings"):
        ns = b["metadata"].get("namespace", "")
        if any(_subject_matches(s, who, ns) for s in b.get("subjects") or [] if isinstance(s, dict)):
            ref = b.get("roleRef") or {}
            found.append(Grant(f'RoleBinding "{b["metadata"]["name"]}" of namespace "{ns}"',
                               f'{ref.get("kind")} "{ref.get("name")}"', ns, tuple(role_rules(state, ref, ns))))
    return found


def authorize(state: ClusterState, who: Identity, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) as the RBAC authorizer answers, with the privileged group first."""
    if who.masters:
        return True, ""
    for grant in grants(state, who):
        if grant.namespace and grant.namespace != attrs.namespace:
            continue
        if any(rule_allows(rule, attrs) for rule in grant.rules):
            return True, f"RBAC: allowed by {grant.binding} of {grant.role} to User \"{who.name}\""
    return False, ""


def forbidden(attrs: Attributes, who: Identity, reason: str = "") -> ApiError:
    """The API server's 403 for a denied request."""
    if not attrs.resource_request:
        msg = f'User "{who.name}" cannot {attrs.verb} path "{attrs.path}"'
        text = f"forbidden: {msg}" + (f": {reason}" if reason else "")
        return ApiError(403, "Forbidden", text, {})
    resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    where = (f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope")
    msg = f'User "{who.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {where}'
    if reason:
        msg += f": {reason}"
    qualified = attrs.resource + (f".{attrs.group}" if attrs.group else "")
    text = f'{qualified} "{attrs.name}" is forbidden: {msg}' if attrs.name else f"{qualified} is forbidden: {msg}"
    details: Obj = {"group": attrs.group, "kind": attrs.resource}
    if attrs.name:
        details = {"name": attrs.name, **details}
    return ApiError(403, "Forbidden", text, details)


def check(state: ClusterState, who: Identity, attrs: Attributes) -> None:
    allowed, _ = authorize(state, who, attrs)
    if not allowed:
        raise forbidden(attrs, who)


def impersonate(state: ClusterState, requester: Identity, headers: Mapping[str, str],
                group_headers: list[str]) -> Identity:
    """The identity a request acts as: itself, or whom its ``Impersonate-*`` headers name (each checked)."""
    user = headers.get("Impersonate-User", "")
    uid = headers.get("Impersonate-Uid", "")
    extra: dict[str, tuple[str, ...]] = {}
    for key, value in headers.items():
        if key.lower().startswith("impersonate-extra-"):
            extra.setdefault(key[len("Impersonate-Extra-"):].lower(), ())
            extra[key[len("Impersonate-Extra-"):].lower()] += (value,)
    if not user:
        if group_headers or uid or extra:
            raise ApiError(500, "InternalError", "requested impersonation of groups, uid or extra without a user")
        return requester
    if user.startswith("system:serviceaccount:"):
        _, _, ns, name = (user.split(":", 3) + ["", ""])[:4]
        check(state, requester, Attributes("impersonate", "", "v1", "serviceaccounts", namespace=ns, name=name))
    else:
        check(state, requester, Attributes("impersonate", "", "v1", "users", name=user))
    for group in group_headers:
        check(state, requester, Attributes("impersonate", "", "v1", "groups", name=group))
    if uid:
        check(state, requester, Attributes("impersonate", "authentication.k8s.io", "v1", "uids", name=uid))
    for key, values in extra.items():
        for value in values:
            check(state, requester, Attributes("impersonate", "authentication.k8s.io", "v1", f"userextras/{key}",
                                               name=value))
    groups = list(dict.fromkeys(group_headers))
    if user != "system:anonymous" and AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return Identity(user, tuple(groups), uid, extra)


# ----------------------------------------------------------------------------- reviews


def rules_review(state: ClusterState, who: Identity, namespace: str) -> Obj:
    """``SelfSubjectRulesReview`` status for a namespace."""
    if who.masters:
        return {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    resource, non_resource = [], []
    for grant in grants(state, who):
        if grant.namespace and grant.namespace != namespace:
            continue
        for rule in grant.rules:
            if rule.get("nonResourceURLs"):
                non_resource.append({"verbs": list(rule.get("verbs") or []),
                                     "nonResourceURLs": list(rule["nonResourceURLs"])})
            if rule.get("resources"):
                entry: Obj = {"verbs": list(rule.get("verbs") or []), "apiGroups": list(rule.get("apiGroups") or []),
                              "resources": list(rule["resources"])}
                if rule.get("resourceNames"):
                    entry["resourceNames"] = list(rule["resourceNames"])
                resource.append(entry)
    return {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": False}


def review(state: ClusterState, who: Identity, plural: str, body: Obj) -> Obj:
    """The status of a self-review (access, rules, who-am-I), answered from the rules."""
    spec = body.get("spec") or {}
    if plural == "selfsubjectaccessreviews":
        ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if isinstance(ra, dict):
            attrs = Attributes(str(ra.get("verb") or ""), str(ra.get("group") or ""), str(ra.get("version") or ""),
                               str(ra.get("resource") or ""), str(ra.get("subresource") or ""),
                               str(ra.get("namespace") or ""), str(ra.get("name") or ""))
        elif isinstance(nra, dict):
            attrs = Attributes(str(nra.get("verb") or ""), path=str(nra.get("path") or ""))
        else:
            raise ApiError(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: "
                           "[spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                           "nonResourceAttributes or resourceAttributes must be specified]")
        allowed, reason = authorize(state, who, attrs)
        return {"allowed": allowed, **({"reason": reason} if reason else {})}
    if plural == "selfsubjectrulesreviews":
        return rules_review(state, who, str(spec.get("namespace") or ""))
    return {"userInfo": who.user_info()}


# ----------------------------------------------------------------------------- users and credentials


@dataclass(frozen=True)
class UserEntry:
    """A scenario user as the kubeconfig gets it."""

    name: str
    groups: tuple[str, ...]
    auth: str  # token | cert | exec
    token: str = ""
    cert_pem: bytes = b""
    key_pem: bytes = b""
    lifetime: float = 0.0


class Directory:
    """The sandbox's users: who each credential belongs to."""

    def __init__(self, admin_token: str, users: Iterable[Mapping[str, Any]] = ()) -> None:
        self.admin_token = admin_token
        self._secret = secrets.token_bytes(32)  # signs exec-plugin tokens
        self._tokens: dict[str, Identity] = {admin_token: Identity(ADMIN, (MASTERS, AUTHENTICATED))}
        self.ca_cert, self._ca_key = _client_ca()
        self.entries: list[UserEntry] = []
        self._exec_groups: dict[str, tuple[str, ...]] = {}
        self._oidc_users: set[str] = set()
        for spec in users:
            name = str(spec["name"])
            groups = tuple(str(g) for g in spec.get("groups") or ())
            auth = str(spec.get("auth") or "token")
            if auth == "token":
                token = secrets.token_urlsafe(24)
                self._tokens[token] = Identity(name, (*groups, AUTHENTICATED))
                self.entries.append(UserEntry(name, groups, auth, token=token))
            elif auth == "cert":
                cert, key = _client_cert(self.ca_cert, self._ca_key, name, groups)
                self.entries.append(UserEntry(name, groups, auth, cert_pem=cert, key_pem=key))
            elif auth == "exec":
                self._exec_groups[name] = groups
                self.entries.append(UserEntry(name, groups, auth, lifetime=float(spec.get("tokenSeconds") or 60)))
            elif auth == "oidc":
                self._oidc_users.add(name)
                token = self.mint_id_token(name, groups, float(spec.get("tokenSeconds") or 3600))
                self.entries.append(UserEntry(name, groups, auth, token=token))
            else:
                raise ValueError(f"user {name!r}: auth must be token, cert, exec or oidc")

    def mint(self, user: str, lifetime: float) -> tuple[str, float]:
        """A token for an exec-plugin user, valid ``lifetime`` seconds: ``(token, expiry epoch)``."""
        expiry = time.time() + lifetime
        payload = f"{base64.urlsafe_b64encode(user.encode()).decode()}.{int(expiry * 1000)}"
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"exec.{payload}.{mac}", expiry

    def mint_id_token(self, user: str, groups: Iterable[str], lifetime: float) -> str:
        """An OIDC id-token (JWT, HS256) for ``user``, valid ``lifetime`` seconds (negative: expired)."""
        now = int(time.time())
        claims = {"iss": OIDC_ISSUER, "aud": OIDC_CLIENT_ID, "sub": user, "groups": list(groups), "iat": now,
                  "exp": now + int(lifetime)}
        head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims).encode())
        mac = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64url(mac)}"

    def authenticate(self, authorization: str, peer_cert: Any) -> Identity | None:
        """The identity of a request, or None (401)."""
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer "):].strip()
            known = self._tokens.get(token)
            if known is not None:
                return known
            if token.count(".") == 2:
                return self._oidc_identity(token)
            return self._exec_identity(token)
        if peer_cert:
            subject = dict(x[0] for x in peer_cert.get("subject", ()))
            cn = subject.get("commonName")
            if cn:
                groups = tuple(v for rdn in peer_cert.get("subject", ()) for k, v in rdn
                               if k == "organizationName")
                return Identity(str(cn), (*groups, AUTHENTICATED))
        return None

    def _exec_identity(self, token: str) -> Identity | None:
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != "exec":
            return None
        payload = f"{parts[1]}.{parts[2]}"
        mac = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(mac, parts[3]):
            return None
        try:
            user = base64.urlsafe_b64decode(parts[1]).decode()
            expiry = int(parts[2]) / 1000
        except ValueError:
            return None
        if expiry < time.time() or user not in self._exec_groups:
            return None  # expired: 401, and the client runs its plugin again
        return Identity(user, (*self._exec_groups[user], AUTHENTICATED))

    def _oidc_identity(self, token: str) -> Identity | None:
        head, body, sig = token.split(".")
        mac = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_b64url(mac), sig) or json.loads(_unb64url(head)).get("alg") != "HS256":
                return None
            claims = json.loads(_unb64url(body))
        except (ValueError, AttributeError):
            return None
        if not isinstance(claims, dict) or claims.get("iss") != OIDC_ISSUER:
            return None
        aud = claims.get("aud")
        if OIDC_CLIENT_ID not in (aud if isinstance(aud, list) else [aud]):
            return None
        exp, sub = claims.get("exp"), claims.get("sub")
        if not isinstance(exp, (int, float)) or exp <= time.time() or sub not in self._oidc_users:
            return None  # expired or unknown: 401
        groups = tuple(str(g) for g in claims.get("groups") or [] if isinstance(g, str))
        return Identity(str(sub), (*groups, AUTHENTICATED))

    def write_exec_plugin(self, folder: Path, entry: UserEntry) -> Path:
        """A credential plugin (a Python script, 0700) that prints a fresh ExecCredential each run."""
        token_secret = base64.b64encode(self._secret).decode()
        path = folder / f"exec-credential-{entry.name}.py"
        name_b64 = base64.urlsafe_b64encode(entry.name.encode()).decode()
        path.write_text(_PLUGIN.format(python=sys.executable, secret=token_secret, user=name_b64,
                                       lifetime=entry.lifetime), encoding="utf-8")
        os.chmod(path, stat.S_IRWXU)
        return path

    def kubeconfig_users(self, folder: Path) -> list[Obj]:
        """``users:`` entries of the generated kubeconfig, one per scenario user."""
        out: list[Obj] = []
        for entry in self.entries:
            if entry.auth == "token":
                out.append({"name": entry.name, "user": {"token": entry.token}})
            elif entry.auth == "cert":
                out.append({"name": entry.name, "user": {
                    "client-certificate-data": base64.b64encode(entry.cert_pem).decode(),
                    "client-key-data": base64.b64encode(entry.key_pem).decode()}})
            elif entry.auth == "oidc":
                out.append({"name": entry.name, "user": {"auth-provider": {"name": "oidc", "config": {
                    "client-id": OIDC_CLIENT_ID, "idp-issuer-url": OIDC_ISSUER, "id-token": entry.token}}}})
            else:
                plugin = self.write_exec_plugin(folder, entry)
                out.append({"name": entry.name, "user": {"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "args": [],
                    "interactiveMode": "Never", "provideClusterInfo": False}}})
        return out


_PLUGIN = '''#!{python}
"""mitigate sandbox: an exec credential plugin that mints a short-lived token for one user."""
import base64, hashlib, hmac, json, time
secret = base64.b64decode("{secret}")
expiry = time.time() + {lifetime}
payload = "{user}." + str(int(expiry * 1000))
mac = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": "exec." + payload + "." + mac,
                             "expirationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry))}}}}))
'''


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _client_ca() -> tuple[bytes, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mitigate-sandbox-client-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), key


def _client_cert(ca_pem: bytes, ca_key: Any, user: str, groups: tuple[str, ...]) -> tuple[bytes, bytes]:
    ca = x509.load_pem_x509_certificate(ca_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user),
                         *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
