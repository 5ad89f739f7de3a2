"""The one service that changes meetings: it writes each change and its deliveries together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.clock import utc_now
from bot.drafts import MeetingDraft, reminder_due
from bot.i18n import DEFAULT_LANGUAGE, Language
from bot.ledger import Via
from bot.meetings import notices
from bot.meetings.edits import Membership, apply_fields, describe_changes, membership_changes
from bot.meetings.errors import (
    EventChanged,
    GuestQuotaExceeded,
    MeetingCancelled,
    NotInvited,
    NotOrganizer,
)
from bot.meetings.files import MeetingFiles
from bot.meetings.guest_answers import GuestAnswers
from bot.meetings.model import (
    Agenda,
    Answer,
    Change,
    ChangedField,
    Decision,
    Invitee,
    Meeting,
    Organizer,
    Revision,
)
from bot.meetings.pictures import MeetingPictures
from bot.meetings.quota import GuestQuota
from bot.meetings.rows import (
    check_organizer,
    insert_new_attendees,
    invitee_from_row,
    load_event,
    load_for_edit,
    meeting_from_row,
    new_guest,
    new_member,
    reinstate,
    sync_busy,
)
from bot.meetings.series_reminders import remind_occurrence
from bot.meetings.series_rows import set_series
from bot.tokens import TokenMinter, hash_token
from bot.video import room_after
from storage.models import Attendee, Event, EventFile

# Changes every attendee must confirm again: their calendars take them as a new SEQUENCE.
RECONFIRMED = frozenset({ChangedField.TIME, ChangedField.PLACE, ChangedField.REPEATS})


class Meetings:
    """Create, edit, cancel and answer meetings, each with its deliveries in one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenMinter,
        files: MeetingFiles,
        quota: GuestQuota,
        on_deliveries: Callable[[], None] = lambda: None,
        video_service: str | None = None,
    ) -> None:
        # Where "Add a video call" makes rooms (MEETBOT_VIDEO_URL); None: not offered.
        self._video_service = video_service
        self._sessions = sessions
        self._tokens = tokens
        self._files = files
        self._quota = quota
        self._on_deliveries = on_deliveries
        self._answers = GuestAnswers(sessions, on_deliveries)
        self._pictures = MeetingPictures(sessions)

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
        uploads = await self._files.download(team_id, draft.new_files)
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
            event = await self.add_event(
                session,
                team_id,
                organizer,
                draft,
                uploads,
                mailbox=mailbox,
                guest_language=guest_language,
                source_view=source_view,
            )
            return meeting_from_row(event)

    async def add_event(
        self,
        session: AsyncSession,
        team_id: str,
        organizer: Organizer,
        draft: MeetingDraft,
        uploads: list[EventFile],
        *,
        mailbox: str | None,
        guest_language: Language,
        source_view: str | None = None,
        invited_before: frozenset[str] = frozenset(),
    ) -> Event:
        """Store a new meeting in the caller's transaction and queue every invitation.

        Guests whose keys are in `invited_before` (a series going on as a new one) are not
        counted against the monthly cap again.
        """
        fresh = [guest for guest in draft.guests if guest.key not in invited_before]
        await self._quota.count(session, team_id, len(fresh))
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
            # Written in one statement once the event has its id: see insert_new_attendees.
            attendees=[],
            files=uploads,
            video_url=room_after(None, draft.video, draft.location, self._video_service),
            occurrence_changes=[],
            occurrence_answers=[],
        )
        set_series(event, draft.rrule)
        session.add(event)
        await session.flush()
        await insert_new_attendees(session, event, draft.member_ids, draft.guests, self._tokens)
        await notices.created(session, event)
        return event

    async def get(self, team_id: str, meeting_id: int) -> Meeting:
        """Return one meeting of a workspace."""
        async with self._sessions() as session:
            event = await load_event(session, team_id, meeting_id)
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
        uploads = await self._files.download(team_id, draft.new_files)
        async with self._sessions.begin() as session:
            event = await load_for_edit(session, team_id, meeting_id, user_id, expected_version)
            before = meeting_from_row(event)
            changes = describe_changes(before, draft, uploads)
            room = room_after(event.video_url, draft.video, draft.location, self._video_service)
            if room != event.video_url:
                changes.append(Change(ChangedField.VIDEO, event.video_url or "", room or ""))
                event.video_url = room
            settings_changed = (
                event.notify_on_decision != draft.notify
                or event.reminder_minutes != draft.reminder_minutes
                or event.remind_guests != draft.remind_guests
            )
            membership = membership_changes(before, draft)
            if not changes and not settings_changed and not membership.any:
                return Revision(before, (), False)
            # Only guests never invited before count: taking someone back in is an update.
            ever_invited = {a.email_key for a in event.attendees if a.kind == "guest"}
            new_guests = [g for g in membership.added_guests if g.key not in ever_invited]
            await self._quota.count(session, team_id, len(new_guests))
            time_moved = (event.start_at, event.end_at) != (draft.start, draft.end)
            apply_fields(event, draft, uploads)
            set_series(event, draft.rrule, moved=time_moved)
            # Only what every attendee must confirm again raises SEQUENCE; a new title or
            # a guest list change is sent at the same SEQUENCE, so answers stay current.
            if any(c.field in RECONFIRMED for c in changes):
                event.sequence += 1
            if time_moved:
                for attendee in event.attendees:
                    attendee.response = Answer.NEEDS_ACTION.value
                    attendee.comment = ""
                    attendee.responded_at = None
            added, removed = self._apply_membership(event, draft, membership)
            sync_busy(event)
            await session.flush()
            revision = Revision(
                meeting_from_row(event),
                tuple(changes),
                settings_changed,
                added=tuple(invitee_from_row(a) for a in added),
                removed=tuple(invitee_from_row(a) for a in removed),
            )
            if changes or membership.any:
                notices.revised(session, event, changes, added, removed, time_moved)
            notices.edited(session, event)
        self._on_deliveries()
        return revision

    async def guest_invites_left(self, team_id: str) -> int | None:
        """Return how many new guests the workspace may still invite this month (None: no cap)."""
        return await self._quota.left(team_id)

    def _apply_membership(
        self, event: Event, draft: MeetingDraft, membership: Membership
    ) -> tuple[list[Attendee], list[Attendee]]:
        added: list[Attendee] = []
        removed: list[Attendee] = []
        by_member = {a.slack_user_id: a for a in event.attendees if a.kind == "member"}
        by_guest = {a.email_key: a for a in event.attendees if a.kind == "guest"}
        for user_id in membership.added_members:
            attendee = by_member.get(user_id)
            if attendee is None:
                attendee = new_member(user_id)
                event.attendees.append(attendee)
            reinstate(attendee)
            added.append(attendee)
        for guest in membership.added_guests:
            attendee = by_guest.get(guest.key)
            if attendee is None:
                attendee = new_guest(guest, self._tokens)
                event.attendees.append(attendee)
            attendee.display_name = guest.name or attendee.display_name
            reinstate(attendee)
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
            event = await load_event(session, team_id, meeting_id, for_update=True)
            check_organizer(event, user_id)
            event.status = "cancelled"
            event.cancel_message = message.strip()[:1000]
            event.sequence += 1
            event.version += 1
            event.reminder_due_at = None
            sync_busy(event)
            notices.cancelled(session, event)
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
            event = await load_event(session, team_id, meeting_id, for_update=True)
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
            decision = record_decision(session, event, attendee, answer, "", via=Via.SLACK)
        if decision.changed:
            self._on_deliveries()
        return decision

    async def respond_as_guest(self, token: str, answer: Answer, comment: str) -> Decision:
        """Record a guest's answer from their link, once it is committed.

        Only the guest's own row and the meeting's are read: the decision's meeting shows
        this guest alone among the attendees, as their page does. Presses arriving together
        are written together (see GuestAnswers); the same press twice is one decision.
        """
        recorded = await self._answers.record(hash_token(token), answer, comment.strip()[:1000])
        meeting = await self._pictures.for_guest(
            recorded.meeting_id, recorded.meeting_version, recorded.invitee
        )
        return Decision(meeting=meeting, invitee=recorded.invitee, changed=recorded.changed)

    async def guest_link(self, token: str) -> tuple[Meeting, Invitee]:
        """Return the meeting (showing only this guest) and the guest a link belongs to."""
        found = await self._answers.look_up(hash_token(token))
        meeting = await self._pictures.for_guest(
            found.meeting_id, found.meeting_version, found.invitee
        )
        return meeting, found.invitee

    def close(self) -> None:
        """Let go of the guest answers' own database connection, if they keep one."""
        self._answers.close()

    def link_token(self, invitee: Invitee) -> str:
        """Return the token in a guest's answer link."""
        if invitee.token_salt is None:
            raise ValueError("members answer in Slack and have no link")
        return self._tokens.token_for(invitee.token_salt, invitee.token_hash)

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
                    func.coalesce(Event.series_end_at, Event.end_at) > now,
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

    async def queue_due_reminders(self, now: datetime) -> int:
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
                if event.rrule:  # a series: the occurrence coming up, and the next one's due
                    sent += remind_occurrence(session, event, now)
                    continue
                if event.start_at <= now:
                    continue  # we were down through the reminder time; it would only confuse
                notices.reminders(session, event)
                sent += 1
        if sent:
            self._on_deliveries()
        return sent


def record_decision(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
    via: Via | None = None,
) -> Decision:
    """Store an answer and return the decision, the whole meeting in its picture."""
    changed = record_answer(session, event, attendee, answer, comment, stale=stale, via=via)
    meeting = meeting_from_row(event)
    return Decision(meeting=meeting, invitee=meeting.invitee(attendee.id), changed=changed)


def record_answer(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    answer: Answer,
    comment: str,
    *,
    stale: bool = False,
    via: Via | None = None,
) -> bool:
    """Store an answer and queue what it causes; tell whether it changed anything."""
    changed = attendee.response != answer.value or attendee.comment != comment
    if changed:
        # How it came, for the organizer's delivery ledger.
        attendee.answered_via = via.value if via is not None else attendee.answered_via
        attendee.response = answer.value
        attendee.comment = comment
        attendee.responded_at = utc_now()
        if attendee.kind == "member":
            # Only members are kept busy by a meeting: a guest's answer changes no one's.
            sync_busy(event)
    notices.answered(session, event, attendee, answer, comment, changed=changed, stale=stale)
    return changed
