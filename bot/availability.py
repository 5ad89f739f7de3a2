"""Who is free: members' busy times from Meetbot's own meetings and their connected calendars."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.people import People
from storage.models import Attendee, Event, ExternalBusy

WORKDAY_START = time(9, 0)
WORKDAY_END = time(18, 0)
WORKING_DAYS = frozenset(range(5))  # Monday to Friday
SLOT_STEP = timedelta(minutes=30)
SEARCH_DAYS = 14


@dataclass(frozen=True)
class Busy:
    """A time someone is taken; the title only where the person asking may see it."""

    start: datetime
    end: datetime
    title: str | None = None


@dataclass(frozen=True)
class MemberStatus:
    """One member at the time being planned: free or busy, and their own local time."""

    user_id: str
    clashes: tuple[Busy, ...]
    local_start: datetime
    outside_hours: bool

    @property
    def free(self) -> bool:
        """Tell whether nothing clashes."""
        return not self.clashes


def zone_of(name: str) -> ZoneInfo:
    """Return a time zone by name, UTC if Slack gave one Python does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def within_working_hours(start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """Tell whether a span lies inside one working day (9:00-18:00, Monday-Friday) in a zone."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.weekday() not in WORKING_DAYS or local_start.date() != local_end.date():
        return False
    return local_start.time() >= WORKDAY_START and local_end.time() <= WORKDAY_END


def overlapping(periods: Iterable[Busy], start: datetime, end: datetime) -> tuple[Busy, ...]:
    """Return the periods that overlap a span."""
    return tuple(p for p in periods if p.start < end and start < p.end)


class Availability:
    """Answer who is free when, for the form and for "Find a time"."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], people: People) -> None:
        self._sessions = sessions
        self._people = people

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
        statuses = []
        for user_id in user_ids:
            zone = zone_of((await self._people.get(user_id)).timezone)
            statuses.append(
                MemberStatus(
                    user_id=user_id,
                    clashes=overlapping(periods[user_id], start, end),
                    local_start=start.astimezone(zone),
                    outside_hours=not within_working_hours(start, end, zone),
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
        zones = [zone_of((await self._people.get(u)).timezone) for u in user_ids]
        everyone_busy = sorted(
            (b for busy in periods.values() for b in busy), key=lambda b: b.start
        )
        slots: list[tuple[datetime, datetime]] = []
        candidate = _next_step(after)
        while candidate + length <= horizon and len(slots) < count:
            finish = candidate + length
            if all(within_working_hours(candidate, finish, z) for z in zones) and not overlapping(
                everyone_busy, candidate, finish
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
    in_span = and_(
        Event.team_id == team_id,
        Event.status == "confirmed",
        Event.start_at < end,
        Event.end_at > start,
    )
    if ignore_meeting is not None:
        in_span = and_(in_span, Event.id != ignore_meeting)
    organizing = await session.execute(
        select(Event.id, Event.organizer_id, Event.start_at, Event.end_at, Event.title).where(
            in_span, Event.organizer_id.in_(user_ids)
        )
    )
    invited = await session.execute(
        select(Event.id, Attendee.slack_user_id, Event.start_at, Event.end_at, Event.title)
        .join(Attendee, Attendee.event_id == Event.id)
        .where(
            in_span,
            Attendee.slack_user_id.in_(user_ids),
            Attendee.removed_at.is_(None),
            Attendee.response != "declined",
        )
    )
    rows = [*organizing, *invited]
    visible = await _meetings_visible_to(session, viewer, {row[0] for row in rows})
    return [
        (str(user_id), Busy(row_start, row_end, title if event_id in visible else None))
        for event_id, user_id, row_start, row_end, title in rows
    ]


async def _meetings_visible_to(session: AsyncSession, viewer: str, ids: set[int]) -> set[int]:
    """Return the meetings whose title the viewer may see: theirs, or ones they are invited to."""
    if not ids or not viewer:
        return set()
    rows = await session.scalars(
        select(Event.id)
        .outerjoin(
            Attendee,
            and_(Attendee.event_id == Event.id, Attendee.slack_user_id == viewer),
        )
        .where(
            Event.id.in_(ids),
            or_(
                Event.organizer_id == viewer,
                and_(Attendee.id.isnot(None), Attendee.removed_at.is_(None)),
            ),
        )
    )
    return set(rows)
