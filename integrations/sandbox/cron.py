"""Cron schedules as the CronJob controller reads them (robfig/cron's standard parser): five
fields (minute, hour, day of month, month, day of week) with ``*``, ``?``, lists, ranges,
steps and month/weekday names, the ``@yearly``/``@monthly``/``@weekly``/``@daily``/``@hourly``
descriptors, and an optional ``CRON_TZ=``/``TZ=`` prefix. Day of month and day of week are
OR-ed when both are restricted, as in Vixie cron."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
           ("day of week", 0, 6, _DAYS))


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month is *
    any_weekday: bool
    tz: timezone | ZoneInfo

    def _day(self, t: datetime) -> bool:
        dom, dow = t.day in self.days, (t.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def matches(self, t: datetime) -> bool:
        return (t.minute in self.minutes and t.hour in self.hours and t.month in self.months
                and self._day(t))

    def next_after(self, t: datetime) -> datetime | None:
        """The first scheduled time strictly after ``t`` (an aware datetime), within five years."""
        cur = t.astimezone(self.tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = cur + timedelta(days=366 * 5)
        while cur < end:
            if cur.month not in self.months:
                cur = (cur.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day(cur):
                cur = cur.replace(hour=0, minute=0) + timedelta(days=1)
            elif cur.hour not in self.hours:
                cur = cur.replace(minute=0) + timedelta(hours=1)
            elif cur.minute not in self.minutes:
                cur += timedelta(minutes=1)
            else:
                return cur
        return None


def _field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    out: set[int] = set()
    star = False
    for part in text.split(","):
        rng, _, step_s = part.partition("/")
        try:
            step = int(step_s) if step_s else 1
        except ValueError:
            raise CronError(f"failed to parse int from {step_s}: strconv.Atoi: parsing \"{step_s}\": invalid syntax") \
                from None
        if step <= 0:
            raise CronError(f"step of range should be a positive number: {part}")
        if rng in ("*", "?"):
            start, end = lo, hi
            star = star or not step_s
        else:
            a, dash, b = rng.partition("-")
            start = _value(a, names)
            end = _value(b, names) if dash else (hi if step_s else start)
        if name == "day of week" and end == 7:
            end = 6 if start <= 6 else 0
        if start < lo or end > hi:
            raise CronError(f"end of range ({end}) above maximum ({hi}): {part}" if end > hi else
                            f"beginning of range ({start}) below minimum ({lo}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        out.update(range(start, end + 1, step))
    return frozenset(out), star


def _value(s: str, names: dict[str, int]) -> int:
    if s.lower() in names:
        return names[s.lower()]
    try:
        return int(s)
    except ValueError:
        raise CronError(f"failed to parse int from {s}: strconv.Atoi: parsing \"{s}\": invalid syntax") from None


def parse(text: str, time_zone: str | None = None) -> Schedule:
    """A schedule; CronError with robfig/cron's wording when it is not one."""
    s = text.strip()
    tz_name = time_zone
    if s.startswith(("CRON_TZ=", "TZ=")):
        head, _, s = s.partition(" ")
        tz_name = head.split("=", 1)[1]
    try:
        tz: timezone | ZoneInfo = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"provided bad location {tz_name}: unknown time zone {tz_name}") from None
    s = _DESCRIPTORS.get(s, s)
    if s.startswith("@"):
        raise CronError(f"unrecognized descriptor: {s}")
    parts = s.split()
    if len(parts) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(parts)}: [{' '.join(parts)}]")
    sets = [_field(p, *f) for p, f in zip(parts, _FIELDS, strict=True)]
    return Schedule(sets[0][0], sets[1][0], sets[2][0], sets[3][0], sets[4][0], sets[2][1], sets[4][1], tz)


def most_recent(sched: Schedule, since: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The latest scheduled time in (since, now] and how many were missed (counted up to 101:
    more than 100 is what the controller warns about, and it still starts the latest one)."""
    last, missed = None, 0
    t = sched.next_after(since)
    while t is not None and t <= now:
        last, missed = t, missed + 1
        if missed > 100:
            break
        t = sched.next_after(t)
    if missed <= 100:
        return last, missed
    for days in (1, 32, 400, 1500):  # many missed: look for the latest in a recent window only
        t = sched.next_after(max(since, now - timedelta(days=days)))
        found = None
        while t is not None and t <= now:
            found, t = t, sched.next_after(t)
        if found is not None:
            return found, missed
    return last, missed
