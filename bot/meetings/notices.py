"""Who hears what after each change to a meeting: the deliveries a change queues.

Every function here queues outbox rows in the caller's transaction, so a change and what
it owes people are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deliveries import (
    AnswerConfirmation,
    BounceNotice,
    CounterNotice,
    DecisionNotice,
    Delivery,
    GuestCancellation,
    GuestDeclineCounter,
    GuestInvitation,
    GuestReminder,
    HomeRefresh,
    MemberInvitation,
    MemberNotice,
    MemberReminder,
    OrganizerSummary,
    enqueue,
    enqueue_many,
)
from bot.meetings.model import Answer, Change
from storage.models import Attendee, Event


def _queue(session: AsyncSession, event: Event, delivery: Delivery) -> None:
    enqueue(session, event.team_id, delivery)


def refresh_homes(session: AsyncSession, event: Event, user_ids: Iterable[str | None]) -> None:
    """Redraw these people's Home tabs (each once)."""
    for user_id in dict.fromkeys(u for u in user_ids if u):
        _queue(session, event, HomeRefresh(event.id, user_id=user_id))


def _everyone_in_slack(event: Event) -> list[str | None]:
    return [event.organizer_id, *(a.slack_user_id for a in event.attendees)]


def _invitation(event: Event, attendee: Attendee) -> Delivery:
    if attendee.kind == "member":
        return MemberInvitation(event.id, attendee.id)
    return GuestInvitation(event.id, attendee.id, sequence=event.sequence)


def invite(session: AsyncSession, event: Event, attendee: Attendee) -> None:
    """Invite one person: a DM for a member, the calendar e-mail for a guest."""
    _queue(session, event, _invitation(event, attendee))


async def created(session: AsyncSession, event: Event) -> None:
    """Tell everyone about a new meeting: the organizer's summary and every invitation.

    Written in one statement: a meeting may invite a thousand guests at once.
    """
    homes = dict.fromkeys(u for u in _everyone_in_slack(event) if u)
    await enqueue_many(
        session,
        event.team_id,
        [
            OrganizerSummary(event.id),
            *(_invitation(event, attendee) for attendee in event.attendees),
            *(HomeRefresh(event.id, user_id=user_id) for user_id in homes),
        ],
    )


def revised(
    session: AsyncSession,
    event: Event,
    changes: Sequence[Change],
    added: Sequence[Attendee],
    removed: Sequence[Attendee],
    time_moved: bool,
) -> None:
    """Tell the added, the removed and, when something changed, everyone else."""
    added_ids = {a.id for a in added}
    removed_ids = {a.id for a in removed}
    for attendee in event.attendees:
        if attendee.id in added_ids:
            invite(session, event, attendee)
        elif attendee.id in removed_ids:
            if attendee.kind == "member":
                _queue(session, event, MemberInvitation(event.id, attendee.id))
                _queue(session, event, MemberNotice(event.id, attendee.id, reason="removed"))
            else:
                _queue(
                    session,
                    event,
                    GuestCancellation(
                        event.id, attendee.id, sequence=event.sequence, reason="removed"
                    ),
                )
        elif attendee.removed_at is None and changes:
            if attendee.kind == "member":
                _queue(session, event, MemberInvitation(event.id, attendee.id))
                _queue(
                    session,
                    event,
                    MemberNotice(
                        event.id,
                        attendee.id,
                        reason="changed",
                        changes=tuple(changes),
                        reset=time_moved,
                    ),
                )
            else:
                _queue(
                    session,
                    event,
                    GuestInvitation(
                        event.id,
                        attendee.id,
                        sequence=event.sequence,
                        changes=tuple(changes),
                        reset=time_moved,
                    ),
                )


def edited(session: AsyncSession, event: Event) -> None:
    """Redraw the organizer's summary and everyone's Home tab after an edit."""
    _queue(session, event, OrganizerSummary(event.id))
    refresh_homes(session, event, _everyone_in_slack(event))


def cancelled(session: AsyncSession, event: Event) -> None:
    """Take the meeting out of everyone's calendar and tell members in Slack."""
    for attendee in event.attendees:
        if attendee.removed_at is not None:
            continue
        if attendee.kind == "member":
            _queue(session, event, MemberInvitation(event.id, attendee.id))
            _queue(session, event, MemberNotice(event.id, attendee.id, reason="cancelled"))
        else:
            _queue(
                session,
                event,
                GuestCancellation(
                    event.id, attendee.id, sequence=event.sequence, reason="cancelled"
                ),
            )
    edited(session, event)


def answered(
    session: AsyncSession,
    event: Event,
    attendee: Attendee,
    answer: Answer,
    comment: str,
    *,
    changed: bool,
    stale: bool,
) -> None:
    """Redraw what shows the answer and, as the organizer asked, tell them of the decision."""
    if stale:
        # The organizer must know the answer was to the old time, notify or not.
        _queue(
            session,
            event,
            DecisionNotice(event.id, attendee.id, answer=answer, comment=comment, stale=True),
        )
    if not changed:
        return
    if attendee.kind == "member":
        _queue(session, event, MemberInvitation(event.id, attendee.id))
        refresh_homes(session, event, [attendee.slack_user_id])
    _queue(session, event, OrganizerSummary(event.id))
    refresh_homes(session, event, [event.organizer_id])
    if event.notify_on_decision and answer is not Answer.NEEDS_ACTION and not stale:
        _queue(
            session, event, DecisionNotice(event.id, attendee.id, answer=answer, comment=comment)
        )


def guest_answered(
    meeting_id: int,
    organizer_id: str,
    attendee_id: int,
    answer: Answer,
    comment: str,
    *,
    notify: bool,
) -> list[Delivery]:
    """Return what a guest's changed answer on their page owes, as `answered` queues it."""
    owed: list[Delivery] = [
        OrganizerSummary(meeting_id),
        HomeRefresh(meeting_id, user_id=organizer_id),
    ]
    if notify and answer is not Answer.NEEDS_ACTION:
        owed.append(DecisionNotice(meeting_id, attendee_id, answer=answer, comment=comment))
    return owed


def undelivered(session: AsyncSession, event: Event, attendee: Attendee, reason: str) -> None:
    """Tell the organizer an invitee's mail or DM could not be delivered."""
    _queue(session, event, BounceNotice(event.id, attendee.id, reason=reason))
    _queue(session, event, OrganizerSummary(event.id))
    refresh_homes(session, event, [event.organizer_id])


def counter_proposed(
    session: AsyncSession, event: Event, attendee: Attendee, proposal_id: int
) -> None:
    """Show the organizer a guest's proposal of another time, with buttons to decide."""
    _queue(session, event, CounterNotice(event.id, attendee.id, proposal_id=proposal_id))


def answer_to_confirm(session: AsyncSession, event: Event, held_id: int) -> None:
    """Ask the organizer whether to record an e-mailed answer Meetbot could not believe."""
    _queue(session, event, AnswerConfirmation(event.id, held_id=held_id))


def counter_declined(
    session: AsyncSession, event: Event, attendee: Attendee, proposal_id: int
) -> None:
    """Tell the guest the organizer keeps the time (DECLINECOUNTER)."""
    _queue(session, event, GuestDeclineCounter(event.id, attendee.id, proposal_id=proposal_id))


def reminders(session: AsyncSession, event: Event) -> None:
    """Remind everyone who has not declined: members in Slack, guests if the organizer asked."""
    for attendee in event.attendees:
        if attendee.removed_at is not None or attendee.response == Answer.DECLINED:
            continue
        if attendee.kind == "member":
            _queue(session, event, MemberReminder(event.id, attendee.id))
        elif event.remind_guests:
            _queue(session, event, GuestReminder(event.id, attendee.id))
