"""Where a meeting's Slack messages are: the organizer's summary and each member's DM."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Attendee, Event


class MeetingPosts:
    """Remember where each meeting's messages were posted, so they are redrawn, not reposted."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def summary(self, meeting_id: int) -> tuple[str, str] | None:
        """Return the channel and ts of the organizer's summary, once posted."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Event.summary_channel, Event.summary_ts).where(Event.id == meeting_id)
                )
            ).one_or_none()
        return (row[0], row[1]) if row is not None and row[0] and row[1] else None

    async def remember_summary(self, meeting_id: int, where: tuple[str, str]) -> None:
        """Note where the organizer's summary was posted."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Event)
                .where(Event.id == meeting_id)
                .values(summary_channel=where[0], summary_ts=where[1])
            )

    async def member_invitation(self, attendee_id: int) -> tuple[str, str] | None:
        """Return the channel and ts of a member's invitation DM, once posted."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Attendee.dm_channel, Attendee.dm_ts).where(Attendee.id == attendee_id)
                )
            ).one_or_none()
        return (row[0], row[1]) if row is not None and row[0] and row[1] else None

    async def remember_member_invitation(self, attendee_id: int, where: tuple[str, str]) -> None:
        """Note where a member's invitation DM was posted."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Attendee)
                .where(Attendee.id == attendee_id)
                .values(dm_channel=where[0], dm_ts=where[1])
            )
