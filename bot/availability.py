"""Who is free: members' busy times from Meetbot's own meetings and their connected calendars."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.drafts import MAX_LENGTH
from bot.people import People
from bot.personal import Busy, MemberStatus, WorkingHours
from bot.preferences import Preferences
from bot.series_busy import series_busy
from storage.models import Attendee, Event, ExternalBusy

SLOT_STEP = timedelta(minutes=30)
SEARCH_DAYS = 14


def zone_of(name: str) -> ZoneInfo:
    """Return a time zone by name, UTC if Slack gave one Python does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def within_working_hours(
    start: datetime, end: datetime, zone: ZoneInfo, hours: WorkingHours | None = None
) -> bool:
    """Tell whether a span lies inside one working day in a zone (9:00-18:00, Mon-Fri unless
    the member set their own hours)."""
    return (hours or WorkingHours()).covers(start, end, zone)


def merged(periods: Iterable[Busy]) -> list[tuple[datetime, datetime]]:
    """Return busy periods joined into sorted blocks that do not overlap."""
    blocks: list[tuple[datetime, datetime]] = []
    for period in sorted(periods, key=lambda p: p.start):
        if blocks and period.start <= blocks[-1][1]:
            blocks[-1] = (blocks[-1][0], max(blocks[-1][1], period.end))
        else:
            blocks.append((period.start, period.end))
    return blocks


def overlapping(periods: Iterable[Busy], start: datetime, end: datetime) -> tuple[Busy, ...]:
    """Return the periods that overlap a span."""
    return tuple(p for p in periods if p.start < end and start < p.end)


class Availability:
    """Answer who is free when, for the form and for "Find a time"."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        people: People,
        preferences: Preferences,
    ) -> None:
        self._sessions = sessions
        self._people = people
        self._preferences = preferences

    async def busy(
        self,
        team_id: str,
        user_ids: Sequence[str],
        start: datetime,
        end: datetime,
        *,
        viewer: str,
        ignore_meeting: int | None = None,
    ) -> dict[str, list[Busy]]:
        """Return each member's busy periods within a span, soonest first."""
        periods: dict[str, list[Busy]] = {user_id: [] for user_id in user_ids}
        if not user_ids:
            return periods
        async with self._sessions() as session:
            for user_id, busy in await _meetbot_busy(
                session, team_id, user_ids, start, end, viewer, ignore_meeting
            ):
                periods[user_id].append(busy)
            for user_id, busy in await series_busy(
                session, team_id, user_ids, start, end, viewer, ignore_meeting
            ):
                periods[user_id].append(busy)
            rows = await session.execute(
                select(ExternalBusy.user_id, ExternalBusy.start_at, ExternalBusy.end_at).where(
                    ExternalBusy.team_id == team_id,
                    ExternalBusy.user_id.in_(user_ids),
                    ExternalBusy.start_at < end,
                    ExternalBusy.end_at > start,
                )
            )
            for user_id, busy_start, busy_end in rows:
                periods[user_id].append(Busy(busy_start, busy_end))
        for busy_list in periods.values():
            busy_list.sort(key=lambda b: (b.start, b.end))
        return periods

    async def statuses(
        self,
        team_id: str,
        viewer: str,
        user_ids: Sequence[str],
        start: datetime,
        end: datetime,
        ignore_meeting: int | None = None,
    ) -> list[MemberStatus]:
        """Return each member's clashes with a planned time and their local time then."""
        periods = await self.busy(
            team_id, user_ids, start, end, viewer=viewer, ignore_meeting=ignore_meeting
        )
        settings = await self._preferences.of_members(team_id, user_ids)
        statuses = []
        for user_id in user_ids:
            zone = zone_of((await self._people.get(team_id, user_id)).timezone)
            hours = settings[user_id].working_hours
            statuses.append(
                MemberStatus(
                    user_id=user_id,
                    clashes=overlapping(periods[user_id], start, end),
                    local_start=start.astimezone(zone),
                    outside_hours=not within_working_hours(start, end, zone, hours),
                )
            )
        return statuses

    async def find_slots(
        self,
        team_id: str,
        user_ids: Sequence[str],
        length: timedelta,
        after: datetime,
        *,
        count: int = 3,
        ignore_meeting: int | None = None,
    ) -> list[tuple[datetime, datetime]]:
        """Return the first free spans of a length in the coming two weeks, for everyone."""
        horizon = after + timedelta(days=SEARCH_DAYS)
        periods = await self.busy(
            team_id, user_ids, after, horizon, viewer="", ignore_meeting=ignore_meeting
        )
        settings = await self._preferences.of_members(team_id, user_ids)
        workdays = [
            (zone_of((await self._people.get(team_id, u)).timezone), settings[u].working_hours)
            for u in user_ids
        ]
        blocks = merged(b for busy in periods.values() for b in busy)
        starts = [block_start for block_start, _ in blocks]
        slots: list[tuple[datetime, datetime]] = []
        candidate = _next_step(after)
        while candidate + length <= horizon and len(slots) < count:
            finish = candidate + length
            # The only block that can overlap is the last one starting before the finish.
            index = bisect.bisect_left(starts, finish) - 1
            clash = index >= 0 and blocks[index][1] > candidate
            if not clash and all(
                within_working_hours(candidate, finish, zone, hours) for zone, hours in workdays
            ):
                slots.append((candidate, finish))
                candidate = finish
                continue
            candidate += SLOT_STEP
        return slots


def _next_step(moment: datetime) -> datetime:
    rounded = moment.replace(second=0, microsecond=0)
    minutes = (rounded.minute // 30 + 1) * 30
    return rounded.replace(minute=0) + timedelta(minutes=minutes)


async def _meetbot_busy(
    session: AsyncSession,
    team_id: str,
    user_ids: Sequence[str],
    start: datetime,
    end: datetime,
    viewer: str,
    ignore_meeting: int | None,
) -> list[tuple[str, Busy]]:
    # Meetings last at most MAX_LENGTH, so only starts this close before the span can reach it;
    # that keeps each read a short range of the time indexes.
    earliest = start - MAX_LENGTH
    # The workspace check wraps the column so no planner picks the broad team index over
    # the narrow per-person time indexes (SQLite does, without statistics).
    in_team = func.coalesce(Event.team_id, "") == team_id
    organizing = select(
        Event.id, Event.organizer_id, Event.start_at, Event.end_at, Event.title
    ).where(
        Event.organizer_id.in_(user_ids),
        Event.start_at >= earliest,
        Event.start_at < end,
        Event.end_at > start,
        in_team,
        Event.status == "confirmed",
        Event.rrule.is_(None),  # series: bot/series_busy.py
    )
    invited = (
        select(Attendee.event_id, Attendee.slack_user_id, Attendee.busy_from, Attendee.busy_until)
        .join(Event, Event.id == Attendee.event_id)
        .where(
            Attendee.slack_user_id.in_(user_ids),
            Attendee.busy_from >= earliest,
            Attendee.busy_from < end,
            Attendee.busy_until > start,
            in_team,
        )
    )
    if ignore_meeting is not None:
        organizing = organizing.where(Event.id != ignore_meeting)
        invited = invited.where(Attendee.event_id != ignore_meeting)
    titles: dict[int, str] = {}
    rows: list[tuple[int, str, datetime, datetime]] = []
    for event_id, user_id, row_start, row_end, title in await session.execute(organizing):
        rows.append((event_id, user_id, row_start, row_end))
        titles[event_id] = title
    rows += [tuple(row) for row in await session.execute(invited)]  # type: ignore[misc]
    visible = await _meetings_of_viewer(session, team_id, viewer, earliest, end)
    missing = visible.intersection(r[0] for r in rows) - titles.keys()
    if missing:
        titles.update(
            (event_id, title)
            for event_id, title in await session.execute(
                select(Event.id, Event.title).where(Event.id.in_(missing))
            )
        )
    return [
        (
            str(user_id),
            Busy(row_start, row_end, titles.get(event_id) if event_id in visible else None),
        )
        for event_id, user_id, row_start, row_end in rows
    ]


async def _meetings_of_viewer(
    session: AsyncSession, team_id: str, viewer: str, earliest: datetime, end: datetime
) -> set[int]:
    """Return the meetings in a span whose titles the viewer may see: theirs or ones they attend."""
    if not viewer:
        return set()
    organized = await session.scalars(
        select(Event.id).where(
            Event.organizer_id == viewer,
            Event.start_at >= earliest,
            Event.start_at < end,
            func.coalesce(Event.team_id, "") == team_id,
        )
    )
    # Invited and not taken off: a declined invitation still shows its title.
    attending = await session.scalars(
        select(Attendee.event_id).where(
            Attendee.slack_user_id == viewer, Attendee.removed_at.is_(None)
        )
    )
    return set(organized) | set(attending)
