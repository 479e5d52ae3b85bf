"""The disruption controller: each PodDisruptionBudget's status (what kubectl shows as ALLOWED
DISRUPTIONS) follows the pods it selects; the arithmetic is ``budgets.evaluate``, the same the
eviction subresource refuses by."""

from __future__ import annotations

from ..budgets import evaluate
from ..store import Obj
from .base import PDB, POD, Controller, Key


class DisruptionController(Controller):
    name = "disruption-controller"
    primary = PDB
    watches = (POD,)

    def sync(self, pdb: Obj, key: Key) -> None:
        b = evaluate(pdb, self.st.list("pods", key[0]))
        self.write_status(pdb, b.status(pdb["metadata"].get("generation", 1)))
