"""``mitigate --version``, ``validate`` and ``journal``/``incidents`` stay light: they import none of
textual, kubernetes or aiohttp (the composition root imports adapters inside the handlers that need them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mitigate.paths import runbooks_dir

PROBE = """
import json, sys
from mitigate.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'kubernetes', 'aiohttp', 'tui'})
print(json.dumps({'code': code, 'heavy': heavy}))
"""


@pytest.mark.parametrize("args", [["--version"], ["validate", "-q"],
                                  ["validate", str(runbooks_dir() / "apiserver-oom.yaml")],
                                  ["incidents"], ["journal", "show", "nope"]])
def test_light_commands_import_no_ui_kubernetes_or_aiohttp(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "MITIGATE_JOURNAL_DIR": str(tmp_path / "j"), "MITIGATE_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("MITIGATE_CONFIG", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], (args, result)
    assert result["code"] == (1 if args[0] == "journal" else 0), proc.stderr
