"""Meeting rows in and out: loading them for a change, and the model's pictures of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Update, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot.guests import Guest
from bot.i18n import language_of
from bot.meetings.errors import (
    EventChanged,
    MeetingCancelled,
    MeetingNotFound,
    NotOrganizer,
    UnknownLink,
)
from bot.meetings.model import (
    Answer,
    AttachedFile,
    Invitee,
    Meeting,
    OccurrenceAnswer,
    OccurrenceChange,
    Organizer,
    Proposal,
    Series,
)
from bot.tokens import TokenMinter, hash_token, new_salt
from storage.models import Attendee, CounterProposal, Event, EventFile


def new_guest(guest: Guest, tokens: TokenMinter) -> Attendee:
    """Return the row of a guest invited now, with their own answer link's salt and hash."""
    return Attendee(**_guest_values(guest, tokens))


def _guest_values(guest: Guest, tokens: TokenMinter) -> dict[str, Any]:
    salt = new_salt()
    return {
        "kind": "guest",
        "email": guest.email,
        "email_key": guest.key,
        "display_name": guest.name,
        "token_salt": salt,
        "token_hash": hash_token(tokens.token_for(salt)),
    }


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
            invitee_from_row(a) for a in (event.attendees if attendees is None else attendees)
        ),
        files=tuple(file_from_row(f) for f in event.files),
        reminder_minutes=event.reminder_minutes,
        remind_guests=event.remind_guests,
        cancel_message=event.cancel_message,
        mailbox=event.mailbox,
        language=language_of(event.language),
        video_url=event.video_url or "",
        series=series_from_row(event),
    )


def series_from_row(event: Event) -> Series | None:
    """Return how a loaded event repeats, with its occurrences changed one by one."""
    if not event.rrule:
        return None
    return Series(
        rule=event.rrule,
        changes=tuple(
            OccurrenceChange(
                c.recurrence_id,
                c.cancelled,
                c.start_at,
                c.end_at,
                c.sequence,
                c.note,
                title=c.title,
                location=c.location,
            )
            for c in event.occurrence_changes
        ),
        answers=tuple(
            OccurrenceAnswer(a.attendee_id, a.recurrence_id, Answer(a.response), a.comment)
            for a in event.occurrence_answers
        ),
    )


def invitee_from_row(attendee: Attendee | Row[Any]) -> Invitee:
    """Return the picture of one attendee row (an ORM object, or a row read with its columns)."""
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
        token_hash=attendee.token_hash,
        answered_via=attendee.answered_via,
    )


def file_from_row(row: EventFile) -> AttachedFile:
    """Return the picture of an attached file (without its content)."""
    return AttachedFile(row.id, row.name, row.mimetype, row.size, row.public_key)


def proposal_from_row(row: CounterProposal) -> Proposal:
    """Return the picture of a guest's counter-proposal."""
    return Proposal(
        row.id, row.event_id, row.attendee_id, row.start_at, row.end_at, row.comment, row.status
    )


def new_member(user_id: str) -> Attendee:
    """Return a new attendee row for a workspace member, not yet answered."""
    return Attendee(**_member_values(user_id))


def _member_values(user_id: str) -> dict[str, Any]:
    return {
        "kind": "member",
        "slack_user_id": user_id,
        "display_name": "",
        "response": Answer.NEEDS_ACTION.value,
    }


def reinstate(attendee: Attendee) -> None:
    """Put someone taken off the list back on it, their old answer forgotten."""
    attendee.removed_at = None
    attendee.response = Answer.NEEDS_ACTION.value
    attendee.comment = ""
    attendee.responded_at = None


async def insert_new_attendees(
    session: AsyncSession,
    event: Event,
    member_ids: Sequence[str],
    guests: Sequence[Guest],
    tokens: TokenMinter,
) -> None:
    """Write a new meeting's attendees in bulk, then load them onto the event.

    Built as plain rows, not one ORM object each: for a 1,000-guest meeting the objects'
    set-up, collection events and unit-of-work bookkeeping took most of saving it. The rows
    carry what sync_busy would write (members' and guests' rows go as one statement each).
    """
    rows = [_member_values(user_id) for user_id in member_ids]
    rows += [_guest_values(guest, tokens) for guest in guests]
    for row in rows:
        begins, ends = _busy_span(event, row["kind"], None, row.get("response", ""))
        row.update(event_id=event.id, team_id=event.team_id, busy_from=begins, busy_until=ends)
    if rows:
        await session.execute(insert(Attendee), rows)
    await session.refresh(event, attribute_names=["attendees"])


def sync_busy(event: Event) -> None:
    """Copy the meeting's time onto each member it keeps busy, for availability's index."""
    for attendee in event.attendees:
        attendee.team_id = event.team_id
        attendee.busy_from, attendee.busy_until = _busy_span(
            event, attendee.kind, attendee.removed_at, attendee.response
        )


def _busy_span(
    event: Event, kind: str, removed_at: datetime | None, response: str
) -> tuple[datetime | None, datetime | None]:
    """Return the time the meeting keeps this attendee busy, or (None, None)."""
    busy = (
        kind == "member"
        and removed_at is None
        and response != Answer.DECLINED.value
        and event.status == "confirmed"
        # A series keeps people busy at every occurrence: bot/series_busy.py reads those.
        and not event.rrule
    )
    return (event.start_at, event.end_at) if busy else (None, None)


def check_organizer(event: Event, user_id: str) -> None:
    """Refuse anyone but the organizer, and any change to a cancelled meeting."""
    if event.organizer_id != user_id:
        raise NotOrganizer(user_id)
    if event.status == "cancelled":
        raise MeetingCancelled(event.id)


async def _take_write_lock(session: AsyncSession, touch: Update) -> None:
    """On SQLite, take the database's write lock before reading what is about to change.

    SQLite ignores FOR UPDATE, and its driver begins a transaction only at the first
    write: two answers arriving at once would both read "not answered yet". A write that
    changes nothing, first, makes the second wait until the first has committed.
    PostgreSQL needs nothing of the kind: FOR UPDATE locks the row.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(touch.execution_options(synchronize_session=False))


async def load_event(
    session: AsyncSession, team_id: str, meeting_id: int, *, for_update: bool = False
) -> Event:
    """Return a workspace's meeting with its attendees and files; lock it to change it."""
    query = (
        select(Event)
        .where(Event.id == meeting_id, Event.team_id == team_id)
        .options(selectinload(Event.attendees), selectinload(Event.files))
    )
    if for_update:
        await _take_write_lock(
            session, update(Event).where(Event.id == meeting_id).values(id=Event.id)
        )
        # Once the lock is ours, read what the transaction before us committed.
        query = query.with_for_update().execution_options(populate_existing=True)
    event = await session.scalar(query)
    if event is None:
        raise MeetingNotFound(meeting_id)
    return event


async def attendee_by_token(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> Attendee:
    """Return the attendee a link belongs to, with their meeting and its files (no one else)."""
    query = (
        select(Attendee)
        .where(Attendee.token_hash == hash_token(token))
        .options(joinedload(Attendee.event).selectinload(Event.files))
    )
    if for_update:
        await _take_write_lock(
            session,
            update(Attendee).where(Attendee.token_hash == hash_token(token)).values(id=Attendee.id),
        )
        # Only the guest's own row is locked; once it is ours, read what was committed before.
        query = query.with_for_update(of=Attendee).execution_options(populate_existing=True)
    attendee = await session.scalar(query)
    if attendee is None:
        raise UnknownLink
    return attendee


async def load_for_edit(
    session: AsyncSession, team_id: str, meeting_id: int, user_id: str, expected_version: int
) -> Event:
    """Return the meeting its organizer edits, locked; refuse anyone else, or a stale form."""
    event = await load_event(session, team_id, meeting_id, for_update=True)
    check_organizer(event, user_id)
    if event.version != expected_version:
        raise EventChanged(meeting_id)
    return event
