"""The runbook format (docs/ARCHITECTURE.md, The runbook format) as pydantic models.

These models are the single source of truth for the format: the loader
validates YAML against them, ``mitigate schema`` generates
``runbooks/runbook.schema.json`` from them, and the engine walks them.

Conventions:
- every model forbids unknown keys;
- *expressions* (``when``, ``where``, ``expect``, ``until``, ``haltWhen``) are
  Jinja2 expressions without braces, e.g. ``count > 0``;
- *templates* (any string parameter of an action, check or notify) may contain
  ``{{ ... }}``; a string that is exactly one ``{{ expr }}`` renders to the
  native value (a list stays a list);
- durations are strings such as ``30s``, ``10m``, ``1h30m``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mitigate.events import IncidentStatus

DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")
STEP_ID_RE = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


def parse_duration(text: str) -> float:
    """``"1h30m"`` -> 5400.0 seconds. Raises ValueError on anything else."""
    m = DURATION_RE.match(text.strip())
    if not text.strip() or not m or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h30m)")
    h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


def _is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=False)


DURATION_PATTERN = (r"^(\d+h(\d+m)?(\d+s)?(\d+ms)?|\d+m(\d+s)?(\d+ms)?|\d+s(\d+ms)?|\d+ms)$"
                    r"|\{\{.*\}\}")  # 1h30m, 10m, 30s, 500ms or a template; never empty
Duration = Annotated[str, Field(pattern=DURATION_PATTERN, examples=["30s", "10m"])]
Expression = Annotated[str, Field(min_length=1, description="Jinja2 expression (no braces)")]


# --------------------------------------------------------------------------- metadata and inputs


class Metadata(Strict):
    name: str = Field(pattern=STEP_ID_RE, description="Slug used on the command line")
    title: str = Field(min_length=1)
    version: str = "1"
    source: str = Field(min_length=1, description="The incident this runbook was derived from")
    summary: str = ""
    symptoms: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)


InputType = Literal[
    "string", "integer", "number", "boolean", "duration", "kube-context", "kube-contexts",
    "namespace", "label-selector", "list", "secret",
]


class InputSpec(Strict):
    type: InputType
    prompt: str = ""
    default: Any = None
    required: bool | None = None  # default: required when there is no default
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    choices: list[Any] | None = None
    keyring: str | None = Field(None, description="secret inputs: the keyring secret read when no value is given "
                                                   "(`mitigate secrets set NAME`)")

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None

    @model_validator(mode="after")
    def _secret(self) -> InputSpec:
        if self.type == "secret":
            if self.default is not None:
                raise ValueError("a secret input has no default: a runbook file is not a secret store "
                                 "(use keyring: NAME)")
            if self.choices is not None:
                raise ValueError("a secret input has no choices (they would be its values, in the runbook)")
        elif self.keyring is not None:
            raise ValueError(f"keyring: applies to secret inputs only, not {self.type}")
        return self

    @model_validator(mode="after")
    def _bounds(self) -> InputSpec:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if (self.minimum is not None or self.maximum is not None) and self.type not in ("integer", "number"):
            raise ValueError(f"minimum/maximum only apply to integer or number inputs, not {self.type}")
        return self


# --------------------------------------------------------------------------- checks


class KubeQuery(Strict):
    apiVersion: str
    kind: str
    namespace: str | None = None
    name: str | None = None
    labelSelector: str | None = None
    fieldSelector: str | None = None


class PrometheusQuery(Strict):
    query: str
    server: str | None = Field(None, description="integration name; default from config")


class HttpProbe(Strict):
    url: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expectStatus: list[int] = Field(default_factory=lambda: [200])
    timeout: Duration = "5s"


class CheckSpec(Strict):
    """A read-only query plus the expectation that confirms (or not) the diagnosis.

    The result exposes to expressions: ``items`` (filtered objects), ``names``,
    ``count``, ``value`` (Prometheus scalar / HTTP status), ``latency_ms``.
    """

    kube: KubeQuery | None = None
    prometheus: PrometheusQuery | None = None
    http: HttpProbe | None = None
    where: Expression | None = Field(None, description="per-item filter, the object is `item`")
    expect: Expression | None = Field(None, description="what must hold for the check to pass")
    columns: dict[str, str] | None = Field(None, description="column title -> per-item template for the table")

    @model_validator(mode="after")
    def _one_source(self) -> CheckSpec:
        n = sum(x is not None for x in (self.kube, self.prometheus, self.http))
        if n != 1:
            raise ValueError("a check needs exactly one of kube, prometheus, http")
        return self


# --------------------------------------------------------------------------- step kinds


class WaitSpec(Strict):
    check: CheckSpec | None = None
    until: Expression
    timeout: Duration = "10m"
    interval: Duration = "5s"


class NotifySpec(Strict):
    channels: list[str] = Field(min_length=1)
    status: IncidentStatus | None = None
    title: str | None = None
    message: str = Field(min_length=1, description="Markdown template")


MATCHER_RE = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


def parse_matcher(text: str) -> tuple[str, str, str]:
    """``'cluster=~prod-.*'`` -> ``("cluster", "=~", "prod-.*")``; a double-quoted value is unquoted.

    ValueError (naming the four forms) on anything else, or on a regex that does not compile.
    """
    m = MATCHER_RE.match(text)
    if not m:
        raise ValueError(f"matcher {text!r} is not name=value, name!=value, name=~regex or name!~regex")
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"')
    if "~" in op and not _is_template(value):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"matcher {text!r}: bad regex: {exc}") from None
    return name, op, value


def matches_empty(op: str, value: str) -> bool:
    """Does the matcher match an absent label? Alertmanager refuses a silence whose every
    matcher does (it would silence everything)."""
    if "~" in op:
        hit = re.fullmatch(value, "") is not None
    else:
        hit = value == ""
    return hit if op in ("=", "=~") else not hit


class SilenceSpec(Strict):
    """An Alertmanager silence for the incident window; rollback expires it."""

    alertmanager: str | None = Field(None, description="integration name; default from config")
    matchers: list[str] = Field(min_length=1, description="name=value, name!=value, name=~regex, name!~regex")
    duration: Duration = Field(description="how long the silence lasts, from when it is created")
    comment: str = Field(min_length=1, description="why (template); the incident id is appended")

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, v: list[str]) -> list[str]:
        parsed = []
        for text in v:
            try:
                parsed.append(parse_matcher(text))
            except ValueError:
                if not _is_template(text):  # a whole-template matcher is checked once rendered
                    raise
        known = [(op, value) for _, op, value in parsed if not _is_template(value)]
        if len(known) == len(v) and all(matches_empty(op, value) for op, value in known):
            raise ValueError("every matcher also matches alerts without that label, so this would silence "
                             "everything: give at least one name=value with a non-empty value")
        return v


class GateSpec(Strict):
    require: list[Expression] = Field(min_length=1, description="every expression must be true")
    message: str = Field(min_length=1, description="what to do when the gate is closed")


class DecisionOption(Strict):
    id: str = Field(pattern=STEP_ID_RE)
    label: str


class DecisionSpec(Strict):
    prompt: str
    options: list[DecisionOption] = Field(min_length=2)


class BatchSpec(Strict):
    """Split the action's target list into batches.

    ``over`` yields the full target list (default: the action's ``names``);
    each batch receives its slice in ``param``.
    """

    over: str | None = None
    param: str = "names"
    size: int | str = 50
    pause: Duration = "0s"
    haltWhen: Expression | None = Field(None, description="over batch stats: failures, done, total")
    gate: WaitSpec | None = Field(None, description="health gate that must pass between batches")


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class HttpAuth(Strict):
    """Credentials from the keyring (or ``MITIGATE_SECRET_<NAME>``); never written in the runbook."""

    secret: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", description="secret name")
    scheme: Literal["Bearer", "Basic", "Token"] | None = Field(
        "Bearer", description="Authorization scheme; null with header: put the secret in that header as is")
    header: str = Field("Authorization", pattern=r"^[A-Za-z0-9-]+$")


class HttpRequestSpec(Strict):
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = Field(min_length=1, description="http(s) URL (template)")
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json", description="JSON body (templates inside)")
    auth: HttpAuth | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not _is_template(v) and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if name.lower() in ("authorization", "proxy-authorization", "cookie") :
                raise ValueError(f"header {name!r} would put a credential in the runbook: use auth: {{secret: NAME}}")
        return v


class HttpSpec(HttpRequestSpec):
    """A call to a cloud or vendor API: previewed as its curl line, confirmed, journaled."""

    expectStatus: list[int] = Field(default_factory=lambda: [200, 201, 202, 204], min_length=1)
    timeout: Duration = "30s"
    undo: HttpRequestSpec | None = Field(None, description="the call that reverses this one")


class CommandRun(Strict):
    argv: list[str] = Field(min_length=1, description="program and arguments; never run through a shell")
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"not an environment variable name: {name!r}")
        return v


class CommandSpec(CommandRun):
    """A local program: the exact argv is shown and confirmed; exit code and output are journaled."""

    timeout: Duration = "5m"
    expectExit: list[int] = Field(default_factory=lambda: [0], min_length=1)
    undo: CommandRun | None = Field(None, description="the command that reverses this one")


ActionParams = dict[str, Any]
STEP_KINDS = ("manual", "check", "action", "wait", "notify", "gate", "decision", "silence", "http", "command")
FOR_EACH_KINDS = ("action", "http", "command")


class Step(Strict):
    kinds: ClassVar[tuple[str, ...]] = STEP_KINDS
    """The fields that each name a kind of step; a step has exactly one. A subclass adding a
    kind's spec field extends it (CONTRIBUTING.md, "Add a step kind")."""

    id: str = Field(pattern=STEP_ID_RE)
    title: str = ""
    description: str = Field("", description="Markdown shown above the step")
    when: Expression | None = None
    context: str | None = Field(None, description="kube context; default: input `context`")
    contexts: str | list[str] | None = Field(None, description="fan out over several contexts")
    concurrency: int = Field(4, ge=1, le=64)
    scope: Literal["cluster"] | None = Field(None, description="required for unscoped mutating actions")
    save: str | None = Field(None, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", description="extra alias in `saved`")
    destructive: bool | None = Field(None, description="override the action's own classification")
    milestone: Literal["detected", "acknowledged", "identified", "mitigated", "resolved"] | None = Field(
        None, description="the incident milestone this step's success marks (e.g. `detected` on the check "
                          "that finds the symptom, `mitigated` on the verification); journaled as from the runbook")

    manual: str | None = None
    check: CheckSpec | None = None
    action: dict[str, ActionParams] | None = None
    wait: WaitSpec | None = None
    notify: NotifySpec | None = None
    silence: SilenceSpec | None = None
    gate: GateSpec | None = None
    decision: DecisionSpec | None = None
    http: HttpSpec | None = None
    command: CommandSpec | None = None

    forEach: str | list[Any] | None = Field(
        None, description="run the step once per item (a list or a '{{ ... }}' template); `item` is in scope "
                          "in every parameter")
    itemKey: str | None = Field(None, description="template naming each item in the journal (default: "
                                                  "namespace/name of an object, else the item itself)")
    batch: BatchSpec | None = None
    undo: dict[str, ActionParams] | Literal["none"] | None = Field(
        None, description="explicit undo; default: what the action reports"
    )

    @property
    def kind(self) -> str:
        for k in self.kinds:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated step without a kind")

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Step:
        kinds = [k for k in self.kinds if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"a step needs exactly one of {', '.join(self.kinds)}"
                + (f" (has {', '.join(kinds)})" if kinds else "")
            )
        if self.action is not None and len(self.action) != 1:
            raise ValueError("an action names exactly one verb")
        if self.forEach is not None and self.kind not in FOR_EACH_KINDS:
            raise ValueError(f"forEach applies to {', '.join(FOR_EACH_KINDS)} steps, not {self.kind}")
        if isinstance(self.forEach, str) and not _is_template(self.forEach):
            raise ValueError("forEach is a list or a '{{ ... }}' template giving one")
        if self.forEach is not None and isinstance(self.undo, dict):
            raise ValueError("with forEach, each item's undo is what its verb reports: drop the explicit undo "
                             "(or use undo: none)")
        if self.itemKey is not None and self.forEach is None:
            raise ValueError("itemKey needs forEach")
        if self.batch is not None and self.action is None and self.forEach is None:
            raise ValueError("batch applies to action steps and forEach steps only")
        if self.batch is not None and self.forEach is not None and (
                self.batch.over is not None or "param" in self.batch.model_fields_set):
            raise ValueError("with forEach, batches are cut from the forEach items: drop batch.over and batch.param")
        if self.undo is not None and self.action is None:
            raise ValueError("undo applies to action steps only")
        if isinstance(self.undo, dict) and len(self.undo) != 1:
            raise ValueError("an undo names exactly one verb")
        return self

    @field_validator("contexts")
    @classmethod
    def _contexts(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list) and not v:
            raise ValueError("contexts must not be empty")
        return v


# --------------------------------------------------------------------------- postmortem hints


class ActionItemHint(Strict):
    title: str
    horizon: Literal["immediate", "short-term", "mid-term"]
    owner: str | None = None
    priority: Literal["P0", "P1", "P2", "P3"] | None = None


class PostmortemHints(Strict):
    summaryPrompt: str | None = None
    impactQuestions: list[str] = Field(default_factory=list)
    rootCausePrompts: list[str] = Field(default_factory=list)
    contributingFactorPrompts: list[str] = Field(default_factory=list)
    actionItems: list[ActionItemHint] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)


class Runbook(Strict):
    apiVersion: Literal["mitigate/v1"]
    kind: Literal["Runbook"]
    metadata: Metadata
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    postmortem: PostmortemHints = Field(default_factory=PostmortemHints)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
