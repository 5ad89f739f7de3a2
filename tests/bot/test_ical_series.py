"""A weekly series reaches guests' calendars on the organizer's clock, clock changes or not.

The invitation is built as guests get it by e-mail and its series expanded by ical.js
(Thunderbird's parser) and vobject (dateutil underneath): each must find every occurrence
Meetbot finds, at the same UTC moments, across the spring and autumn clock changes of
Warsaw and New York (which change on different Sundays), cancelled occurrences left out.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from bot.ical import GuestCalendars, cancel_calendar
from bot.meetings.model import Meeting, OccurrenceChange, Organizer, Series
from bot.meetings.occurrences import series_occurrences
from bot.meetings.recurrence import normalize_rule
from tests.bot.blocks.meetings import guest, meeting
from tests.support.calendar_readers import needs_ical_js, series_with_ical_js, series_with_vobject

GUEST = guest(1, "Bob Client")
# Mondays from late February to mid-November 2027: both zones change clocks twice.
FIRST_MONDAY = (2027, 2, 22)


def weekly_series(zone_name: str, *, cancelled: int | None = None) -> Meeting:
    """Return a weekly 10:00 meeting on the organizer's clock for 39 weeks, maybe one cancelled."""
    zone = ZoneInfo(zone_name)
    start = datetime(*FIRST_MONDAY, 10, 0, tzinfo=zone).astimezone(UTC)
    rule = normalize_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=39", start, zone)
    organizer = Organizer("U0OLGA", "Olga Organizer", "olga@acme.example", zone_name)
    made = meeting(GUEST, start=start, end=start + timedelta(hours=1), organizer=organizer)
    made = dataclasses.replace(made, series=Series(rule))
    if cancelled is not None:
        gone = series_occurrences(made)[cancelled].recurrence_id
        made = dataclasses.replace(made, series=Series(rule, (OccurrenceChange(gone, True),)))
    return made


def invitation(series: Meeting) -> bytes:
    """Return the calendar one guest gets for the series."""
    calendars = GuestCalendars(
        "REQUEST", series, organizer_address="invites@meetbot.example", stamp=datetime.now(UTC)
    )
    return calendars.to_ical(GUEST, url="https://meetbot.example/a/x")


ZONES = ("Europe/Warsaw", "America/New_York")


@pytest.mark.parametrize("zone_name", ZONES)
def test_every_occurrence_stays_at_ten_on_the_organizers_clock(zone_name: str) -> None:
    series = weekly_series(zone_name)

    starts = [o.start for o in series_occurrences(series)]

    assert len(starts) == 39
    assert {s.astimezone(ZoneInfo(zone_name)).strftime("%a %H:%M") for s in starts} == {"Mon 10:00"}
    assert len({s.astimezone(UTC).hour for s in starts}) == 2  # the UTC hour moves with the clock


@pytest.mark.parametrize("zone_name", ZONES)
def test_the_invitation_carries_the_rule_exdate_and_a_zone_covering_the_series(
    zone_name: str,
) -> None:
    series = weekly_series(zone_name, cancelled=5)

    event = Calendar.from_ical(invitation(series)).walk("VEVENT")[0]
    text = invitation(series).decode()

    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=39;BYDAY=MO"
    assert f"DTSTART;TZID={zone_name}:20270222T100000" in text
    assert f"EXDATE;TZID={zone_name}:20270329T100000" in text
    assert text.count("BEGIN:VTIMEZONE") == 1 and "BEGIN:DAYLIGHT" in text


@needs_ical_js
def test_ical_js_expands_the_series_as_meetbot_does_across_clock_changes() -> None:
    series = [weekly_series(zone, cancelled=5) for zone in ZONES]

    read = series_with_ical_js([invitation(s) for s in series])

    for made, starts in zip(series, read, strict=True):
        assert starts == [o.start for o in series_occurrences(made)]
        assert len(starts) == 38


@pytest.mark.parametrize("zone_name", ZONES)
def test_vobject_expands_the_series_as_meetbot_does_across_clock_changes(zone_name: str) -> None:
    series = weekly_series(zone_name, cancelled=5)

    starts = series_with_vobject(invitation(series))

    assert starts == [o.start for o in series_occurrences(series)]


def test_cancelling_one_occurrence_names_it_by_recurrence_id() -> None:
    series = weekly_series("Europe/Warsaw")
    fifth = series_occurrences(series)[5]
    one = dataclasses.replace(
        series, start=fifth.start, end=fifth.end, series=None, recurrence_id=fifth.recurrence_id
    )

    cancellation = cancel_calendar(
        one, GUEST, organizer_address="invites@meetbot.example", stamp=datetime.now(UTC)
    )
    calendar = cancellation.to_ical().decode()

    assert "METHOD:CANCEL" in calendar
    assert "RECURRENCE-ID;TZID=Europe/Warsaw:20270329T100000" in calendar
    assert "DTSTART;TZID=Europe/Warsaw:20270329T100000" in calendar
    [event] = cancellation.walk("VEVENT")
    assert "RRULE" not in event and event["STATUS"] == "CANCELLED"


def test_a_moved_meeting_travels_with_the_series_with_each_guests_own_lines() -> None:
    series = weekly_series("Europe/Warsaw")
    second = series_occurrences(series)[1].recurrence_id
    later = second + timedelta(hours=2)
    assert series.series is not None
    moved = OccurrenceChange(second, False, later, later + timedelta(hours=1), sequence=4)
    series = dataclasses.replace(series, series=Series(series.series.rule, (moved,)))

    text = invitation(series)

    master, override = Calendar.from_ical(text).walk("VEVENT")
    assert "RRULE" in master and "RECURRENCE-ID" not in master
    assert override.decoded("RECURRENCE-ID") == second
    assert override.decoded("DTSTART") == later and int(override["SEQUENCE"]) == 4
    assert "RRULE" not in override and override["UID"] == master["UID"]
    for event in (master, override):
        assert str(event["ATTENDEE"]) == f"mailto:{GUEST.email}"
        assert "https://meetbot.example/a/x" in str(event["DESCRIPTION"])
    read = vobject.readOne(text.decode())
    assert [e.recurrence_id.value.astimezone(UTC) for e in read.vevent_list[1:]] == [second]
