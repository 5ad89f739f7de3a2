"""Who is free: members' busy times from Meetbot's own meetings and their connected calendars."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Result, Select, case, func, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.drafts import MAX_LENGTH
from bot.people import People
from bot.personal import Busy, BusyAsked, MemberStatus, WorkingHours
from bot.preferences import Preferences
from bot.series_busy import series_busy
from storage.models import Attendee, Event, ExternalBusy
from storage.types import UTCDateTime

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
        asked = BusyAsked(team_id, tuple(user_ids), start, end, viewer, ignore_meeting)
        async with self._sessions() as session:
            for user_id, busy in [
                *await _meetbot_busy(session, asked),
                *await series_busy(session, asked),
            ]:
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
        blocks = await self.busy_blocks(team_id, user_ids, after, horizon, ignore_meeting)
        async with self._sessions() as session:
            asked = BusyAsked(
                team_id, tuple(user_ids), after, horizon, ignore_meeting=ignore_meeting
            )
            repeating = await series_busy(session, asked)
        if repeating:
            # Series are expanded here, not in SQL: join their occurrences with the blocks.
            blocks = merged([*(Busy(s, e) for s, e in blocks), *(busy for _, busy in repeating)])
        settings = await self._preferences.of_members(team_id, user_ids)
        workdays = [
            (zone_of((await self._people.get(team_id, u)).timezone), settings[u].working_hours)
            for u in user_ids
        ]
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

    async def busy_blocks(
        self,
        team_id: str,
        user_ids: Sequence[str],
        start: datetime,
        end: datetime,
        ignore_meeting: int | None = None,
    ) -> list[tuple[datetime, datetime]]:
        """Return when anyone of them is busy within a span: sorted blocks that do not overlap.

        The database joins the periods (what `merged` does), so only the blocks come back,
        not every member's every meeting.
        """
        if not user_ids:
            return []
        asked = BusyAsked(team_id, tuple(user_ids), start, end, ignore_meeting=ignore_meeting)
        organizing, invited = _busy_queries(asked)
        external = select(ExternalBusy.start_at, ExternalBusy.end_at).where(
            ExternalBusy.team_id == team_id,
            ExternalBusy.user_id.in_(user_ids),
            ExternalBusy.start_at < end,
            ExternalBusy.end_at > start,
        )
        periods = union_all(
            organizing.with_only_columns(Event.start_at.label("s"), Event.end_at.label("e")),
            invited.with_only_columns(
                Attendee.busy_from.label("s"), Attendee.busy_until.label("e")
            ),
            external,
        ).cte("periods")
        order = (periods.c.s, periods.c.e)
        # A period starts a new block unless it begins before some earlier one has ended.
        reach = func.max(periods.c.e).over(order_by=order, rows=(None, -1))
        marked = select(
            periods.c.s,
            periods.c.e,
            case((periods.c.s <= reach, 0), else_=1).label("starts"),
        ).cte("marked")
        numbered = select(
            marked.c.s,
            marked.c.e,
            func.sum(marked.c.starts)
            .over(order_by=(marked.c.s, marked.c.e), rows=(None, 0))
            .label("block"),
        ).cte("numbered")
        query = (
            select(
                type_coerce(func.min(numbered.c.s), UTCDateTime),
                type_coerce(func.max(numbered.c.e), UTCDateTime),
            )
            .group_by(numbered.c.block)
            .order_by(func.min(numbered.c.s))
        )
        async with self._sessions() as session:
            return [
                (block_start, block_end) for block_start, block_end in await session.execute(query)
            ]


def _next_step(moment: datetime) -> datetime:
    rounded = moment.replace(second=0, microsecond=0)
    minutes = (rounded.minute // 30 + 1) * 30
    return rounded.replace(minute=0) + timedelta(minutes=minutes)


async def _meetbot_busy(session: AsyncSession, asked: BusyAsked) -> list[tuple[str, Busy]]:
    # Meetings last at most MAX_LENGTH, so only starts this close before the span can reach it;
    # that keeps each read a short range of the time indexes, each covering its query: the
    # workspace is a plain equality inside the index (never wrapped in a function, which
    # PostgreSQL answers by scanning every meeting) and attendees carry it, so no join.
    organizing, invited = _busy_queries(asked)
    # One round trip for both: on SQLite each is a hop to the driver's thread and back.
    found: Result[int, str, datetime, datetime] = await session.execute(
        union_all(organizing, invited)
    )
    # busy_from and busy_until are set in every invited row the query finds.
    rows = [(event_id, user_id, begins, ends) for event_id, user_id, begins, ends in found]
    earliest = asked.start - MAX_LENGTH
    titles = await _titles_for_viewer(
        session, asked.team_id, asked.viewer, earliest, asked.end, rows
    )
    return [
        (str(user_id), Busy(row_start, row_end, titles.get(event_id)))
        for event_id, user_id, row_start, row_end in rows
    ]


def _busy_queries(
    asked: BusyAsked,
) -> tuple[
    Select[int, str, datetime, datetime],
    Select[int, str | None, datetime | None, datetime | None],
]:
    """Return the queries of meetings members organize and of those they are invited to."""
    team_id, user_ids, start, end = asked.team_id, asked.user_ids, asked.start, asked.end
    earliest = start - MAX_LENGTH
    organizing = select(Event.id, Event.organizer_id, Event.start_at, Event.end_at).where(
        Event.team_id == team_id,
        Event.organizer_id.in_(user_ids),
        Event.start_at >= earliest,
        Event.start_at < end,
        Event.end_at > start,
        Event.status == "confirmed",
        Event.rrule.is_(None),  # series: bot/series_busy.py
    )
    # busy_from is set only while the meeting keeps the member busy (rows.sync_busy).
    invited = select(
        Attendee.event_id, Attendee.slack_user_id, Attendee.busy_from, Attendee.busy_until
    ).where(
        Attendee.slack_user_id.in_(user_ids),
        Attendee.team_id == team_id,
        Attendee.busy_from >= earliest,
        Attendee.busy_from < end,
        Attendee.busy_until > start,
    )
    if asked.ignore_meeting is not None:
        organizing = organizing.where(Event.id != asked.ignore_meeting)
        invited = invited.where(Attendee.event_id != asked.ignore_meeting)
    return organizing, invited


async def _titles_for_viewer(
    session: AsyncSession,
    team_id: str,
    viewer: str,
    earliest: datetime,
    end: datetime,
    rows: Sequence[tuple[int, str, datetime, datetime]],
) -> dict[int, str]:
    """Return the titles the viewer may see among these meetings: theirs or ones they attend.

    Only the viewer's own meetings are read for titles; everyone else's stay untitled.
    """
    if not viewer or not rows:
        return {}
    shown = {event_id for event_id, *_ in rows}
    organized = select(Event.id, Event.title).where(
        Event.team_id == team_id,
        Event.organizer_id == viewer,
        Event.start_at >= earliest,
        Event.start_at < end,
    )
    # Invited and not taken off: a declined invitation still shows its title.
    attending = (
        select(Event.id, Event.title)
        .join(Attendee, Attendee.event_id == Event.id)
        .where(
            Attendee.slack_user_id == viewer,
            Attendee.team_id == team_id,
            Attendee.removed_at.is_(None),
            Event.start_at >= earliest,
            Event.start_at < end,
        )
    )
    return {
        event_id: title
        for event_id, title in await session.execute(union_all(organized, attending))
        if event_id in shown
    }
