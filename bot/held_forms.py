"""Create forms held back while their organizer answers the sending-mailbox question."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from storage.models import HeldForm

# A question left unanswered this long is abandoned; its form is forgotten.
KEEP_FOR = timedelta(days=1)


class HeldForms:
    """Keep a submitted create form until the question pushed over it is answered."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def hold(self, team_id: str, user_id: str, view: dict[str, Any]) -> int:
        """Keep the form's view (with what was typed) and return its number."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(HeldForm).where(HeldForm.created_at < utc_now() - KEEP_FOR)
            )
            held = HeldForm(team_id=team_id, user_id=user_id, view=view)
            session.add(held)
            await session.flush()
            return held.id

    async def get(self, team_id: str, user_id: str, held_id: int) -> dict[str, Any] | None:
        """Return a held form of this person, or None when it is gone or someone else's."""
        async with self._sessions() as session:
            view = await session.scalar(
                select(HeldForm.view).where(
                    HeldForm.id == held_id, HeldForm.team_id == team_id, HeldForm.user_id == user_id
                )
            )
            return dict(view) if view is not None else None

    async def release(self, team_id: str, user_id: str, held_id: int) -> None:
        """Forget a held form once its meeting exists."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(HeldForm).where(
                    HeldForm.id == held_id, HeldForm.team_id == team_id, HeldForm.user_id == user_id
                )
            )
