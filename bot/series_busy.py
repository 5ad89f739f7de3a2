"""Members' busy times from Meetbot's repeating meetings: every occurrence within a span.

A series' rows carry only its first occurrence, so availability's time indexes (one span
per meeting) leave series out; here each series that runs into the span (first start
before its end, last end after its start) is expanded within it, capped like every
expansion, its cancelled occurrences left out and each person's declined ones too.
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.meetings.model import Answer
from bot.meetings.occurrences import series_occurrences
from bot.meetings.rows import meeting_from_row
from bot.personal import Busy, BusyAsked
from storage.models import Attendee, Event


async def series_busy(session: AsyncSession, asked: BusyAsked) -> list[tuple[str, Busy]]:
    """Return (member, busy) for every occurrence of their series within the span."""
    user_ids, start, end, viewer = asked.user_ids, asked.start, asked.end, asked.viewer
    # Asked per series found (few), through the attendees' event index: a list of every
    # meeting these members were ever invited to would be most of the workspace's.
    invited = exists().where(
        Attendee.event_id == Event.id,
        Attendee.slack_user_id.in_(user_ids),
        Attendee.removed_at.is_(None),
    )
    query = (
        select(Event)
        .options(selectinload(Event.attendees), selectinload(Event.files))
        .where(
            # Plain equality and the series' end: a short range of ix_events_team_series_end.
            Event.team_id == asked.team_id,
            Event.series_end_at > start,
            Event.rrule.is_not(None),
            Event.status == "confirmed",
            Event.start_at < end,
            or_(Event.organizer_id.in_(user_ids), invited),
        )
    )
    if asked.ignore_meeting is not None:
        query = query.where(Event.id != asked.ignore_meeting)
    found: list[tuple[str, Busy]] = []
    wanted = set(user_ids)
    for event in (await session.scalars(query)).all():
        meeting = meeting_from_row(event)
        assert meeting.series is not None
        busy_people = {
            i.id: i.slack_user_id
            for i in meeting.members
            if i.slack_user_id in wanted and i.answer is not Answer.DECLINED
        }
        declined = {
            (a.attendee_id, a.recurrence_id)
            for a in meeting.series.answers
            if a.answer is Answer.DECLINED
        }
        seen = viewer == meeting.organizer.user_id or meeting.member(viewer) is not None
        title = meeting.title if seen else None
        for occurrence in series_occurrences(meeting, after=start, before=end):
            busy = Busy(occurrence.start, occurrence.end, title)
            if meeting.organizer.user_id in wanted:
                found.append((meeting.organizer.user_id, busy))
            found += [
                (user_id, busy)
                for attendee_id, user_id in busy_people.items()
                if user_id and (attendee_id, occurrence.recurrence_id) not in declined
            ]
    return found
