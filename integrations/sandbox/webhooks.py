"""Admission webhooks as the API server calls them, for the dead-backend incident.

With the ``admissionWebhooks`` behaviour, every create (through the API or by a simulated
controller) is matched against the validating and mutating webhook configurations: a webhook
whose ``rules`` cover the resource and operation, whose ``namespaceSelector`` and
``objectSelector`` match, is called. The call reaches the webhook's Service when a Running,
Ready pod matches the Service's selector in its namespace (what the endpoints controller would
publish); otherwise the call fails with "connection refused", and with ``failurePolicy: Fail``
(the v1 default) the create is refused with the API server's 500 InternalError message. A
webhook given by ``clientConfig.url`` is taken to answer (it is outside the cluster). A
reachable webhook admits everything: the backends' own policy is not simulated.
"""

from __future__ import annotations

from typing import Any

from .budgets import pod_ready
from .resources import Resource
from .selectors import selector_object_matcher
from .store import ApiError, ClusterState, Obj

CONFIGS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
WEBHOOK_GROUP = "admissionregistration.k8s.io"


def _covers(rule: Any, r: Resource, operation: str) -> bool:
    if not isinstance(rule, dict):
        return False
    ops = rule.get("operations") or []
    groups = rule.get("apiGroups") or []
    versions = rule.get("apiVersions") or []
    resources = rule.get("resources") or []
    scope = rule.get("scope") or "*"
    return (("*" in ops or operation in ops) and ("*" in groups or r.group in groups)
            and ("*" in versions or any(v in versions for v in r.versions))
            and ("*" in resources or r.plural in resources or f"{r.plural}/*" in resources)
            and (scope == "*" or (scope == "Namespaced") == r.namespaced))


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    if selector is None or selector == {}:
        return True
    return selector_object_matcher(selector)({"metadata": {"labels": labels}})


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


def _url(service: dict[str, Any]) -> str:
    path = service.get("path") or "/"
    return f"https://{service.get('name')}.{service.get('namespace', 'default')}.svc:{service.get('port', 443)}{path}"


def admit(st: ClusterState, r: Resource, obj: Obj, dry_run: bool = False, operation: str = "CREATE") -> None:
    """Raise the API server's error when a failing webhook refuses this request.

    A dry run is sent only to webhooks declaring ``sideEffects: None`` or ``NoneOnDryRun``; one
    with ``Some`` or ``Unknown`` refuses it (400), as the API server does, since calling it could
    have effects the dry run promised not to have."""
    if r.group == WEBHOOK_GROUP:
        return  # webhook configurations are never subject to webhooks (as in Kubernetes)
    meta = obj.get("metadata") or {}
    ns_labels: dict[str, str] = {}
    if r.namespaced:
        ns_obj = st.find("namespaces", str(meta.get("namespace") or "default"))
        ns_labels = dict(((ns_obj or {}).get("metadata") or {}).get("labels") or {})
        ns_labels.setdefault("kubernetes.io/metadata.name", str(meta.get("namespace") or "default"))
    labels = dict(meta.get("labels") or {})
    for plural in CONFIGS:
        for config in st.list(f"{plural}.{WEBHOOK_GROUP}"):
            for hook in config.get("webhooks") or []:
                if not isinstance(hook, dict):
                    continue
                if not any(_covers(rule, r, operation) for rule in hook.get("rules") or []):
                    continue
                if r.namespaced and not _selects(hook.get("namespaceSelector"), ns_labels):
                    continue
                if not _selects(hook.get("objectSelector"), labels):
                    continue
                if dry_run and hook.get("sideEffects") not in ("None", "NoneOnDryRun"):
                    raise ApiError(400, "BadRequest", f'admission webhook "{hook.get("name")}" does not support '
                                   "dry run")
                service = (hook.get("clientConfig") or {}).get("service")
                if service is None or backend_ready(st, service):
                    continue
                if (hook.get("failurePolicy") or "Fail") != "Fail":
                    continue
                raise ApiError(500, "InternalError", (
                    f'Internal error occurred: failed calling webhook "{hook.get("name")}": failed to call '
                    f'webhook: Post "{_url(service)}?timeout={hook.get("timeoutSeconds", 10)}s": dial tcp '
                    f"10.96.0.10:{service.get('port', 443)}: connect: connection refused"))
