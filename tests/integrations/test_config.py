"""The integrations config file: found where documented, validated with located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.config import load_config, parse_config
from integrations.notify import build_notifier
from integrations.probes import build_prober
from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.ports import NotifierPort, ProbePort
from mitigate.protection import decide

GOOD = """\
protectedContexts: ["*prod*", "eu-*"]
http: {timeout: 2s, maxAttempts: 2, retryBudget: 10s}
channels:
  ops: {type: slack, channel: "#inc", tokenSecret: slack-bot}
  pager: {type: pagerduty, routingKeySecret: pd-routing}
prometheus:
  default: {url: "http://prom:9090/", tokenSecret: prom}
"""


def test_loads_from_the_config_dir_and_builds_the_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MITIGATE_CONFIG", raising=False)
    monkeypatch.setenv("MITIGATE_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.yaml").write_text(GOOD)
    cfg = load_config()
    rule = decide(cfg.protectedContexts)
    assert rule.protects("prod-par") and rule.protects("eu-west") and not rule.protects("staging")
    assert cfg.secret_names() == ["pd-routing", "prom", "slack-bot"]
    assert cfg.prometheus["default"].url == "http://prom:9090"
    assert cfg.http.policy().timeout == 2.0 and cfg.http.policy().max_attempts == 2
    notifier, prober = build_notifier(cfg), build_prober(cfg)
    assert isinstance(notifier, NotifierPort) and isinstance(prober, ProbePort)
    assert notifier.channels() == ["ops", "pager"]


def test_missing_default_file_means_no_integrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MITIGATE_CONFIG", raising=False)
    monkeypatch.setenv("MITIGATE_CONFIG_DIR", str(tmp_path))
    assert load_config().channels == {}


def test_missing_named_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITIGATE_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(MitigateError, match="nope.yaml: config file not found"):
        load_config()


def test_errors_point_at_line_column_and_key() -> None:
    text = GOOD.replace("tokenSecret: slack-bot", "tokenSecrit: slack-bot").replace("maxAttempts: 2", "maxAttempts: 99")
    with pytest.raises(LocatedErrors) as info:
        parse_config(text, "config.yaml")
    lines = str(info.value).splitlines()
    assert "config.yaml:2:34: Input should be less than or equal to 10 (at http.maxAttempts)" in lines
    assert "config.yaml:4:8: missing required key 'tokenSecret' (at channels.ops)" in lines
    assert "config.yaml:4:39: unknown key (at channels.ops.tokenSecrit)" in lines


def test_single_error_and_bad_yaml_are_one_located_line() -> None:
    with pytest.raises(LocatedError) as info:
        parse_config("channels:\n  x: {type: carrier-pigeon}\n", "c.yaml")
    assert str(info.value).startswith("c.yaml:2:6: ") and "carrier-pigeon" in str(info.value)
    with pytest.raises(LocatedError, match=r"^c.yaml:3:1: invalid YAML: expected .,. or .\]."):
        parse_config("channels:\n  x: [unclosed\n", "c.yaml")
    with pytest.raises(LocatedError, match="must be a mapping"):
        parse_config("- a\n", "c.yaml")
    with pytest.raises(LocatedError, match=r"fromEmail is required .* \(at channels.p\)"):
        parse_config("channels:\n  p: {type: pagerduty, routingKeySecret: a, apiTokenSecret: b}\n", "c.yaml")
    with pytest.raises(LocatedError, match=r"not an http\(s\) URL"):
        parse_config("prometheus:\n  default: {url: prom:9090}\n", "c.yaml")
