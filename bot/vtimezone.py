"""VTIMEZONE blocks as calendar servers write them, made from the IANA data Python ships.

A guest's calendar places a meeting written as `DTSTART;TZID=Europe/Warsaw:...` by the
VTIMEZONE sent with it. Servers (vzic's output, which Google, Apple and libical share) write
a zone's regular clock changes as one STANDARD and one DAYLIGHT observance, each with a
yearly RRULE and a DTSTART in 1970 given in the local time before the change; ical.js reads
exactly that, and Outlook builds its own zone from those rules. A change that no weekday
rule reproduces in the years a meeting needs (a zone that changed its rules, or moves its
clocks by another calendar) is listed with RDATE instead, after an observance saying what
was in force when those years began.

vzic's output is packaged on PyPI as ics-vtimezones, but Python 3.11 gets only its 2020
data (later releases need Python 3.14), so the blocks are derived here from `zoneinfo`
and the tzdata package Meetbot keeps current: the changes zoneinfo reports in the covered
years, each rule checked to reproduce every one of them.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

# Ruled observances start in this year, as vzic, Google and Apple write them.
RULE_YEAR = 1970
# A rule is first sought over this many years either side of the meeting's, so that, say,
# "last Sunday" is told from "fourth Sunday"; failing that, over the meeting's years alone.
RULE_MARGIN_YEARS = 1
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# BYDAY=1SU..4SU: the first weekday on or after these days of the month.
NTH_WEEKDAY_FIRST_DAYS = (1, 8, 15, 22)


class _ServerOrderRecur(vRecur):
    """An RRULE with its parts in the order vzic writes them (BYMONTH before BYDAY)."""

    # icalendar types its own order as that exact tuple.
    canonical_order = ("FREQ", "BYMONTH", "BYMONTHDAY", "BYDAY")  # type: ignore[assignment]


@dataclass(frozen=True)
class _Change:
    """One change of a zone's clocks, as zoneinfo reports it."""

    at: datetime
    offset_from: timedelta
    offset_to: timedelta
    name: str
    dst: timedelta

    @property
    def local(self) -> datetime:
        """Return the wall time just before the change, which RFC 5545's DTSTART names."""
        return (self.at + self.offset_from).replace(tzinfo=None)


@dataclass(frozen=True)
class _Rule:
    """A yearly change: the last given weekday of a month, or the first on or after a day."""

    month: int
    weekday: int
    first_day: int | None  # None: the month's last such weekday
    clock: time

    def on(self, year: int) -> datetime | None:
        """Return the wall time of the change in this year, or None if the month has none."""
        days_in_month = calendar.monthrange(year, self.month)[1]
        if self.first_day is None:
            last = date(year, self.month, days_in_month)
            day = days_in_month - (last.weekday() - self.weekday) % 7
        else:
            first = date(year, self.month, self.first_day)
            day = self.first_day + (self.weekday - first.weekday()) % 7
            if day > days_in_month:
                return None
        return datetime.combine(date(year, self.month, day), self.clock)

    def recur(self) -> vRecur:
        """Return the rule as an RRULE value."""
        weekday = WEEKDAYS[self.weekday]
        if self.first_day is None:
            return _ServerOrderRecur(freq="YEARLY", bymonth=self.month, byday=f"-1{weekday}")
        if self.first_day in NTH_WEEKDAY_FIRST_DAYS:
            nth = (self.first_day - 1) // 7 + 1
            return _ServerOrderRecur(freq="YEARLY", bymonth=self.month, byday=f"{nth}{weekday}")
        return _ServerOrderRecur(
            freq="YEARLY",
            bymonth=self.month,
            bymonthday=list(range(self.first_day, self.first_day + 7)),
            byday=weekday,
        )


@dataclass(frozen=True)
class _Observance:
    """One STANDARD or DAYLIGHT part of a VTIMEZONE."""

    daylight: bool
    name: str
    offset_from: timedelta
    offset_to: timedelta
    start: datetime
    rule: _Rule | None = None
    listed: tuple[datetime, ...] = ()


def vtimezone(zone: ZoneInfo, first: date, last: date) -> Timezone:
    """Return the zone's VTIMEZONE, true for every day from first to last (local dates)."""
    if zone.key is None:
        raise ValueError("a VTIMEZONE needs a zone known by its IANA name")
    if last < first:
        raise ValueError(f"the covered days end ({last}) before they begin ({first})")
    block = Timezone()
    block.add("tzid", zone.key)
    block.add("x-lic-location", zone.key)
    for observance in _observances(zone.key, first.year, last.year):
        block.add_component(_component(observance))
    return block


def _component(observance: _Observance) -> TimezoneStandard | TimezoneDaylight:
    part = TimezoneDaylight() if observance.daylight else TimezoneStandard()
    part.add("tzname", observance.name)
    part.add("tzoffsetfrom", observance.offset_from)
    part.add("tzoffsetto", observance.offset_to)
    part.add("dtstart", observance.start)
    if observance.rule is not None:
        part.add("rrule", observance.rule.recur())
    for onset in observance.listed:  # one line each, as vzic writes them (vobject reads one)
        part.add("rdate", onset)
    return part


@lru_cache(maxsize=1024)
def _observances(key: str, first_year: int, last_year: int) -> tuple[_Observance, ...]:
    zone = ZoneInfo(key)
    needed = range(first_year, last_year + 1)
    around = range(first_year - RULE_MARGIN_YEARS, last_year + RULE_MARGIN_YEARS + 1)
    for years in (around, needed):
        ruled = _ruled(zone, years)
        if ruled is not None:
            return ruled
    return _listed(zone, needed)


def _ruled(zone: ZoneInfo, years: range) -> tuple[_Observance, ...] | None:
    """Return yearly-ruled observances reproducing every change in these years, if any do."""
    begin = _year_start(zone, years.start)
    opening = _state(zone, begin)
    changes = _changes(zone, years)
    if not changes:
        start = datetime(RULE_YEAR, 1, 1)  # noqa: DTZ001 - RFC 5545 gives onsets in local time
        return (_Observance(False, opening.name, opening.offset, opening.offset, start),)
    rules: list[tuple[_Rule, _Change]] = []
    for kind in _kinds(changes):
        rule = _fit(kind, years)
        if rule is None:
            return None
        rules.append((rule, kind[0]))
    # What the rules leave in force as the years begin must be what zoneinfo says was.
    before: list[tuple[datetime, _Change]] = []
    for rule, change in rules:
        wall = rule.on(years.start - 1)
        if wall is None:
            return None
        before.append((wall - change.offset_from, change))
    _, in_force = max(before, key=lambda pair: pair[0])
    if (in_force.offset_to, in_force.name) != (opening.offset, opening.name):
        return None
    negative = _has_negative_dst(opening, changes)
    observances = []
    for rule, change in rules:
        onset = rule.on(RULE_YEAR)
        if onset is None:
            return None
        observances.append(_observance(change, onset, negative, rule=rule))
    return tuple(sorted(observances, key=lambda o: o.start))


def _listed(zone: ZoneInfo, years: range) -> tuple[_Observance, ...]:
    """Return observances for these years: ruled where a rule fits, listed dates elsewhere."""
    begin = _year_start(zone, years.start)
    opening = _state(zone, begin)
    changes = _changes(zone, years)
    negative = _has_negative_dst(opening, changes)
    observances = [
        _Observance(
            _daylight(opening.dst, negative),
            opening.name,
            opening.offset,
            opening.offset,
            (begin + opening.offset).replace(tzinfo=None),
        )
    ]
    for kind in _kinds(changes):
        rule = _fit(kind, years)
        start = rule.on(RULE_YEAR) if rule is not None else None
        if rule is not None and start is not None:
            observances.append(_observance(kind[0], start, negative, rule=rule))
        else:
            walls = [change.local for change in kind]
            observances.append(_observance(kind[0], walls[0], negative, listed=tuple(walls[1:])))
    return (observances[0], *sorted(observances[1:], key=lambda o: o.start))


def _observance(
    change: _Change,
    start: datetime,
    negative: bool,
    *,
    rule: _Rule | None = None,
    listed: tuple[datetime, ...] = (),
) -> _Observance:
    daylight = _daylight(change.dst, negative)
    return _Observance(
        daylight, change.name, change.offset_from, change.offset_to, start, rule, listed
    )


def _has_negative_dst(opening: _State, changes: list[_Change]) -> bool:
    return opening.dst < timedelta(0) or any(change.dst < timedelta(0) for change in changes)


def _daylight(dst: timedelta, negative: bool) -> bool:
    """Tell whether an observance is summer time, reading tzdata the way vzic does.

    tzdata gives a few zones negative summer time (Europe/Dublin, Africa/Casablanca): their
    "standard" time is the summer one. Calling it DAYLIGHT keeps one standard offset, which
    Outlook needs to pair the parts and dateutil needs to read the hour a change repeats.
    """
    return dst > timedelta(0) or (negative and dst == timedelta(0))


def _fit(changes: list[_Change], years: range) -> _Rule | None:
    """Return the yearly weekday rule that gives exactly these changes, one a year, if any."""
    if [change.local.year for change in changes] != list(years):
        return None
    first = changes[0].local
    latest_day = max(change.local.day for change in changes)
    for first_day in (None, *NTH_WEEKDAY_FIRST_DAYS, latest_day - 6):
        if first_day is not None and first_day < 1:
            continue
        rule = _Rule(first.month, first.weekday(), first_day, first.time())
        if all(rule.on(change.local.year) == change.local for change in changes):
            return rule
    return None


def _kinds(changes: list[_Change]) -> list[list[_Change]]:
    """Group changes that move the clocks the same way (each group one observance)."""
    kinds: dict[tuple[timedelta, timedelta, str, timedelta], list[_Change]] = defaultdict(list)
    for change in changes:
        kinds[(change.offset_from, change.offset_to, change.name, change.dst)].append(change)
    return list(kinds.values())


class _State(NamedTuple):
    """What a zone's clocks say at a moment."""

    offset: timedelta
    name: str
    dst: timedelta


def _changes(zone: ZoneInfo, years: range) -> list[_Change]:
    """Return the zone's changes in these years (on its own clocks), as zoneinfo reports them.

    A change as the first year begins is left to the opening state, taken after it.
    """
    assert zone.key is not None
    begin = _year_start(zone, years.start)
    return [change for year in years for change in _changes_in(zone.key, year) if change.at > begin]


@lru_cache(maxsize=4096)
def _changes_in(key: str, year: int) -> tuple[_Change, ...]:
    """Return the zone's changes in one year: a day's steps, then halving to the second."""
    zone = ZoneInfo(key)
    # From the second before the year, so that a change as it begins is found in it.
    low = int(_year_start(zone, year).timestamp()) - 1
    stop = int(_year_start(zone, year + 1).timestamp())
    changes = []
    clock = _clock(zone, low)
    while low < stop:
        high = min(low + 86_400, stop)
        if _clock(zone, high) == clock:
            low = high
            continue
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if _clock(zone, middle) == clock else (low, middle)
        if high == stop:  # a change as the next year begins is found in that year
            break
        before, after = _state_at(zone, low), _state_at(zone, high)
        at = datetime.fromtimestamp(high, UTC)
        changes.append(_Change(at, before.offset, after.offset, after.name, after.dst))
        low, clock = high, _clock(zone, high)
    return tuple(changes)


def _clock(zone: ZoneInfo, timestamp: int) -> tuple[timedelta | None, str | None]:
    """Return the offset and abbreviation in force at a moment (seconds since the epoch)."""
    local = datetime.fromtimestamp(timestamp, zone)
    return local.utcoffset(), local.tzname()


def _state_at(zone: ZoneInfo, timestamp: int) -> _State:
    """Return what the zone's clocks say at a moment given in seconds since the epoch."""
    local = datetime.fromtimestamp(timestamp, zone)
    offset = local.utcoffset()
    dst = local.dst()
    assert offset is not None and dst is not None
    return _State(offset, local.tzname() or "", dst)


def _state(zone: ZoneInfo, moment: datetime) -> _State:
    """Return what the zone's clocks say at a moment."""
    return _state_at(zone, int(moment.timestamp()))


def _year_start(zone: ZoneInfo, year: int) -> datetime:
    """Return the UTC moment the year begins on the zone's clocks."""
    return datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
