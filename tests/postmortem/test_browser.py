"""The HTML draft in a real browser: Debian's headless Chromium draws the Mermaid timeline from the
vendored bundle, offline, with no console errors, and the page shows the evidence sections.

``.ci/run`` installs Chromium and sets ``MITIGATE_REQUIRE_BROWSER=1``, so in CI a missing browser
fails instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mitigate.postmortem import Postmortem, default_template, render

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=15000"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("MITIGATE_REQUIRE_BROWSER"):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium not installed: apt-get install chromium (.ci/run does)")


def _browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_chromium(), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                           *extra, page.as_uri()], capture_output=True, text=True, timeout=120, check=False)


def test_html_draft_draws_its_timeline_offline_without_console_errors(drill: Postmortem, tmp_path: Path) -> None:
    page = tmp_path / "draft.html"
    page.write_text(render(drill, default_template("html")), encoding="utf-8")
    shown = _browse(page, tmp_path / "profile", "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    console = [line for line in shown.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if re.search(r"error|uncaught|refused", line, re.I)], console
    dom = shown.stdout
    diagram = re.search(r'<div id="diagram"[^>]*>(.*?)</div>\s*<div id="mermaid-source"', dom, re.S)
    assert diagram is not None and diagram.group(1).lstrip().startswith("<svg"), dom[:2000]
    # the key events are drawn (Mermaid wraps words into <tspan>s), its entity codes decoded
    words = " ".join(re.sub(r"<[^>]+>", " ", diagram.group(1)).split())
    assert "Milestone impact-start" in words and "Status: resolved" in words and "#58;" not in words, words
    for heading in ("Responders", "Evidence", "Communications", "Appendix: the journal"):
        assert f"<h2>{heading}</h2>" in dom
    assert "<code>notready-nodes</code>" in dom  # inline Markdown of the facts rendered as code

    shot = tmp_path / "draft.png"
    taken = _browse(page, tmp_path / "profile2", "--window-size=1200,1600", f"--screenshot={shot}")
    assert taken.returncode == 0 and shot.stat().st_size > 20_000, taken.stderr[-2000:]


def test_a_broken_diagram_says_so_and_the_table_stays(drill: Postmortem, tmp_path: Path) -> None:
    """The failure path of the page's own script: Mermaid refuses the source, the page says why."""
    page = tmp_path / "broken.html"
    html = render(drill, default_template("html"))
    html = html.replace('<div id="mermaid-source" hidden>', '<div id="mermaid-source" hidden>not a diagram %%{ ', 1)
    page.write_text(html, encoding="utf-8")
    shown = _browse(page, tmp_path / "profile", "--dump-dom")
    assert "The timeline diagram could not be drawn" in shown.stdout
    assert '<table class="timeline">' in shown.stdout
