"""The everyday commands stay light: ``mitigate --version``, ``validate`` and ``journal`` load no
TUI, no Kubernetes client and no aiohttp (docs/ARCHITECTURE.md, Layers: heavy imports happen
inside the handlers that need them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("textual", "kubernetes", "aiohttp")

RUNNER = """
import json, sys
from mitigate.cli import main
from mitigate.journal import Journal
root = sys.argv[1]
Journal.create(__import__("pathlib").Path(root), "inc-light").close() if sys.argv[2] == "journal" else None
argv = json.loads(sys.argv[3])
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[4])))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize("argv", [
    ["--version"],
    ["validate", "-q", str(ROOT / "runbooks" / "apiserver-oom.yaml")],
    ["--journal-dir", "{root}", "journal", "show", "inc-light"],
    ["--journal-dir", "{root}", "journal", "verify", "--allow-unkeyed", "inc-light"],
], ids=["version", "validate", "journal-show", "journal-verify"])
def test_everyday_commands_import_no_heavy_module(argv: list[str], tmp_path: Path) -> None:
    args = [a.replace("{root}", str(tmp_path)) for a in argv]
    kind = "journal" if "journal" in args else "other"
    done = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path), kind, json.dumps(args), json.dumps(HEAVY)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), done.stderr
    assert result["heavy"] == []
