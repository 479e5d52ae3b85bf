"""Finding and listing runbooks in a library folder (the bundled one by default)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mitigate import paths
from mitigate.errors import MitigateError
from mitigate.runbook.loader import find_runbook, list_runbooks
from tests.runbook.helpers import BAD, FULL


@pytest.fixture
def library(tmp_path: Path) -> Path:
    shutil.copy(FULL, tmp_path / "nodes.yaml")
    shutil.copy(BAD / "two_kinds.yaml", tmp_path / "broken.yaml")
    (tmp_path / "drills").mkdir()
    shutil.copy(FULL, tmp_path / "drills" / "scenario.yaml")
    (tmp_path / "notes.txt").write_text("not a runbook")
    return tmp_path


def test_list_runbooks_summarises_and_flags_broken_files(library: Path) -> None:
    got = list_runbooks(library)
    assert [(s.name, s.path.name) for s in got] == [("broken", "broken.yaml"), ("full-capabilities", "nodes.yaml")]
    full = got[1]
    assert full.title == "Every capability of the runbook format" and full.steps == 12 and full.error is None
    assert "nodes" in full.tags and full.version == "3"
    assert got[0].error is not None and "broken.yaml:9:5: a step needs exactly one of" in got[0].error


def test_find_runbook_by_path_stem_or_metadata_name(library: Path) -> None:
    assert find_runbook(str(FULL), library) == FULL
    assert find_runbook("nodes", library) == library / "nodes.yaml"
    assert find_runbook("full-capabilities", library) == library / "nodes.yaml"
    with pytest.raises(MitigateError, match=r"no runbook named 'full-capabilites'.*did you mean 'full-capabilities'"):
        find_runbook("full-capabilites", library)
    with pytest.raises(MitigateError, match="no runbook named 'scenario'"):
        find_runbook("scenario", library)  # drills are not runbooks


def test_bundled_library_is_the_default() -> None:
    bundled = {p.stem for p in paths.runbooks_dir().glob("*.yaml")}
    assert {s.path.stem for s in list_runbooks()} == bundled
