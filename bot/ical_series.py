"""The iCalendar lines of a repeating meeting: RRULE, EXDATE and RECURRENCE-ID; pure.

A series' DTSTART is always written on the organizer's clock with its TZID (never in UTC,
even in the hour the autumn change repeats): RFC 5545 repeats a rule in DTSTART's zone, so
a series written in UTC would move an hour on every guest's calendar at each clock change.
Its VTIMEZONE covers every year up to the series' last occurrence.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Event, vRecur

from bot.meetings.model import Meeting
from bot.meetings.recurrence import last_start


def on_series_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """Return a moment as a series writes it: on the organizer's clock, with its TZID."""
    return moment.astimezone(zone)


def repeats_on_clock(meeting: Meeting) -> bool:
    """Tell whether the meeting's times must be written on the clock: a series or one of its."""
    return meeting.series is not None or meeting.recurrence_id is not None


def moved_overrides(master: Event, meeting: Meeting, zone: ZoneInfo) -> list[Event]:
    """Return a VEVENT per changed occurrence: at its own time, title and place (RECURRENCE-ID).

    Sent with the series, a guest invited later, or one whose calendar takes the series
    again, still has every moved meeting where it now is.
    """
    if meeting.series is None:
        return []
    overrides = []
    for moved in meeting.series.moved:
        if moved.start is None or moved.end is None:
            continue
        override = copy.deepcopy(master)
        for name in ("RRULE", "EXDATE", "DTSTART", "DTEND", "SEQUENCE"):
            override.pop(name, None)
        override.add("recurrence-id", on_series_clock(moved.recurrence_id, zone))
        override.add("sequence", moved.sequence)
        override.add("dtstart", on_series_clock(moved.start, zone))
        override.add("dtend", on_series_clock(moved.end, zone))
        for name, own in (("SUMMARY", moved.title), ("LOCATION", moved.location)):
            if own is not None:
                override.pop(name, None)
                if own:
                    override.add(name.lower(), own)
        overrides.append(override)
    return overrides


def add_repeats(event: Event, meeting: Meeting, zone: ZoneInfo) -> date | None:
    """Add RRULE and EXDATE, or an occurrence's RECURRENCE-ID; return the series' last day."""
    if meeting.recurrence_id is not None:
        event.add("recurrence-id", on_series_clock(meeting.recurrence_id, zone))
    series = meeting.series
    if series is None:
        return None
    event.add("rrule", vRecur.from_ical(series.rule))
    if series.cancelled_starts:
        event.add("exdate", [on_series_clock(m, zone) for m in series.cancelled_starts])
    last = last_start(series.rule, meeting.start, zone) + (meeting.end - meeting.start)
    return last.astimezone(zone).date()
