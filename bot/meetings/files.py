"""Files attached to meetings: stored from Slack when a meeting is saved, served to invitees."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload, undefer

from bot.drafts import FileRef
from bot.file_links import KEPT_AFTER_MEETING
from bot.meetings.errors import UnknownLink
from bot.meetings.model import AttachedFile, Meeting
from bot.meetings.rows import attendee_by_token, meeting_from_row
from storage.models import Event, EventFile


class FileSource(Protocol):
    """Where uploaded files are fetched from (Slack, with the workspace's bot token)."""

    async def fetch(self, team_id: str, file: FileRef) -> bytes:
        """Return the file's content."""


class MeetingFiles:
    """Read meetings' attached files for guests' links, members' links and e-mails."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], source: FileSource) -> None:
        self._sessions = sessions
        self._source = source

    async def download(self, team_id: str, files: Sequence[FileRef]) -> list[EventFile]:
        """Fetch uploaded files from Slack into rows ready to attach to a meeting."""
        return [
            EventFile(
                slack_file_id=ref.slack_file_id,
                name=ref.name,
                mimetype=ref.mimetype or "application/octet-stream",
                size=len(content),
                public_key=secrets.token_urlsafe(24),
                content=content,
            )
            for ref in files
            for content in [await self._source.fetch(team_id, ref)]
        ]

    async def for_guest(
        self, token: str, public_key: str, now: datetime
    ) -> tuple[AttachedFile, bytes]:
        """Return a file of the meeting a guest link belongs to, while the guest is invited."""
        async with self._sessions() as session:
            attendee = await attendee_by_token(session, token)
            if attendee.removed_at is not None:
                raise UnknownLink
            meeting = meeting_from_row(attendee.event, attendees=[attendee])
        if _expired(meeting, now):
            raise UnknownLink
        return await self.content(meeting, public_key)

    async def for_member(
        self, public_key: str, user_id: str, now: datetime
    ) -> tuple[AttachedFile, bytes]:
        """Return a file to its meeting's organizer or a member still invited to it."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(EventFile)
                .where(EventFile.public_key == public_key)
                .options(
                    selectinload(EventFile.event).selectinload(Event.attendees),
                    selectinload(EventFile.event).selectinload(Event.files),
                )
            )
            if row is None:
                raise UnknownLink
            meeting = meeting_from_row(row.event)
        if _expired(meeting, now) or not (
            meeting.organizer.user_id == user_id or meeting.member(user_id) is not None
        ):
            raise UnknownLink
        return await self.content(meeting, public_key)

    async def content(self, meeting: Meeting, public_key: str) -> tuple[AttachedFile, bytes]:
        """Return an attached file and its bytes."""
        attached = next((f for f in meeting.files if f.public_key == public_key), None)
        if attached is None:
            raise UnknownLink
        async with self._sessions() as session:
            row = await session.scalar(
                select(EventFile)
                .where(EventFile.id == attached.id, EventFile.event_id == meeting.id)
                .options(undefer(EventFile.content))
            )
            if row is None:
                raise UnknownLink
            return attached, row.content


def _expired(meeting: Meeting, now: datetime) -> bool:
    """Tell whether a meeting's files are no longer served: cancelled, or long over."""
    return meeting.cancelled or now > meeting.end + KEPT_AFTER_MEETING
