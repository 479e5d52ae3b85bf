"""The one runbook resolver: a search path of runbook folders, the team's before the bundled.

The search path, first match wins:

1. every ``--library DIR`` given on the command line, in order;
2. ``$MITIGATE_RUNBOOKS``, folders separated by ``os.pathsep`` (``:`` on Unix);
3. ``runbookPaths:`` in config.yaml (relative paths from the config file's folder);
4. the bundled library (``runbooks/``).

A runbook is named by its file stem or ``metadata.name``. A name found in an earlier folder
*shadows* the same name further down the path (typically a team's ``apiserver-oom`` over the
bundled one); listings show that, and the shadowed runbook stays reachable by its path. Drill
scenarios live in each folder's ``drills/`` subfolder and are resolved along the same path.
Every command that takes a runbook or a scenario name (home, run, drill, validate, test, new)
resolves it here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mitigate import paths
from mitigate.errors import MitigateError, UsageError
from mitigate.runbook.loader import RunbookSummary, list_runbooks
from mitigate.yamlloc import did_you_mean

ENV = "MITIGATE_RUNBOOKS"
YAML = (".yaml", ".yml")


@dataclass(frozen=True)
class Folder:
    path: Path
    origin: str  # "--library", "MITIGATE_RUNBOOKS", "config runbookPaths", "bundled"

    @property
    def bundled(self) -> bool:
        return self.origin == "bundled"


@dataclass(frozen=True)
class Entry:
    """One runbook of the library as the search path sees it."""

    summary: RunbookSummary
    folder: Folder
    shadows: tuple[Path, ...] = ()  # the runbooks of the same name further down the path

    @property
    def name(self) -> str:
        return self.summary.name

    @property
    def note(self) -> str:
        """``team: ~/runbooks, shadows the bundled apiserver-oom`` (empty for a plain bundled one)."""
        parts = [] if self.folder.bundled else [f"{self.folder.origin}: {self.folder.path}"]
        if self.shadows:
            bundled = paths.runbooks_dir().resolve()
            which = ["the bundled one" if p.resolve().parent == bundled else str(p) for p in self.shadows]
            parts.append("shadows " + ", ".join(which))
        return "; ".join(parts)


@dataclass(frozen=True)
class Library:
    folders: tuple[Folder, ...]
    _cache: dict[str, list[Entry]] = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ runbooks

    def entries(self, *, with_errors: bool = False) -> list[Entry]:
        """Every runbook, one entry per name (the first on the path), sorted by name."""
        key = "all" if with_errors else "ok"
        if key not in self._cache:
            first: dict[str, Entry] = {}
            for folder in self.folders:
                for s in list_runbooks(folder.path):
                    if s.error and not with_errors:
                        continue
                    if s.name in first:
                        prior = first[s.name]
                        first[s.name] = Entry(prior.summary, prior.folder, (*prior.shadows, s.path))
                    else:
                        first[s.name] = Entry(s, folder)
            self._cache[key] = sorted(first.values(), key=lambda e: e.name)
        return self._cache[key]

    def find(self, name_or_path: str) -> Path:
        """A runbook file: an existing path as given, else the first runbook of that name on the path."""
        found = _by_stem(name_or_path, [f.path for f in self.folders], "runbook")
        if found is not None:  # by file stem first: no need to load the whole folder
            return found
        for entry in self.entries():
            if entry.name == name_or_path:
                return entry.summary.path
        known = [e.name for e in self.entries()]
        hint = did_you_mean(name_or_path, known) or (f" (available: {', '.join(known)})" if known else "")
        raise UsageError(f"no runbook named {name_or_path!r} in {self.describe()}{hint}")

    def describe(self) -> str:
        return "the library (" + ", ".join(str(f.path) for f in self.folders) + ")"

    # ------------------------------------------------------------------ drill scenarios

    def drill_folders(self) -> list[Path]:
        return [f.path / "drills" for f in self.folders]

    def scenarios(self) -> list[Path]:
        """Every scenario file, the first of each stem on the path."""
        seen: dict[str, Path] = {}
        for folder in self.drill_folders():
            if folder.is_dir():
                for p in sorted(folder.iterdir()):
                    if p.is_file() and p.suffix in YAML:
                        seen.setdefault(p.stem, p)
        return [seen[k] for k in sorted(seen)]

    def find_scenario(self, name_or_path: str) -> Path:
        found = _by_stem(name_or_path, self.drill_folders(), "scenario")
        if found is not None:
            return found
        known = [p.stem for p in self.scenarios()]
        hint = did_you_mean(name_or_path, known) or (f" (available: {', '.join(known)})" if known else "")
        raise UsageError(f"no drill scenario named {name_or_path!r} in the drills/ folders of "
                         f"{self.describe()}{hint}")


def _by_stem(name_or_path: str, folders: Sequence[Path], what: str) -> Path | None:
    """A path as given (it must exist), else ``<folder>/<name>.yaml`` in the first folder that has it."""
    direct = Path(name_or_path).expanduser()
    if direct.suffix in YAML or os.sep in name_or_path:
        if direct.is_file():
            return direct
        raise UsageError(f"no {what} file {name_or_path}")
    for folder in folders:
        for suffix in YAML:
            if (folder / f"{name_or_path}{suffix}").is_file():
                return folder / f"{name_or_path}{suffix}"
    return None


def given_paths(raw: Sequence[str]) -> list[tuple[Path, bool]]:
    """Each PATH argument of validate/test as ``(path, is_folder)``; one that does not exist is a usage error."""
    out = []
    for item in raw:
        p = Path(item)
        if not (p.is_dir() or p.is_file()):
            raise UsageError(f"{item}: no such file or folder")
        out.append((p, p.is_dir()))
    return out


def search_path(cli: Sequence[str | os.PathLike[str]] = (), config_dirs: Sequence[Path] = (),
                env: str | None = None) -> Library:
    """The library in search order: ``--library``, ``$MITIGATE_RUNBOOKS``, config, bundled.

    A folder named on the command line or in the environment must exist (a typo would silently
    fall back to the bundled runbook of the same name); one from the config may be missing.
    """
    folders: list[Folder] = []
    raw_env = os.environ.get(ENV, "") if env is None else env
    given = [(Path(p).expanduser(), "--library") for p in cli]
    given += [(Path(p).expanduser(), ENV) for p in raw_env.split(os.pathsep) if p.strip()]
    for path, origin in given:
        if not path.is_dir():
            raise MitigateError(f"{origin} {path}: no such folder")
        folders.append(Folder(path, origin))
    folders += [Folder(p, "config runbookPaths") for p in config_dirs]
    folders.append(Folder(paths.runbooks_dir(), "bundled"))
    unique: dict[Path, Folder] = {}
    for folder in folders:
        unique.setdefault(folder.path.resolve(), folder)
    return Library(tuple(unique.values()))

