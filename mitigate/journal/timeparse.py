"""Backdated entries: "impact began 10:01 CET" resolved to UTC, honestly.

Responders type times in whatever zone they think in, often as an
abbreviation, and often the wrong one for the date ("EST" in July). The
declared zone is resolved with the IANA database for that date and kept beside
the UTC time; anything that does not fit (an abbreviation the zone did not
observe then, a local time that was skipped or repeated by a DST change) is
flagged with a note saying exactly what was assumed. Nothing is silently
trusted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mitigate.errors import MitigateError


@dataclass(frozen=True)
class Declared:
    """A declared local time and how it was resolved."""

    utc: datetime  # aware, UTC
    text: str  # the time as typed
    tz: str  # the zone as typed
    zone: str  # the IANA zone (or fixed offset) used to interpret it
    utc_offset: str  # "+01:00"
    mismatch: bool  # the declaration does not fit the date: read ``note``
    note: str

    def to_data(self) -> dict[str, Any]:
        """The journal's ``declared`` dict (``utc`` goes into ``at``)."""
        data = asdict(self)
        del data["utc"]
        return data

    @property
    def at(self) -> str:
        """The UTC time in the journal's RFC 3339 format."""
        return self.utc.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# abbreviation -> (fixed offset, IANA zones that use it); the first zone is the one reported.
ABBREVIATIONS: dict[str, tuple[timedelta, tuple[str, ...]]] = {
    "GMT": (_h(0), ("Europe/London",)),
    "BST": (_h(1), ("Europe/London",)),
    "WET": (_h(0), ("Europe/Lisbon",)),
    "WEST": (_h(1), ("Europe/Lisbon",)),
    "CET": (_h(1), ("Europe/Paris", "Europe/Berlin", "Europe/Amsterdam")),
    "CEST": (_h(2), ("Europe/Paris", "Europe/Berlin", "Europe/Amsterdam")),
    "EET": (_h(2), ("Europe/Athens", "Europe/Helsinki")),
    "EEST": (_h(3), ("Europe/Athens", "Europe/Helsinki")),
    "MSK": (_h(3), ("Europe/Moscow",)),
    "IST": (_h(5.5), ("Asia/Kolkata",)),
    "SGT": (_h(8), ("Asia/Singapore",)),
    "HKT": (_h(8), ("Asia/Hong_Kong",)),
    "JST": (_h(9), ("Asia/Tokyo",)),
    "KST": (_h(9), ("Asia/Seoul",)),
    "AEST": (_h(10), ("Australia/Sydney", "Australia/Brisbane")),
    "AEDT": (_h(11), ("Australia/Sydney",)),
    "NZST": (_h(12), ("Pacific/Auckland",)),
    "NZDT": (_h(13), ("Pacific/Auckland",)),
    "EST": (_h(-5), ("America/New_York",)),
    "EDT": (_h(-4), ("America/New_York",)),
    "CST": (_h(-6), ("America/Chicago",)),
    "CDT": (_h(-5), ("America/Chicago",)),
    "MST": (_h(-7), ("America/Denver", "America/Phoenix")),
    "MDT": (_h(-6), ("America/Denver",)),
    "PST": (_h(-8), ("America/Los_Angeles",)),
    "PDT": (_h(-7), ("America/Los_Angeles",)),
    "AKST": (_h(-9), ("America/Anchorage",)),
    "AKDT": (_h(-8), ("America/Anchorage",)),
    "HST": (_h(-10), ("Pacific/Honolulu",)),
}
# Abbreviations that mean different things in different places: resolved as above, but said so.
AMBIGUOUS = {
    "IST": "IST also means Irish Standard Time (+01:00) and Israel Standard Time (+02:00)",
    "CST": "CST also means China Standard Time (+08:00) and Cuba Standard Time (-05:00)",
    "BST": "BST also means Bangladesh Standard Time (+06:00)",
}
_UTC_NAMES = {"UTC", "Z", "UT", "ZULU", "ETC/UTC"}
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f")
_TIME_ONLY = ("%H:%M", "%H:%M:%S")
HINT = "use an IANA name (Europe/Paris), UTC, an offset (+02:00) or an abbreviation (CET, EST, PDT...)"


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def parse_local(text: str, reference_date: date | None) -> datetime:
    """``2024-03-13 10:01`` (or ``10:01`` with a reference date) as a naive local time."""
    cleaned = text.strip()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            pass
    for fmt in _TIME_ONLY:
        try:
            clock = datetime.strptime(cleaned, fmt).time()
        except ValueError:
            continue
        if reference_date is None:
            raise MitigateError(f"time {text!r} needs a date: write it as 'YYYY-MM-DD HH:MM'")
        return datetime.combine(reference_date, clock)
    raise MitigateError(f"cannot read time {text!r}: write it as 'YYYY-MM-DD HH:MM' (local to --tz)")


def _fits(naive: datetime, zone: ZoneInfo, offset: timedelta) -> bool:
    return any(naive.replace(tzinfo=zone, fold=fold).utcoffset() == offset for fold in (0, 1))


def _observed(naive: datetime, zone: ZoneInfo) -> str:
    aware = naive.replace(tzinfo=zone)
    return f"{aware.tzname()} ({format_offset(aware.utcoffset() or timedelta())})"


def _resolve_abbreviation(naive: datetime, text: str, tz: str, abbr: str) -> Declared:
    offset, zones = ABBREVIATIONS[abbr]
    utc = (naive - offset).replace(tzinfo=UTC)
    extra = f"; {AMBIGUOUS[abbr]}, pass an IANA zone to be exact" if abbr in AMBIGUOUS else ""
    for name in zones:
        if _fits(naive, ZoneInfo(name), offset):
            return Declared(utc, text, tz, name, format_offset(offset), False,
                            f"{abbr} ({format_offset(offset)}) as observed in {name} on {naive.date()}{extra}")
    name = zones[0]
    note = (f"{abbr} does not fit {naive.date()} in {name}, which observed {_observed(naive, ZoneInfo(name))}"
            f" then; resolved with {abbr}'s fixed offset {format_offset(offset)}: check the time{extra}")
    return Declared(utc, text, tz, name, format_offset(offset), True, note)


def _resolve_zone(naive: datetime, text: str, tz: str, zone: ZoneInfo) -> Declared:
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    offset = first.utcoffset() or timedelta()
    utc = first.astimezone(UTC)
    if first.utcoffset() == second.utcoffset():
        return Declared(utc, text, tz, zone.key, format_offset(offset), False,
                        f"{first.tzname()} ({format_offset(offset)}) in {zone.key} on {naive.date()}")
    round_trip = utc.astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        note = (f"{naive:%H:%M} did not exist in {zone.key} on {naive.date()} (clocks moved forward); "
                f"resolved with the offset before the change, {format_offset(offset)}: check the time")
    else:
        later = second.utcoffset() or timedelta()
        note = (f"{naive:%H:%M} happened twice in {zone.key} on {naive.date()} (clocks moved back); "
                f"resolved as the first, {first.tzname()} ({format_offset(offset)}), not "
                f"{second.tzname()} ({format_offset(later)}): check the time")
    return Declared(utc, text, tz, zone.key, format_offset(offset), True, note)


def _fixed(naive: datetime, text: str, tz: str, offset: timedelta, zone_name: str) -> Declared:
    utc = (naive - offset).replace(tzinfo=UTC)
    return Declared(utc, text, tz, zone_name, format_offset(offset), False,
                    f"fixed offset {format_offset(offset)}")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a backdated time outside these is a typo, not an incident
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def resolve_declared(text_time: str, tz: str, *, reference_date: date | None = None) -> Declared:
    """Resolve a local time typed in the declared zone ``tz`` to UTC, flagging what does not fit.

    Bounded to 1970..2200 (year 1 or 9999 overflowed with an offset, and year 99 wrote a ``99-01-01``
    that is not RFC 3339): anything outside is a one-line error."""
    try:
        declared = _resolve(text_time, tz, reference_date)
    except OverflowError:
        declared = None
    if declared is None or not EARLIEST <= declared.utc < LATEST:
        raise MitigateError(f"time {text_time!r} {tz} is out of range: give a time between 1970 and 2200")
    return declared


def _resolve(text_time: str, tz: str, reference_date: date | None) -> Declared:
    naive = parse_local(text_time, reference_date)
    name = tz.strip()
    if not name:
        raise MitigateError(f"no time zone given for {text_time!r}: {HINT}")
    if name.upper() in _UTC_NAMES:
        return _fixed(naive, text_time, tz, timedelta(0), "UTC")
    if name.upper() in ABBREVIATIONS:
        return _resolve_abbreviation(naive, text_time, tz, name.upper())
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise MitigateError(f"offset {tz!r} is out of range (-14:00..+14:00)")
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
        return _fixed(naive, text_time, tz, offset, "UTC" + format_offset(offset))
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise MitigateError(f"unknown time zone {tz!r}: {HINT}") from None
    return _resolve_zone(naive, text_time, tz, zone)
