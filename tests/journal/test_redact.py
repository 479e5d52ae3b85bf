"""Planted secrets never survive redaction; ordinary text does."""

from __future__ import annotations

import json

import pytest

from mitigate.journal.redact import MASK, is_secret_key, redact

PLANTED = {
    "bearer header": ("curl -H 'Authorization: Bearer tok3nV4lue.abc-123' https://api", "tok3nV4lue"),
    "slack webhook": ("posted to https://hooks.slack.com/services/T0001/B0002/Zz9SeCrEt", "Zz9SeCrEt"),
    "discord webhook": ("https://discord.com/api/webhooks/1234/DiScOrDsEcReT_x", "DiScOrDsEcReT"),
    "url credentials": ("connect postgres://admin:hunter2pw@db.internal:5432/app", "hunter2pw"),
    "token query": ("GET https://status.example.com/api?page=2&access_token=qu3rytok&x=1", "qu3rytok"),
    "api key query": ("https://prom.example.com/query?api_key=K3Yv4lue", "K3Yv4lue"),
    "jwt": ("sa token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl", "c2lnbmF0dXJl"),
    "aws key": ("AWS_ACCESS_KEY_ID AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    "aws secret assignment": ("aws_secret_access_key=wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMIK7MDENG"),
    "pem": ("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq\n-----END RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA7bq"),
    "password assignment": ("login with password: Sup3rS3cret! now", "Sup3rS3cret"),
    "github token": ("GITHUB_TOKEN ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_abcdefghijklmnopqrstuvwxyz0123"),
    "slack bot token": ("xoxb-123456789012-abcdefghijkl", "xoxb-123456789012"),
}


@pytest.mark.parametrize("text,secret", PLANTED.values(), ids=list(PLANTED))
def test_secrets_in_free_text_are_masked(text: str, secret: str) -> None:
    out = redact({"note": text, "nested": [{"message": text}]})
    assert secret not in json.dumps(out)
    assert MASK in out["note"]


def test_secret_keys_and_kubernetes_secrets() -> None:
    value = {
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Content-Type": "application/json"},
        "slack_webhook_url": "https://example.com/anything",
        "routingKey": "R0UT1NGK3Y",
        "credentials": {"user": "u", "pass": "p"},
        "secretName": "db-credentials",  # a reference, not a secret
        "tokenFile": "/var/run/token",
        "token_present": True,
        "password": None,
        "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"pw":"c2VjcmV0"}}'}},
             "data": {"pw": "c2VjcmV0"}, "stringData": {"url": "plain-secret"}},
            {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.key": "UFJJVktFWQ=="}},
            {"kind": "ConfigMap", "data": {"mode": "fast"}},
        ],
    }
    out = redact(value)
    dumped = json.dumps(out)
    for secret in ("dXNlcjpwYXNz", "R0UT1NGK3Y", "c2VjcmV0", "plain-secret", "UFJJVktFWQ==", '"p"'):
        assert secret not in dumped
    assert out["headers"]["Content-Type"] == "application/json"
    assert out["slack_webhook_url"] == MASK and out["credentials"] == MASK
    assert out["secretName"] == "db-credentials" and out["tokenFile"] == "/var/run/token"
    assert out["token_present"] is True and out["password"] is None
    assert out["items"][0]["data"] == {"pw": MASK} and out["items"][0]["metadata"]["name"] == "db"
    assert out["items"][2]["data"] == {"mode": "fast"}
    assert value["items"][0]["data"] == {"pw": "c2VjcmV0"}  # the input is not modified


@pytest.mark.parametrize("text", [
    "the token bucket refilled after 30s",
    "kubectl cordon node-1 node-2 --context prod",
    "https://grafana.example.com/d/abc?orgId=1&from=now-1h",
    "Secret db-credentials was rotated by ana@laptop",
])
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text) == text


def test_key_classification() -> None:
    assert all(is_secret_key(k) for k in ("password", "apiKey", "X-Api-Key", "client_secret", "webhook",
                                          "routing_key", "AUTHORIZATION", "vault_token"))
    assert not any(is_secret_key(k) for k in ("secretName", "tokenRef", "name", "title", "author"))
