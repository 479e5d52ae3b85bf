"""The step kinds a session knows, by the runbook key that names them.

`DEFAULT` holds the ten kinds of the runbook format; a session can be given another
registry (``Registry.with_kind``), which is how a test adds a kind without touching the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from mitigate.engine.kind import StepKind
from mitigate.engine.kinds import action, check, command, decision, gate, http, manual, notify, silence, wait
from mitigate.errors import MitigateError
from mitigate.runbook.model import Step


class Registry:
    """Step kinds by name. Immutable: :meth:`with_kind` returns a new registry."""

    def __init__(self, kinds: Iterable[StepKind]) -> None:
        self._kinds: dict[str, StepKind] = {}
        for kind in kinds:
            if not kind.name:
                raise ValueError(f"{type(kind).__name__} has no name")
            if kind.name in self._kinds:
                raise ValueError(f"step kind {kind.name!r} registered twice")
            self._kinds[kind.name] = kind

    def with_kind(self, kind: StepKind) -> Registry:
        """This registry plus ``kind`` (a kind of the same name is replaced)."""
        return Registry([*(k for k in self._kinds.values() if k.name != kind.name), kind])

    def kind(self, step: Step) -> StepKind:
        """The kind that runs ``step``. MitigateError naming the step when none is registered."""
        try:
            return self._kinds[step.kind]
        except KeyError:
            raise MitigateError(f"step {step.id}: no step kind {step.kind!r} is registered "
                                f"(known: {', '.join(self._kinds)})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[StepKind]:
        return iter(self._kinds.values())


DEFAULT = Registry(module.KIND for module in (manual, decision, check, wait, gate, notify, silence, action, http,
                                               command))
