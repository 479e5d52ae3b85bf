"""Helpers for the cli tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path


def kubeconfig(path: Path, *contexts: str) -> Path:
    """A kubeconfig naming ``contexts`` (all on one unreachable server)."""
    items = ", ".join(f"{{name: {c}, context: {{cluster: c, user: u}}}}" for c in contexts)
    path.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                    f"users: [{{name: u, user: {{token: t}}}}]\ncontexts: [{items}]\n"
                    f"current-context: {contexts[0]}\n", encoding="utf-8")
    return path


def write_config(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "cfg"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return folder / "config.yaml"
