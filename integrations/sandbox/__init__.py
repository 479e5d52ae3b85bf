"""Sandbox Kubernetes API server for drills and tests (docs/ARCHITECTURE.md, The sandbox).

``Sandbox.start(scenario)`` serves each scenario cluster on its own loopback port with a
random bearer token and writes a kubeconfig with one context per cluster; the official
client and real kubectl use it unchanged. Scenario format: SCENARIOS.md in this folder.
"""

from __future__ import annotations

from .faults import RequestLogEntry
from .health import HealthReport
from .sandbox import Sandbox, wrote_kubeconfig
from .scenario import Scenario, load_scenario, parse_scenario
from .store import ClusterState
from .twin import snapshot

__all__ = ["ClusterState", "HealthReport", "RequestLogEntry", "Sandbox", "Scenario", "load_scenario",
           "parse_scenario", "snapshot", "wrote_kubeconfig"]
