"""Render the status-update message every channel sends, from ``templates/status-update.md.j2``.

The template is user-editable text, so it runs in Jinja2's sandbox (docs/ARCHITECTURE.md, Untrusted input and secrets), with
strict undefined so a typo in the template is an error rather than a silently empty line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from mitigate import paths
from mitigate.errors import MitigateError
from mitigate.ports import Notification

TEMPLATE = "status-update.md.j2"


@lru_cache(maxsize=4)
def _template(folder: str) -> jinja2.Template:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=True,
    )
    return env.get_template(TEMPLATE)


def render_status_update(note: Notification, *, now: datetime | None = None,
                         next_update: str | None = None) -> str:
    """The message text for ``note``: title, status, body, time (UTC), incident id, next update."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        text = _template(str(paths.templates_dir())).render(
            title=note.title, status=note.status, body=note.body,
            time_utc=when.strftime("%Y-%m-%d %H:%M UTC"), incident_id=note.incident_id,
            next_update=next_update, journal_head=note.journal_head[:16],
        )
    except jinja2.TemplateError as exc:
        raise MitigateError(f"{TEMPLATE}: {' '.join(str(exc).split())}") from None
    return text.strip() + "\n"
