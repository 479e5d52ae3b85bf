"""The Textual TUI: home, incident start, walker and modals, driving mitigate.engine.Session.

The CLI (mitigate/cli/tui.py and mitigate/cli/run.py) imports this lazily and
opens it with :func:`make_app` or :func:`launch_walker`.
"""

from __future__ import annotations

from tui.app import MitigateApp, launch_walker, make_app, run_app
from tui.confirmer import TuiConfirmer
from tui.protocols import Incident, StepInfo

__all__ = ["Incident", "MitigateApp", "StepInfo", "TuiConfirmer", "launch_walker", "make_app", "run_app"]
