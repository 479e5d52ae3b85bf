"""Secrets through real keyring backends (file-backed, in-memory), the env stand-in, and no backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.backends.fail import Keyring as NoBackend
from keyring.errors import PasswordDeleteError
from keyrings.alt.file import PlaintextKeyring

from integrations import secrets
from integrations.secrets import SecretError, delete_secret, get_secret, list_secrets, redact, set_secret


class MemoryKeyring(KeyringBackend):
    """A process-local backend: the keyring API with a dict behind it."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def use_backend() -> Iterator[object]:
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


def file_keyring(tmp_path: Path) -> PlaintextKeyring:
    kr = PlaintextKeyring()
    kr.file_path = str(tmp_path / "keyring.cfg")
    return kr


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_set_get_list_delete_round_trip(kind: str, use_backend: object, tmp_path: Path) -> None:
    backend = file_keyring(tmp_path) if kind == "file" else MemoryKeyring()
    use_backend(backend)  # type: ignore[operator]
    set_secret("slack-token", "xoxb-123456")
    assert get_secret("slack-token") == "xoxb-123456"
    assert backend.get_password("mitigate", "slack-token") == "xoxb-123456"
    assert [(s.name, s.source) for s in list_secrets(["pd-key"])] == [("pd-key", "missing"),
                                                                      ("slack-token", "keyring")]
    delete_secret("slack-token")
    with pytest.raises(SecretError, match="is not set.*mitigate secrets set slack-token.*MITIGATE_SECRET_SLACK_TOKEN"):
        get_secret("slack-token")
    with pytest.raises(SecretError, match="not in the keyring"):
        delete_secret("slack-token")
    assert list_secrets() == []
    if kind == "file":
        assert "xoxb" not in (tmp_path / "keyring.cfg").read_text()  # deleted from the file, not just hidden


def test_environment_variable_overrides_the_keyring(use_backend: object, monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(MemoryKeyring())  # type: ignore[operator]
    set_secret("pd.routing-key", "stored-value")
    monkeypatch.setenv("MITIGATE_SECRET_PD_ROUTING_KEY", "from-env")
    assert get_secret("pd.routing-key") == "from-env"
    assert list_secrets()[0].source == "env"


@pytest.mark.parametrize("backend", [NoBackend(), ChainerBackend()], ids=["fail", "empty-chain"])
def test_no_backend_says_so_and_names_the_variable(backend: KeyringBackend, use_backend: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend(backend)  # type: ignore[operator]
    if isinstance(backend, ChainerBackend):
        monkeypatch.setattr(ChainerBackend, "backends", [])
    for action in (lambda: get_secret("slack-token"), lambda: set_secret("slack-token", "v1234")):
        with pytest.raises(SecretError, match="no keyring backend is available.*MITIGATE_SECRET_SLACK_TOKEN"):
            action()
    monkeypatch.setenv("MITIGATE_SECRET_SLACK_TOKEN", "env-value")
    assert get_secret("slack-token") == "env-value"
    assert list_secrets(["other"])[0].source == "keyring unavailable"


def test_values_read_are_redacted_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITIGATE_SECRET_HOOK", "https://hooks.example.com/services/T1/B2/abcdefghijklmnop")
    url = get_secret("hook")
    data = {"msg": f"POST {url} failed", "list": ["token abcdefghijklmnop leaked"], "n": 3}
    assert redact(data) == {"msg": "POST *** failed", "list": ["token *** leaked"], "n": 3}


def test_invalid_names_are_refused() -> None:
    for bad in ("", "has space", "x" * 200, secrets.INDEX_USER):
        with pytest.raises(SecretError, match="invalid secret name"):
            get_secret(bad)


def run_cli(*args: str, home: Path, stdin: str = "", backend: str = "keyrings.alt.file.PlaintextKeyring",
            config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MITIGATE_")}
    env.update(PYTHON_KEYRING_BACKEND=backend, XDG_DATA_HOME=str(home / "data"), HOME=str(home),
               MITIGATE_CONFIG_DIR=str(home / "config"))
    if config is not None:
        env["MITIGATE_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "mitigate", "secrets", *args], input=stdin, text=True,
                          capture_output=True, env=env, timeout=60)


def test_cli_secrets_with_a_file_backend(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("channels:\n  ops: {type: slack-webhook, urlSecret: slack-ops}\n")
    stored = run_cli("set", "pd-key", home=tmp_path, stdin="s3cr3t-value\n")
    assert stored.returncode == 0, stored.stderr
    listed = run_cli("list", home=tmp_path, config=config)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert lines == [["pd-key", "keyring", "MITIGATE_SECRET_PD_KEY"], ["slack-ops", "missing", "MITIGATE_SECRET_SLACK_OPS"]]
    assert "s3cr3t" not in listed.stdout
    assert run_cli("delete", "pd-key", home=tmp_path).returncode == 0
    again = run_cli("delete", "pd-key", home=tmp_path)
    assert again.returncode == 1 and again.stderr == "mitigate: secret 'pd-key' is not in the keyring\n"


def test_cli_secrets_without_a_backend_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("set", "pd-key", home=tmp_path, stdin="value\n", backend="keyring.backends.fail.Keyring")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no keyring backend is available" in result.stderr and "MITIGATE_SECRET_PD_KEY" in result.stderr


def test_cli_secrets_usage_errors(tmp_path: Path) -> None:
    assert run_cli(home=tmp_path).returncode == 2
    bad = run_cli("set", "bad name", home=tmp_path, stdin="v\n")
    assert bad.returncode == 1 and "invalid secret name" in bad.stderr
    empty = run_cli("set", "ok-name", home=tmp_path, stdin="\n")
    assert empty.returncode == 1 and "no value given" in empty.stderr
