"""Leaving and coming back: ``resume`` takes any unique prefix of an ID; TUI and headless drills
name their incidents the same way and prepare the drill through the same function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mitigate.cli import main
from mitigate.cli.wiring import resolve_incident_id
from mitigate.errors import UsageError
from mitigate.journal import Journal, list_incidents
from tests.engine.fakes import FakeConfirmer


def _incidents(root: Path, *ids: str) -> None:
    for incident_id in ids:
        Journal.create(root, incident_id).close()


def test_an_incident_is_found_by_any_unique_prefix(tmp_path: Path) -> None:
    _incidents(tmp_path, "2026-12-01T2100Z-oom-ab12", "2026-12-01T2100Z-oom-ab34", "2026-12-01T2200Z-crd-0001")
    assert resolve_incident_id(tmp_path, "2026-12-01T2200Z-crd-0001") == "2026-12-01T2200Z-crd-0001"
    assert resolve_incident_id(tmp_path, "2026-12-01T22") == "2026-12-01T2200Z-crd-0001"
    assert resolve_incident_id(tmp_path, "2026-12-01T2100Z-oom-ab3") == "2026-12-01T2100Z-oom-ab34"
    with pytest.raises(UsageError, match="ambiguous: 2026-12-01T2100Z-oom-ab12, 2026-12-01T2100Z-oom-ab34"):
        resolve_incident_id(tmp_path, "2026-12-01T2100Z-oom")
    with pytest.raises(UsageError, match="no incident '2027' in"):
        resolve_incident_id(tmp_path, "2027")
    with pytest.raises(Exception, match="invalid incident id"):
        resolve_incident_id(tmp_path, "../etc")


def test_resume_with_an_ambiguous_prefix_says_so_in_one_line(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    _incidents(tmp_path / "j", "2026-12-01T2100Z-oom-ab12", "2026-12-01T2100Z-oom-ab34")
    assert main(["resume", "2026-12-01T21"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is ambiguous" in err[0]


SCENARIO = {"name": "lab", "context": "lab",
            "objects": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stale-lab", "namespace": "shop"},
                         "data": {"k": "v"}}],
            "health": [{"name": "stale config gone", "absent": {"apiVersion": "v1", "kind": "ConfigMap",
                                                                "namespace": "shop", "name": "stale-lab"}}],
            "drill": {"runbook": "clean", "inputs": {"suffix": "${context}"}, "warmupSeconds": 0.2,
                      "brief": "A stale ConfigMap broke the shop at 03:12."}}
RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: clean, title: Delete the stale config, source: tests}
inputs:
  context: {type: kube-context}
  suffix: {type: string}
steps:
  - id: delete
    action: {delete: {apiVersion: v1, kind: ConfigMap, namespace: shop, names: ["stale-{{ inputs.suffix }}"]}}
"""


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "lib"
    (folder / "drills").mkdir(parents=True)
    (folder / "clean.yaml").write_text(RUNBOOK)
    (folder / "drills" / "lab.yaml").write_text(json.dumps(SCENARIO))
    return folder


def test_tui_and_headless_drills_prepare_and_name_the_incident_the_same_way(
        tmp_path: Path, library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("integrations.sandbox")
    import mitigate.cli.tui as bridge

    seen: dict[str, Any] = {}

    def fake_walk(build: Any, cluster: Any, *, drill: Any = None, **_: Any) -> int:
        session = build(FakeConfirmer())
        seen.update(inputs=dict(session.inputs), brief=drill.brief_text(), verdict=drill.verdict(session))
        session.journal.close()
        return 0

    monkeypatch.setattr(bridge, "need_terminal", lambda command: None)
    monkeypatch.setattr(bridge, "walk", fake_walk)
    assert main(["drill", "lab", "--library", str(library)]) == 0
    tui_out = capsys.readouterr().out
    assert main(["drill", "lab", "--library", str(library), "--headless", "--auto-approve"]) == 0
    headless_out = capsys.readouterr().out

    # the drill block was honoured in the TUI drill too: ${context} expanded, the brief shown
    assert seen["inputs"] == {"context": "lab", "suffix": "lab"}
    assert "A stale ConfigMap broke the shop at 03:12." in seen["brief"] and "broke the shop" in tui_out
    assert "Mitigated when: stale config gone" in seen["brief"]
    assert not seen["verdict"].mitigated and "Scenario health: NOT MITIGATED" in tui_out  # nothing was run
    assert "Scenario health: MITIGATED" in headless_out
    names = sorted(s.id.split("-", 3)[-1].rsplit("-", 1)[0] for s in list_incidents(tmp_path / "j"))
    assert names == ["drill-clean", "drill-clean"]
    assert all(s.drill and s.title == "Drill: Delete the stale config" for s in list_incidents(tmp_path / "j"))


@pytest.mark.parametrize("name", ["delete-offending-crds", "revert-unscoped-changes"])
def test_the_tui_drill_of_a_shipped_scenario_gets_its_drill_block(
        name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Both would not start (or skipped their ingress checks) when the TUI drill ignored the drill block."""
    pytest.importorskip("integrations.sandbox")
    import mitigate.cli.tui as bridge

    seen: dict[str, Any] = {}

    def fake_walk(build: Any, cluster: Any, *, drill: Any = None, **_: Any) -> int:
        session = build(FakeConfirmer())
        seen.update(inputs=dict(session.inputs), contexts=[c.name for c in cluster.contexts()])
        session.journal.close()
        return 0

    monkeypatch.setattr(bridge, "need_terminal", lambda command: None)
    monkeypatch.setattr(bridge, "walk", fake_walk)
    assert main(["drill", name]) == 0
    if name == "delete-offending-crds":
        assert seen["inputs"]["ingressUrl"].startswith("http://127.0.0.1:")
        assert seen["inputs"]["ingressUrl"].endswith("/healthz")
    else:
        assert seen["inputs"]["managementContext"] == "mk8s-mgmt"
        assert len(seen["inputs"]["contexts"]) == 40 and "mk8s-mgmt" not in seen["inputs"]["contexts"]
    capsys.readouterr()


@pytest.mark.anyio
async def test_the_tui_drill_opens_on_its_brief(tmp_path: Path, library: Path) -> None:
    pytest.importorskip("integrations.sandbox")
    from mitigate.cli import drill as drills
    from mitigate.cli.library import search_path
    from mitigate.cli.tui import incident_for
    from tests.tui.helpers import until
    from tui import TuiConfirmer, make_app
    from tui.screens.brief import BriefScreen
    from tui.screens.walker import WalkerScreen

    prepared = drills.start("lab", library=search_path([library]))
    try:
        confirmer = TuiConfirmer()
        session = prepared.open(tmp_path / "j", confirmer)
        incident = incident_for(session, prepared.cluster, on_close=session.journal.close, drill=prepared)
        app = make_app(incident=incident, confirmer=confirmer)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, BriefScreen) and bool(app.screen.query("#brief-text")))
            assert "A stale ConfigMap broke the shop" in str(app.screen.query_one("#brief-text").render())
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, WalkerScreen))
    finally:
        prepared.sandbox.stop()
