"""The one service that changes meetings: it writes each change and its deliveries together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.drafts import MeetingDraft
from bot.tokens import TokenMinter, hash_token, new_salt
from storage.models import Attendee, Event, OutboxEntry, utc_now


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
    GUEST_INVITATION = "guest_invitation"
    DECISION_NOTICE = "decision_notice"


class MeetingNotFound(LookupError):
    """No meeting with that id in that workspace."""


class NotInvited(PermissionError):
    """The person answering is not on the meeting's guest list."""


class UnknownLink(LookupError):
    """A guest link whose token matches no attendee."""


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
class Meeting:
    """A read-only picture of a meeting and everyone invited to it."""

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
    status: str
    created_at: datetime
    invitees: tuple[Invitee, ...]

    @property
    def members(self) -> list[Invitee]:
        """Return the workspace members invited."""
        return [i for i in self.invitees if i.is_member]

    @property
    def guests(self) -> list[Invitee]:
        """Return the outside guests invited."""
        return [i for i in self.invitees if not i.is_member]

    def invitee(self, invitee_id: int) -> Invitee:
        """Return the invitee with this id."""
        return next(i for i in self.invitees if i.id == invitee_id)

    def tally(self) -> dict[Answer, int]:
        """Count the invitees by answer."""
        counts = dict.fromkeys(Answer, 0)
        for invitee in self.invitees:
            counts[invitee.answer] += 1
        return counts


@dataclass(frozen=True)
class Decision:
    """The outcome of recording an answer."""

    meeting: Meeting
    invitee: Invitee
    changed: bool


def meeting_from_row(event: Event) -> Meeting:
    """Return the read-only picture of a loaded event row and its attendees."""
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
        status=event.status,
        created_at=event.created_at,
        invitees=tuple(_invitee_from_row(a) for a in event.attendees),
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
    )


class Meetings:
    """Create meetings and record answers, each with its deliveries in one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tokens: TokenMinter,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._on_deliveries = on_deliveries

    async def create(self, team_id: str, organizer: Organizer, draft: MeetingDraft) -> Meeting:
        """Store a new meeting and queue the invitations and the organizer's summary."""
        async with self._sessions.begin() as session:
            event = Event(
                uid=f"{uuid.uuid4()}@meetbot",
                team_id=team_id,
                organizer_id=organizer.user_id,
                organizer_name=organizer.name,
                organizer_email=organizer.email,
                timezone=organizer.timezone,
                title=draft.title,
                location=draft.location,
                description=draft.description,
                start_at=draft.start,
                end_at=draft.end,
                notify_on_decision=draft.notify,
                attendees=[
                    Attendee(kind="member", slack_user_id=user_id, display_name="")
                    for user_id in draft.member_ids
                ]
                + [self._new_guest(guest.email, guest.name) for guest in draft.guests],
            )
            session.add(event)
            await session.flush()
            _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
            for attendee in event.attendees:
                if attendee.kind == "member":
                    _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
                else:
                    _enqueue(
                        session,
                        event,
                        Delivery.GUEST_INVITATION,
                        attendee,
                        {"sequence": event.sequence},
                    )
            meeting = meeting_from_row(event)
        self._on_deliveries()
        return meeting

    def _new_guest(self, email: str, name: str) -> Attendee:
        salt = new_salt()
        return Attendee(
            kind="guest",
            email=email,
            email_key=email.lower(),
            display_name=name,
            token_salt=salt,
            token_hash=hash_token(self._tokens.token_for(salt)),
        )

    async def get(self, team_id: str, meeting_id: int) -> Meeting:
        """Return one meeting of a workspace."""
        async with self._sessions() as session:
            event = await _load_event(session, team_id, meeting_id)
            return meeting_from_row(event)

    async def respond_as_member(
        self, team_id: str, meeting_id: int, user_id: str, answer: Answer
    ) -> Decision:
        """Record a workspace member's answer from their invitation's buttons."""
        async with self._sessions.begin() as session:
            event = await _load_event(session, team_id, meeting_id)
            attendee = next(
                (a for a in event.attendees if a.kind == "member" and a.slack_user_id == user_id),
                None,
            )
            if attendee is None:
                raise NotInvited(user_id)
            decision = _record(session, event, attendee, answer, "")
        if decision.changed:
            self._on_deliveries()
        return decision

    async def respond_as_guest(self, token: str, answer: Answer, comment: str) -> Decision:
        """Record a guest's answer from their link."""
        async with self._sessions.begin() as session:
            attendee = await _attendee_by_token(session, token)
            event = await _load_event(session, attendee.event.team_id, attendee.event_id)
            decision = _record(session, event, attendee, answer, comment.strip()[:1000])
        if decision.changed:
            self._on_deliveries()
        return decision

    async def guest_link(self, token: str) -> tuple[Meeting, Invitee]:
        """Return the meeting and the guest a link belongs to, without changing anything."""
        async with self._sessions() as session:
            attendee = await _attendee_by_token(session, token)
            event = await _load_event(session, attendee.event.team_id, attendee.event_id)
            meeting = meeting_from_row(event)
            return meeting, meeting.invitee(attendee.id)

    def link_token(self, invitee: Invitee) -> str:
        """Return the token in a guest's answer link."""
        if invitee.token_salt is None:
            raise ValueError("members answer in Slack and have no link")
        return self._tokens.token_for(invitee.token_salt)


async def _load_event(session: AsyncSession, team_id: str, meeting_id: int) -> Event:
    event = await session.scalar(
        select(Event)
        .where(Event.id == meeting_id, Event.team_id == team_id)
        .options(selectinload(Event.attendees))
    )
    if event is None:
        raise MeetingNotFound(meeting_id)
    return event


async def _attendee_by_token(session: AsyncSession, token: str) -> Attendee:
    attendee = await session.scalar(
        select(Attendee)
        .where(Attendee.token_hash == hash_token(token))
        .options(selectinload(Attendee.event))
    )
    if attendee is None:
        raise UnknownLink
    return attendee


def _record(
    session: AsyncSession, event: Event, attendee: Attendee, answer: Answer, comment: str
) -> Decision:
    changed = attendee.response != answer.value or attendee.comment != comment
    if changed:
        attendee.response = answer.value
        attendee.comment = comment
        attendee.responded_at = utc_now()
        if attendee.kind == "member":
            _enqueue(session, event, Delivery.MEMBER_INVITATION, attendee)
        _enqueue(session, event, Delivery.ORGANIZER_SUMMARY)
        if event.notify_on_decision and answer is not Answer.NEEDS_ACTION:
            _enqueue(
                session,
                event,
                Delivery.DECISION_NOTICE,
                attendee,
                {"answer": answer.value, "comment": comment},
            )
    meeting = meeting_from_row(event)
    return Decision(meeting=meeting, invitee=meeting.invitee(attendee.id), changed=changed)


def _enqueue(
    session: AsyncSession,
    event: Event,
    kind: Delivery,
    attendee: Attendee | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    session.add(
        OutboxEntry(
            team_id=event.team_id,
            kind=kind.value,
            event_id=event.id,
            attendee_id=attendee.id if attendee else None,
            payload=payload or {},
        )
    )

