"""Meetbot's VTIMEZONE blocks look like servers' and tell the offsets Python's tzdata tells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import vobject

from bot.vtimezone import vtimezone


def lines(zone: str, first: date, last: date | None = None) -> list[str]:
    """Return the block's unfolded lines."""
    block = vtimezone(ZoneInfo(zone), first, last or first)
    return block.to_ical().decode().replace("\r\n ", "").splitlines()


def parts(zone: str, first: date, last: date | None = None) -> list[list[str]]:
    """Return the lines of each STANDARD and DAYLIGHT part, BEGIN to END."""
    found: list[list[str]] = []
    inside = False
    for line in lines(zone, first, last):
        if line in ("BEGIN:STANDARD", "BEGIN:DAYLIGHT"):
            found.append([])
            inside = True
        if inside:
            found[-1].append(line)
        if line in ("END:STANDARD", "END:DAYLIGHT"):
            inside = False
    return found


def read_back(zone: str, first: date, last: date) -> tzinfo:
    """Return the block as vobject (dateutil's VTIMEZONE reader) understands it."""
    text = vtimezone(ZoneInfo(zone), first, last).to_ical().decode()
    return vobject.readOne(f"BEGIN:VCALENDAR\r\n{text}END:VCALENDAR\r\n").vtimezone.gettzinfo()


def test_warsaw_changes_by_rule_from_the_local_times_before_each_change() -> None:
    assert parts("Europe/Warsaw", date(2026, 6, 1)) == [
        [
            "BEGIN:DAYLIGHT",
            "DTSTART:19700329T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "TZNAME:CEST",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
            "END:DAYLIGHT",
        ],
        [
            "BEGIN:STANDARD",
            "DTSTART:19701025T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZNAME:CET",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "END:STANDARD",
        ],
    ]
    assert lines("Europe/Warsaw", date(2026, 6, 1))[:3] == [
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Warsaw",
        "X-LIC-LOCATION:Europe/Warsaw",
    ]


def test_new_york_changes_on_the_second_sunday_of_march_and_first_of_november() -> None:
    rules = [
        [line for line in part if line.startswith(("BEGIN", "DTSTART", "RRULE"))]
        for part in parts("America/New_York", date(2026, 6, 1))
    ]

    assert rules == [
        ["BEGIN:DAYLIGHT", "DTSTART:19700308T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"],
        ["BEGIN:STANDARD", "DTSTART:19701101T020000", "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"],
    ]


def test_sydney_summer_starts_in_october_and_ends_in_april() -> None:
    rules = [
        [line for line in part if line.startswith(("BEGIN", "DTSTART", "RRULE", "TZOFFSETTO"))]
        for part in parts("Australia/Sydney", date(2026, 6, 1))
    ]

    assert rules == [
        [
            "BEGIN:STANDARD",
            "DTSTART:19700405T030000",
            "RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU",
            "TZOFFSETTO:+1000",
        ],
        [
            "BEGIN:DAYLIGHT",
            "DTSTART:19701004T020000",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU",
            "TZOFFSETTO:+1100",
        ],
    ]


def test_kolkata_without_summer_time_has_one_standard_part() -> None:
    assert parts("Asia/Kolkata", date(2026, 6, 1)) == [
        [
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            "TZNAME:IST",
            "TZOFFSETFROM:+0530",
            "TZOFFSETTO:+0530",
            "END:STANDARD",
        ]
    ]


def test_dublin_calls_its_summer_daylight_though_tzdata_counts_winter_as_the_exception() -> None:
    names = [(part[0], part[3]) for part in parts("Europe/Dublin", date(2026, 6, 1))]

    assert names == [("BEGIN:DAYLIGHT", "TZNAME:IST"), ("BEGIN:STANDARD", "TZNAME:GMT")]


def test_a_meeting_in_2030_is_covered() -> None:
    tz = read_back("Europe/Warsaw", date(2030, 3, 1), date(2030, 11, 1))

    assert datetime(2030, 3, 31, 0, 59, tzinfo=UTC).astimezone(tz).utcoffset() == timedelta(hours=1)
    assert datetime(2030, 3, 31, 1, 0, tzinfo=UTC).astimezone(tz).utcoffset() == timedelta(hours=2)
    assert datetime(2030, 10, 27, 0, 59, tzinfo=UTC).astimezone(tz).utcoffset() == timedelta(
        hours=2
    )
    assert datetime(2030, 10, 27, 1, 0, tzinfo=UTC).astimezone(tz).utcoffset() == timedelta(hours=1)
    assert parts("Europe/Warsaw", date(2030, 3, 1)) == parts("Europe/Warsaw", date(2026, 6, 1))


def test_a_year_without_summer_time_after_years_with_it_lists_the_last_changes() -> None:
    # Mexico City kept summer time in 2022 and dropped it for good in 2023.
    assert parts("America/Mexico_City", date(2022, 12, 31), date(2023, 1, 1)) == [
        [
            "BEGIN:STANDARD",
            "DTSTART:20220101T000000",
            "TZNAME:CST",
            "TZOFFSETFROM:-0600",
            "TZOFFSETTO:-0600",
            "END:STANDARD",
        ],
        [
            "BEGIN:DAYLIGHT",
            "DTSTART:20220403T020000",
            "TZNAME:CDT",
            "TZOFFSETFROM:-0600",
            "TZOFFSETTO:-0500",
            "END:DAYLIGHT",
        ],
        [
            "BEGIN:STANDARD",
            "DTSTART:20221030T020000",
            "TZNAME:CST",
            "TZOFFSETFROM:-0500",
            "TZOFFSETTO:-0600",
            "END:STANDARD",
        ],
    ]


def test_a_change_whose_rule_moved_is_listed_with_rdate_while_the_steady_one_keeps_its_rule() -> (
    None
):
    # Sao Paulo was on summer time as 2017 began; it ended on the third Sunday of February
    # in 2017 and 2018, but began on 15 October 2017 and on 4 November 2018.
    starts = [
        [line for line in part if line.startswith(("BEGIN", "DTSTART", "RRULE", "RDATE"))]
        for part in parts("America/Sao_Paulo", date(2017, 6, 1), date(2018, 6, 1))
    ]

    assert starts == [
        ["BEGIN:DAYLIGHT", "DTSTART:20170101T000000"],
        ["BEGIN:STANDARD", "DTSTART:19700215T000000", "RRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=3SU"],
        ["BEGIN:DAYLIGHT", "DTSTART:20171015T000000", "RDATE:20181104T000000"],
    ]


def offset(zone: ZoneInfo, timestamp: int) -> timedelta | None:
    """Return the zone's offset at a moment given in seconds since the epoch."""
    return datetime.fromtimestamp(timestamp, zone).utcoffset()


def changes(zone: ZoneInfo, years: range) -> list[datetime]:
    """Return the UTC moments at which the zone's offset changed (a day's steps, then halving)."""
    low = int(datetime(years.start, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(years.stop, 1, 1, tzinfo=UTC).timestamp())
    found = []
    while low < stop:
        high = low + 86_400
        if offset(zone, low) != offset(zone, high):
            before = offset(zone, low)
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(zone, middle) == before else (low, middle)
            found.append(datetime.fromtimestamp(high, UTC))
        low = high
    return found


def standard_offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    """Return the zone's standard offset (summer time taken off) at a UTC moment."""
    wall = moment.astimezone(zone)
    return (wall.utcoffset() or timedelta(0)) - (wall.dst() or timedelta(0))


def shown_once(moment: datetime, zone: ZoneInfo) -> bool:
    """Tell whether the zone's clocks show this moment's wall time only once."""
    wall = moment.astimezone(zone)
    return wall.replace(fold=1 - wall.fold).utcoffset() == wall.utcoffset()


def moments(zone: ZoneInfo, years: range) -> list[tuple[datetime, bool]]:
    """Return UTC moments to check, and whether to check reading them from UTC too.

    Noon as each quarter begins, and around each change the second before, the change and
    one and two hours either side; none whose wall time the clocks show twice (Meetbot writes
    those in UTC). dateutil turns UTC into wall time the way Python's tzinfo does, assuming
    one standard offset, so not around a change of it (Greenland's in 2023).
    """
    found = [
        (datetime(year, month, 1, 12, tzinfo=UTC), True)
        for year in years
        for month in (1, 4, 7, 10)
    ]
    for change in changes(zone, years):
        before = change - timedelta(seconds=1)
        same_standard = standard_offset(before, zone) == standard_offset(change, zone)
        found.extend(
            (change + timedelta(seconds=shift), same_standard)
            for shift in (-7200, -3600, -1, 0, 3600, 7200)
        )
    return [(moment, from_utc) for moment, from_utc in found if shown_once(moment, zone)]


def test_every_zone_python_knows_gives_the_offsets_tzdata_gives() -> None:
    # 2022 and 2023: most zones kept their rules, and many changed them (Mexico, Greenland,
    # Iran, Jordan, Syria, Fiji, Antarctic stations, Morocco's Ramadan dates).
    first, last = date(2022, 7, 1), date(2023, 7, 1)
    wrong = []
    for key in sorted(available_timezones()):
        zone = ZoneInfo(key)
        told = read_back(key, first, last)
        for moment, from_utc in moments(zone, range(first.year, last.year + 1)):
            meant = moment.astimezone(zone)
            # A calendar reads a zone both ways: a wall time to UTC, and UTC to a wall time.
            read = [meant.replace(tzinfo=told).utcoffset()]
            if from_utc:
                read.append(moment.astimezone(told).utcoffset())
            if any(offset != meant.utcoffset() for offset in read):
                wrong.append(f"{key} at {meant:%Y-%m-%d %H:%M:%S}: {read} for {meant.utcoffset()}")
    assert wrong == []
