"""Defaulting, as the API server's SetDefaults_* functions and admission fill objects in.

Applied to every object created through the store, before validation, so responses and
reads carry what a real server would show: a Service's ClusterIP and port protocols, a
Deployment's strategy and history limit, a Pod's restart, DNS and pull policies, a
Secret's type, a Namespace's phase and name label. One function per kind, in one table.
Not applied (yet) to replacements and patches, where the API server defaults again, nor to
scenario seeds: the drills' and adapters' tests compare those objects field for field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    image = str(c.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    if "imagePullPolicy" not in c:
        c["imagePullPolicy"] = "Always" if ("@" not in tag and (":" not in tag or tag.endswith(":latest"))) \
            else "IfNotPresent"
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


def pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for f in ("containers", "initContainers"):
        for c in spec.get(f) or []:
            _container(c)


def _template(obj: Obj, path: tuple[str, ...] = ("spec", "template")) -> None:
    cur: Any = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        pod_spec(cur.get("spec"))


def _pod(obj: Obj) -> None:
    spec = obj.get("spec")
    pod_spec(spec)
    if isinstance(spec, dict):  # the ServiceAccount admission plugin
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
    # status (phase Pending) is the simulated kubelet's to write: it starts pods that have no phase


def _deployment(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                ru = strategy.setdefault("rollingUpdate", {})
                if isinstance(ru, dict):
                    ru.setdefault("maxUnavailable", "25%")
                    ru.setdefault("maxSurge", "25%")
    _template(obj)
    obj.setdefault("status", {})


def _replicated(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
    _template(obj)
    obj.setdefault("status", {"replicas": 0})


def _daemonset(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate" and isinstance(strategy.setdefault("rollingUpdate", {}), dict):
                strategy["rollingUpdate"].setdefault("maxUnavailable", 1)
                strategy["rollingUpdate"].setdefault("maxSurge", 0)
    _template(obj)


def _statefulset(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate" and isinstance(strategy.setdefault("rollingUpdate", {}), dict):
                strategy["rollingUpdate"].setdefault("partition", 0)
    _template(obj)


def _job(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template(obj)
    obj.setdefault("status", {})


def _cronjob(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    _template(obj, ("spec", "jobTemplate", "spec", "template"))
    obj.setdefault("status", {})


def _secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")


def _namespace(obj: Obj) -> None:
    meta = obj["metadata"]
    labels = meta.get("labels")
    if labels is None or isinstance(labels, dict):
        meta["labels"] = dict(labels or {}, **{"kubernetes.io/metadata.name": str(meta.get("name", ""))})
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("finalizers", ["kubernetes"])
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Active")


def _storageclass(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


class ClusterIPs:
    """Allocates Service ClusterIPs from the sandbox's service CIDR (10.96.0.0/12)."""

    def __init__(self) -> None:
        self.net = ipaddress.ip_network("10.96.0.0/12")
        self.next = 10  # .1 is the kubernetes Service, as on kubeadm clusters

    def allocate(self, used: set[str]) -> str:
        while True:
            ip = str(self.net.network_address + self.next)
            self.next += 1
            if ip not in used:
                return ip


def service(obj: Obj, allocate: Callable[[], str]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocate()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "port" in p:
                p.setdefault("targetPort", p["port"])
    obj.setdefault("status", {"loadBalancer": {}})


def _webhooks(obj: Obj, mutating: bool) -> None:
    """``SetDefaults_ValidatingWebhook``/``MutatingWebhook`` (admissionregistration/v1)."""
    for hook in obj.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        hook.setdefault("namespaceSelector", {})
        hook.setdefault("objectSelector", {})
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")
        service = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service, dict):
            service.setdefault("port", 443)


DEFAULTS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): lambda o: _webhooks(o, False),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): lambda o: _webhooks(o, True),
    ("", "pods"): _pod,
    ("", "secrets"): _secret,
    ("", "namespaces"): _namespace,
    ("", "replicationcontrollers"): _replicated,
    ("", "podtemplates"): lambda o: _template(o, ("template",)),
    ("apps", "deployments"): _deployment,
    ("apps", "replicasets"): _replicated,
    ("apps", "daemonsets"): _daemonset,
    ("apps", "statefulsets"): _statefulset,
    ("batch", "jobs"): _job,
    ("batch", "cronjobs"): _cronjob,
    ("storage.k8s.io", "storageclasses"): _storageclass,
}


def apply(key: tuple[str, str], obj: Obj, allocate_ip: Callable[[], str]) -> None:
    """Fill in ``obj`` (a resource identified by (group, plural)) in place."""
    if key == ("", "services"):
        service(obj, allocate_ip)
        return
    fn = DEFAULTS.get(key)
    if fn is not None:
        fn(obj)
