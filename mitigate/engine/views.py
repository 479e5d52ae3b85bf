"""What templates see of earlier steps: ``steps['find'].names``, ``saved.notready.count``.

A plain dict would not do: Jinja2 resolves ``x.items`` to ``dict.items`` before
``x['items']``. :class:`StepView` exposes the documented attributes and item
access both. Check items are kept in memory only (a 5,000-node list does not
belong in the journal); after a resume they are fetched again, read-only, the
first time a template asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mitigate.engine.state import StepRecord
from mitigate.events import WHOLE, StepStatus


class StepView:
    """A read-only view of one step's result for templates and expressions."""

    __slots__ = ("id", "status", "ok", "names", "count", "value", "rows", "choice", "targets", "results",
                 "message", "contexts", "_items", "_load")

    def __init__(self, step_id: str, rec: StepRecord, items: list[dict[str, Any]] | None,
                 load: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        result = rec.result or {}
        self.id = step_id
        self.status = str(rec.status)
        self.ok = rec.status == StepStatus.SUCCEEDED and bool(result.get("ok", True))
        self.names: list[str] = list(result.get("names") or [])
        self.count: int = int(result.get("count") or 0)
        self.value: Any = result.get("value")
        self.rows: list[Any] = list(result.get("rows") or [])
        self.choice: str | None = rec.choice
        self.targets: list[str] = sorted({unit for _, unit in rec.done if unit != WHOLE})
        self.results: list[dict[str, Any]] = [r for o in rec.outcomes for r in o.get("results") or []]
        self.message: str = str(result.get("message") or rec.error or "")
        self.contexts: dict[str, Any] = dict(result.get("contexts") or {})
        self._items = items
        self._load = load

    @property
    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = self._load() if self._load is not None else []
        return self._items

    def __getitem__(self, key: str) -> Any:
        if key.startswith("_") or key not in self.__slots__ + ("items",):
            raise KeyError(key)
        return getattr(self, key)

    def __repr__(self) -> str:
        return f"StepView({self.id!r}, status={self.status}, count={self.count})"
