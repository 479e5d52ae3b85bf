"""The TUI commands as a user meets them from a script or a pipe: clear one-line answers, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def mitigate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MITIGATE_JOURNAL_DIR": str(tmp_path / "j"), "MITIGATE_CONFIG_DIR": str(tmp_path / "cfg")}
    return subprocess.run([sys.executable, "-m", "mitigate", *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)


def test_bare_mitigate_in_a_pipe_prints_the_help(tmp_path: Path) -> None:
    proc = mitigate(tmp_path)
    assert proc.returncode == 0 and "usage: mitigate" in proc.stdout


def test_run_without_a_mode_outside_a_terminal_says_how_to_run_headless(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                          "users: [{name: u, user: {token: t}}]\ncontexts: [{name: lab, context: {cluster: c, user: u}}]\n"
                          "current-context: lab\n")
    proc = mitigate(tmp_path, "run", "replace-notready-nodes", "--context", "lab", "--kubeconfig", str(kubeconfig))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "mitigate: run: the TUI needs a terminal (use --plan or --auto-approve to run headless)")
    assert "Traceback" not in proc.stderr


def test_resume_of_an_unknown_incident_is_one_line(tmp_path: Path) -> None:
    proc = mitigate(tmp_path, "resume", "nope")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_tui_drill_never_sends_status_updates_or_silences_even_with_channels_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.config import load_config
    from integrations.drill import DrillNotifier, DrillSilencer
    from mitigate.cli.wiring import ports
    from tui import TuiConfirmer

    config = tmp_path / "config.yaml"
    config.write_text("channels:\n  ops-slack: {type: slack-webhook, urlSecret: slack-ops-webhook}\n"
                      "alertmanager:\n  default: {url: 'http://127.0.0.1:1'}\n")
    monkeypatch.setenv("MITIGATE_CONFIG", str(config))
    rehearsal = ports("drill", None, TuiConfirmer(), load_config(), tmp_path)
    assert isinstance(rehearsal.notifier, DrillNotifier) and isinstance(rehearsal.silencer, DrillSilencer)
    live = ports("live", None, TuiConfirmer(), load_config(), tmp_path)
    assert not isinstance(live.notifier, DrillNotifier) and "ops-slack" in live.notifier.channels()


def test_a_drill_incident_cannot_be_resumed_against_the_kubeconfig(tmp_path: Path) -> None:
    from mitigate.cli.tui import CliLauncher
    from mitigate.engine import IncidentMeta, Ports, Session
    from mitigate.errors import UsageError
    from mitigate.journal import Journal
    from mitigate.paths import runbooks_dir
    from mitigate.runbook.loader import load_runbook
    from tests.engine.fakes import FakeCluster, FakeConfirmer
    from tui import TuiConfirmer

    root = tmp_path / "incidents"
    journal = Journal.create(root, title="Drill: nodes")
    book = load_runbook(runbooks_dir() / "replace-notready-nodes.yaml")
    Session.start(book, {"context": "kapsule-fr-par-1"}, journal, Ports(cluster=FakeCluster({}),
                  confirmer=FakeConfirmer()), meta=IncidentMeta(title="Drill: nodes", drill=True, scenario="x"))
    journal.close()
    with pytest.raises(UsageError, match="is a drill: its sandbox is gone"):
        CliLauncher(root, None).resume(journal.id, TuiConfirmer())
    reopened = Journal.open(root, journal.id)  # the refusal released the journal's lock
    reopened.close()
