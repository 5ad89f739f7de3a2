"""What comes back by mail: guests' calendar answers, their proposals, and bounces."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.blocks.notices import decision_notice
from bot.deliveries import (
    BounceNotice,
    CounterNotice,
    DecisionNotice,
    GuestDeclineCounter,
    GuestInvitation,
    HomeRefresh,
    MemberNotice,
    OrganizerSummary,
)
from bot.meetings.errors import NotOrganizer, ProposalNotFound, ReplyRefused
from bot.meetings.model import (
    Answer,
    Bounce,
    Change,
    ChangedField,
    Decision,
    MailedAnswer,
    Meeting,
    recipient_hash,
    time_change_text,
)
from tests.bot.meetings.services import (
    CAROL,
    DAN,
    END,
    OLGA,
    START,
    MeetingServices,
    draft,
    edit_of,
    guest_in,
    member_in,
    owed,
)
from tests.conftest import ANA, ORGANIZER, TEAM_ID

NO_SUCH_USER = "550 5.1.1 <dan@client.example>: Recipient address rejected: User unknown"


def reply(
    meeting: Meeting,
    attendee: str,
    *,
    sender: str | None = None,
    partstat: str = "ACCEPTED",
    comment: str = "",
    sequence: int | None = None,
) -> MailedAnswer:
    """Return a guest's calendar REPLY as the inbound reader hands it over."""
    return MailedAnswer(
        method="REPLY",
        uid=meeting.uid,
        sequence=meeting.sequence if sequence is None else sequence,
        attendee=attendee,
        sender=sender or attendee,
        partstat=partstat,
        comment=comment,
        # As the inbound reader says when the guest's domain signed it (tests/mail covers how).
        authenticated=True,
    )


async def recorded(services: MeetingServices, mailed: MailedAnswer) -> Decision | None:
    """Hand a reply over as the inbox does; return the decision it was recorded as."""
    outcome = await services.replies.take_mailed_answer(mailed)
    assert not outcome.held
    return outcome.decision


def counter(
    meeting: Meeting, attendee: str, start: datetime, end: datetime | None, comment: str = ""
) -> MailedAnswer:
    """Return a guest's COUNTER proposing another time."""
    return MailedAnswer(
        method="COUNTER",
        uid=meeting.uid,
        sequence=meeting.sequence,
        attendee=attendee,
        sender=attendee,
        partstat=None,
        comment=comment,
        authenticated=True,
        proposed_start=start,
        proposed_end=end,
    )


async def test_a_calendar_reply_from_the_guests_own_address_is_recorded(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(notify=True))
    carol = guest_in(meeting, CAROL)
    await services.outbox.new()

    decision = await recorded(
        services,
        reply(
            meeting,
            "carol@client.example",
            sender="Carol@Client.example",
            partstat="TENTATIVE",
            comment="Train permitting",
        ),
    )

    assert decision is not None
    assert (decision.invitee.id, decision.invitee.answer, decision.invitee.comment) == (
        carol.id,
        Answer.TENTATIVE,
        "Train permitting",
    )
    assert await services.outbox.new() == owed(
        OrganizerSummary(meeting.id),
        HomeRefresh(meeting.id, user_id=ORGANIZER),
        DecisionNotice(meeting.id, carol.id, answer=Answer.TENTATIVE, comment="Train permitting"),
    )
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert guest_in(stored, CAROL).answer is Answer.TENTATIVE


async def test_a_reply_that_is_not_the_guests_own_is_held_for_the_organizer_and_changes_nothing(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(guests=(CAROL, DAN)))
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, guests=(CAROL,))
    )
    await services.outbox.new()
    wakes = services.wakes.count

    # Someone else writing for Carol, a stranger, a guest taken off: held for the organizer.
    held = [
        reply(meeting, "carol@client.example", sender="mallory@evil.example"),
        reply(meeting, "erin@client.example"),
        reply(meeting, "dan@client.example"),
    ]
    for mailed in held:
        assert (await services.replies.take_mailed_answer(mailed)).held
    # No meeting of ours, or no answer at all: refused outright.
    for mailed in (
        reply(meeting, "carol@client.example", partstat="NEEDS-ACTION"),
        MailedAnswer("REPLY", "unknown@meetbot", 0, "carol@client.example", "", "ACCEPTED", ""),
    ):
        with pytest.raises(ReplyRefused):
            await services.replies.take_mailed_answer(mailed)

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert [(g.email, g.answer, g.removed) for g in stored.attendees if not g.is_member] == [
        ("carol@client.example", Answer.NEEDS_ACTION, False),
        ("dan@client.example", Answer.NEEDS_ACTION, True),
    ]
    assert [d.kind.value for d in await services.outbox.new()] == ["answer_confirmation"] * 3
    assert services.wakes.count == wakes + len(held)  # the organizer's three questions


async def test_a_reply_to_a_cancelled_meeting_is_refused(services: MeetingServices) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.meetings.cancel(TEAM_ID, ORGANIZER, meeting.id, "")

    with pytest.raises(ReplyRefused, match="cancelled"):
        await services.replies.take_mailed_answer(reply(meeting, "carol@client.example"))

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert guest_in(stored, CAROL).answer is Answer.NEEDS_ACTION


async def test_a_reply_to_the_old_time_is_recorded_and_the_organizer_warned(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    later = START + timedelta(hours=2)
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, start=later, end=END + (later - START))
    )
    await services.outbox.new()

    decision = await recorded(services, reply(meeting, "carol@client.example", sequence=0))

    assert decision is not None and decision.invitee.answer is Answer.ACCEPTED
    # The organizer did not ask to hear of decisions, but must hear of this one.
    assert await services.outbox.new() == owed(
        DecisionNotice(meeting.id, carol.id, answer=Answer.ACCEPTED, stale=True),
        OrganizerSummary(meeting.id),
        HomeRefresh(meeting.id, user_id=ORGANIZER),
    )


async def test_a_reply_crossing_a_change_of_place_is_not_called_an_answer_to_the_old_time(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, location="Acme HQ, floor 3")
    )
    await services.outbox.new()

    # Carol's calendar answers the invitation it had: the one before the place changed.
    await services.replies.take_mailed_answer(reply(meeting, "carol@client.example", sequence=0))

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    told = [
        str(
            decision_notice(
                stored,
                stored.invitee(notice.attendee_id),
                notice.answer,
                notice.comment,
                stale=notice.stale,
            )
        )
        for notice in await services.outbox.new()
        if isinstance(notice, DecisionNotice)
    ]
    assert [text for text in told if "old time" in text] == []
    assert (stored.start, guest_in(stored, CAROL).answer) == (START, Answer.ACCEPTED)


async def test_a_proposed_new_time_is_kept_for_the_organizer_to_decide(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    await services.outbox.new()
    proposed = START + timedelta(days=1)

    decision = await recorded(
        services,
        counter(meeting, "carol@client.example", proposed, None, "Thursday suits us better"),
    )

    assert decision is None
    queued = await services.outbox.new()
    [notice] = queued
    assert isinstance(notice, CounterNotice)
    assert (notice.meeting_id, notice.attendee_id) == (meeting.id, carol.id)
    proposal = await services.replies.proposal(notice.proposal_id)
    assert (proposal.start, proposal.end, proposal.comment, proposal.status) == (
        proposed,
        proposed + (END - START),
        "Thursday suits us better",
        "pending",
    )
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert (stored.start, guest_in(stored, CAROL).answer) == (START, Answer.NEEDS_ACTION)


async def test_accepting_a_proposal_moves_the_meeting_for_everyone(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.outbox.new()
    proposed, proposed_end = START + timedelta(days=1), END + timedelta(days=1, minutes=30)
    await services.replies.take_mailed_answer(
        counter(meeting, "carol@client.example", proposed, proposed_end)
    )
    [notice] = await services.outbox.new()
    assert isinstance(notice, CounterNotice)

    with pytest.raises(NotOrganizer):
        await services.replies.accept_counter(TEAM_ID, ANA, notice.proposal_id)
    revision = await services.replies.accept_counter(TEAM_ID, ORGANIZER, notice.proposal_id)

    moved = Change(
        ChangedField.TIME, time_change_text(START, END), time_change_text(proposed, proposed_end)
    )
    assert revision.changes == (moved,)
    assert (revision.meeting.start, revision.meeting.end, revision.meeting.sequence) == (
        proposed,
        proposed_end,
        1,
    )
    queued = await services.outbox.new()
    for guest in (CAROL, DAN):
        invitee = guest_in(meeting, guest)
        assert (
            queued[
                GuestInvitation(meeting.id, invitee.id, sequence=1, changes=(moved,), reset=True)
            ]
            == 1
        )
    ana = member_in(meeting, ANA)
    assert queued[MemberNotice(meeting.id, ana.id, changes=(moved,), reset=True)] == 1
    assert (await services.replies.proposal(notice.proposal_id)).status == "accepted"
    with pytest.raises(ProposalNotFound):
        await services.replies.accept_counter(TEAM_ID, ORGANIZER, notice.proposal_id)


async def test_declining_a_proposal_tells_the_guest_the_time_stays(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    await services.outbox.new()
    await services.replies.take_mailed_answer(
        counter(meeting, "carol@client.example", START + timedelta(hours=4), None)
    )
    [notice] = await services.outbox.new()
    assert isinstance(notice, CounterNotice)

    await services.replies.decline_counter(TEAM_ID, ORGANIZER, notice.proposal_id)

    assert await services.outbox.new() == owed(
        GuestDeclineCounter(meeting.id, carol.id, proposal_id=notice.proposal_id)
    )
    assert (await services.replies.proposal(notice.proposal_id)).status == "declined"
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert (stored.start, stored.sequence) == (START, 0)
    with pytest.raises(ProposalNotFound):
        await services.replies.decline_counter(TEAM_ID, ORGANIZER, notice.proposal_id)


async def test_a_bounce_quoting_our_message_id_marks_that_guest_undeliverable(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    dan = guest_in(meeting, DAN)
    await services.outbox.new()
    bounce = Bounce(
        reason=NO_SUCH_USER,
        messages=((meeting.uid.partition("@")[0], recipient_hash("Dan@Client.example")),),
    )

    marked = await services.replies.record_bounce(bounce)

    assert [i.id for i in marked] == [dan.id]
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert [(g.email, g.delivery_error) for g in stored.guests] == [
        ("carol@client.example", None),
        ("dan@client.example", NO_SUCH_USER),
    ]
    assert await services.outbox.new() == owed(
        BounceNotice(meeting.id, dan.id, reason=NO_SUCH_USER),
        OrganizerSummary(meeting.id),
        HomeRefresh(meeting.id, user_id=ORGANIZER),
    )
    # The same report again tells the organizer nothing new.
    await services.replies.record_bounce(bounce)
    assert await services.outbox.new() == owed()


async def test_a_bounce_naming_only_an_address_marks_no_one(
    services: MeetingServices,
) -> None:
    # Anyone can write "Final-Recipient: dan@…": without a reference to a message Meetbot
    # sent (its VERP return path or quoted Message-ID) the report proves nothing.
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.outbox.new()

    marked = await services.replies.record_bounce(
        Bounce(reason=NO_SUCH_USER, recipients=("DAN@client.example",))
    )

    assert marked == []
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert guest_in(stored, DAN).delivery_error is None
    assert not any(isinstance(d, BounceNotice) for d in await services.outbox.new())


async def test_an_undelivered_message_is_told_to_the_organizer_once(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    await services.outbox.new()
    wakes = services.wakes.count
    reason = "554 5.7.1 Message rejected as spam"

    await services.replies.record_undelivered(TEAM_ID, carol.id, reason)
    await services.replies.record_undelivered(TEAM_ID, carol.id, reason)
    await services.replies.record_undelivered("T0OTHER", carol.id, "not theirs to mark")

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert guest_in(stored, CAROL).delivery_error == reason
    assert await services.outbox.new() == owed(
        BounceNotice(meeting.id, carol.id, reason=reason),
        OrganizerSummary(meeting.id),
        HomeRefresh(meeting.id, user_id=ORGANIZER),
    )
    assert services.wakes.count == wakes + 1
