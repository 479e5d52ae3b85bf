"""Postmortem drafts (docs/ARCHITECTURE.md, The postmortem): a model built from the journal, rendered by Jinja2.

``build_postmortem`` turns journal records (and the runbook's hints) into a
:class:`Postmortem`; ``render`` puts it through a sandboxed template;
``draft`` does both steps' input gathering for a stored incident.
"""

from __future__ import annotations

from mitigate.postmortem.build import build_postmortem
from mitigate.postmortem.metrics import METRIC_DEFINITIONS, compute_metrics, format_duration
from mitigate.postmortem.model import Postmortem
from mitigate.postmortem.render import FORMATS, TemplateRenderError, default_template, render
from mitigate.postmortem.source import draft, load_hints

__all__ = [
    "FORMATS",
    "METRIC_DEFINITIONS",
    "Postmortem",
    "TemplateRenderError",
    "build_postmortem",
    "compute_metrics",
    "default_template",
    "draft",
    "format_duration",
    "load_hints",
    "render",
]
