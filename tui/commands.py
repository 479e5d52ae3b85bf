"""Command-palette provider: every step ("go to") and every walker action."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS: list[tuple[str, str, str]] = [
    ("run_step", "Run / confirm step", "enter"),
    ("preview", "Preview (dry run and diff)", "p"),
    ("copy_kubectl", "Copy kubectl equivalent", "c"),
    ("skip", "Skip step (with a reason)", "s"),
    ("retry", "Retry failed step", "t"),
    ("rollback", "Roll back the incident's changes", "b"),
    ("rollback_step", "Roll back the highlighted step only", "B"),
    ("cancel_batch", "Cancel running batch", "esc"),
    ("note", "Add a note", "n"),
    ("milestone", "Mark a milestone", "m"),
    ("status", "Set incident status", "i"),
    ("postmortem", "Postmortem: preview and export", "e"),
    ("help", "Help", "?"),
]


class WalkerCommands(Provider):
    """Offers the walker's steps and actions; empty on other screens."""

    def _entries(self) -> list[tuple[str, object, str]]:
        from tui.screens.walker import WalkerScreen

        screen = self.screen
        if not isinstance(screen, WalkerScreen):
            return []
        entries: list[tuple[str, object, str]] = [
            (f"{label}  [{key}]", getattr(screen, f"action_{action}"), f"walker action ({key})")
            for action, label, key in ACTIONS
        ]
        for step in screen.step_states:
            entries.append((f"Go to step: {step.title or step.id}", partial(screen.go_to_step, step.id),
                            f"step {step.id} ({step.kind})"))
        return entries

    async def discover(self) -> Hits:
        for text, callback, help_text in self._entries():
            yield DiscoveryHit(text, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)  # type: ignore[arg-type]
