"""The TUI commands as a user meets them from a script or a pipe: clear one-line answers, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
