"""mitigate: a terminal incident-response runbook assistant for Kubernetes (core package)."""

from __future__ import annotations

__version__ = "0.1.0"
