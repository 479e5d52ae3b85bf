"""Protected contexts: the one rule every entry point uses.

A context is protected when its name matches any of these glob patterns (``fnmatch``, case
sensitive, as kubectl spells the name):

1. the built-in ``*prod*``, always;
2. ``protectedContexts:`` from config.yaml;
3. every ``--protect PATTERN`` given on the command line;
4. when an incident is resumed, the patterns journaled when it was opened.

Protection only ever adds up: no source can remove what another one protects, so a context
protected when the incident was opened stays protected when it is resumed on a machine whose
config says less. The CLI decides the patterns once, before the incident is created, hands
them to the cluster adapter (which marks each ``ContextInfo.protected``) and journals them in
``incident.opened`` (``protection``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BUILTIN: tuple[str, ...] = ("*prod*",)


@dataclass(frozen=True)
class Protection:
    """The protected-context patterns of one incident, and where each came from."""

    patterns: tuple[str, ...]
    sources: tuple[tuple[str, str], ...] = ()  # (pattern, "built-in" | "config" | "--protect" | "journal")

    def protects(self, context: str) -> bool:
        return is_protected(context, self.patterns)

    def to_data(self) -> dict[str, list[str]]:
        """What ``incident.opened`` journals: the patterns, grouped by where they came from."""
        out: dict[str, list[str]] = {"patterns": list(self.patterns)}
        for pattern, source in self.sources:
            out.setdefault(source, []).append(pattern)
        return out


def is_protected(context: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(context, p) for p in patterns)


def decide(config: Sequence[str] = (), cli: Sequence[str] = (), journaled: Sequence[str] = ()) -> Protection:
    """The patterns from every source, built-in first, each once, in the order above."""
    seen: dict[str, str] = {}
    for source, patterns in (("built-in", BUILTIN), ("config", config), ("--protect", cli),
                             ("journal", journaled)):
        for pattern in patterns:
            text = str(pattern).strip()
            if text and text not in seen:
                seen[text] = source
    return Protection(patterns=tuple(seen), sources=tuple(seen.items()))


def journaled_patterns(opened: dict[str, object]) -> list[str]:
    """The patterns an ``incident.opened`` record carries (none for incidents opened before this rule)."""
    data = opened.get("protection")
    patterns = data.get("patterns") if isinstance(data, dict) else None
    return [p for p in patterns if isinstance(p, str)] if isinstance(patterns, list) else []
