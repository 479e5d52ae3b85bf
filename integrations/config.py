"""The user's integration settings: ``config.yaml`` in the user config directory.

Found at ``$MITIGATE_CONFIG`` (a file), else ``<config dir>/config.yaml`` (``$MITIGATE_CONFIG_DIR``
or the platformdirs user config directory). A missing file means "no integrations": runbooks
still run, ``notify`` steps report that the channel is not configured.

The file names secrets, it never holds them: every credential is a secret *name* resolved by
``integrations.secrets`` (keyring or ``MITIGATE_SECRET_<NAME>``) when a message is sent.

Example::

    protectedContexts: ["eu-*"]          # added to the built-in "*prod*" (mitigate.protection)
    runbookPaths: [~/runbooks, ./team]   # the team's runbook library, searched before the bundled one
    http: {timeout: 5s, maxAttempts: 4, retryBudget: 30s}
    channels:
      ops-slack: {type: slack-webhook, urlSecret: slack-ops-webhook}
      ops-bot: {type: slack, channel: "#incidents", tokenSecret: slack-bot-token}
      audit-hook: {type: webhook, url: "https://hooks.example.com/mitigate", signingSecret: hook-key}
      status: {type: statuspage, pageId: abc123, apiKeySecret: statuspage-key, components: [cmp1]}
      pager: {type: pagerduty, routingKeySecret: pd-routing, apiTokenSecret: pd-api, fromEmail: oncall@example.com}
    prometheus:
      default: {url: "http://prometheus:9090"}
    alertmanager:
      default: {url: "http://alertmanager:9093"}

Errors are located (``config.yaml:7:5: ... (at channels.ops-bot.tokenSecret)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from integrations.http import RetryPolicy
from mitigate import paths
from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.runbook.model import parse_duration
from mitigate.yamlloc import load_yaml

SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
Status = Literal["investigating", "identified", "monitoring", "resolved"]
ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage",
                          "under_maintenance"]


def _default_component_status() -> dict[Status, ComponentStatus]:
    return {"investigating": "major_outage", "identified": "partial_outage",
            "monitoring": "degraded_performance", "resolved": "operational"}


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value.rstrip("/")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Strict):
    timeout: str = "5s"
    maxAttempts: int = Field(4, ge=1, le=10)
    retryBudget: str = "30s"

    @field_validator("timeout", "retryBudget")
    @classmethod
    def _duration(cls, v: str) -> str:
        if parse_duration(v) <= 0:
            raise ValueError("must be longer than 0s")
        return v

    def policy(self) -> RetryPolicy:
        return RetryPolicy(timeout=parse_duration(self.timeout), max_attempts=self.maxAttempts,
                           budget=parse_duration(self.retryBudget))


class SlackWebhookChannel(_Strict):
    """Slack incoming webhook; the webhook URL embeds a token, so the whole URL is a secret."""

    type: Literal["slack-webhook"]
    urlSecret: SecretName


class SlackChannel(_Strict):
    """Slack ``chat.postMessage`` with a bot token."""

    type: Literal["slack"]
    channel: str = Field(min_length=1)
    tokenSecret: SecretName
    apiUrl: str = "https://slack.com/api"
    _url = field_validator("apiUrl")(classmethod(lambda cls, v: _http_url(v)))


class WebhookChannel(_Strict):
    """Generic JSON webhook, HMAC-SHA256 signed with the secret ``signingSecret``."""

    type: Literal["webhook"]
    url: str
    signingSecret: SecretName
    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class StatuspageChannel(_Strict):
    """Atlassian Statuspage incident, created on the first message and updated afterwards."""

    type: Literal["statuspage"]
    pageId: str = Field(min_length=1)
    apiKeySecret: SecretName
    apiUrl: str = "https://api.statuspage.io/v1"
    components: list[str] = Field(default_factory=list, description="component ids to mark")
    componentStatus: dict[Status, ComponentStatus] = Field(default_factory=_default_component_status)
    _url = field_validator("apiUrl")(classmethod(lambda cls, v: _http_url(v)))


class PagerDutyChannel(_Strict):
    """PagerDuty Events API v2 (dedup key = incident id), plus REST notes when a token is given."""

    type: Literal["pagerduty"]
    routingKeySecret: SecretName
    apiTokenSecret: SecretName | None = None
    fromEmail: str | None = None
    severity: Literal["critical", "error", "warning", "info"] = "critical"
    source: str = "mitigate"
    eventsUrl: str = "https://events.pagerduty.com"
    apiUrl: str = "https://api.pagerduty.com"
    _url = field_validator("eventsUrl", "apiUrl")(classmethod(lambda cls, v: _http_url(v)))

    @field_validator("fromEmail")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and "@" not in v:
            raise ValueError(f"not an email address: {v!r}")
        return v

    @model_validator(mode="after")
    def _notes_need_sender(self) -> PagerDutyChannel:
        if self.apiTokenSecret and not self.fromEmail:
            raise ValueError("fromEmail is required with apiTokenSecret (PagerDuty notes need a From user)")
        return self


Channel = Annotated[
    SlackWebhookChannel | SlackChannel | WebhookChannel | StatuspageChannel | PagerDutyChannel,
    Field(discriminator="type"),
]


class Server(_Strict):
    """A Prometheus or Alertmanager endpoint, with an optional bearer token secret."""

    url: str
    tokenSecret: SecretName | None = None
    _url = field_validator("url")(classmethod(lambda cls, v: _http_url(v)))


class IntegrationsConfig(_Strict):
    protectedContexts: list[str] = Field(default_factory=list)
    runbookPaths: list[str] = Field(default_factory=list,
                                    description="runbook folders searched before the bundled library")
    http: HttpSettings = Field(default_factory=HttpSettings)  # type: ignore[arg-type]
    channels: dict[str, Channel] = Field(default_factory=dict)
    prometheus: dict[str, Server] = Field(default_factory=dict)
    alertmanager: dict[str, Server] = Field(default_factory=dict)
    source: str = Field("", exclude=True, description="where this was loaded from")

    def runbook_dirs(self) -> list[Path]:
        """``runbookPaths`` as folders: ``~`` expanded, relative ones taken from the config's folder."""
        base = Path(self.source).parent if self.source else Path.cwd()
        return [p if p.is_absolute() else base / p for p in (Path(v).expanduser() for v in self.runbookPaths)]

    def secret_names(self) -> list[str]:
        """Every secret name the config refers to (for ``mitigate secrets list``)."""
        names: set[str] = set()
        for model in [*self.channels.values(), *self.prometheus.values(), *self.alertmanager.values()]:
            for key, value in model:
                if key.endswith("Secret") and isinstance(value, str):
                    names.add(value)
        return sorted(names)


def config_path() -> Path:
    env = os.environ.get("MITIGATE_CONFIG")
    return Path(env).expanduser() if env else paths.config_dir() / "config.yaml"


def load_config(path: Path | str | None = None) -> IntegrationsConfig:
    """Load and validate; a missing default file is an empty config, a missing named file an error."""
    explicit = path is not None or bool(os.environ.get("MITIGATE_CONFIG"))
    p = Path(path) if path is not None else config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise MitigateError(f"{p}: config file not found") from None
        return IntegrationsConfig(source="")
    except (OSError, UnicodeDecodeError) as exc:
        raise MitigateError(f"{p}: cannot read config: {exc}") from None
    return parse_config(text, str(p))


def parse_config(text: str, path: str = "<config>") -> IntegrationsConfig:
    # The located loader first: a repeated key (a second ``protectedContexts:`` silently erased
    # protection), a ``!!python`` tag, an alias bomb or deep nesting is one located line.
    doc = load_yaml(text, path)
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # the same document, for error positions
    if doc.data is None or root is None:
        return IntegrationsConfig(source=path)
    data = doc.data
    if not isinstance(data, dict):
        raise LocatedError("the config must be a mapping of settings", path=path,
                           line=root.start_mark.line + 1, column=root.start_mark.column + 1)
    try:
        return IntegrationsConfig.model_validate({**data, "source": path})
    except ValidationError as exc:
        errors = [_located(err, root, path) for err in exc.errors()]
        raise (errors[0] if len(errors) == 1 else LocatedErrors(errors)) from None


def _located(err: Any, root: yaml.Node, path: str) -> LocatedError:
    """Map a pydantic error location onto the YAML node it came from (skipping union tags)."""
    node, where = root, []
    loc = err["loc"]
    for i, part in enumerate(loc):
        found = _child(node, part)
        if found is None:
            continue
        key, value = found
        # an unknown key is reported at the key itself, anything else at its value
        node = key if err["type"] == "extra_forbidden" and i == len(loc) - 1 else value
        where.append(f"[{part}]" if isinstance(part, int) else str(part))
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = f"missing required key {err['loc'][-1]!r}"
    return LocatedError(msg, path=path, line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                        where=".".join(where).replace(".[", "["))


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    """(key node, value node) of ``part`` under ``node``; a sequence item is its own key."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part], node.value[part]
    return None

