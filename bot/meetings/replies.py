"""What comes back about a meeting by mail: guests' calendar answers, proposals, bounces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.clock import utc_now
from bot.deliveries import OrganizerSummary, enqueue
from bot.drafts import MeetingDraft
from bot.guests import Guest
from bot.ledger import Via
from bot.meetings import notices
from bot.meetings.errors import (
    HeldAnswerNotFound,
    OccurrenceNotFound,
    ProposalNotFound,
    ReplyRefused,
)
from bot.meetings.ledger import record_report
from bot.meetings.model import (
    PARTSTAT_ANSWERS,
    Bounce,
    Decision,
    HeldAnswer,
    HeldReason,
    Invitee,
    MailedAnswer,
    Meeting,
    Proposal,
    Revision,
    recipient_hash,
)
from bot.meetings.rows import check_organizer, invitee_from_row, load_event, proposal_from_row
from bot.meetings.series import record_occurrence_answer
from bot.meetings.service import Meetings, record_decision
from storage.models import Attendee, CounterProposal, Event, HeldReply

# How far from now a proposed time may be, and how long a proposed meeting may last.
PROPOSAL_HORIZON = timedelta(days=5 * 366)
LONGEST_PROPOSAL = timedelta(days=14)
# Providers where dots in the local part are not part of the address.
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


@dataclass(frozen=True)
class MailedOutcome:
    """What became of an e-mailed answer: recorded (or kept, a COUNTER), or held."""

    held: bool
    decision: Decision | None = None


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

    async def take_mailed_answer(self, mailed: MailedAnswer) -> MailedOutcome:
        """Record a guest's REPLY (or keep their COUNTER), or hold it for the organizer.

        Recorded at once only when it comes from the invited address and is authenticated;
        anything else waits for the organizer's word. Raises ReplyRefused when it answers
        no meeting of ours, or carries values no meeting could have.
        """
        async with self._sessions.begin() as session:
            event = await session.scalar(
                select(Event)
                .where(Event.uid == mailed.uid)
                .options(selectinload(Event.attendees), selectinload(Event.files))
            )
            if event is None:
                raise ReplyRefused(f"no event with UID {mailed.uid!r}")
            if event.status == "cancelled":
                raise ReplyRefused(f"{mailed.uid} is cancelled")
            _check_values(event, mailed)
            guests = [a for a in event.attendees if a.kind == "guest" and a.removed_at is None]
            address = mailed.attendee.lower()
            attendee = next((a for a in guests if a.email_key == address), None)
            if attendee is not None and mailed.sender.lower() == address and mailed.authenticated:
                decision = await _record(session, event, attendee, mailed)
                outcome = MailedOutcome(held=False, decision=decision)
            else:
                await _hold(session, event, guests, attendee, mailed)
                outcome = MailedOutcome(held=True)
        self._on_deliveries()
        return outcome

    async def record_bounce(self, bounce: Bounce) -> list[Invitee]:
        """Mark guests whose mail bounced as undeliverable and tell their organizers.

        Only guests the report really refers to: by a verified return path, or by the
        Message-ID of our message to them (and, when it names recipients, their address).
        Returns the guests it refers to, those already marked for the same reason included.
        """
        found: list[Invitee] = []
        changed = False
        async with self._sessions.begin() as session:
            bounced = await _bounced_attendees(session, bounce)
            named = _named_entries(bounce, bounced)
            await record_report(session, [a.id for a in bounced], "bounced", bounce.reason, named)
            for attendee in bounced:
                found.append(invitee_from_row(attendee))
                if attendee.delivery_error == bounce.reason:
                    continue
                attendee.delivery_error = bounce.reason
                notices.undelivered(session, attendee.event, attendee, bounce.reason)
                changed = True
        if changed:
            self._on_deliveries()
        return found

    async def record_delay(self, bounce: Bounce) -> list[Invitee]:
        """Note that mail to guests is delayed (the receiving side still tries), for the ledger.

        The organizer is not told it failed; their summary shows it delayed, with the reason.
        """
        async with self._sessions.begin() as session:
            delayed = await _bounced_attendees(session, bounce)
            ids = [a.id for a in delayed if a.delivery_error is None]
            named = _named_entries(bounce, delayed)
            for event_id in await record_report(session, ids, "delayed", bounce.reason, named):
                enqueue(session, delayed[0].event.team_id, OrganizerSummary(event_id))
            found = [invitee_from_row(a) for a in delayed]
        self._on_deliveries()
        return found

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

    async def held_answer(self, held_id: int) -> HeldAnswer:
        """Return an e-mailed answer held for the organizer, as it stands."""
        async with self._sessions() as session:
            row = await session.get(HeldReply, held_id)
            if row is None:
                raise HeldAnswerNotFound(held_id)
            return held_from_row(row)

    async def _pending_held(
        self, session: AsyncSession, team_id: str, user_id: str, held_id: int
    ) -> tuple[HeldReply, Event]:
        row = await session.get(HeldReply, held_id, with_for_update=True)
        if row is None or row.status != "pending":
            raise HeldAnswerNotFound(held_id)
        event = await load_event(session, team_id, row.event_id)
        check_organizer(event, user_id)
        return row, event

    async def confirm_held_answer(self, team_id: str, user_id: str, held_id: int) -> HeldAnswer:
        """Record a held answer as the guest's own; only the organizer may."""
        async with self._sessions.begin() as session:
            row, event = await self._pending_held(session, team_id, user_id, held_id)
            attendee = next(
                (a for a in event.attendees if a.id == row.attendee_id and a.removed_at is None),
                None,
            )
            if attendee is None:
                raise HeldAnswerNotFound(held_id)
            mailed = _mailed_of(row, attendee.email_key or "")
            try:
                await _record(session, event, attendee, mailed, via=Via.ORGANIZER)
            except ReplyRefused as refused:  # the occurrence it answers was cancelled since
                raise OccurrenceNotFound(row.recurrence_id) from refused
            row.status = "recorded"
            held = held_from_row(row)
        self._on_deliveries()
        return held

    async def ignore_held_answer(self, team_id: str, user_id: str, held_id: int) -> HeldAnswer:
        """Drop a held answer; only the organizer may."""
        async with self._sessions.begin() as session:
            row, _ = await self._pending_held(session, team_id, user_id, held_id)
            row.status = "ignored"
            return held_from_row(row)

    async def add_held_sender(self, team_id: str, user_id: str, held_id: int) -> HeldAnswer:
        """Invite the person a forwarded invitation reached, with their answer; organizer only."""
        async with self._sessions() as session:
            row, event = await self._pending_held(session, team_id, user_id, held_id)
            address, name = row.address, row.name
        meeting = await self._meetings.get(team_id, event.id)
        draft = _draft_of(meeting)
        draft = replace(draft, guests=(*draft.guests, Guest(address, name)))
        revision = await self._meetings.update(team_id, user_id, meeting.id, meeting.version, draft)
        added = next((i for i in revision.added if (i.email or "").lower() == address), None)
        async with self._sessions.begin() as session:
            row, event = await self._pending_held(session, team_id, user_id, held_id)
            attendee = next((a for a in event.attendees if added and a.id == added.id), None)
            if attendee is not None:
                await _record(session, event, attendee, _mailed_of(row, address), via=Via.ORGANIZER)
            row.status = "added"
            held = held_from_row(row)
        self._on_deliveries()
        return held

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
        draft = _draft_of(meeting, start=proposal.start, end=proposal.end)
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


def _draft_of(meeting: Meeting, **changed: datetime) -> MeetingDraft:
    """Return the meeting as its edit form would submit it, with some times changed."""
    return MeetingDraft(
        title=meeting.title,
        start=changed.get("start", meeting.start),
        end=changed.get("end", meeting.end),
        location=meeting.location,
        description=meeting.description,
        member_ids=tuple(m.slack_user_id for m in meeting.members if m.slack_user_id),
        guests=tuple(Guest(g.email or "", g.name) for g in meeting.guests),
        notify=meeting.notify_on_decision,
        remind_guests=meeting.remind_guests,
        reminder_minutes=meeting.reminder_minutes,
    )


def _check_values(event: Event, mailed: MailedAnswer) -> None:
    """Refuse an answer no person would send about this meeting (bad input, not our failure)."""
    if mailed.method == "REPLY":
        if PARTSTAT_ANSWERS.get(mailed.partstat or "") is None:
            raise ReplyRefused(f"PARTSTAT {mailed.partstat!r} is not an answer")
        return
    start = mailed.proposed_start
    if start is None:
        raise ReplyRefused("a COUNTER without a proposed start")
    if abs(start - utc_now()) > PROPOSAL_HORIZON:
        raise ReplyRefused(f"a COUNTER proposing {start.date().isoformat()}, out of range")
    end = mailed.proposed_end
    if end is not None and end - start > LONGEST_PROPOSAL:
        raise ReplyRefused("a COUNTER proposing a meeting of more than two weeks")
    if event.end_at - event.start_at > LONGEST_PROPOSAL:
        raise ReplyRefused("a COUNTER to a meeting too long to move")


async def _record(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    mailed: MailedAnswer,
    *,
    via: Via = Via.MAIL,
) -> Decision | None:
    """Keep a COUNTER for the organizer, or store a REPLY's answer."""
    if mailed.method == "COUNTER":
        await _keep_counter(session, event, attendee, mailed)
        return None
    answer = PARTSTAT_ANSWERS[mailed.partstat or ""]
    if mailed.recurrence_id is not None and event.rrule:
        return record_occurrence_answer(
            session, event, attendee, mailed.recurrence_id, answer, mailed.comment
        )
    stale = mailed.sequence < event.sequence
    return record_decision(session, event, attendee, answer, mailed.comment, stale=stale, via=via)


def _same_mailbox(one: str, other: str) -> bool:
    """Tell whether two addresses reach one mailbox: `+tags` aside, and Gmail's dots."""

    def key(address: str) -> tuple[str, str]:
        local, _, domain = address.lower().rpartition("@")
        local = local.partition("+")[0]
        if domain in DOTLESS_DOMAINS:
            local, domain = local.replace(".", ""), "gmail.com"
        return local, domain

    return key(one) == key(other)


def _answered_guest(guests: list[Attendee], mailed: MailedAnswer) -> Attendee | None:
    """Return the one guest an answer from an unknown address is likely for, if any."""
    referred = set(mailed.answered_for)
    for candidates in (
        [g for g in guests if g.email and recipient_hash(g.email) in referred],
        [g for g in guests if g.email and _same_mailbox(g.email, mailed.attendee)],
        [g for g in guests if g.email and _same_mailbox(g.email, mailed.sender)],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


async def _hold(
    session: AsyncSession,
    event: Event,
    guests: list[Attendee],
    attendee: Attendee | None,
    mailed: MailedAnswer,
) -> None:
    """Keep an answer for the organizer to record, add its sender, or ignore."""
    address = mailed.attendee.lower()
    if attendee is None:
        reason, candidate = HeldReason.NOT_INVITED, _answered_guest(guests, mailed)
    elif mailed.sender.lower() != address:
        reason, candidate = HeldReason.OTHER_SENDER, attendee
    else:
        reason, candidate = HeldReason.UNVERIFIED, attendee
    repeated = await session.scalar(
        select(HeldReply.id).where(
            HeldReply.event_id == event.id,
            HeldReply.status == "pending",
            HeldReply.sender == mailed.sender.lower()[:320],
            HeldReply.address == address[:320],
            HeldReply.method == mailed.method,
            HeldReply.partstat == mailed.partstat,
            HeldReply.comment == mailed.comment,
            HeldReply.recurrence_id.is_(None)
            if mailed.recurrence_id is None
            else HeldReply.recurrence_id == mailed.recurrence_id,
        )
    )
    if repeated is not None:
        return  # the same mail again (a retry, a second copy): the organizer was asked
    row = HeldReply(
        event_id=event.id,
        attendee_id=candidate.id if candidate is not None else None,
        reason=reason.value,
        sender=mailed.sender.lower()[:320],
        address=address[:320],
        name=(mailed.sender_name if mailed.sender.lower() == address else "")[:255],
        method=mailed.method,
        partstat=mailed.partstat,
        comment=mailed.comment,
        sequence=mailed.sequence,
        proposed_start=mailed.proposed_start,
        proposed_end=mailed.proposed_end,
        recurrence_id=mailed.recurrence_id,
    )
    session.add(row)
    await session.flush()
    notices.answer_to_confirm(session, event, row.id)


def _mailed_of(row: HeldReply, attendee: str) -> MailedAnswer:
    return MailedAnswer(
        method=row.method,
        uid="",
        sequence=row.sequence,
        attendee=attendee,
        sender=row.sender,
        partstat=row.partstat,
        comment=row.comment,
        proposed_start=row.proposed_start,
        proposed_end=row.proposed_end,
        recurrence_id=row.recurrence_id,
    )


def held_from_row(row: HeldReply) -> HeldAnswer:
    """Return the picture of a held answer."""
    return HeldAnswer(
        id=row.id,
        meeting_id=row.event_id,
        attendee_id=row.attendee_id,
        reason=HeldReason(row.reason),
        sender=row.sender,
        address=row.address,
        name=row.name,
        method=row.method,
        partstat=row.partstat,
        comment=row.comment,
        proposed_start=row.proposed_start,
        proposed_end=row.proposed_end,
        status=row.status,
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
    if bounce.attendee_ids:
        rows = await session.scalars(
            select(Attendee)
            .where(Attendee.id.in_(bounce.attendee_ids), Attendee.kind == "guest")
            .options(selectinload(Attendee.event))
        )
        found.update((a.id, a) for a in rows if a.removed_at is None)
        return list(found.values())
    named = {address.lower() for address in bounce.recipients}
    for uid_start, digest in bounce.messages:
        event = await session.scalar(
            select(Event)
            .where(Event.uid == f"{uid_start}@meetbot")
            .options(selectinload(Event.attendees).selectinload(Attendee.event))
        )
        for attendee in event.attendees if event else []:
            if not attendee.email or recipient_hash(attendee.email) != digest:
                continue
            # A report that names its recipients must name this guest.
            if named and attendee.email_key not in named:
                continue
            found[attendee.id] = attendee
    # A report that refers to no message of ours (only an address) is believed for no one.
    return list(found.values())


def _named_entries(bounce: Bounce, attendees: list[Attendee]) -> dict[int, list[int]]:
    """Return, per guest, the outbox entries the report's quoted Message-IDs name.

    A Message-ID counts for a guest only when its event and recipient hash are that guest's
    (the report was already proven to be about them); the ledger then checks that the entry
    is an e-mail really sent to them, so a forged or another guest's ID marks nothing.
    """
    named: dict[int, list[int]] = {}
    for attendee in attendees:
        if not attendee.email:
            continue
        mine = (attendee.event.uid.partition("@")[0], recipient_hash(attendee.email))
        entries = [entry for uid, digest, entry in bounce.entries if (uid, digest) == mine]
        if entries:
            named[attendee.id] = entries
    return named
