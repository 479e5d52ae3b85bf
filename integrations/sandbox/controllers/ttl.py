"""The TTL-after-finished controller: a Job with ``ttlSecondsAfterFinished`` is deleted (its pods
with it, foreground) that many seconds after it finished (its Complete or Failed condition)."""

from __future__ import annotations

import time

from ..nodelife import epoch
from ..store import ApiError, Obj
from .base import JOB, Controller, Key
from .jobs import finished


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished-controller"
    primary = JOB

    def sync(self, job: Obj, key: Key) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        state = finished(job)
        if ttl is None or state is None:
            return
        done = next((epoch(c.get("lastTransitionTime")) for c in (job.get("status") or {}).get("conditions") or []
                     if isinstance(c, dict) and c.get("type") == state), None) or time.time()
        left = done + int(ttl) - time.time()
        if left > 0:
            self.after(left + 0.05, key)
            return
        try:
            self.st.delete(self.r(), key[1], key[0], propagation="Foreground",
                           preconditions={"uid": job["metadata"]["uid"]})
        except ApiError:
            return
