"""Text from the cluster, runbooks, scenarios and journals is data: never control codes.

An object name or annotation holding ``ESC ] 52`` (OSC 52) sets the responder's clipboard when
printed; ``ESC [2J`` wipes the screen; a carriage return overwrites the line before it; bidi
overrides reorder what is shown. :func:`safe_text` makes every such character visible as an
escape (``\\u001b``, ``\\u202e``) so the text still says what it held, and nothing reaches the
terminal as a command. It is applied where text leaves mitigate: the CLI's streams
(:func:`safe_streams`), the TUI (``tui.text``) and written postmortems.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# C0 controls except newline and tab, DEL, C1 controls, and the invisible format characters that
# reorder or hide text (zero-width, bidi embeddings/overrides/isolates, the BOM).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0A:
        return "\\n"
    if code == 0x09:
        return "\\t"
    if code == 0x0D:
        return "\\r"
    return f"\\u{code:04x}"  # JSON's escape too: a --json line stays valid JSON


def safe_text(text: str, *, multiline: bool = True) -> str:
    """``text`` with every control or invisible format character shown as an escape.

    ``multiline`` keeps newlines and tabs (a step's description); without it they are escaped
    too (a name, a table cell, one line of CLI output that must stay one line).
    """
    pattern = _UNSAFE if multiline else _UNSAFE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def strip_unsafe(text: str) -> str:
    """``text`` without the characters :func:`safe_text` escapes (newline and tab kept)."""
    return _UNSAFE.sub("", text)


def has_unsafe(text: str) -> bool:
    """Does ``text`` hold a character :func:`safe_text` would escape (newline and tab aside)?"""
    return _UNSAFE.search(text) is not None


class SafeStream:
    """A text stream that escapes control characters in everything written through it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(safe_text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, buffer...
        return getattr(self._stream, name)


@contextmanager
def safe_streams() -> Iterator[None]:
    """Escape control characters in all CLI output while the block runs (stdout and stderr).

    The TUI is unaffected: Textual writes to the terminal through ``sys.__stdout__`` and
    ``sys.__stderr__``, and builds its own text safely (``tui.text``).
    """
    out, err = sys.stdout, sys.stderr
    sys.stdout = SafeStream(out)
    sys.stderr = SafeStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
