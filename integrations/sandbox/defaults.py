"""Defaulting, as the API server's SetDefaults_* functions and admission fill objects in.

Applied wherever the API server decodes an object: creates, client replacements and patch
results (before validation), and scenario seeds (what the server would have stored), so
responses and reads carry what a real server would show: a Service's ClusterIP and port
protocols, a Deployment's strategy and history limit, a Pod's restart, DNS and pull policies,
a Secret's type, a Namespace's phase and name label, an HPA's minReplicas and CPU metric, a
Job's generated selector. One function per kind, in one table. Every function only fills
what is missing, so defaulting an already defaulted object changes nothing.
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


def _replicationcontroller(obj: Obj) -> None:
    """SetDefaults_ReplicationController: the selector and the labels default to the template's labels."""
    spec = obj.get("spec")
    tmpl = spec.get("template") if isinstance(spec, dict) else None
    labels = (tmpl.get("metadata") or {}).get("labels") if isinstance(tmpl, dict) else None
    if isinstance(labels, dict) and labels and isinstance(spec, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(labels)
    _replicated(obj)


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
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1  # neither: one pod to one completion; parallelism alone: a work queue
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template(obj)
    obj.setdefault("status", {})


def job_selector(obj: Obj) -> None:
    """The Job strategy's generated selector (unless ``spec.manualSelector``), once the uid is
    known: the template gets the job-name and controller-uid labels (both spellings), the
    selector matches ``batch.kubernetes.io/controller-uid``."""
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return
    meta = tmpl.setdefault("metadata", {})
    labels = meta.setdefault("labels", {}) if isinstance(meta, dict) else None
    if not isinstance(labels, dict):
        return
    name, uid = str(obj["metadata"].get("name", "")), str(obj["metadata"].get("uid", ""))
    for k in ("job-name", "batch.kubernetes.io/job-name"):
        labels.setdefault(k, name)
    for k in ("controller-uid", "batch.kubernetes.io/controller-uid"):
        labels.setdefault(k, uid)
    sel = spec.setdefault("selector", {})
    if isinstance(sel, dict):
        match = sel.setdefault("matchLabels", {})
        if isinstance(match, dict):
            match.setdefault("batch.kubernetes.io/controller-uid", uid)
    if not obj["metadata"].get("labels"):  # SetDefaults_Job, as a read from storage defaults it again
        obj["metadata"]["labels"] = dict(labels)


def _cronjob(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    _template(obj, ("spec", "jobTemplate", "spec", "template"))
    obj.setdefault("status", {})


def _hpa(obj: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): minReplicas 1, CPU at 80% when no
    metric is given (an autoscaling/v1 object, targetCPUUtilizationPercentage, keeps its own)."""
    obj.setdefault("status", {"desiredReplicas": 0})  # desiredReplicas is not omitempty
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics") and "targetCPUUtilizationPercentage" not in spec:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):  # a given behavior gets every rule it leaves out
        up = behavior.setdefault("scaleUp", {})
        if isinstance(up, dict):
            up.setdefault("stabilizationWindowSeconds", 0)
            up.setdefault("selectPolicy", "Max")
            up.setdefault("policies", [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                       {"type": "Percent", "value": 100, "periodSeconds": 15}])
        down = behavior.setdefault("scaleDown", {})
        if isinstance(down, dict):
            down.setdefault("stabilizationWindowSeconds", 300)
            down.setdefault("selectPolicy", "Max")
            down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


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
    ("", "replicationcontrollers"): _replicationcontroller,
    ("", "podtemplates"): lambda o: _template(o, ("template",)),
    ("apps", "deployments"): _deployment,
    ("apps", "replicasets"): _replicated,
    ("apps", "daemonsets"): _daemonset,
    ("apps", "statefulsets"): _statefulset,
    ("batch", "jobs"): _job,
    ("batch", "cronjobs"): _cronjob,
    ("autoscaling", "horizontalpodautoscalers"): _hpa,
    ("storage.k8s.io", "storageclasses"): _storageclass,
}


def zero_nulls(obj: Obj) -> None:
    """``spec: null`` / ``status: null`` read as the empty struct, as the API server's decoder reads
    a JSON null into a Go struct (a fuzzed seed's null spec crashed the node lifecycle)."""
    for field in ("spec", "status"):
        if field in obj and obj[field] is None:
            obj[field] = {}


def apply(key: tuple[str, str], obj: Obj, allocate_ip: Callable[[], str]) -> None:
    """Fill in ``obj`` (a resource identified by (group, plural)) in place."""
    zero_nulls(obj)
    if key == ("", "services"):
        service(obj, allocate_ip)
        return
    fn = DEFAULTS.get(key)
    if fn is not None:
        fn(obj)
