"""``mitigate postmortem`` as a user runs it: a subprocess against a journal directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.postmortem.helpers import DRILL_ID
from tests.postmortem.journals import TOKEN


def mitigate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mitigate", "--journal-dir", str(root), "postmortem", *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_markdown_to_stdout_and_html_by_file_extension(journal_root: Path, tmp_path: Path) -> None:
    md = mitigate(journal_root, DRILL_ID)
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Postmortem: Kapsule API server OOM drill") and "```mermaid" in md.stdout
    assert "Keep auto-healing paused \\| until verified | platform-oncall | P0" in md.stdout
    assert TOKEN not in md.stdout
    out = tmp_path / "draft.html"
    html = mitigate(journal_root, DRILL_ID, "-o", str(out))
    assert html.returncode == 0 and html.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    forced = mitigate(journal_root, DRILL_ID, "--format", "md", "-o", str(tmp_path / "draft.html"))
    assert forced.returncode == 0 and (tmp_path / "draft.html").read_text(encoding="utf-8").startswith("# ")


def test_unknown_incident_is_one_line_and_exit_1(journal_root: Path) -> None:
    for bad in ("no-such-incident", "../etc"):
        result = mitigate(journal_root, bad)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("mitigate: "), result.stderr
        assert "Traceback" not in result.stderr


def test_team_template_error_is_located(journal_root: Path, tmp_path: Path) -> None:
    template = tmp_path / "team.md.j2"
    template.write_text("# {{ pm.title }}\n{{ pm.nope }}\n", encoding="utf-8")
    result = mitigate(journal_root, DRILL_ID, "--template", str(template))
    assert result.returncode == 1
    assert result.stderr == f"mitigate: {template}:2: 'mitigate.postmortem.model.Postmortem object' has no attribute 'nope'\n"
    missing = mitigate(journal_root, DRILL_ID, "--template", str(tmp_path / "gone.j2"))
    assert missing.returncode == 1 and missing.stderr == f"mitigate: {tmp_path / 'gone.j2'}: template not found\n"


def test_moved_runbook_still_renders_and_says_so(tmp_path: Path) -> None:
    from tests.postmortem.journals import drill_events, opened, write_journal

    events = drill_events()
    events[0] = (events[0][0], "incident.opened", opened("/gone/runbook.yaml", runbook="retired-runbook"))
    write_journal(tmp_path, "moved", events)
    result = mitigate(tmp_path, "moved")
    assert result.returncode == 0, result.stderr
    assert "Runbook hints unavailable: runbook file not found: /gone/runbook.yaml or " in result.stdout


def test_team_template_over_budget_is_one_located_line_and_exit_1(journal_root: Path, tmp_path: Path) -> None:
    template = tmp_path / "team.html.j2"
    template.write_text("<h1>{{ pm.title }}</h1>\n{% for i in range(150000) %}{% for j in range(150000) %}"
                        "{{ j }}{% endfor %}{% endfor %}\n", encoding="utf-8")
    result = mitigate(journal_root, DRILL_ID, "--template", str(template), "-o", str(tmp_path / "out.html"))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"mitigate: {template}:2: the template takes more than ") and \
        result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "out.html").exists()


def test_team_template_folder_picks_the_formats_file_and_keeps_the_budgets(journal_root: Path, tmp_path: Path) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "postmortem.md.j2").write_text("# team: {{ pm.title }}\n{% include 'footer.j2' %}\n", encoding="utf-8")
    (team / "postmortem.html.j2").write_text("<h1>{{ pm.title ~ ' <x>' }}</h1>\n", encoding="utf-8")
    (team / "footer.j2").write_text("-- the team\n", encoding="utf-8")
    md = mitigate(journal_root, DRILL_ID, "--template", str(team))
    assert md.returncode == 0, md.stderr
    assert md.stdout == "# team: Kapsule API server OOM drill\n-- the team\n"
    html = mitigate(journal_root, DRILL_ID, "--template", str(team), "--format", "html")
    assert html.returncode == 0 and html.stdout == "<h1>Kapsule API server OOM drill &lt;x&gt;</h1>\n", html.stdout
    (team / "footer.j2").write_text("{{ pm.__class__ }}\n", encoding="utf-8")
    refused = mitigate(journal_root, DRILL_ID, "--template", str(team))
    assert refused.returncode == 1 and "not allowed in a template" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
