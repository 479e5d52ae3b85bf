"""Locate the real kubectl (Debian's kubernetes-client 1.20) used by fidelity tests.

``.ci/run`` unpacks it and sets ``MITIGATE_KUBECTL``. Outside CI the same cached
copy under ``.ci/cache`` is used; if neither exists the fidelity tests are skipped
with a reason that says how to get it (CI always has it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

_CACHED = Path(__file__).resolve().parents[1] / ".ci/cache/kubectl/usr/bin/kubectl"


def kubectl_path() -> str:
    env = os.environ.get("MITIGATE_KUBECTL")
    if env and Path(env).exists():
        return env
    if _CACHED.exists():
        return str(_CACHED)
    pytest.skip("real kubectl 1.20 not found: run .ci/run once or set MITIGATE_KUBECTL")


def run_kubectl(kubeconfig: Path, *args: str, home: Path, timeout: float = 60,
                check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run kubectl with an isolated HOME and cache dir so discovery caches never leak."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    cmd = [kubectl_path(), f"--cache-dir={home / 'kube-cache'}", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc
