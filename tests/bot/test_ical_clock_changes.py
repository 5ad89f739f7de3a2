"""Guests' calendars place every meeting where the organizer meant it, clock changes or not.

Invitations are built as guests get them by e-mail and read back by ical.js (Mozilla's
parser) and vobject; each must find the very UTC start and end the meeting has. The sweep
takes every day of a year in zones north and south, with and without summer time, and on
the nights clocks change adds meetings across the change and in the hour skipped or repeated.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.ical import GuestCalendars
from bot.meetings.model import Answer, Invitee, Meeting, Organizer
from tests.support.calendar_readers import (
    Span,
    needs_ical_js,
    read_with_ical_js,
    read_with_vobject,
)

YEAR = 2026
ZONES = (
    "Europe/Warsaw",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Pacific/Auckland",
    "Asia/Kolkata",
)
# Local start and length on the organizer's clock: across the night's change (01:30-03:30),
# a morning meeting, one across midnight, one in the hour a change skips or repeats.
SLOTS = (
    (time(1, 30), timedelta(hours=2)),
    (time(9, 0), timedelta(hours=1)),
    (time(23, 30), timedelta(hours=1)),
    (time(2, 30), timedelta(hours=1)),
)
# Years a zone changed its rules: Sao Paulo's last summer times, Mexico City's last one.
RULE_CHANGES = (
    ("America/Sao_Paulo", 2018),
    ("America/Sao_Paulo", 2019),
    ("America/Mexico_City", 2022),
)
GUEST = Invitee(
    id=1,
    kind="guest",
    slack_user_id=None,
    email="bob@client.example",
    name="Bob Client",
    answer=Answer.NEEDS_ACTION,
    comment="",
    token_salt="salt1",
)
STAMP = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Meant:
    """A meeting as the organizer meant it: their zone, its UTC start and end."""

    zone: str
    start: datetime
    end: datetime

    def __str__(self) -> str:
        zone = ZoneInfo(self.zone)
        return f"{self.zone} {self.start.astimezone(zone)} - {self.end.astimezone(zone)}"


def on_clock(zone: str, day: date, at: time, length: timedelta) -> Meant:
    """Return the meeting the organizer sets on their clock (lengths added on the clock too)."""
    start = datetime.combine(day, at, tzinfo=ZoneInfo(zone))
    return Meant(zone, start.astimezone(UTC), (start + length).astimezone(UTC))


def changes(zone: str, year: int) -> list[datetime]:
    """Return the UTC hours at which the zone's offset differs from the hour before."""
    tz = ZoneInfo(zone)
    hour = datetime(year, 1, 1, tzinfo=UTC)
    found = []
    while hour.year == year:
        if (
            hour.astimezone(tz).utcoffset()
            != (hour - timedelta(hours=1)).astimezone(tz).utcoffset()
        ):
            found.append(hour)
        hour += timedelta(hours=1)
    return found


def around(zone: str, change: datetime) -> list[Meant]:
    """Return meetings on the night of a change: every slot the day before, of and after,
    and 90-minute meetings starting every half hour from four hours before to four after."""
    day = change.astimezone(ZoneInfo(zone)).date()
    meant = [
        on_clock(zone, day + timedelta(days=shift), at, length)
        for shift in (-1, 0, 1)
        for at, length in SLOTS
    ]
    for step in range(-8, 9):
        start = change + timedelta(minutes=30 * step)
        meant.append(Meant(zone, start, start + timedelta(minutes=90)))
    return meant


def sweep() -> list[Meant]:
    """Return a meeting on every day of the year in every zone, and more on change nights."""
    meant = []
    for zone in ZONES:
        day = date(YEAR, 1, 1)
        while day.year == YEAR:
            at, length = SLOTS[day.toordinal() % len(SLOTS)]
            meant.append(on_clock(zone, day, at, length))
            day += timedelta(days=1)
        for change in changes(zone, YEAR):
            meant.extend(around(zone, change))
    for zone, year in RULE_CHANGES:
        for change in changes(zone, year):
            meant.extend(around(zone, change))
    # Across New Year from a year with summer time into one without.
    meant.append(
        on_clock("America/Mexico_City", date(2022, 12, 31), time(22, 0), timedelta(hours=3))
    )
    return meant


def meeting(meant: Meant) -> Meeting:
    """Return Meetbot's picture of the meeting."""
    return Meeting(
        id=1,
        uid=f"{meant.start:%Y%m%dT%H%M}-{meant.zone}@meetbot",
        team_id="T1",
        organizer=Organizer("U1", "Olga Organizer", "olga@acme.example", meant.zone),
        title="Clock check",
        start=meant.start,
        end=meant.end,
        location="",
        description="",
        notify_on_decision=True,
        sequence=0,
        version=1,
        status="confirmed",
        created_at=STAMP,
        attendees=(GUEST,),
    )


def invitation(meant: Meant) -> bytes:
    """Return the calendar the guest gets by e-mail for this meeting."""
    calendars = GuestCalendars(
        "REQUEST", meeting(meant), organizer_address="invites@meetbot.example", stamp=STAMP
    )
    return calendars.to_ical(GUEST, url="https://meetbot.example/rsvp/token")


@pytest.fixture(scope="module")
def invitations() -> tuple[list[Meant], list[bytes]]:
    """Build every invitation of the sweep once for both readers."""
    meant = sweep()
    return meant, [invitation(each) for each in meant]


def misread(meant: list[Meant], spans: list[Span]) -> list[str]:
    """Return what a reader got wrong, in the organizer's words."""
    return [
        f"{each}: read {Meant(each.zone, start, end)}"
        for each, (start, end) in zip(meant, spans, strict=True)
        if (start, end) != (each.start, each.end)
    ]


def test_the_sweep_has_every_day_and_the_nights_clocks_change(
    invitations: tuple[list[Meant], list[bytes]],
) -> None:
    meant, _ = invitations
    warsaw_days = {
        each.start.astimezone(ZoneInfo("Europe/Warsaw")).date()
        for each in meant
        if each.zone == "Europe/Warsaw"
    }
    assert len([day for day in warsaw_days if day.year == YEAR]) == 365
    spring_night = on_clock("Europe/Warsaw", date(YEAR, 3, 29), time(1, 30), timedelta(hours=2))
    autumn_night = on_clock("Europe/Warsaw", date(YEAR, 10, 25), time(1, 30), timedelta(hours=2))
    assert spring_night in meant and spring_night.end - spring_night.start == timedelta(hours=1)
    assert autumn_night in meant and autumn_night.end - autumn_night.start == timedelta(hours=3)
    assert len(changes("Australia/Sydney", YEAR)) == 2
    assert changes("America/Sao_Paulo", YEAR) == []


@needs_ical_js
def test_ical_js_reads_every_meeting_of_the_year_as_the_organizer_meant(
    invitations: tuple[list[Meant], list[bytes]],
) -> None:
    meant, calendars = invitations

    assert misread(meant, read_with_ical_js(calendars)) == []


def test_vobject_reads_every_meeting_of_the_year_as_the_organizer_meant(
    invitations: tuple[list[Meant], list[bytes]],
) -> None:
    meant, calendars = invitations

    assert misread(meant, read_with_vobject(calendars)) == []


def test_a_time_the_autumn_change_repeats_is_written_in_utc_and_others_on_the_clock() -> None:
    # 02:30 comes twice in Warsaw on 25 October 2026: at 00:30 UTC and again at 01:30 UTC.
    repeated = Meant(
        "Europe/Warsaw",
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )
    morning = on_clock("Europe/Warsaw", date(2026, 10, 25), time(9, 0), timedelta(hours=1))

    assert b"DTSTART:20261025T003000Z\r\n" in invitation(repeated)
    assert b"DTEND:20261025T013000Z\r\n" in invitation(repeated)
    assert b"DTSTART;TZID=Europe/Warsaw:20261025T090000\r\n" in invitation(morning)
    assert b"DTEND;TZID=Europe/Warsaw:20261025T100000\r\n" in invitation(morning)
