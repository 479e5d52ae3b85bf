"""Scenario files: what a drill cluster contains, how it misbehaves, and when it is "mitigated".

A scenario is YAML (format in SCENARIOS.md) validated by pydantic models; every problem is
reported as a LocatedError pointing at the line and column in the file. Generators
build large fleets straight into the store without per-object copies, which is what lets
a 5,000-node / 50,000-pod cluster load in well under three seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.paths import drills_dir
from mitigate.yamlloc import Mark, load_yaml, located, sort_errors

from .faults import Fault
from .paths import PathError, parse_path
from .selectors import SelectorError, label_matcher
from .sim import quantity


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class _Pct(_M):
    @staticmethod
    def check_pct(v: int | str | None) -> int | str | None:
        if isinstance(v, str):
            try:
                pct = float(v.rstrip("%"))
            except ValueError:
                raise ValueError(f"expected a count or a percentage like '12%', got {v!r}") from None
            if not v.endswith("%") or not 0 <= pct <= 100:
                raise ValueError(f"expected a percentage between 0% and 100%, got {v!r}")
        return v


class MachineSetGen(_M):
    name: str
    namespace: str = "default"
    cluster_name: str = "sandbox"


class NodesGen(_Pct):
    count: int = Field(ge=0, le=100_000)
    name_prefix: str = "node-"
    not_ready: int | str = 0
    not_ready_reason: Literal["KubeletNotReady", "NodeStatusUnknown"] = "KubeletNotReady"
    not_ready_seconds: int = Field(default=0, ge=0, le=10_000_000,
                                   description="how long ago the NotReady nodes went NotReady; past the pods' "
                                               "toleration (300 s by default) their pods are already Terminating")
    unschedulable: int | str = 0
    labels: dict[str, str] = {}
    roles: list[str] = ["worker"]
    version: str = "v1.29.0"
    cpu: str = "8"
    memory: str = "32Gi"
    machine_set: MachineSetGen | None = None

    _pct = field_validator("not_ready", "unschedulable")(_Pct.check_pct)


class PodsGen(_Pct):
    count: int = Field(ge=0, le=1_000_000)
    namespace: str = "default"
    name_prefix: str = "pod-"
    labels: dict[str, str] = {}
    image: str = "registry.example/app:1.0"
    not_ready: int | str = 0
    not_ready_reason: Literal["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull",
                              "CreateContainerConfigError"] = "CrashLoopBackOff"
    restarts: int = Field(default=0, ge=0)
    nodes: str = Field(default="node-", description="spread over generated nodes with this name prefix")
    owner: Literal["ReplicaSet", "none"] = Field(
        default="ReplicaSet", description="the pods' controller (a ReplicaSet reference, not simulated), "
                                          "or none: bare pods, which kubectl drain refuses without --force")

    _pct = field_validator("not_ready")(_Pct.check_pct)


class _Managed(_M):
    """Who wrote the generated objects, as recorded in metadata.managedFields."""

    field_manager: str | None = None
    managed_at: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    operation: Literal["Update", "Apply"] = "Update"


class DeploymentsGen(_Managed):
    count: int = Field(ge=0, le=10_000)
    namespace: str = "default"
    name_prefix: str = "app-"
    replicas: int = Field(default=2, ge=0)
    image: str = "registry.example/app:1.0"
    labels: dict[str, str] = {}
    image_pull_secrets: list[str] = []


class CopiesGen(_Managed):
    count: int = Field(ge=0, le=100_000)
    name_prefix: str
    template: dict[str, Any]


class Generator(_M):
    nodes: NodesGen | None = None
    pods: PodsGen | None = None
    deployments: DeploymentsGen | None = None
    copies: CopiesGen | None = None

    @model_validator(mode="after")
    def _one(self) -> Generator:
        if sum(x is not None for x in (self.nodes, self.pods, self.deployments, self.copies)) != 1:
            raise ValueError("a generator has exactly one of: nodes, pods, deployments, copies")
        return self


class ObjectRef(_M):
    api_version: str
    kind: str
    namespace: str | None = None
    name: str | None = None
    names: list[str] = []
    selector: str | None = None


class ClientLoadSpec(_M):
    """Overloaded by the load its clients (the nodes' kubelets) generate, as APF lets it through."""

    per_gi: float = Field(gt=0, description="requests the API server absorbs per GiB of its memory limit")
    full_shares: int = Field(default=10, ge=1, description="a kubelet routed to a Limited level with fewer "
                                                           "nominalConcurrencyShares weighs shares/fullShares")


class OverloadSpec(_Pct):
    namespace: str = "kube-system"
    deployment: str = "kube-apiserver"
    container: str = ""
    memory_threshold: str = "8Gi"
    # overloaded by a DaemonSet's clients instead: while DaemonSet namespace/name runs more than
    # max_daemon_pods pods (its agents list the whole cluster), whatever the memory limit
    daemon_set: str | None = Field(default=None, pattern=r"^[a-z0-9-]+/[a-z0-9.-]+$")
    max_daemon_pods: int = Field(default=0, ge=0)
    client_load: ClientLoadSpec | None = None
    error_rate: float = Field(default=0.3, ge=0, le=1)
    restart_every_seconds: float = Field(default=2.0, gt=0)
    not_ready_nodes: int | str = 0

    _pct = field_validator("not_ready_nodes")(_Pct.check_pct)

    @field_validator("memory_threshold")
    @classmethod
    def _q(cls, v: str) -> str:
        try:
            quantity(v)
        except ValueError:
            raise ValueError(f"not a Kubernetes quantity: {v!r}") from None
        return v


class IngressSpec(_M):
    fail_while_crds: list[str] = []
    fail_while: list[ObjectRef] = []


class KubeletAdmissionSpec(_M):
    min_shares: int = Field(default=10, ge=1)


class KubeletSpec(_M):
    backoff_seconds: float = Field(default=10.0, gt=0, le=300, description="first CrashLoopBackOff delay")
    start_seconds: float = Field(default=0.0, ge=0, le=600, description="a started container turns Ready after this")
    run_seconds: float = Field(default=1.0, ge=0, le=3600, description="a container of a pod that does not restart "
                               "Always (a Job's) exits after this")


class CrashSpec(_M):
    exit_code: int = Field(default=1, ge=0, le=255)
    reason: str = "Error"


class ContainerRuleSpec(_M):
    """Which containers (every field optional, all must match) and what they do."""

    image: str = "*"
    container: str = "*"
    namespace: str | None = None
    selector: str | None = None
    env: dict[str, str] = {}
    command: str = Field(default="*", description="glob over the container's command and args, space-joined")
    crash: CrashSpec | None = None
    pull_error: Literal["ErrImagePull", "ImagePullBackOff", "InvalidImageName"] | None = None
    ready: bool = True
    logs: list[str] = []
    usage: dict[Literal["cpu", "memory"], str] = Field(default={}, description="what the container uses (the "
                                                       "resource metrics the HPA controller reads), as quantities")

    @field_validator("usage")
    @classmethod
    def _usage(cls, v: dict[str, str]) -> dict[str, str]:
        for name, q in v.items():
            try:
                quantity(q)
            except ValueError:
                raise ValueError(f"{name}: {q!r} is not a quantity") from None
        return v

    @field_validator("selector")
    @classmethod
    def _sel(cls, v: str | None) -> str | None:
        if v:
            try:
                label_matcher(v)
            except SelectorError as e:
                raise ValueError(str(e)) from None
        return v


class NodeLeasesSpec(_M):
    renew_seconds: float = Field(default=10.0, gt=0, le=600)


class WebhookServiceRef(_M):
    namespace: str = "default"
    name: str


class WebhookBackendSpec(_M):
    """What a webhook server answers (webhooks.py): for calls to a Service (and path) or a URL."""

    service: WebhookServiceRef | None = None
    url: str | None = None
    path: str | None = Field(default=None, description="only calls to this clientConfig.service.path")
    operations: list[Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]] = []
    resources: list[str] = Field(default=[], description="plural (the object itself) or plural/subresource; "
                                                         "[] = any")
    latency_seconds: float = Field(default=0.0, ge=0, le=60, description="past the webhook's timeoutSeconds the "
                                                                         "call fails: context deadline exceeded")
    allowed: bool = True
    code: int = Field(default=403, ge=400, le=599)
    reason: str = "Forbidden"
    message: str = ""
    patch: list[dict[str, Any]] = Field(default=[], description="a JSON Patch (RFC 6902) a mutating webhook returns")
    warnings: list[str] = []
    endpoint: str | None = Field(default=None, description="a real HTTPS server on loopback answering for the "
                                                           "Service (verified against caBundle as <name>.<ns>.svc)")

    @model_validator(mode="after")
    def _one_target(self) -> WebhookBackendSpec:
        if (self.service is None) == (self.url is None):
            raise ValueError("a webhook backend answers for exactly one of: service, url")
        if self.patch and not self.allowed:
            raise ValueError("a webhook that denies the request returns no patch")
        if self.endpoint is not None:
            from urllib.parse import urlsplit

            host = urlsplit(self.endpoint).hostname or ""
            if not self.endpoint.startswith("https://") or host not in ("127.0.0.1", "::1", "localhost"):
                raise ValueError("endpoint must be an https:// URL on 127.0.0.1, ::1 or localhost")
            if self.service is None:
                raise ValueError("endpoint answers for a service (a url webhook is called at its url)")
        for op in self.patch:
            if op.get("op") not in ("add", "remove", "replace", "move", "copy", "test") or not isinstance(
                    op.get("path"), str):
                raise ValueError(f"not a JSON Patch operation: {op!r}")
        return self

    def build(self) -> Any:
        from .webhooks import Backend

        svc = (self.service.namespace, self.service.name) if self.service else None
        return Backend(svc, self.url, self.path, frozenset(self.operations), frozenset(self.resources),
                       self.latency_seconds, self.allowed, self.code, self.reason, self.message,
                       [dict(op) for op in self.patch], list(self.warnings), self.endpoint)


class BehavioursSpec(_M):
    controllers: bool = True
    admission_webhooks: bool = False  # implies endpoints
    webhook_backends: list[WebhookBackendSpec] = []
    endpoints: bool = False
    image_errors: dict[str, Literal["ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff",
                                    "CreateContainerConfigError"]] = {}
    pod_grace_seconds: float = Field(default=0.3, ge=0, le=60)
    machine_join_seconds: float = Field(default=0.5, ge=0, le=600)
    hpa_sync_seconds: float = Field(default=15.0, gt=0, le=600, description="the HPA controller's resync period")
    bookmark_seconds: float = Field(default=1.0, gt=0, le=600)
    apiserver_overload: OverloadSpec | None = None
    ingress: IngressSpec | None = None
    kubelet_admission: KubeletAdmissionSpec | None = None
    kubelet: KubeletSpec = KubeletSpec()
    containers: list[ContainerRuleSpec] = []
    node_leases: NodeLeasesSpec = NodeLeasesSpec()


class FaultSpec(_M):
    verbs: list[Literal["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
                        "discovery"]] = []
    resources: list[str] = []
    rate: float = Field(default=1.0, ge=0, le=1)
    status: Literal[429, 500, 502, 503, 504] | None = None
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    drop: bool = False
    retry_after: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=1)
    message: str = "injected fault"
    when: list[HealthCheck] = Field(default=[], description="the fault fires only while every one of these "
                                                             "conditions (health-check items) holds")

    @model_validator(mode="after")
    def _does_something(self) -> FaultSpec:
        if not (self.status or self.latency_ms or self.drop):
            raise ValueError("a fault needs at least one of: status, latencyMs, drop")
        return self

    def build(self) -> Fault:
        return Fault(frozenset(self.verbs), frozenset(self.resources), self.rate, self.status,
                     self.latency_ms / 1000, self.drop, self.retry_after, self.count, self.message)




class NodesReadyCheck(_M):
    min_fraction: float | None = Field(default=None, ge=0, le=1)
    max_not_ready: int | None = Field(default=None, ge=0)
    min_ready: int | None = Field(default=None, ge=0, description="at least this many Ready nodes (deleting "
                                                                "the broken nodes does not count as fixing them)")


class PresentCheck(ObjectRef):
    min: int = Field(default=1, ge=0)


class FieldCheck(_M):
    api_version: str
    kind: str
    namespace: str | None = None
    name: str
    path: str
    equals: Any = None
    not_equals: Any = None
    at_least: float | None = None
    below: float | None = None
    exists: bool | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        try:
            parse_path(v)
        except PathError as e:
            raise ValueError(str(e)) from None
        return v


class PodsHealthyCheck(_M):
    """No selected pod waiting in a failure state (CrashLoopBackOff, ImagePullBackOff, ...) or Pending."""

    namespace: str | None = None
    selector: str | None = None
    reasons: list[str] = ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                          "CreateContainerError", "RunContainerError", "InvalidImageName"]
    allow_pending: bool = False


class DeploymentsAvailableCheck(_M):
    """Every selected Deployment Available with its rollout complete: all replicas updated to the current
    template, available, and no pod of an older template left."""

    namespace: str | None = None
    selector: str | None = None
    names: list[str] = []
    min: int = Field(default=1, ge=0, description="at least this many Deployments selected")


class NoneCreatedByCheck(_M):
    """No object remains that ``manager`` created (a managedFields entry of that manager and a
    creationTimestamp inside the window)."""

    manager: str
    since: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    until: str | None = Field(default=None, pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    kinds: list[str] = Field(default=[], description="Kinds to look at (empty: every kind)")


class SpreadCheck(_M):
    """Every selected pod Running on its own node (anti-affinity actually holds)."""

    namespace: str
    selector: str


class HealthCheck(_M):
    name: str | None = None
    nodes_ready: NodesReadyCheck | None = None
    pods_spread: SpreadCheck | None = None
    absent: ObjectRef | None = None
    present: PresentCheck | None = None
    field: FieldCheck | None = None
    apiserver_stable: Literal[True] | None = None
    ingress_healthy: Literal[True] | None = None
    pods_healthy: PodsHealthyCheck | None = None
    deployments_available: DeploymentsAvailableCheck | None = None
    none_created_by: NoneCreatedByCheck | None = None

    @model_validator(mode="after")
    def _one(self) -> HealthCheck:
        n = sum(getattr(self, k) is not None for k in CHECK_KINDS)
        if n != 1:
            raise ValueError("a health check has exactly one of: " + ", ".join(to_camel(k) for k in CHECK_KINDS))
        return self

    def kind(self) -> str:
        return next(k for k in CHECK_KINDS if getattr(self, k) is not None)

    def label(self, i: int) -> str:
        return self.name or f"{i}:{to_camel(self.kind())}"


CHECK_KINDS = ("nodes_ready", "pods_spread", "absent", "present", "field", "apiserver_stable", "ingress_healthy",
               "pods_healthy", "deployments_available", "none_created_by")


class UserSpec(_M):
    """A user of the sandbox besides its admin: RBAC objects in ``objects:`` say what they may do."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,62}$")
    groups: list[str] = []
    auth: Literal["token", "cert", "exec", "oidc"] = "token"
    # exec: each minted token's lifetime (default 60 s); oidc: the id-token's (default an hour)
    tokenSeconds: float | None = Field(default=None, gt=0, le=86400)


FaultSpec.model_rebuild()


class ClusterSpec(_M):
    context: str = Field(default="sandbox", pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    objects: list[dict[str, Any]] = []
    generators: list[Generator] = []
    behaviours: BehavioursSpec = BehavioursSpec()
    faults: list[FaultSpec] = []
    health: list[HealthCheck] = []


class Scenario(_M):
    name: str = "sandbox"
    description: str = ""
    seed: int = 0
    clusters: list[ClusterSpec] = []
    context: str | None = None
    objects: list[dict[str, Any]] = []
    generators: list[Generator] = []
    behaviours: BehavioursSpec | None = None
    faults: list[FaultSpec] = []
    health: list[HealthCheck] = []
    drill: dict[str, Any] = {}  # for the drill runner (runbook, inputs, decisions); the sandbox ignores it
    users: list[UserSpec] = []  # users besides the admin (see integrations/sandbox/rbac.py)
    _path: str = PrivateAttr(default="<scenario>")
    _marks: dict[Any, Mark] = PrivateAttr(default_factory=dict)
    _multi: bool = PrivateAttr(default=False)

    @property
    def path(self) -> str:
        """The file the scenario came from (for located errors)."""
        return self._path

    @property
    def multi(self) -> bool:
        """Written with ``clusters:`` (error locations then start with ``clusters[i]``)."""
        return self._multi

    def locate(self, loc: tuple[Any, ...], message: str) -> LocatedError:
        return located(message, self._marks, self._path, loc)

    @model_validator(mode="after")
    def _shape(self) -> Scenario:
        single = bool(self.objects or self.generators or self.behaviours or self.faults or self.health or self.context)
        if single and self.clusters:
            raise ValueError("use either top-level objects/generators/behaviours/faults/health (one cluster) "
                             "or 'clusters:', not both")
        if not self.clusters:
            self.clusters = [ClusterSpec(context=self.context or "sandbox", objects=self.objects,
                                         generators=self.generators,
                                         behaviours=self.behaviours or BehavioursSpec(), faults=self.faults,
                                         health=self.health)]
        names = [c.context for c in self.clusters]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate cluster context {dup[0]!r}")
        return self


# --------------------------------------------------------------------------- located loading


def parse_scenario(text: str, path: str = "<scenario>") -> Scenario:
    """Parse and validate scenario YAML (mitigate.yamlloc: duplicate keys refused, timestamps
    kept as text); every problem is reported, each located."""
    doc = load_yaml(text, path)
    if not isinstance(doc.data, dict):
        raise LocatedError("a scenario must be a YAML mapping", path=path, line=1, column=1)
    return validate_scenario(doc.data, path, doc.marks)


def validate_scenario(data: dict[str, Any], path: str = "<scenario>",
                      marks: dict[Any, Mark] | None = None) -> Scenario:
    marks = marks or {}
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as e:
        errs = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("function-after",)))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown field {loc[-1]!r}"
            errs.append(located(msg, marks, path, loc))
        raise (errs[0] if len(errs) == 1 else LocatedErrors(sort_errors(errs))) from None
    sc._path, sc._marks, sc._multi = path, marks, "clusters" in data
    return sc


def resolve(name: str) -> Path:
    """A scenario file: an existing path, else runbooks/drills/<name>.yaml."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or "/" in name:
        if not p.is_file():
            raise MitigateError(f"scenario file not found: {name}")
        return p
    cand = drills_dir() / f"{name}.yaml"
    if cand.is_file():
        return cand
    known = sorted(x.stem for x in drills_dir().glob("*.yaml")) if drills_dir().is_dir() else []
    raise MitigateError(f"unknown scenario {name!r}: no {cand}" + (f" (available: {', '.join(known)})" if known
                                                                    else ""))


def load_scenario(scenario: Path | str | dict[str, Any] | Scenario) -> Scenario:
    """A validated Scenario from a file path, a drill name, a dict or a Scenario."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return validate_scenario(scenario)
    p = resolve(str(scenario))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MitigateError(f"cannot read scenario {p}: {e}") from None
    return parse_scenario(text, str(p))


def count_or_pct(v: int | str, total: int) -> int:
    """A generator's count-or-percentage field resolved against ``total``."""
    if isinstance(v, str):
        return round(float(v.rstrip("%")) * total / 100)
    return v
