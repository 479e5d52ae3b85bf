"""Bounding what a screen shows: a 5,000-node command or diff is kept whole in the journal, not on screen."""

from __future__ import annotations

MAX_SHOWN_LINES = 40
MAX_SHOWN_CHARS = 4000


def clip(text: str, hint: str, *, lines: int = MAX_SHOWN_LINES, chars: int = MAX_SHOWN_CHARS) -> str:
    """At most ``lines`` lines and ``chars`` characters: a 5,000-node command or diff must not
    cost a layout pass of 5,000 wrapped lines on every redraw."""
    kept = text.splitlines()[:lines]
    shown = "\n".join(kept)[:chars]
    if len(shown) < len(text.rstrip("\n")):
        shown += f"\n… {len(text) - len(shown):,} more characters ({hint})"
    return shown
