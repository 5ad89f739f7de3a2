"""A series' occurrences as people meet them: cancelled ones left out, moved ones moved; pure."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot.meetings.model import Meeting
from bot.meetings.recurrence import MAX_EXPANDED, occurrences, zone_named


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a series: the start its rule gives it (its RECURRENCE-ID) and its time."""

    recurrence_id: datetime
    start: datetime
    end: datetime

    @property
    def moved(self) -> bool:
        """Tell whether the organizer gave this occurrence another time."""
        return self.start != self.recurrence_id


def series_occurrences(
    meeting: Meeting,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    limit: int = MAX_EXPANDED,
) -> list[Occurrence]:
    """Return the occurrences still ending after `after` and starting before `before`.

    A single meeting is its own one occurrence. At most `limit` (and MAX_EXPANDED) are
    worked out; each is at most a day long, so a day's margin finds those already begun.
    """
    length = meeting.end - meeting.start
    if meeting.series is None:
        only = Occurrence(meeting.start, meeting.start, meeting.end)
        fits = (after is None or only.end > after) and (before is None or only.start < before)
        return [only] if fits else []
    series = meeting.series
    moved = {c.recurrence_id: c for c in series.moved if c.start and c.end}
    # A moved occurrence may now fall outside the window its rule time is in: widen by a day.
    shifts = [abs(c.start - c.recurrence_id) for c in moved.values() if c.start]
    margin = timedelta(days=1) + max(shifts, default=timedelta(0))
    starts = occurrences(
        series.rule,
        meeting.start,
        zone_named(meeting.organizer.timezone),
        after=after - length - margin if after else None,
        before=before + margin if before else None,
        skip=series.cancelled_starts,
        limit=limit,
    )
    found = []
    for start in starts:
        change = moved.get(start)
        if change is not None and change.start and change.end:
            found.append(Occurrence(start, change.start, change.end))
        else:
            found.append(Occurrence(start, start, start + length))
    fitting = [
        o
        for o in found
        if (after is None or o.end > after) and (before is None or o.start < before)
    ]
    return sorted(fitting, key=lambda o: o.start)[:limit]


def next_occurrence(meeting: Meeting, now: datetime) -> Occurrence | None:
    """Return the occurrence on now or next (one not yet ended), if any is left."""
    upcoming = series_occurrences(meeting, after=now, limit=3)
    return upcoming[0] if upcoming else None


def occurrence_of(meeting: Meeting, recurrence_id: datetime) -> Occurrence | None:
    """Return the series' live occurrence with this RECURRENCE-ID (wherever it was moved)."""
    series = meeting.series
    if series is None:
        return None
    wanted = recurrence_id.astimezone(UTC)
    found = occurrences(
        series.rule,
        meeting.start,
        zone_named(meeting.organizer.timezone),
        after=wanted,
        before=wanted + timedelta(seconds=1),
        skip=series.cancelled_starts,
        limit=1,
    )
    if found != [wanted]:
        return None
    pictured = one_occurrence(meeting, wanted)
    return Occurrence(wanted, pictured.start, pictured.end)


def one_occurrence(meeting: Meeting, recurrence_id: datetime) -> Meeting:
    """Return the picture of one occurrence of a series: its own time, note and SEQUENCE.

    Builders read it as a single meeting (no series) carrying RECURRENCE-ID, so a
    cancellation or update names only that occurrence in guests' calendars.
    """
    if meeting.series is None:
        return meeting
    wanted = recurrence_id.astimezone(UTC)
    change = next((c for c in meeting.series.changes if c.recurrence_id == wanted), None)
    start, end = wanted, wanted + (meeting.end - meeting.start)
    if change is not None and change.start is not None and change.end is not None:
        start, end = change.start, change.end
    return replace(
        meeting,
        title=change.title if change is not None and change.title is not None else meeting.title,
        location=(
            change.location
            if change is not None and change.location is not None
            else meeting.location
        ),
        start=start,
        end=end,
        series=None,
        recurrence_id=wanted,
        sequence=change.sequence if change is not None else meeting.sequence,
        cancel_message=change.note if change is not None else meeting.cancel_message,
    )


def next_reminder(
    meeting: Meeting, minutes: int | None, after: datetime
) -> tuple[Occurrence, datetime] | None:
    """Return the first occurrence whose reminder is due after `after`, and when it is due."""
    if minutes is None:
        return None
    before = timedelta(minutes=minutes)
    for occurrence in series_occurrences(meeting, after=after, limit=MAX_EXPANDED):
        if occurrence.start - before > after:
            return occurrence, occurrence.start - before
    return None
