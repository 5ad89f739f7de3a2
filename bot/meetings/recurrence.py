"""Meetings that repeat: RRULE text checked and normalised, and occurrences expanded in caps.

A series is its first meeting's start (on the organizer's clock) plus one RRULE, as RFC 5545
writes it. The rule is kept as text in the small subset Meetbot offers and every calendar
reads alike (FREQ DAILY/WEEKLY/MONTHLY/YEARLY with INTERVAL, BYDAY, BYMONTHDAY, BYMONTH,
BYSETPOS, WKST, and COUNT or UNTIL), normalised to one spelling so equal rules compare equal.
Expansion is dateutil's (icalendar depends on it): occurrences keep their wall-clock time
across daylight-saving changes because they are worked out in the organizer's zone.

Limits, stated and enforced: a series ends within five years of its start (a rule with no
end is given one five years on), "after N times" is at most MAX_COUNT, and no call expands
more than MAX_EXPANDED occurrences at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from bot.i18n import N_
from bot.meetings.errors import MeetingError

MAX_SERIES_YEARS = 5
# "After N times": enough for every weekday of a year.
MAX_COUNT = 260
# No list of occurrences worked out in one go is longer than this.
MAX_EXPANDED = 300
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_INTERVAL = 12
_BYDAY = re.compile(r"([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_DATE = re.compile(r"[0-9]{8}")
_UNTIL_UTC = re.compile(r"[0-9]{8}T[0-9]{6}Z")
# The order parts are written in, so one rule has one spelling.
_ORDER = ("FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST")


class RepeatRefused(MeetingError):
    """A repeat rule Meetbot does not take; the message says why, beside the form's field."""

    field = "repeats"
    message = N_("Meetbot cannot repeat a meeting that way.")

    def __init__(self, message: str, field: str = "repeats") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def series_limit(start: datetime) -> datetime:
    """Return the latest moment a series starting then may still have an occurrence."""
    try:
        return start.replace(year=start.year + MAX_SERIES_YEARS)
    except ValueError:  # 29 February
        return start.replace(year=start.year + MAX_SERIES_YEARS, day=28)


def _parts(text: str) -> dict[str, str]:
    """Return the NAME=value parts of an RRULE, refusing a repeated or empty one."""
    text = text.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    parts: dict[str, str] = {}
    for piece in filter(None, text.upper().split(";")):
        name, equals, value = piece.partition("=")
        if not equals or not value or name in parts:
            raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
        parts[name] = value
    return parts


def _int(value: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,4}", value) or not low <= int(value) <= high:
        raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
    return int(value)


def _until(value: str, zone: tzinfo) -> datetime:
    """Return UNTIL as a UTC moment; a bare date means the end of that day on the clock."""
    if _UNTIL_UTC.fullmatch(value):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if _UNTIL_DATE.fullmatch(value):
        day = datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC).date()
        return end_of_day(day, zone)
    raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """Return the last second of a day on a zone's clock, in UTC (as UNTIL is written)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def _checked_parts(parts: dict[str, str]) -> dict[str, str]:
    """Return the parts Meetbot offers, each checked, in one spelling; refuse anything else."""
    unknown = set(parts) - {*_ORDER, "COUNT", "UNTIL"}
    if unknown or parts.get("FREQ") not in FREQUENCIES:
        raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
    checked = {"FREQ": parts["FREQ"]}
    if "INTERVAL" in parts and (interval := _int(parts["INTERVAL"], 1, MAX_INTERVAL)) != 1:
        checked["INTERVAL"] = str(interval)
    if "BYMONTH" in parts:
        checked["BYMONTH"] = ",".join(str(_int(m, 1, 12)) for m in parts["BYMONTH"].split(","))
    if "BYMONTHDAY" in parts:
        days = [_int(d, -31, 31) for d in parts["BYMONTHDAY"].split(",")]
        if 0 in days:
            raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
        checked["BYMONTHDAY"] = ",".join(map(str, days))
    if "BYDAY" in parts:
        days_typed = parts["BYDAY"].split(",")
        if not all(_BYDAY.fullmatch(d) for d in days_typed):
            raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
        checked["BYDAY"] = ",".join(sorted(dict.fromkeys(days_typed), key=_weekday_order))
    if "BYSETPOS" in parts:
        checked["BYSETPOS"] = str(_int(parts["BYSETPOS"], -5, 5))
    if "WKST" in parts:
        if parts["WKST"] not in WEEKDAYS:
            raise RepeatRefused(N_("Meetbot cannot repeat a meeting that way."))
        checked["WKST"] = parts["WKST"]
    return checked


def _weekday_order(byday: str) -> tuple[int, str]:
    return WEEKDAYS.index(byday[-2:]), byday


def normalize_rule(text: str, start: datetime, zone: tzinfo) -> str:
    """Return the rule in Meetbot's spelling, or raise RepeatRefused saying what is wrong.

    `start` is the first meeting's start: the rule must produce it as its first occurrence
    (calendars disagree on a DTSTART the rule itself would skip), and the series must end
    within five years of it. A rule with no end is given UNTIL five years on.
    """
    parts = _parts(text)
    checked = _checked_parts(parts)
    if "COUNT" in parts and "UNTIL" in parts:
        raise RepeatRefused(
            N_("Choose an end date or a number of times, not both."), field="repeat_until"
        )
    local_start = start.astimezone(zone)
    limit = series_limit(local_start)
    if "COUNT" in parts:
        count = _int(parts["COUNT"], 1, 10_000)
        if count > MAX_COUNT:
            raise RepeatRefused(N_("A meeting can repeat at most 260 times."), field="repeat_count")
        checked["COUNT"] = str(count)
    else:
        until = _until(parts["UNTIL"], zone) if "UNTIL" in parts else limit.astimezone(UTC)
        if until < start:
            raise RepeatRefused(
                N_("The series must end after its first meeting."), field="repeat_until"
            )
        if until > limit:
            raise RepeatRefused(
                N_("A series can run for at most five years."), field="repeat_until"
            )
        checked["UNTIL"] = until.strftime("%Y%m%dT%H%M%SZ")
    rule = ";".join(
        f"{name}={checked[name]}" for name in (*_ORDER, "COUNT", "UNTIL") if name in checked
    )
    expanded = _rule(rule, local_start)
    first = next(iter(expanded), None)
    if first != local_start:
        raise RepeatRefused(
            N_("The first meeting must fall on one of the days it repeats on."),
            field="repeat_days",
        )
    if "COUNT" in checked:
        last = _last(expanded)
        if last > limit:
            raise RepeatRefused(
                N_("A series can run for at most five years."), field="repeat_count"
            )
    return rule


def _rule(rule: str, local_start: datetime) -> rrule:
    """Return dateutil's rule for normalised text, anchored at the first start on the clock."""
    parsed: Any = rrulestr(rule, dtstart=local_start.replace(fold=0))
    assert isinstance(parsed, rrule)
    return parsed


def _last(expanded: rrule) -> datetime:
    last: datetime | None = None
    for last in islice(expanded, MAX_COUNT):  # noqa: B007 - the loop is how the last is found
        pass
    assert last is not None
    return last


def occurrences(
    rule: str,
    start: datetime,
    zone: tzinfo,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    skip: Iterable[datetime] = (),
    limit: int = MAX_EXPANDED,
) -> list[datetime]:
    """Return the series' occurrence starts (UTC) from `after` (inclusive) up to `before`.

    At most `limit` (never more than MAX_EXPANDED); starts in `skip` (EXDATEs, in UTC) are
    left out. Each is the same wall-clock time in `zone`, whatever its offset from UTC.
    """
    skipped = {moment.astimezone(UTC) for moment in skip}
    found: list[datetime] = []
    for local in _walk(rule, start.astimezone(zone), after):
        moment = _real(local, zone).astimezone(UTC)
        if before is not None and moment >= before:
            break
        if (after is not None and moment < after) or moment in skipped:
            continue
        found.append(moment)
        if len(found) >= min(limit, MAX_EXPANDED):
            break
    return found


def _walk(rule: str, local_start: datetime, after: datetime | None) -> Iterator[datetime]:
    expanded = _rule(rule, local_start)
    if after is None:
        return iter(expanded)
    # A day's margin: dateutil compares wall times with their offsets.
    nearest = expanded.after(after.astimezone(local_start.tzinfo) - timedelta(days=1), inc=True)
    if nearest is None:
        return iter(())
    return iter(expanded.xafter(nearest, inc=True))


def _real(local: datetime, zone: tzinfo) -> datetime:
    """Return a wall time that exists: one in a spring-forward gap moves on, as calendars do."""
    return local.astimezone(UTC).astimezone(zone)


def last_start(rule: str, start: datetime, zone: tzinfo) -> datetime:
    """Return the start (UTC) of the series' last occurrence, capped at MAX_EXPANDED on."""
    expanded = _rule(rule, start.astimezone(zone))
    last = expanded.before(series_limit(start.astimezone(zone)), inc=True)
    if last is None:
        return start
    return _real(last, zone).astimezone(UTC)


def series_end(rule: str, start: datetime, end: datetime, zone: tzinfo) -> datetime:
    """Return when the series' last occurrence ends (UTC)."""
    return last_start(rule, start, zone) + (end - start)


def zone_named(name: str) -> ZoneInfo:
    """Return the zone a series repeats in (the organizer's), UTC for a name no one knows."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def rule_parts(rule: str) -> dict[str, str]:
    """Return a normalised rule's parts by name (for describing it and filling the form)."""
    return dict(piece.split("=", 1) for piece in rule.split(";"))


def rule_until(rule: str) -> datetime | None:
    """Return a rule's UNTIL as an aware UTC moment, if it has one."""
    until = rule_parts(rule).get("UNTIL")
    return datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if until else None


def truncated_before(rule: str, moment: datetime, zone: tzinfo) -> str:
    """Return the rule ending the day before an occurrence ("this and following" cuts there).

    Occurrences of the rules Meetbot takes are at one time of day, at most one a day, so
    the end of the day before is exactly "before this one", and reads as a day people know.
    """
    parts = {k: v for k, v in rule_parts(rule).items() if k not in ("COUNT", "UNTIL")}
    day_before = moment.astimezone(zone).date() - timedelta(days=1)
    parts["UNTIL"] = end_of_day(day_before, zone).strftime("%Y%m%dT%H%M%SZ")
    return ";".join(f"{name}={parts[name]}" for name in (*_ORDER, "UNTIL") if name in parts)


def going_on_from(rule: str, start: datetime, zone: tzinfo, moment: datetime) -> str:
    """Return the rule of a series going on from one of its occurrences, as many times left.

    An end date stays as it was; "after N times" counts only those from `moment` on.
    """
    parts = rule_parts(rule)
    if "COUNT" not in parts:
        return rule
    before = len(occurrences(rule, start, zone, before=moment))
    parts["COUNT"] = str(max(int(parts["COUNT"]) - before, 1))
    return ";".join(f"{name}={parts[name]}" for name in (*_ORDER, "COUNT") if name in parts)
