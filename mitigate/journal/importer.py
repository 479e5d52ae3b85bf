"""Read the timeline of an existing Markdown postmortem: rows of time, zone and text.

Two shapes are recognised, as published postmortems write them:

- a pipe table whose header names a time column (``Time``, ``Time (UTC)``, ``When``...),
  optionally a ``Date``, a ``Zone``/``TZ`` and a ``Milestone`` column, and a text column
  (``Event``, ``What``, ``Description``...);
- timeline lines, ``09:47 Initial onset of global disruption`` or
  ``- 2019-07-02 13:42 UTC: engineer deploys the rule``, under a heading containing "timeline".

A row that gives only a time takes the date of the row before it (or ``--date``); a time
earlier than the one before on the same date means the timeline crossed midnight, and the
date moves on by one day. The zone of each row is its own (``13:42 UTC``, a Zone column), else
the header's (``Time (PDT)``), else ``--tz``; every time is resolved with the IANA database
and a zone that does not fit the date is flagged, as ``journal add`` does.

Milestones come from a Milestone column, a ``(milestone: NAME)`` tag, or the words of the
row (``detected``, ``identified by monitoring``, ``mitigated``, ``resolved``...): the first row
matching each milestone marks it. Input is untrusted: the file is bounded in size and rows, and
errors name the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mitigate.errors import MitigateError
from mitigate.journal.lifecycle import check_milestone
from mitigate.journal.timeparse import ABBREVIATIONS, Declared, resolve_declared

MAX_BYTES = 2_000_000
MAX_ROWS = 5_000

_TIME = re.compile(
    r"^\s*(?:(?P<date>\d{4}-\d{2}-\d{2})[ T,]+)?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    r"(?:\s*(?P<zone>UTC|GMT|Z|" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True))
    + r"|[A-Z][a-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?|[+-]\d{2}:?\d{2})(?![\w/]))?"
    r"(?:,?\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[A-Z][a-z]{2})[a-z]*(?:\s+(?P<year>\d{4}))?)?"
)
_HEADER_ZONE = re.compile(r"\(([^)]+)\)")
_TAG = re.compile(r"\(milestone:\s*([a-z-]+)\)", re.I)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}

# Checked in this order; the first milestone whose words appear in a row, and that no
# earlier row marked, is the row's milestone.
_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("impact-start", re.compile(r"\b(impact (started|starts|began|begins)|onset|outage (began|starts?)|"
                                r"customer impact (began|started)|began (failing|returning errors))\b", re.I)),
    ("detected", re.compile(r"\b(detected|alerts? (fired|triggered)|first (\w+ )?(page|alert)|paged|"
                            r"identified by [\w\s]*monitoring|monitoring (alerted|detected|identified)|"
                            r"monitoring systems? began to (generate )?alert)", re.I)),
    ("acknowledged", re.compile(r"\b(acknowledged|incident (declared|opened)|declared an? (incident|p0|sev))",
                                re.I)),
    ("identified", re.compile(r"\b(root cause (was )?identified|identified the (cause|root cause|customer "
                              r"configuration|problem)|cause (was )?identified)", re.I)),
    ("mitigated", re.compile(r"\b(mitigated|mitigation (was )?(applied|complete)|began to recover|"
                             r"recovery began|traffic (returned|back) to normal)", re.I)),
    ("resolved", re.compile(r"\b(resolved|fully (restored|recovered|operational)|all systems operational|"
                            r"services? (were |was )?fully restored|incident closed)", re.I)),
)


@dataclass(frozen=True)
class Row:
    line: int
    declared: Declared
    text: str
    milestone: str | None


@dataclass
class Timeline:
    title: str = ""
    rows: list[Row] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


@dataclass
class _Columns:
    time: int
    text: int
    date: int | None = None
    zone: int | None = None
    milestone: int | None = None
    header_zone: str | None = None


def _columns(header: list[str]) -> _Columns | None:
    lowered = [c.lower() for c in header]
    time = next((i for i, c in enumerate(lowered) if re.match(r"(time|when|timestamp|date ?/ ?time)\b", c)), None)
    if time is None:
        return None
    text = next((i for i, c in enumerate(lowered) if i != time and re.match(
        r"(event|what|description|text|details?|action|summary|update|activity|notes?)\b", c)), None)
    if text is None:
        others = [i for i in range(len(header)) if i != time]
        if not others:
            return None
        text = others[-1]
    cols = _Columns(time=time, text=text)
    cols.date = next((i for i, c in enumerate(lowered) if c.startswith("date") and i != time), None)
    cols.zone = next((i for i, c in enumerate(lowered) if c in ("zone", "tz", "time zone", "timezone")), None)
    cols.milestone = next((i for i, c in enumerate(lowered) if c.startswith("milestone")), None)
    match = _HEADER_ZONE.search(header[time])
    cols.header_zone = match.group(1).strip() if match else None
    return cols


class _Reader:
    def __init__(self, source: str, tz: str | None, day: str | None) -> None:
        self.source, self.tz = source, tz
        self.day: date | None = None
        if day:
            try:
                self.day = date.fromisoformat(day)
            except ValueError:
                raise MitigateError(f"--date {day!r}: write it as YYYY-MM-DD") from None
        self.last: datetime | None = None  # the previous row's local time
        self.marked: set[str] = set()
        self.timeline = Timeline()

    def fail(self, line: int, message: str) -> MitigateError:
        return MitigateError(f"{self.source}:{line}: {message}")

    def add(self, line: int, when: str, text: str, *, zone: str | None, day_cell: str | None,
            milestone_cell: str | None) -> None:
        match = _TIME.match(when)
        if match is None:
            raise self.fail(line, f"cannot read the time {when[:40]!r} (write HH:MM or YYYY-MM-DD HH:MM)")
        explicit_day = match.group("date") or (day_cell.strip() if day_cell and day_cell.strip() else None)
        if explicit_day is None and match.group("day") and match.group("month") in _MONTHS:
            year = int(match.group("year") or (self.day.year if self.day else 0) or 0)
            if not year:
                raise self.fail(line, "a day and month without a year: pass --date YYYY-MM-DD")
            explicit_day = f"{year:04d}-{_MONTHS[match.group('month')]:02d}-{int(match.group('day')):02d}"
        clock = match.group("time")
        if explicit_day is not None:
            try:
                self.day = date.fromisoformat(explicit_day)
            except ValueError:
                raise self.fail(line, f"cannot read the date {explicit_day[:20]!r} (YYYY-MM-DD)") from None
        if self.day is None:
            raise self.fail(line, "the time has no date and none came before: pass --date YYYY-MM-DD")
        local = datetime.combine(self.day, datetime.strptime(clock, "%H:%M:%S" if clock.count(":") == 2
                                                             else "%H:%M").time())
        if explicit_day is None and self.last is not None and local < self.last:
            local += timedelta(days=1)  # the timeline crossed midnight
            self.day = local.date()
        self.last = local
        own = match.group("zone")
        row_zone = ("UTC" if own == "Z" else own) or zone or self.tz
        if not row_zone:
            raise self.fail(line, "no time zone for this row: put it in the header (Time (UTC)) or pass --tz")
        try:
            declared = resolve_declared(local.strftime("%Y-%m-%d %H:%M:%S"), row_zone)
        except MitigateError as exc:
            raise self.fail(line, str(exc)) from None
        self.timeline.rows.append(Row(line, declared, text, self._milestone(line, text, milestone_cell)))
        if len(self.timeline.rows) > MAX_ROWS:
            raise self.fail(line, f"more than {MAX_ROWS} timeline rows")

    def _milestone(self, line: int, text: str, cell: str | None) -> str | None:
        named = (cell or "").strip() or (m.group(1) if (m := _TAG.search(text)) else "")
        if named:
            try:
                name = check_milestone(named)
            except MitigateError as exc:
                raise self.fail(line, str(exc)) from None
            self.marked.add(name)
            return name
        for name, words in _WORDS:
            if name not in self.marked and words.search(text):
                self.marked.add(name)
                return name
        return None


def import_timeline(text: str, *, source: str = "<timeline>", tz: str | None = None,
                    date: str | None = None) -> Timeline:
    """The timeline rows of a Markdown postmortem (see the module doc); a located error if none."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise MitigateError(f"{source}: larger than {MAX_BYTES // 1_000_000} MB; not a postmortem")
    reader = _Reader(source, tz, date)
    lines = text.splitlines()
    in_timeline = False
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        stripped = raw.strip()
        if stripped.startswith("#"):
            heading = stripped.lstrip("#").strip()
            if not reader.timeline.title and raw.startswith("# "):
                reader.timeline.title = heading[:200]
            in_timeline = "timeline" in heading.lower()
            index += 1
            continue
        if stripped.startswith("|") and index + 1 < len(lines) and _is_separator(_cells(lines[index + 1])):
            cols = _columns(_cells(raw))
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                if cols is not None:
                    cells = _cells(lines[index])
                    if len(cells) > max(cols.time, cols.text):
                        zone = cells[cols.zone] if cols.zone is not None and cols.zone < len(cells) else None
                        reader.add(index + 1, cells[cols.time], cells[cols.text],
                                   zone=(zone or None) or cols.header_zone,
                                   day_cell=cells[cols.date] if cols.date is not None and cols.date < len(cells)
                                   else None,
                                   milestone_cell=cells[cols.milestone]
                                   if cols.milestone is not None and cols.milestone < len(cells) else None)
                index += 1
            continue
        if in_timeline:
            item = re.sub(r"^[-*+]\s+", "", stripped)
            match = _TIME.match(item)
            if match and match.group("time"):
                rest = item[match.end():].lstrip(" :–—-|\t")
                if rest:
                    reader.add(number, item[: match.end()], rest, zone=None, day_cell=None, milestone_cell=None)
        index += 1
    if not reader.timeline.rows:
        raise MitigateError(f"{source}: no timeline found (a table with a Time column, or 'HH:MM text' lines "
                            "under a Timeline heading)")
    return reader.timeline
