"""Helpers for the sandbox tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.kubectl import kubectl_path, run_kubectl

SCENARIOS = Path(__file__).parent / "scenarios"


def wait_for(pred: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until ``pred()`` is truthy (the simulation ticks every 50 ms)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


KubectlRun = Callable[..., subprocess.CompletedProcess[str]]


@contextmanager
def kubectl_sandbox(scenario: dict[str, Any], home: Path) -> Iterator[tuple[Any, KubectlRun]]:
    """A sandbox of ``scenario`` (a copy: its objects are not changed) and ``k(*args, check=True,
    timeout=60)`` running kubectl 1.35 against it with its own HOME; stopped on the way out."""
    from integrations.sandbox import Sandbox

    kubectl_path()
    sb = Sandbox.start(copy.deepcopy(scenario))

    def k(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return run_kubectl(sb.kubeconfig, *args, home=home, check=check, timeout=timeout)

    try:
        yield sb, k
    finally:
        sb.stop()
