"""Meetbot's meeting services on a real database, built as the composition root builds them.

Nothing of Meetbot's own is stubbed: only Slack's file downloads, which tests cannot reach,
are stood in for by `SlackUploads`. What the services owe people is read back from the
outbox the way its worker reads it, as typed deliveries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import Delivery, delivery_from_row
from bot.drafts import FileRef, MeetingDraft
from bot.guests import Guest
from bot.mailboxes import Mailbox, Mailboxes
from bot.meetings.files import MeetingFiles
from bot.meetings.model import Invitee, Meeting, Organizer
from bot.meetings.quota import GuestQuota
from bot.meetings.replies import Replies
from bot.meetings.service import Meetings
from bot.meetings.submissions import Submissions
from bot.preferences import Preferences
from bot.tokens import TokenMinter
from storage.models import OutboxEntry
from tests.conftest import ANA, BEN, ORGANIZER

OLGA = Organizer(ORGANIZER, "Olga Organizer", "olga@acme.example", "Europe/Warsaw")
CAROL = Guest("carol@client.example", "Carol Client")
DAN = Guest("dan@client.example", "Dan Client")
# A whole hour two days ahead: after every reminder, and easy to read in a failure.
START = (utc_now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
END = START + timedelta(hours=1)
INVITES = Mailbox("Meetbot", "invites@meetbot.example")
SALES = Mailbox("Sales", "Sales@acme.example")
AGENDA_PDF = FileRef(
    "F0AGENDA", "agenda.pdf", "application/pdf", 13, "https://files.slack.com/F0AGENDA"
)
AGENDA_BYTES = b"%PDF-1.7 agenda"


class SlackUploads:
    """The organizer's uploads as Slack hands them over (Slack itself is out of reach)."""

    def __init__(self, contents: Mapping[str, bytes]) -> None:
        self._contents = dict(contents)
        self.fetched: list[tuple[str, str]] = []

    async def fetch(self, team_id: str, file: FileRef) -> bytes:
        """Return an uploaded file's bytes, noting which workspace asked for which file."""
        self.fetched.append((team_id, file.slack_file_id))
        return self._contents[file.slack_file_id]


class QueuedDeliveries:
    """What Meetbot owes people, read back from the outbox as its worker reads it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._last_seen = 0

    async def new(self) -> Counter[Delivery]:
        """Return the deliveries queued since the last look, counted so a duplicate shows."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(OutboxEntry)
                    .where(OutboxEntry.id > self._last_seen)
                    .order_by(OutboxEntry.id)
                )
            )
        if rows:
            self._last_seen = rows[-1].id
        return Counter(
            delivery_from_row(row.kind, row.event_id, row.attendee_id, row.payload) for row in rows
        )


class Wakes:
    """Counts how often a service woke the outbox to deliver what it queued."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@dataclass(frozen=True)
class MeetingServices:
    """The meeting services one test drives, all on the same database."""

    sessions: async_sessionmaker[AsyncSession]
    meetings: Meetings
    replies: Replies
    submissions: Submissions
    preferences: Preferences
    mailboxes: Mailboxes
    files: MeetingFiles
    uploads: SlackUploads
    outbox: QueuedDeliveries
    wakes: Wakes


def build_services(
    sessions: async_sessionmaker[AsyncSession], *, guest_cap: int | None = None
) -> MeetingServices:
    """Build the meeting services as bot/app.py does, with a monthly guest cap if given."""
    uploads = SlackUploads({AGENDA_PDF.slack_file_id: AGENDA_BYTES})
    files = MeetingFiles(sessions, uploads)
    wakes = Wakes()
    meetings = Meetings(
        sessions,
        TokenMinter("test-link-key"),
        files,
        GuestQuota(sessions, guest_cap),
        on_deliveries=wakes,
    )
    preferences = Preferences(sessions)
    mailboxes = Mailboxes([INVITES, SALES])
    return MeetingServices(
        sessions=sessions,
        meetings=meetings,
        replies=Replies(sessions, meetings, on_deliveries=wakes),
        submissions=Submissions(meetings, preferences, mailboxes),
        preferences=preferences,
        mailboxes=mailboxes,
        files=files,
        uploads=uploads,
        outbox=QueuedDeliveries(sessions),
        wakes=wakes,
    )


def owed(*deliveries: Delivery) -> Counter[Delivery]:
    """Return deliveries counted as `QueuedDeliveries.new` counts them."""
    return Counter(deliveries)


def draft(**changes: Any) -> MeetingDraft:
    """Return Olga's form: a review with Ana and Ben from the workspace, Carol and Dan outside."""
    review = MeetingDraft(
        title="Quarterly review",
        start=START,
        end=END,
        location="Room 4",
        description="Numbers first, then plans.",
        member_ids=(ANA, BEN),
        guests=(CAROL, DAN),
    )
    return replace(review, **changes)


def edit_of(meeting: Meeting, **changes: Any) -> MeetingDraft:
    """Return the edit form as it opens on a meeting, with these fields changed."""
    as_opened = MeetingDraft(
        title=meeting.title,
        start=meeting.start,
        end=meeting.end,
        location=meeting.location,
        description=meeting.description,
        member_ids=tuple(m.slack_user_id for m in meeting.members if m.slack_user_id),
        guests=tuple(Guest(g.email or "", g.name) for g in meeting.guests),
        notify=meeting.notify_on_decision,
        remind_guests=meeting.remind_guests,
        reminder_minutes=meeting.reminder_minutes,
        kept_file_ids=tuple(f.id for f in meeting.files),
        rrule=meeting.series.rule if meeting.series else None,
    )
    return replace(as_opened, **changes)


def guest_in(meeting: Meeting, guest: Guest) -> Invitee:
    """Return a guest's invitation to a meeting, even once they are taken off the list."""
    return next(i for i in meeting.attendees if i.email == guest.email)


def member_in(meeting: Meeting, user_id: str) -> Invitee:
    """Return a member's invitation to a meeting, even once they are taken off the list."""
    return next(i for i in meeting.attendees if i.slack_user_id == user_id)
