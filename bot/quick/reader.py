"""Reading the free text typed after /meet into a pre-filled create form (English and Polish)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.drafts import DEFAULT_LENGTH, default_times
from bot.meetings.repeat_choice import RepeatChoice
from bot.quick.places import take_place
from bot.quick.repeats import next_matching_day, take_repeats
from bot.quick.when import (
    UNTIL,
    find_clocks,
    find_lengths,
    find_ranges,
    take_date,
    take_start_clock,
    until_clock,
)
from bot.quick.words import Clock, Found, State, Words, take_people


@dataclass(frozen=True)
class QuickDraft:
    """What the text after /meet says about a meeting, to pre-fill the create form."""

    title: str
    start: datetime | None
    end: datetime | None
    location: str
    member_ids: tuple[str, ...]
    guests_text: str
    repeat: RepeatChoice = field(default_factory=RepeatChoice)


# One thread reads typed text: dateparser takes milliseconds a phrase, which would stall
# every other request on the event loop, and one thread keeps its caches to itself.
_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quick-text")


async def read_quick_text_aside(text: str, *, now: datetime, zone: ZoneInfo) -> QuickDraft:
    """Return `read_quick_text`'s draft, read in a thread of its own when there is text."""
    if not text.strip():
        return read_quick_text(text, now=now, zone=zone)  # nothing to parse: no thread hop
    return await asyncio.get_running_loop().run_in_executor(
        _READER, lambda: read_quick_text(text, now=now, zone=zone)
    )


def read_quick_text(text: str, *, now: datetime, zone: ZoneInfo) -> QuickDraft:
    """Return the draft the text describes; what is not understood stays in the title."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    local_now = now.astimezone(zone)
    typed_repeat = take_repeats(text, now)
    cleaned, member_ids, guests = take_people(typed_repeat.text)
    words = Words(cleaned)
    words.drop_people_connectors()

    ranges = find_ranges(words)
    untils = find_clocks(words, UNTIL, until_clock)
    lengths = find_lengths(words)
    for found in (*ranges, *untils, *lengths):
        words.mark(found.span, State.HELD)

    clock = take_start_clock(words, ranges)
    day = take_date(words, clock.span if clock else None, local_now, zone)
    location = take_place(words)

    start = _start_of(clock.start if clock else None, day, now, zone)
    end: datetime | None = None
    if start is not None:
        end = _end_of(start, clock, untils, lengths, words, zone)
    words.release_held()
    repeat = typed_repeat.choice
    if repeat.days:
        # "every Thursday" with no date: the first Thursday (at the time typed or offered).
        first = next_matching_day(start or default_times(now, zone)[0], repeat.days)
        length = end - start if start is not None and end is not None else DEFAULT_LENGTH
        start, end = _at(first.date(), first.time(), zone), None
        end = _after(start, length, zone)
    return QuickDraft(
        title=words.leftover(),
        start=start,
        end=end,
        location=location,
        member_ids=member_ids,
        guests_text="\n".join(guests),
        repeat=repeat,
    )


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Return the wall-clock time on that day in the zone, moved past a spring-forward gap."""
    # A time in the gap (02:30 on the spring change) does not exist; the UTC round trip
    # turns it into the wall-clock time an hour later, as calendars do.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


def _start_of(
    clock: time | None, day: date | None, now: datetime, zone: ZoneInfo
) -> datetime | None:
    """Return the start the time and date make, or None when neither was found."""
    if day is None:
        if clock is None:
            return None
        today = now.astimezone(zone).date()
        start = _at(today, clock, zone)
        # "9am" said at 11:00 means tomorrow's 9am.
        return start if start >= now else _at(today + timedelta(days=1), clock, zone)
    if clock is None:
        # A day without a time gets the time of day the form would have offered.
        offered = default_times(now, zone)[0]
        if day == now.astimezone(zone).date():
            return offered
        clock = offered.time()
    return _at(day, clock, zone)


def _end_of(
    start: datetime,
    clock: Found | None,
    untils: list[Found],
    lengths: list[Found],
    words: Words,
    zone: ZoneInfo,
) -> datetime:
    """Return the end the range, "until" or length gives (taking it out), else 30 minutes on."""
    chosen: Found | None = clock if clock is not None and clock.end is not None else None
    if chosen is None:
        rest = sorted((*untils, *lengths), key=lambda found: found.span[0])
        chosen = rest[0] if rest else None
        if chosen is not None:
            words.mark(chosen.span, State.USED)
    if chosen is not None and chosen.end is not None:
        return _end_at(start, chosen.end, zone)
    return _after(start, chosen.length if chosen and chosen.length else DEFAULT_LENGTH, zone)


def _after(start: datetime, length: timedelta, zone: ZoneInfo) -> datetime:
    """Return start plus length on the wall clock, with the offset that holds at the end."""
    # Wall-clock, like the rest of Python's same-zone arithmetic, so end > start always holds
    # when compared; only a start inside the repeated autumn hour runs an hour long.
    end = start + length
    return _at(end.date(), end.time(), zone)


def _end_at(start: datetime, clock: Clock, zone: ZoneInfo) -> datetime:
    """Return the first time after start the end clock can mean ("until 4" after 3pm is 16:00)."""
    # The next day too, for a meeting that runs past midnight ("22:00-01:00").
    ends = (
        _at(start.date() + timedelta(days=days), wall, zone)
        for days in (0, 1)
        for wall in clock.readings()
    )
    return min(end for end in ends if end > start)
