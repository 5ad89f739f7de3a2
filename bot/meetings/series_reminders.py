"""Reminders of a series: one per occurrence, each due its own time before that occurrence."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deliveries import GuestReminder, MemberReminder, enqueue
from bot.meetings.model import Answer
from bot.meetings.occurrences import next_reminder, series_occurrences
from bot.meetings.rows import meeting_from_row
from storage.models import Event


def next_series_reminder(event: Event, after: datetime) -> datetime | None:
    """Return when the series' next reminder is due (after `after`), if any is left."""
    found = next_reminder(meeting_from_row(event), event.reminder_minutes, after)
    return found[1] if found else None


def remind_occurrence(session: AsyncSession, event: Event, now: datetime) -> bool:
    """Queue the reminders of the occurrence now coming up; set when the next one is due.

    Everyone who has not declined is reminded: their answer to this occurrence if they gave
    one, else their answer to the series. Tell whether any reminder was queued.
    """
    meeting = meeting_from_row(event)
    minutes = timedelta(minutes=event.reminder_minutes or 0)
    coming = next(
        (o for o in series_occurrences(meeting, after=now, limit=3) if o.start > now), None
    )
    reminded = coming is not None and coming.start - minutes <= now
    event.reminder_due_at = next_series_reminder(
        event, coming.start if coming and reminded else now
    )
    if coming is None or not reminded:
        return False
    assert meeting.series is not None
    own = {
        a.attendee_id: a.answer
        for a in meeting.series.answers
        if a.recurrence_id == coming.recurrence_id
    }
    occurrence = coming.recurrence_id.isoformat()
    for attendee in event.attendees:
        answer = own.get(attendee.id, Answer(attendee.response))
        if attendee.removed_at is not None or answer is Answer.DECLINED:
            continue
        if attendee.kind == "member":
            enqueue(session, event.team_id, MemberReminder(event.id, attendee.id, occurrence))
        elif event.remind_guests:
            enqueue(session, event.team_id, GuestReminder(event.id, attendee.id, occurrence))
    return True
