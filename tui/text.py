"""Bounding what a screen shows: a 5,000-node command or diff is kept whole in the journal, not on screen."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter

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


# --------------------------------------------------------------------------- untrusted text
# Names, labels, annotations, condition messages, runbook titles and prompts are data: built as
# rich ``Text`` (never parsed as markup, so ``[on red]`` or ``[/bold]x`` is shown as typed) with
# every control character shown as an escape (``ESC[2J`` or OSC 52 never reaches the terminal).


def safe(text: object, *, multiline: bool = True) -> str:
    """``str(text)`` with control and invisible format characters escaped (``mitigate.textsafe``)."""
    from mitigate.textsafe import safe_text

    return safe_text(str(text), multiline=multiline)


def plain(text: object, style: str = "", *, multiline: bool = True) -> Text:
    """Untrusted text as a ``Text``: no markup, no control codes."""
    return Text(safe(text, multiline=multiline), style=style)


class ControlFilter(LineFilter):
    """The last line of defence: no control character in any segment's text reaches the driver,
    whatever a widget was given (Textual's own escape codes are written around segments, not
    inside them). Width is kept: control characters take no cell."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        from mitigate.textsafe import has_unsafe

        if not any(has_unsafe(s.text) for s in segments if not s.control):
            return segments
        return [s if s.control or not has_unsafe(s.text) else Segment(_strip(s.text), s.style, s.control)
                for s in segments]


def _strip(text: str) -> str:
    from mitigate.textsafe import strip_unsafe

    return strip_unsafe(text)
