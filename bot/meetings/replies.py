"""What comes back about a meeting by mail: guests' calendar answers, proposals, bounces."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.drafts import MeetingDraft
from bot.guests import Guest
from bot.meetings import notices
from bot.meetings.errors import ProposalNotFound, ReplyRefused
from bot.meetings.model import (
    PARTSTAT_ANSWERS,
    Bounce,
    Decision,
    Invitee,
    MailedAnswer,
    Proposal,
    Revision,
    recipient_hash,
)
from bot.meetings.rows import check_organizer, invitee_from_row, load_event, proposal_from_row
from bot.meetings.service import Meetings, record_decision
from storage.models import Attendee, CounterProposal, Event


class Replies:
    """Record guests' e-mailed answers and bounces; settle their counter-proposals."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        meetings: Meetings,
        on_deliveries: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._meetings = meetings
        self._on_deliveries = on_deliveries

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
                decision = record_decision(
                    session, event, attendee, answer, mailed.comment, stale=stale
                )
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
                notices.undelivered(session, event, attendee, bounce.reason)
                marked.append(invitee_from_row(attendee))
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
            notices.undelivered(session, event, attendee, reason)
        self._on_deliveries()

    async def proposal(self, proposal_id: int) -> Proposal:
        """Return a counter-proposal as it stands."""
        async with self._sessions() as session:
            row = await session.get(CounterProposal, proposal_id)
            if row is None:
                raise ProposalNotFound(proposal_id)
            return proposal_from_row(row)

    async def _pending_proposal(self, team_id: str, user_id: str, proposal_id: int) -> Proposal:
        async with self._sessions() as session:
            row = await session.get(CounterProposal, proposal_id)
            if row is None or row.status != "pending":
                raise ProposalNotFound(proposal_id)
            event = await load_event(session, team_id, row.event_id)
            check_organizer(event, user_id)
            return proposal_from_row(row)

    async def accept_counter(self, team_id: str, user_id: str, proposal_id: int) -> Revision:
        """Move the meeting to the time a guest proposed; everyone's calendar follows."""
        proposal = await self._pending_proposal(team_id, user_id, proposal_id)
        meeting = await self._meetings.get(team_id, proposal.meeting_id)
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
        revision = await self._meetings.update(team_id, user_id, meeting.id, meeting.version, draft)
        await self._settle_proposal(proposal_id, "accepted")
        return revision

    async def decline_counter(self, team_id: str, user_id: str, proposal_id: int) -> None:
        """Keep the time and send the guest a DECLINECOUNTER."""
        proposal = await self._pending_proposal(team_id, user_id, proposal_id)
        async with self._sessions.begin() as session:
            event = await load_event(session, team_id, proposal.meeting_id)
            attendee = next(a for a in event.attendees if a.id == proposal.attendee_id)
            notices.counter_declined(session, event, attendee, proposal.id)
        await self._settle_proposal(proposal_id, "declined")
        self._on_deliveries()

    async def _settle_proposal(self, proposal_id: int, status: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(CounterProposal)
                .where(CounterProposal.id == proposal_id)
                .values(status=status)
            )


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
    notices.counter_proposed(session, event, attendee, proposal.id)


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
