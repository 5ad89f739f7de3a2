"""Meeting pictures for guests' pages and guests' e-mails, kept by (meeting, version).

Every change a guest's page shows (time, place, title, files, cancelling) bumps the
meeting's version, so a picture taken at one version stays true until the version moves,
whichever process made the change. A guest's page then costs one small query: their own
row and the meeting's version (read in batches, see GuestAnswers.look_up).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.meetings.errors import MeetingNotFound, UnknownLink
from bot.meetings.model import Invitee, Meeting
from bot.meetings.rows import invitee_from_row, load_event, meeting_from_row
from storage.models import Attendee, Event

# Meetings whose guests are answering right now; older pictures are dropped first.
KEPT = 512
# Meetings whose guests' e-mails are going out; each picture holds every attendee (a
# thousand for a big meeting), so few are kept: memory stays flat after fan-outs.
KEPT_FOR_MAIL = 8


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


class GuestMailPictures:
    """Meetings as guests' e-mails show them, the whole meeting read once per version.

    A 1,000-guest fan-out is claimed in batches of 250; loading all 1,000 attendees for
    each batch took ~115 ms. What an e-mail shows of the meeting (time, place, title,
    files, sequence, cancelling, who else is invited) moves its version, and a guest's own
    part (address, name, answer, link, taken off) is read afresh for every batch: each
    batch costs a version read and its own guests' rows. Answers do not move the version,
    so other guests' answers in a kept picture may be old: e-mails never show them, and
    nothing but guests' e-mails is rendered from these pictures.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._kept: dict[tuple[str, int], Meeting] = {}

    async def for_guests(
        self, team_id: str, meeting_id: int, attendee_ids: Collection[int]
    ) -> Meeting:
        """Return the meeting as it is now for these guests' e-mails."""
        async with self._sessions() as session:
            kept = self._kept.get((team_id, meeting_id))
            version = await session.scalar(
                select(Event.version).where(Event.id == meeting_id, Event.team_id == team_id)
            )
            if version is None:
                raise MeetingNotFound(meeting_id)
            if kept is None or kept.version != version:
                picture = meeting_from_row(await load_event(session, team_id, meeting_id))
                self._kept.pop((team_id, meeting_id), None)
                if len(self._kept) >= KEPT_FOR_MAIL:
                    del self._kept[next(iter(self._kept))]
                self._kept[(team_id, meeting_id)] = picture
                return picture
            own = Attendee.id.in_(attendee_ids)
            rows = await session.scalars(
                select(Attendee).where(own, Attendee.event_id == meeting_id)
            )
            fresh = {row.id: invitee_from_row(row) for row in rows}
        return dataclasses.replace(
            kept, attendees=tuple(fresh.get(invitee.id, invitee) for invitee in kept.attendees)
        )
