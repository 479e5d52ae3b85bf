"""Where mitigate keeps things: bundled runbooks and templates, and incident journals."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_PKG = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    """A data folder: the source checkout's top-level folder, or the copy inside the wheel."""
    source = _PKG.parent / name
    return source if source.is_dir() else _PKG / "_data" / name


def runbooks_dir() -> Path:
    return _bundled("runbooks")


def drills_dir() -> Path:
    return runbooks_dir() / "drills"


def templates_dir() -> Path:
    return _bundled("templates")


def journal_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Incident journals: ``--journal-dir``, else ``$MITIGATE_JOURNAL_DIR``, else the user data dir."""
    chosen = override or os.environ.get("MITIGATE_JOURNAL_DIR")
    root = Path(chosen) if chosen else Path(platformdirs.user_data_dir("mitigate")) / "incidents"
    return root.expanduser()


def config_dir() -> Path:
    return Path(os.environ.get("MITIGATE_CONFIG_DIR") or platformdirs.user_config_dir("mitigate"))
