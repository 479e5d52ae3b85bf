"""RFC 3339 times: the one place they are parsed and formatted.

The journal writes ``ts`` as UTC with microseconds and ``Z`` (:func:`format_ts`, and its fast
twin :func:`utc_now_text`); Kubernetes objects (the adapter's, the sandbox's) carry whole
seconds (:func:`format_seconds`); everything that reads a time from a journal, a template, a
runbook, a Kubernetes object or an HTTP answer parses it with :func:`parse_rfc3339`. Human times ("14:05 CET") are
another matter: :mod:`mitigate.journal.timeparse` resolves those.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
"""A journal ``ts``: ``2026-11-21T23:36:04.123456Z``."""


def format_ts(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z`` (a journal ``ts``)."""
    if moment.tzinfo is None:
        raise ValueError("journal timestamps must be timezone-aware")
    utc = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).replace(tzinfo=None)
    if utc.year < 1000:  # strftime does not pad the year; isoformat does
        return utc.strftime(TS_FORMAT)
    return utc.isoformat(timespec="microseconds") + "Z"  # the same text, several times faster


_second: tuple[int, str] = (-1, "")  # the last second utc_now_text formatted, and its text


def utc_now_text() -> str:
    """``format_ts(datetime.now(UTC))`` (the same clock, floored to the microsecond), faster:
    the text up to the second is formatted once per second."""
    global _second
    micros = time.time_ns() // 1000
    seconds, fraction = divmod(micros, 1_000_000)
    cached = _second
    if cached[0] != seconds:
        cached = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{cached[1]}.{fraction:06d}Z"


def parse_ts(text: str) -> datetime:
    """A journal ``ts`` (exactly :data:`TS_FORMAT`) -> aware UTC datetime; ValueError otherwise."""
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


def parse_rfc3339(text: str, *, assume_utc: bool = True) -> datetime:
    """RFC 3339 text (``Z`` or an offset, any fraction) -> aware datetime in UTC.

    Text without a zone is taken as UTC, or refused (ValueError) when ``assume_utc`` is False.
    ValueError for anything that is not such a time."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        if not assume_utc:
            raise ValueError(f"{text!r} has no time zone (e.g. 2026-05-01T10:00:00Z)")
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_seconds(moment: datetime | float) -> str:
    """RFC 3339 UTC to the whole second with ``Z``, as Kubernetes writes a ``metav1.Time``
    (``creationTimestamp``, a condition's ``lastTransitionTime``). A number is a POSIX time."""
    if isinstance(moment, (int, float)):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        raise ValueError("an RFC 3339 time needs a time zone")
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def format_rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with ``Z`` (microseconds only when there are some)."""
    if moment.tzinfo is None:
        raise ValueError("an RFC 3339 time needs a time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
