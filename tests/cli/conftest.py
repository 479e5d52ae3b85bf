"""CLI tests: a kubeconfig with no server behind it (enough for everything that does not query),
isolated journal/config/runbook environments, and the sandbox for what must really act."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


def kubeconfig(path: Path, *contexts: str) -> Path:
    """A kubeconfig naming ``contexts`` (all on one unreachable server)."""
    items = ", ".join(f"{{name: {c}, context: {{cluster: c, user: u}}}}" for c in contexts)
    path.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                    f"users: [{{name: u, user: {{token: t}}}}]\ncontexts: [{items}]\n"
                    f"current-context: {contexts[0]}\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No user config, journal or runbook library leaks into a CLI test."""
    monkeypatch.setenv("MITIGATE_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("MITIGATE_JOURNAL_DIR", str(tmp_path / "j"))
    monkeypatch.delenv("MITIGATE_CONFIG", raising=False)
    monkeypatch.delenv("MITIGATE_RUNBOOKS", raising=False)
    yield


def write_config(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return folder / "config.yaml"
