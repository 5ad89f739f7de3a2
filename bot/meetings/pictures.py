"""Meeting pictures for guests' pages, kept by (meeting, version).

Every change a guest's page shows (time, place, title, files, cancelling) bumps the
meeting's version, so a picture taken at one version stays true until the version moves,
whichever process made the change. A guest's page then costs one small query: their own
row and the meeting's version (read in batches, see GuestAnswers.look_up).
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.meetings.errors import UnknownLink
from bot.meetings.model import Invitee, Meeting
from bot.meetings.rows import meeting_from_row
from storage.models import Event

# Meetings whose guests are answering right now; older pictures are dropped first.
KEPT = 512


class MeetingPictures:
    """Guests' views of meetings, each read from the database once per version."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._kept: dict[tuple[int, int], Meeting] = {}

    async def for_guest(self, meeting_id: int, version: int, invitee: Invitee) -> Meeting:
        """Return the meeting at `version` (or newer) showing this guest alone."""
        picture = self._kept.get((meeting_id, version))
        if picture is None:
            picture = await self._load(meeting_id)
        return dataclasses.replace(picture, attendees=(invitee,))

    async def _load(self, meeting_id: int) -> Meeting:
        async with self._sessions() as session:
            event = await session.scalar(
                select(Event).where(Event.id == meeting_id).options(selectinload(Event.files))
            )
            if event is None:
                raise UnknownLink
            picture = meeting_from_row(event, attendees=[])
        if len(self._kept) >= KEPT:
            del self._kept[next(iter(self._kept))]
        self._kept[(picture.id, picture.version)] = picture
        return picture
