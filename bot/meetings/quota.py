"""A workspace's monthly allowance of new guest invitations, counted as meetings are saved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.meetings.errors import GuestQuotaExceeded
from storage.models import GuestInviteCount


def quota_month(moment: datetime) -> str:
    """Return the calendar month a guest invitation counts in (UTC), e.g. `2026-11`."""
    return f"{moment.year:04d}-{moment.month:02d}"


class GuestQuota:
    """Count new guests against a monthly cap per workspace (no cap: count nothing)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], invites_per_month: int | None
    ) -> None:
        self._sessions = sessions
        self._cap = invites_per_month

    async def left(self, team_id: str) -> int | None:
        """Return how many new guests the workspace may still invite this month (None: no cap)."""
        if self._cap is None:
            return None
        async with self._sessions() as session:
            used = await session.scalar(
                select(GuestInviteCount.count).where(
                    GuestInviteCount.team_id == team_id,
                    GuestInviteCount.month == quota_month(utc_now()),
                )
            )
        return max(self._cap - (used or 0), 0)

    async def count(self, session: AsyncSession, team_id: str, new: int) -> None:
        """Count new guest invitations against the month's cap, or refuse them all."""
        if self._cap is None or new == 0:
            return
        cap, month = self._cap, quota_month(utc_now())
        # One conditional UPDATE: two meetings created at once cannot both take the last places.
        counted = await session.execute(
            update(GuestInviteCount)
            .where(
                GuestInviteCount.team_id == team_id,
                GuestInviteCount.month == month,
                GuestInviteCount.count + new <= cap,
            )
            .values(count=GuestInviteCount.count + new)
        )
        if counted.rowcount == 1:  # type: ignore[attr-defined]
            return
        used = await session.scalar(
            select(GuestInviteCount.count).where(
                GuestInviteCount.team_id == team_id, GuestInviteCount.month == month
            )
        )
        if used is None and new <= cap:
            try:
                async with session.begin_nested():
                    session.add(GuestInviteCount(team_id=team_id, month=month, count=new))
                return
            except IntegrityError:
                # Another meeting started this month's count first; count against it.
                await self.count(session, team_id, new)
                return
        raise GuestQuotaExceeded(max(cap - (used or 0), 0), new)
