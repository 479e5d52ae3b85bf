"""Fault injection and the request log: what drills use to make the API misbehave and to
assert afterwards what clients actually sent.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

MUTATING = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class RequestLogEntry:
    """One request as the sandbox saw it (contract: ``Sandbox.request_log``)."""

    ts: float  # time.time()
    context: str
    verb: str  # get | list | watch | create | update | patch | delete | deletecollection | discovery | ...
    method: str
    path: str
    status: int
    user_agent: str
    resource: str = ""  # plural, with subresource as "pods/eviction"
    namespace: str = ""
    name: str = ""
    dry_run: bool = False
    stored: bool = True  # False: a review (access, rules, who-am-I), which the server answers and never stores

    @property
    def mutating(self) -> bool:
        """A request that changed (or tried to change) the cluster: not a dry run, and not a review
        (its resource's entry says it is not stored: a POST the API server answers and forgets)."""
        return self.verb in MUTATING and not self.dry_run and self.stored


@dataclass
class Fault:
    """Misbehaviour for requests matching verbs/resources (empty = all)."""

    verbs: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    rate: float = 1.0
    status: int | None = None  # HTTP status to answer instead of serving
    latency: float = 0.0  # seconds added before answering
    drop: bool = False  # close the connection without an answer
    retry_after: int | None = None
    count: int | None = None  # stop after this many hits
    message: str = "injected fault"
    hits: int = 0
    condition: Callable[[], bool] | None = None  # the cluster state it depends on (None: always armed)

    def matches(self, verb: str, resource: str) -> bool:
        if self.verbs and verb not in self.verbs:
            return False
        base = resource.split("/", 1)[0]
        return not self.resources or resource in self.resources or base in self.resources


@dataclass
class FaultSet:
    """The faults of one cluster, rolled with a seeded RNG so runs are reproducible."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def roll(self, rate: float) -> bool:
        with self._lock:
            return self._rng.random() < rate

    def pick(self, verb: str, resource: str) -> list[Fault]:
        """The faults that fire for this request (counted as hits)."""
        fired = []
        with self._lock:
            for f in self.faults:
                if not f.matches(verb, resource) or (f.count is not None and f.hits >= f.count):
                    continue
                if f.condition is not None and not f.condition():
                    continue
                if f.rate >= 1.0 or self._rng.random() < f.rate:
                    f.hits += 1
                    fired.append(f)
        return fired
