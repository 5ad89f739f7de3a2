"""The one service that changes meetings: it writes each change and its deliveries together."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload, undefer

from bot.drafts import FileRef, MeetingDraft, reminder_due
from bot.guests import Guest
from bot.i18n import DEFAULT_LANGUAGE, N_, Language, language_of, translator
from bot.tokens import TokenMinter, hash_token, new_salt
from storage.models import (
    Attendee,
    CounterProposal,
    Event,
    EventFile,
    GuestInviteCount,
    OutboxEntry,
    utc_now,
)


class Answer(StrEnum):
    """An invitee's answer, spelled as iCalendar's PARTSTAT in lower case."""

    NEEDS_ACTION = "needs-action"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


class Delivery(StrEnum):
    """The kinds of outbox entries the outbox worker knows how to deliver."""

    ORGANIZER_SUMMARY = "organizer_summary"
    MEMBER_INVITATION = "member_invitation"
    MEMBER_NOTICE = "member_notice"
    MEMBER_REMINDER = "member_reminder"
    GUEST_INVITATION = "guest_invitation"
    GUEST_CANCELLATION = "guest_cancellation"
    GUEST_REMINDER = "guest_reminder"
    GUEST_DECLINECOUNTER = "guest_declinecounter"
    DECISION_NOTICE = "decision_notice"
    COUNTER_NOTICE = "counter_notice"
    BOUNCE_NOTICE = "bounce_notice"
    HOME_REFRESH = "home_refresh"
    FEED_FAILURE = "feed_failure"


class MeetingError(Exception):
    """A request about a meeting that cannot be carried out; the message says why."""

    message = N_("That cannot be done.")


class MeetingNotFound(MeetingError, LookupError):
    """No meeting with that id in that workspace."""

    message = N_("That meeting no longer exists.")


class NotInvited(MeetingError, PermissionError):
    """The person answering is not on the meeting's guest list."""

    message = N_("This invitation is not addressed to you, so your answer was not recorded.")


class NotOrganizer(MeetingError, PermissionError):
    """Someone other than the organizer tried to change a meeting."""

    message = N_("Only the organizer can change or cancel this meeting.")


class MeetingCancelled(MeetingError):
    """The meeting was cancelled; it takes no answers and no edits."""

    message = N_("This meeting was cancelled.")


class EventChanged(MeetingError):
    """The meeting changed after the form or message was shown."""

    message = N_(
        "This meeting was changed in the meantime, so your change was not saved. "
        "Open it again to see the latest version."
    )


class GuestQuotaExceeded(MeetingError):
    """The workspace's monthly allowance of new guest invitations would be overrun."""

    message = N_(
        "Your workspace has used all its guest invitations for this month, so new guests "
        "cannot be invited until next month. Members can still be invited."
    )

    def __init__(self, remaining: int, asked: int) -> None:
        super().__init__(remaining, asked)
        self.remaining = remaining
        self.asked = asked

    def translated(self, language: Language) -> str:
        """Return how many guests may still be invited, in the organizer's language."""
        t = translator(language)
        if self.remaining == 0:
            return t.gettext(self.message)
        left = t.ngettext(
            "Your workspace can invite {count} more guest this month",
            "Your workspace can invite {count} more guests this month",
            self.remaining,
        ).format(count=self.remaining)
        asked = t.ngettext(
            "this would invite {count}", "this would invite {count}", self.asked
        ).format(count=self.asked)
        remove = t.gettext("Remove {count} to send the invitations.").format(
            count=self.asked - self.remaining
        )
        return f"{left}; {asked}. {remove}"


class UnknownLink(LookupError):
    """A guest link whose token matches no attendee."""


class ProposalNotFound(MeetingError, LookupError):
    """No pending counter-proposal with that id."""

    message = N_("That proposal was already answered or no longer exists.")


class ReplyRefused(Exception):
    """An e-mailed answer that changes nothing; the message says why, for the log."""


PARTSTAT_ANSWERS = {
    "ACCEPTED": Answer.ACCEPTED,
    "TENTATIVE": Answer.TENTATIVE,
    "DECLINED": Answer.DECLINED,
    "DELEGATED": Answer.DECLINED,
}


@dataclass(frozen=True)
class MailedAnswer:
    """An answer a guest's mail program sent: a REPLY, or a COUNTER proposing a new time."""

    method: str
    uid: str
    sequence: int
    attendee: str
    sender: str
    partstat: str | None
    comment: str
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None


@dataclass(frozen=True)
class Bounce:
    """A report that mail to a guest could not be delivered."""

    reason: str
    # (event uid before the @, recipient hash) pairs from our Message-IDs quoted in the report
    messages: tuple[tuple[str, str], ...] = ()
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """A guest's proposal of another time for a meeting."""

    id: int
    meeting_id: int
    attendee_id: int
    start: datetime
    end: datetime
    comment: str
    status: str


def _proposal_from_row(row: CounterProposal) -> Proposal:
    return Proposal(
        row.id, row.event_id, row.attendee_id, row.start_at, row.end_at, row.comment, row.status
    )


def recipient_hash(address: str) -> str:
    """Return the short hash of a guest's address that our Message-IDs carry."""
    return hashlib.sha256(address.lower().encode()).hexdigest()[:16]


class FileSource(Protocol):
    """Where uploaded files are fetched from (Slack, with the workspace's bot token)."""

    async def fetch(self, team_id: str, file: FileRef) -> bytes:
        """Return the file's content."""


@dataclass(frozen=True)
class Organizer:
    """The workspace member who sets up a meeting, as their profile describes them."""

    user_id: str
    name: str
    email: str | None
    timezone: str


@dataclass(frozen=True)
class Invitee:
    """One invited person and their answer so far."""

    id: int
    kind: str
    slack_user_id: str | None
    email: str | None
    name: str
    answer: Answer
    comment: str
    token_salt: str | None
    removed: bool = False
    delivery_error: str | None = None

    @property
    def is_member(self) -> bool:
        """Tell whether this is a workspace member (answers in Slack) rather than a guest."""
        return self.kind == "member"

    def guest_label(self) -> str:
        """Return a guest as people read them: `Name <addr>` or the bare address."""
        if self.name and self.name != self.email:
            return f"{self.name} <{self.email}>"
        return self.email or ""


@dataclass(frozen=True)
class AttachedFile:
    """A file attached to a meeting (its content is loaded only when sent)."""

    id: int
    name: str
    mimetype: str
    size: int
    public_key: str


@dataclass(frozen=True)
class Meeting:
    """A read-only picture of a meeting and everyone ever invited to it."""

    id: int
    uid: str
    team_id: str
    organizer: Organizer
    title: str
    start: datetime
    end: datetime
    location: str
    description: str
    notify_on_decision: bool
    sequence: int
    version: int
    status: str
    created_at: datetime
    attendees: tuple[Invitee, ...]
    files: tuple[AttachedFile, ...] = ()
    reminder_minutes: int | None = None
    remind_guests: bool = False
    cancel_message: str = ""
    # Address of the sending mailbox guests' mail comes from; None means the default one.
    mailbox: str | None = None
    # The language of the guests' e-mails and pages.
    language: Language = DEFAULT_LANGUAGE

    @property
    def cancelled(self) -> bool:
        """Tell whether the organizer cancelled the meeting."""
        return self.status == "cancelled"

    @property
    def invitees(self) -> list[Invitee]:
        """Return the people invited now (not those taken off the list)."""
        return [i for i in self.attendees if not i.removed]

    @property
    def members(self) -> list[Invitee]:
        """Return the workspace members invited."""
        return [i for i in self.invitees if i.is_member]

    @property
    def guests(self) -> list[Invitee]:
        """Return the outside guests invited."""
        return [i for i in self.invitees if not i.is_member]

    def invitee(self, invitee_id: int) -> Invitee:
        """Return the attendee with this id, even one taken off the list."""
        return next(i for i in self.attendees if i.id == invitee_id)

    def member(self, user_id: str) -> Invitee | None:
        """Return a workspace member's invitation, if they are invited now."""
        return next((i for i in self.members if i.slack_user_id == user_id), None)

    def tally(self) -> dict[Answer, int]:
        """Count the invitees by answer."""
        counts = dict.fromkeys(Answer, 0)
        for invitee in self.invitees:
            counts[invitee.answer] += 1
        return counts


@dataclass(frozen=True)
class Change:
    """One thing an edit changed, in words: `Time: Tue 14:00 → Tue 15:00`."""

    field: str
    before: str
    after: str

    def as_payload(self) -> dict[str, str]:
        """Return the change as JSON-ready data for the outbox."""
        return asdict(self)


def changes_from_payload(payload: dict[str, Any]) -> list[Change]:
    """Return the changes stored with an outbox entry."""
    return [Change(**item) for item in payload.get("changes", [])]


@dataclass(frozen=True)
class Decision:
    """The outcome of recording an answer."""

    meeting: Meeting
    invitee: Invitee
    changed: bool


@dataclass(frozen=True)
class Revision:
    """The outcome of an edit: the meeting as it is now and what changed."""

    meeting: Meeting
    changes: tuple[Change, ...]
    settings_changed: bool

    @property
    def changed(self) -> bool:
        """Tell whether anything at all was saved."""
        return bool(self.changes) or self.settings_changed


@dataclass(frozen=True)
class Agenda:
    """A person's upcoming meetings: those they organize and those they are invited to."""

    organizing: list[Meeting]
    invited: list[tuple[Meeting, Invitee]]


def _time_text(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def parse_time_text(text: str) -> tuple[datetime, datetime]:
    """Return the start and end stored in a time change."""
    start, _, end = text.partition("/")
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


def meeting_from_row(event: Event, attendees: Sequence[Attendee] | None = None) -> Meeting:
    """Return the read-only picture of a loaded event row, its attendees and files.

    With `attendees`, only those are in the picture (one guest's view), and the event's
    other attendees need not be loaded.
    """
    return Meeting(
        id=event.id,
        uid=event.uid,
        team_id=event.team_id,
        organizer=Organizer(
            user_id=event.organizer_id,
            name=event.organizer_name,
            email=event.organizer_email,
            timezone=event.timezone,
        ),
        title=event.title,
        start=event.start_at,
        end=event.end_at,
        location=event.location,
        description=event.description,
        notify_on_decision=event.notify_on_decision,
        sequence=event.sequence,
        version=event.version,
        status=event.status,
        created_at=event.created_at,
        attendees=tuple(
            _invitee_from_row(a) for a in (event.attendees if attendees is None else attendees)
        ),
        files=tuple(
            AttachedFile(f.id, f.name, f.mimetype, f.size, f.public_key) for f in event.files
        ),
        reminder_minutes=event.reminder_minutes,
        remind_guests=event.remind_guests,
        cancel_message=event.cancel_message,
        mailbox=event.mailbox,
        language=language_of(event.language),
    )


def _invitee_from_row(attendee: Attendee) -> Invitee:
    return Invitee(
        id=attendee.id,
        kind=attendee.kind,
        slack_user_id=attendee.slack_user_id,
        email=attendee.email,
        name=attendee.display_name,
        answer=Answer(attendee.response),
        comment=attendee.comment,
        token_salt=attendee.token_salt,
        removed=attendee.removed_at is not None,
        delivery_error=attendee.delivery_error,
    )


class Meetings:
    """Create, edit, cancel and answer meetings, each with its deliveries in one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenMinter,
        files: FileSource,
        on_deliveries: Callable[[], None] = lambda: None,
        guest_invites_per_month: int | None = None,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._files = files
        self._on_deliveries = on_deliveries
        self._guest_cap = guest_invites_per_month

    async def create(
        self,
        team_id: str,
        organizer: Organizer,
        draft: MeetingDraft,
        *,
        guest_language: Language = DEFAULT_LANGUAGE,
        source_view: str | None = None,
        mailbox: str | None = None,
    ) -> Meeting:
        """Store a new meeting and queue the invitations and the organizer's summary.

        Guests get their e-mails and pages in `guest_language`, whatever the organizer reads.
        A form submitted twice (a double click, Slack retrying) creates the meeting once.
        Guests' mail goes out from `mailbox` (an address; None: the default mailbox).
        """
        if source_view is not None:
            existing = await self._created_from(team_id, source_view)
            if existing is not None:
                return existing
        uploads = await self._download(team_id, draft.new_files)
        try:
            meeting = await self._insert(
                team_id, organizer, draft, uploads, source_view, mailbox, guest_language
            )
        except GuestQuotaExceeded:
            # The same form sent twice: the second waited for the first's count and found
            # no room, but the meeting it asks for exists already.
            existing = await self._created_from(team_id, source_view) if source_view else None
            if existing is None:
                raise
            return existing
        except IntegrityError:
            if source_view is None:
                raise
            existing = await self._created_from(team_id, source_view)
            if existing is None:
                raise
            return existing
        self._on_deliveries()
        return meeting

    async def _created_from(self, team_id: str, source_view: str) -> Meeting | None:
        async with self._sessions() as session:
            event = await session.scalar(
                select(Event)
                .where(Event.team_id == team_id, Event.source_view == source_view)
                .options(selectinload(Event.attendees), selectinload(Event.files))
            )
            return meeting_from_row(event) if event is not None else None

    async def _insert(
        self,
        team_id: str,
        organizer: Organizer,
        draft: MeetingDraft,
        uploads: list[EventFile],
        source_view: str | None,
        mailbox: str | None,
        guest_language: Language,
    ) -> Meeting:
        async with self._sessions.begin() as session:
            await self._count_guest_invites(session, team_id, len(draft.guests))
            event = Event(
                source_view=source_view,
                mailbox=mailbox,
                uid=f"{uuid.uuid4()}@meetbot",
                team_id=team_id,
                organizer_id=organizer.user_id,
                organizer_name=organizer.name,
                organizer_email=organizer.email,
                timezone=organizer.timezone,
                language=guest_language.value,
                title=draft.title,
                location=draft.location,
                description=draft.description,
                start_at=draft.start,
                end_at=draft.end,
                notify_on_decision=draft.notify,
                status="confirmed",
                reminder_minutes=draft.reminder_minutes,
                remind_guests=draft.remind_guests,
                reminder_due_at=reminder_due(draft.start, draft.reminder_minutes, utc_now()),
                attendees=[_new_member(user_id) for user_id in draft.member_ids]
                + [self._new_guest(guest) for guest in draft.guests],
                files=uploads,
            )
            _sync_busy(event)
            session.add(event)
            await session.flush()
            _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
            for attendee in event.attendees:
                _enqueue_invitation(session, event, attendee)
            _enqueue_home_refresh(session, event, [organizer.user_id, *draft.member_ids])
            return meeting_from_row(event)

    async def _download(self, team_id: str, files: Sequence[FileRef]) -> list[EventFile]:
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
            for content in [await self._files.fetch(team_id, ref)]
        ]

    def _new_guest(self, guest: Guest) -> Attendee:
        salt = new_salt()
        return Attendee(
            kind="guest",
            email=guest.email,
            email_key=guest.key,
            display_name=guest.name,
            token_salt=salt,
            token_hash=hash_token(self._tokens.token_for(salt)),
        )

    async def get(self, team_id: str, meeting_id: int) -> Meeting:
        """Return one meeting of a workspace."""
        async with self._sessions() as session:
            event = await _load_event(session, team_id, meeting_id)
            return meeting_from_row(event)

    async def get_for_organizer(self, team_id: str, meeting_id: int, user_id: str) -> Meeting:
        """Return a meeting for its organizer to edit or cancel; refuse anyone else."""
        meeting = await self.get(team_id, meeting_id)
        if meeting.organizer.user_id != user_id:
            raise NotOrganizer(user_id)
        if meeting.cancelled:
            raise MeetingCancelled(meeting_id)
        return meeting

    async def update(
        self,
        team_id: str,
        user_id: str,
        meeting_id: int,
        expected_version: int,
        draft: MeetingDraft,
    ) -> Revision:
        """Apply the organizer's edit and tell everyone affected what changed."""
        uploads = await self._download(team_id, draft.new_files)
        async with self._sessions.begin() as session:
            event = await _load_event(session, team_id, meeting_id, for_update=True)
            _check_organizer(event, user_id)
            if event.version != expected_version:
                raise EventChanged(meeting_id)
            before = meeting_from_row(event)
            changes = _describe_changes(before, draft, uploads)
            settings_changed = (
                event.notify_on_decision != draft.notify
                or event.reminder_minutes != draft.reminder_minutes
                or event.remind_guests != draft.remind_guests
            )
            membership = _membership_changes(before, draft)
            if not changes and not settings_changed and not membership.any:
                return Revision(before, (), False)
            # Only guests never invited before count: taking someone back in is an update.
            ever_invited = {a.email_key for a in event.attendees if a.kind == "guest"}
            new_guests = [g for g in membership.added_guests if g.key not in ever_invited]
            await self._count_guest_invites(session, team_id, len(new_guests))
            time_moved = (event.start_at, event.end_at) != (draft.start, draft.end)
            event.title = draft.title
            event.start_at = draft.start
            event.end_at = draft.end
            event.location = draft.location
            event.description = draft.description
            event.notify_on_decision = draft.notify
            event.reminder_minutes = draft.reminder_minutes
            event.remind_guests = draft.remind_guests
            event.reminder_due_at = reminder_due(draft.start, draft.reminder_minutes, utc_now())
            event.version += 1
            kept_files = set(draft.kept_file_ids or ())
            for attached in list(event.files):
                if draft.kept_file_ids is not None and attached.id not in kept_files:
                    event.files.remove(attached)
            event.files.extend(uploads)
            calendar_changed = bool(changes) or membership.any
            if calendar_changed:
                event.sequence += 1
            if time_moved:
                for attendee in event.attendees:
                    attendee.response = Answer.NEEDS_ACTION.value
                    attendee.comment = ""
                    attendee.responded_at = None
            added, removed = self._apply_membership(event, draft, membership)
            _sync_busy(event)
            await session.flush()
            revision = Revision(meeting_from_row(event), tuple(changes), settings_changed)
            if calendar_changed:
                _enqueue_revision(session, event, changes, added, removed, time_moved)
            _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
            _enqueue_home_refresh(
                session,
                event,
                [event.organizer_id]
                + [a.slack_user_id for a in event.attendees if a.slack_user_id],
            )
        self._on_deliveries()
        return revision

    async def guest_invites_left(self, team_id: str) -> int | None:
        """Return how many new guests the workspace may still invite this month (None: no cap)."""
        if self._guest_cap is None:
            return None
        async with self._sessions() as session:
            used = await session.scalar(
                select(GuestInviteCount.count).where(
                    GuestInviteCount.team_id == team_id,
                    GuestInviteCount.month == _quota_month(utc_now()),
                )
            )
        return max(self._guest_cap - (used or 0), 0)

    async def _count_guest_invites(self, session: AsyncSession, team_id: str, new: int) -> None:
        """Count new guest invitations against the month's cap, or refuse them all."""
        if self._guest_cap is None or new == 0:
            return
        cap, month = self._guest_cap, _quota_month(utc_now())
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
                await self._count_guest_invites(session, team_id, new)
                return
        raise GuestQuotaExceeded(max(cap - (used or 0), 0), new)

    def _apply_membership(
        self, event: Event, draft: MeetingDraft, membership: _Membership
    ) -> tuple[list[Attendee], list[Attendee]]:
        added: list[Attendee] = []
        removed: list[Attendee] = []
        by_member = {a.slack_user_id: a for a in event.attendees if a.kind == "member"}
        by_guest = {a.email_key: a for a in event.attendees if a.kind == "guest"}
        for user_id in membership.added_members:
            attendee = by_member.get(user_id)
            if attendee is None:
                attendee = _new_member(user_id)
                event.attendees.append(attendee)
            _reinstate(attendee)
            added.append(attendee)
        for guest in membership.added_guests:
            attendee = by_guest.get(guest.key)
            if attendee is None:
                attendee = self._new_guest(guest)
                event.attendees.append(attendee)
            attendee.display_name = guest.name or attendee.display_name
            _reinstate(attendee)
            added.append(attendee)
        for user_id in membership.removed_members:
            removed.append(by_member[user_id])
        for key in membership.removed_guests:
            removed.append(by_guest[key])
        for attendee in removed:
            attendee.removed_at = utc_now()
        return added, removed

    async def cancel(self, team_id: str, user_id: str, meeting_id: int, message: str) -> Meeting:
        """Cancel the meeting in everyone's calendar and tell members in Slack."""
        async with self._sessions.begin() as session:
            event = await _load_event(session, team_id, meeting_id, for_update=True)
            _check_organizer(event, user_id)
            event.status = "cancelled"
            event.cancel_message = message.strip()[:1000]
            event.sequence += 1
            event.version += 1
            event.reminder_due_at = None
            _sync_busy(event)
            for attendee in event.attendees:
                if attendee.removed_at is not None:
                    continue
                if attendee.kind == "member":
                    _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
                    _enqueue(
                        session, event, Delivery.MEMBER_NOTICE, attendee, {"reason": "cancelled"}
                    )
                else:
                    _enqueue(
                        session,
                        event,
                        Delivery.GUEST_CANCELLATION,
                        attendee,
                        {"sequence": event.sequence, "reason": "cancelled"},
                    )
            _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
            _enqueue_home_refresh(
                session,
                event,
                [event.organizer_id]
                + [a.slack_user_id for a in event.attendees if a.slack_user_id],
            )
            meeting = meeting_from_row(event)
        self._on_deliveries()
        return meeting

    async def respond_as_member(
        self,
        team_id: str,
        meeting_id: int,
        user_id: str,
        answer: Answer,
        sequence: int | None = None,
    ) -> Decision:
        """Record a workspace member's answer from their invitation's buttons."""
        async with self._sessions.begin() as session:
            # Locked: the same press delivered twice at once is one decision, not two.
            event = await _load_event(session, team_id, meeting_id, for_update=True)
            attendee = next(
                (
                    a
                    for a in event.attendees
                    if a.kind == "member" and a.slack_user_id == user_id and a.removed_at is None
                ),
                None,
            )
            if attendee is None:
                raise NotInvited(user_id)
            if event.status == "cancelled":
                raise MeetingCancelled(meeting_id)
            if sequence is not None and sequence != event.sequence:
                raise EventChanged(meeting_id)
            decision = _record(session, event, attendee, answer, "")
        if decision.changed:
            self._on_deliveries()
        return decision

    async def respond_as_guest(self, token: str, answer: Answer, comment: str) -> Decision:
        """Record a guest's answer from their link.

        Only the guest's own row and the meeting's are read: the decision's meeting shows
        this guest alone among the attendees, as their page does.
        """
        async with self._sessions.begin() as session:
            # Locked: the same answer sent twice at once is one decision, not two.
            attendee = await _attendee_by_token(session, token, for_update=True)
            event = attendee.event
            if event.status == "cancelled":
                raise MeetingCancelled(event.id)
            if attendee.removed_at is not None:
                raise NotInvited(attendee.email)
            changed = _record_answer(session, event, attendee, answer, comment.strip()[:1000])
            meeting = meeting_from_row(event, attendees=[attendee])
            decision = Decision(meeting=meeting, invitee=meeting.attendees[0], changed=changed)
        if decision.changed:
            self._on_deliveries()
        return decision

    async def guest_link(self, token: str) -> tuple[Meeting, Invitee]:
        """Return the meeting (showing only this guest) and the guest a link belongs to."""
        async with self._sessions() as session:
            attendee = await _attendee_by_token(session, token)
            meeting = meeting_from_row(attendee.event, attendees=[attendee])
            return meeting, meeting.attendees[0]

    async def guest_file(self, token: str, public_key: str) -> tuple[AttachedFile, bytes]:
        """Return a file of the meeting a guest link belongs to."""
        meeting, invitee = await self.guest_link(token)
        if invitee.removed:
            raise UnknownLink
        return await self.file_content(meeting, public_key)

    async def file_content(self, meeting: Meeting, public_key: str) -> tuple[AttachedFile, bytes]:
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

    async def file_by_key(self, public_key: str) -> tuple[AttachedFile, bytes]:
        """Return an attached file by its unguessable key (members' download links)."""
        async with self._sessions() as session:
            row = await session.scalar(
                select(EventFile)
                .where(EventFile.public_key == public_key)
                .options(undefer(EventFile.content))
            )
            if row is None:
                raise UnknownLink
            attached = AttachedFile(row.id, row.name, row.mimetype, row.size, row.public_key)
            return attached, row.content

    def link_token(self, invitee: Invitee) -> str:
        """Return the token in a guest's answer link."""
        if invitee.token_salt is None:
            raise ValueError("members answer in Slack and have no link")
        return self._tokens.token_for(invitee.token_salt)

    async def agenda(self, team_id: str, user_id: str, now: datetime) -> Agenda:
        """Return a person's meetings that have not ended yet, soonest first."""
        async with self._sessions() as session:
            invited_ids = (
                select(Attendee.event_id)
                .where(Attendee.slack_user_id == user_id, Attendee.removed_at.is_(None))
                .scalar_subquery()
            )
            rows = await session.scalars(
                select(Event)
                .where(
                    Event.team_id == team_id,
                    Event.status == "confirmed",
                    Event.end_at > now,
                    or_(Event.organizer_id == user_id, Event.id.in_(invited_ids)),
                )
                .order_by(Event.start_at, Event.id)
                .options(selectinload(Event.attendees), selectinload(Event.files))
            )
            meetings = [meeting_from_row(event) for event in rows]
        organizing = [m for m in meetings if m.organizer.user_id == user_id]
        invited = [
            (m, invitee)
            for m in meetings
            if m.organizer.user_id != user_id and (invitee := m.member(user_id)) is not None
        ]
        return Agenda(organizing, invited)

    async def record_mailed_answer(self, mailed: MailedAnswer) -> Decision | None:
        """Record a guest's calendar REPLY, or keep their COUNTER for the organizer to decide.

        Believed only when it comes from the guest it answers for; anything else raises
        ReplyRefused and changes nothing.
        """
        async with self._sessions.begin() as session:
            event = await session.scalar(
                select(Event)
                .where(Event.uid == mailed.uid)
                .options(selectinload(Event.attendees), selectinload(Event.files))
            )
            if event is None:
                raise ReplyRefused(f"no event with UID {mailed.uid!r}")
            attendee = next(
                (
                    a
                    for a in event.attendees
                    if a.kind == "guest" and a.email_key == mailed.attendee.lower()
                ),
                None,
            )
            if attendee is None or attendee.removed_at is not None:
                raise ReplyRefused(f"{mailed.attendee} is not invited to {mailed.uid}")
            if mailed.sender.lower() != attendee.email_key:
                raise ReplyRefused(f"{mailed.sender} may not answer for {mailed.attendee}")
            if event.status == "cancelled":
                raise ReplyRefused(f"{mailed.uid} is cancelled")
            if mailed.method == "COUNTER":
                await _keep_counter(session, event, attendee, mailed)
                decision = None
            else:
                answer = PARTSTAT_ANSWERS.get(mailed.partstat or "")
                if answer is None:
                    raise ReplyRefused(f"PARTSTAT {mailed.partstat!r} is not an answer")
                stale = mailed.sequence < event.sequence
                decision = _record(session, event, attendee, answer, mailed.comment, stale=stale)
        self._on_deliveries()
        return decision

    async def record_bounce(self, bounce: Bounce) -> list[Invitee]:
        """Mark guests whose mail bounced as undeliverable and tell their organizers."""
        marked: list[Invitee] = []
        async with self._sessions.begin() as session:
            for attendee in await _bounced_attendees(session, bounce):
                if attendee.delivery_error == bounce.reason:
                    continue
                attendee.delivery_error = bounce.reason
                event = attendee.event
                _enqueue(
                    session, event, Delivery.BOUNCE_NOTICE, attendee, {"reason": bounce.reason}
                )
                _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
                _enqueue_home_refresh(session, event, [event.organizer_id])
                marked.append(_invitee_from_row(attendee))
        if marked:
            self._on_deliveries()
        return marked

    async def record_undelivered(self, team_id: str, attendee_id: int, reason: str) -> None:
        """Mark that a message to an invitee could not be delivered, and tell the organizer."""
        async with self._sessions.begin() as session:
            attendee = await session.scalar(
                select(Attendee)
                .join(Event, Event.id == Attendee.event_id)
                .where(Attendee.id == attendee_id, Event.team_id == team_id)
                .options(selectinload(Attendee.event))
            )
            if attendee is None or attendee.delivery_error == reason:
                return
            attendee.delivery_error = reason
            event = attendee.event
            _enqueue(session, event, Delivery.BOUNCE_NOTICE, attendee, {"reason": reason})
            _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
            _enqueue_home_refresh(session, event, [event.organizer_id])
        self._on_deliveries()

    async def proposal(self, proposal_id: int) -> Proposal:
        """Return a counter-proposal as it stands."""
        async with self._sessions() as session:
            row = await session.get(CounterProposal, proposal_id)
            if row is None:
                raise ProposalNotFound(proposal_id)
            return _proposal_from_row(row)

    async def _pending_proposal(self, team_id: str, user_id: str, proposal_id: int) -> Proposal:
        async with self._sessions() as session:
            row = await session.get(CounterProposal, proposal_id)
            if row is None or row.status != "pending":
                raise ProposalNotFound(proposal_id)
            event = await _load_event(session, team_id, row.event_id)
            _check_organizer(event, user_id)
            return _proposal_from_row(row)

    async def accept_counter(self, team_id: str, user_id: str, proposal_id: int) -> Revision:
        """Move the meeting to the time a guest proposed; everyone's calendar follows."""
        proposal = await self._pending_proposal(team_id, user_id, proposal_id)
        meeting = await self.get(team_id, proposal.meeting_id)
        draft = MeetingDraft(
            title=meeting.title,
            start=proposal.start,
            end=proposal.end,
            location=meeting.location,
            description=meeting.description,
            member_ids=tuple(m.slack_user_id for m in meeting.members if m.slack_user_id),
            guests=tuple(Guest(g.email or "", g.name) for g in meeting.guests),
            notify=meeting.notify_on_decision,
            remind_guests=meeting.remind_guests,
            reminder_minutes=meeting.reminder_minutes,
        )
        revision = await self.update(team_id, user_id, meeting.id, meeting.version, draft)
        await self._settle_proposal(proposal_id, "accepted")
        return revision

    async def decline_counter(self, team_id: str, user_id: str, proposal_id: int) -> None:
        """Keep the time and send the guest a DECLINECOUNTER."""
        proposal = await self._pending_proposal(team_id, user_id, proposal_id)
        async with self._sessions.begin() as session:
            event = await _load_event(session, team_id, proposal.meeting_id)
            attendee = next(a for a in event.attendees if a.id == proposal.attendee_id)
            _enqueue(
                session,
                event,
                Delivery.GUEST_DECLINECOUNTER,
                attendee,
                {"proposal_id": proposal.id},
            )
        await self._settle_proposal(proposal_id, "declined")
        self._on_deliveries()

    async def _settle_proposal(self, proposal_id: int, status: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(CounterProposal)
                .where(CounterProposal.id == proposal_id)
                .values(status=status)
            )

    async def send_due_reminders(self, now: datetime) -> int:
        """Queue the reminders that are due; each is claimed once, whatever runs beside us."""
        async with self._sessions() as session:
            due = list(
                await session.scalars(
                    select(Event.id)
                    .where(Event.reminder_due_at <= now, Event.status == "confirmed")
                    .order_by(Event.reminder_due_at)
                    .limit(100)
                )
            )
        sent = 0
        for event_id in due:
            async with self._sessions.begin() as session:
                claimed = await session.execute(
                    update(Event)
                    .where(and_(Event.id == event_id, Event.reminder_due_at <= now))
                    .values(reminder_due_at=None)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                event = await session.scalar(
                    select(Event)
                    .where(Event.id == event_id)
                    .options(selectinload(Event.attendees), selectinload(Event.files))
                )
                assert event is not None
                if event.start_at <= now:
                    continue  # we were down through the reminder time; it would only confuse
                for attendee in event.attendees:
                    if attendee.removed_at is not None or attendee.response == Answer.DECLINED:
                        continue
                    if attendee.kind == "member":
                        _enqueue(session, event, Delivery.MEMBER_REMINDER, attendee)
                    elif event.remind_guests:
                        _enqueue(session, event, Delivery.GUEST_REMINDER, attendee)
                sent += 1
        if sent:
            self._on_deliveries()
        return sent


@dataclass(frozen=True)
class _Membership:
    added_members: tuple[str, ...]
    removed_members: tuple[str, ...]
    added_guests: tuple[Guest, ...]
    removed_guests: tuple[str, ...]

    @property
    def any(self) -> bool:
        return bool(
            self.added_members or self.removed_members or self.added_guests or self.removed_guests
        )


def _membership_changes(before: Meeting, draft: MeetingDraft) -> _Membership:
    current_members = [m.slack_user_id for m in before.members if m.slack_user_id]
    current_guests = [(g.email or "").lower() for g in before.guests]
    wanted_guest_keys = {g.key for g in draft.guests}
    return _Membership(
        added_members=tuple(m for m in draft.member_ids if m not in current_members),
        removed_members=tuple(m for m in current_members if m not in draft.member_ids),
        added_guests=tuple(g for g in draft.guests if g.key not in current_guests),
        removed_guests=tuple(k for k in current_guests if k not in wanted_guest_keys),
    )


def _quota_month(moment: datetime) -> str:
    """Return the calendar month a guest invitation counts in (UTC), e.g. `2026-11`."""
    return f"{moment.year:04d}-{moment.month:02d}"


def _describe_changes(
    before: Meeting, draft: MeetingDraft, uploads: Sequence[EventFile]
) -> list[Change]:
    changes: list[Change] = []
    if (before.start, before.end) != (draft.start, draft.end):
        changes.append(
            Change(
                N_("Time"),
                _time_text(before.start, before.end),
                _time_text(draft.start, draft.end),
            )
        )
    for label, old, new in (
        (N_("Title"), before.title, draft.title),
        (N_("Place"), before.location, draft.location),
        (N_("Description"), before.description, draft.description),
    ):
        if old != new:
            changes.append(Change(label, old, new))
    kept = set(draft.kept_file_ids) if draft.kept_file_ids is not None else None
    dropped = [f.name for f in before.files if kept is not None and f.id not in kept]
    if dropped or uploads:
        # No files reads as "none" in the reader's language, where the change is shown.
        old_names = ", ".join(f.name for f in before.files)
        remaining = [f.name for f in before.files if kept is None or f.id in kept]
        new_names = ", ".join(remaining + [u.name for u in uploads])
        changes.append(Change(N_("Files"), old_names, new_names))
    return changes


def _sync_busy(event: Event) -> None:
    """Copy the meeting's time onto each member it keeps busy, for availability's index."""
    for attendee in event.attendees:
        busy = (
            attendee.kind == "member"
            and attendee.removed_at is None
            and attendee.response != Answer.DECLINED.value
            and event.status == "confirmed"
        )
        attendee.busy_from = event.start_at if busy else None
        attendee.busy_until = event.end_at if busy else None


def _new_member(user_id: str) -> Attendee:
    return Attendee(
        kind="member",
        slack_user_id=user_id,
        display_name="",
        response=Answer.NEEDS_ACTION.value,
    )


def _reinstate(attendee: Attendee) -> None:
    attendee.removed_at = None
    attendee.response = Answer.NEEDS_ACTION.value
    attendee.comment = ""
    attendee.responded_at = None


def _check_organizer(event: Event, user_id: str) -> None:
    if event.organizer_id != user_id:
        raise NotOrganizer(user_id)
    if event.status == "cancelled":
        raise MeetingCancelled(event.id)


async def _load_event(
    session: AsyncSession, team_id: str, meeting_id: int, *, for_update: bool = False
) -> Event:
    query = (
        select(Event)
        .where(Event.id == meeting_id, Event.team_id == team_id)
        .options(selectinload(Event.attendees), selectinload(Event.files))
    )
    if for_update:
        # Once the lock is ours, read what the transaction before us committed.
        query = query.with_for_update().execution_options(populate_existing=True)
    event = await session.scalar(query)
    if event is None:
        raise MeetingNotFound(meeting_id)
    return event


async def _keep_counter(
    session: AsyncSession, event: Event, attendee: Attendee, mailed: MailedAnswer
) -> None:
    start, end = mailed.proposed_start, mailed.proposed_end
    if start is None:
        raise ReplyRefused("a COUNTER without a proposed start")
    if end is None or end <= start:
        end = start + (event.end_at - event.start_at)
    proposal = CounterProposal(
        event_id=event.id,
        attendee_id=attendee.id,
        start_at=start,
        end_at=end,
        comment=mailed.comment,
        sequence=mailed.sequence,
    )
    session.add(proposal)
    await session.flush()
    _enqueue(session, event, Delivery.COUNTER_NOTICE, attendee, {"proposal_id": proposal.id})


async def _bounced_attendees(session: AsyncSession, bounce: Bounce) -> list[Attendee]:
    found: dict[int, Attendee] = {}
    for uid_start, digest in bounce.messages:
        event = await session.scalar(
            select(Event)
            .where(Event.uid == f"{uid_start}@meetbot")
            .options(selectinload(Event.attendees).selectinload(Attendee.event))
        )
        for attendee in event.attendees if event else []:
            if attendee.email and recipient_hash(attendee.email) == digest:
                found[attendee.id] = attendee
    if not found:
        # No Message-ID of ours in the report: the guest's latest invitation is the one.
        for address in bounce.recipients:
            latest = await session.scalar(
                select(Attendee)
                .where(Attendee.email_key == address.lower(), Attendee.removed_at.is_(None))
                .order_by(Attendee.id.desc())
                .options(selectinload(Attendee.event))
                .limit(1)
            )
            if latest is not None:
                found[latest.id] = latest
    return list(found.values())


async def _attendee_by_token(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> Attendee:
    """Return the attendee a link belongs to, with their meeting and its files (no one else)."""
    query = (
        select(Attendee)
        .where(Attendee.token_hash == hash_token(token))
        .options(joinedload(Attendee.event).selectinload(Event.files))
    )
    if for_update:
        # Only the guest's own row is locked; once it is ours, read what was committed before.
        query = query.with_for_update(of=Attendee).execution_options(populate_existing=True)
    attendee = await session.scalar(query)
    if attendee is None:
        raise UnknownLink
    return attendee


def _record(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
) -> Decision:
    changed = _record_answer(session, event, attendee, answer, comment, stale=stale)
    meeting = meeting_from_row(event)
    return Decision(meeting=meeting, invitee=meeting.invitee(attendee.id), changed=changed)


def _record_answer(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
) -> bool:
    """Store an answer and queue what it causes; tell whether it changed anything."""
    changed = attendee.response != answer.value or attendee.comment != comment
    if stale:
        # The organizer must know the answer was to the old time, notify or not.
        _enqueue(
            session,
            event,
            Delivery.DECISION_NOTICE,
            attendee,
            {"answer": answer.value, "comment": comment, "stale": True},
        )
    if changed:
        attendee.response = answer.value
        attendee.comment = comment
        attendee.responded_at = utc_now()
        if attendee.kind == "member":
            # Only members are kept busy by a meeting: a guest's answer changes no one's.
            _sync_busy(event)
            _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
            _enqueue_home_refresh(session, event, [attendee.slack_user_id or ""])
        _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
        _enqueue_home_refresh(session, event, [event.organizer_id])
        if event.notify_on_decision and answer is not Answer.NEEDS_ACTION and not stale:
            _enqueue(
                session,
                event,
                Delivery.DECISION_NOTICE,
                attendee,
                {"answer": answer.value, "comment": comment},
            )
    return changed


def _enqueue_invitation(session: AsyncSession, event: Event, attendee: Attendee) -> None:
    if attendee.kind == "member":
        _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
    else:
        _enqueue(session, event, Delivery.GUEST_INVITATION, attendee, {"sequence": event.sequence})


def _enqueue_revision(
    session: AsyncSession,
    event: Event,
    changes: list[Change],
    added: list[Attendee],
    removed: list[Attendee],
    time_moved: bool,
) -> None:
    added_ids = {a.id for a in added}
    change_payload = [c.as_payload() for c in changes]
    for attendee in event.attendees:
        if attendee.id in added_ids:
            _enqueue_invitation(session, event, attendee)
        elif attendee in removed:
            if attendee.kind == "member":
                _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
                _enqueue(session, event, Delivery.MEMBER_NOTICE, attendee, {"reason": "removed"})
            else:
                _enqueue(
                    session,
                    event,
                    Delivery.GUEST_CANCELLATION,
                    attendee,
                    {"sequence": event.sequence, "reason": "removed"},
                )
        elif attendee.removed_at is None and changes:
            if attendee.kind == "member":
                _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
                _enqueue(
                    session,
                    event,
                    Delivery.MEMBER_NOTICE,
                    attendee,
                    {"reason": "changed", "changes": change_payload, "reset": time_moved},
                )
            else:
                _enqueue(
                    session,
                    event,
                    Delivery.GUEST_INVITATION,
                    attendee,
                    {"sequence": event.sequence, "changes": change_payload, "reset": time_moved},
                )


def _enqueue_home_refresh(session: AsyncSession, event: Event, user_ids: list[str]) -> None:
    for user_id in dict.fromkeys(u for u in user_ids if u):
        _enqueue(session, event, Delivery.HOME_REFRESH, payload={"user_id": user_id})


def _redraw_key(
    event: Event, kind: Delivery, attendee: Attendee | None, payload: dict[str, Any]
) -> str | None:
    """Return the key of deliveries that redraw one thing from current state, else None."""
    if kind is Delivery.ORGANIZER_SUMMARY:
        return f"summary:{event.id}"
    if kind is Delivery.MEMBER_INVITATION and attendee is not None:
        return f"member:{attendee.id}"
    if kind is Delivery.HOME_REFRESH:
        return f"home:{event.team_id}:{payload['user_id']}"
    return None


def _enqueue(
    session: AsyncSession,
    event: Event,
    kind: Delivery,
    attendee: Attendee | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    payload = payload or {}
    session.add(
        OutboxEntry(
            team_id=event.team_id,
            kind=kind.value,
            event_id=event.id,
            attendee_id=attendee.id if attendee else None,
            payload=payload,
            redraw_key=_redraw_key(event, kind, attendee, payload),
        )
    )
