"""Meetings as organizers, members and guests live them, on a real database.

Each test drives the service the handlers call and reads back what it owes people from
the outbox, as the outbox's worker would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import utc_now
from bot.deliveries import (
    DecisionNotice,
    GuestCancellation,
    GuestInvitation,
    GuestReminder,
    HomeRefresh,
    MemberInvitation,
    MemberNotice,
    MemberReminder,
    OrganizerSummary,
)
from bot.guests import Guest
from bot.i18n import Language
from bot.meetings.errors import (
    EventChanged,
    GuestQuotaExceeded,
    MeetingCancelled,
    MeetingNotFound,
    NotInvited,
    NotOrganizer,
    UnknownLink,
)
from bot.meetings.model import (
    Answer,
    Change,
    ChangedField,
    Decision,
    Organizer,
    time_change_text,
)
from storage.models import Attendee, Event
from tests.bot.meetings.services import (
    AGENDA_BYTES,
    AGENDA_PDF,
    CAROL,
    DAN,
    END,
    OLGA,
    START,
    MeetingServices,
    build_services,
    draft,
    edit_of,
    guest_in,
    member_in,
    owed,
)
from tests.conftest import ANA, BEN, ORGANIZER, TEAM_ID

CAT = "U0CAT"
ERIN = Guest("erin@client.example")
FAY = Guest("fay@client.example", "Fay")


def homes(meeting_id: int, *user_ids: str) -> list[HomeRefresh]:
    """Return the Home tab redraws of these people."""
    return [HomeRefresh(meeting_id, user_id=user_id) for user_id in user_ids]


async def test_creating_a_meeting_queues_the_summary_every_invitation_and_home_tabs(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())

    ana, ben = member_in(meeting, ANA), member_in(meeting, BEN)
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    assert await services.outbox.new() == owed(
        OrganizerSummary(meeting.id),
        MemberInvitation(meeting.id, ana.id),
        MemberInvitation(meeting.id, ben.id),
        GuestInvitation(meeting.id, carol.id, sequence=0),
        GuestInvitation(meeting.id, dan.id, sequence=0),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )
    assert services.wakes.count == 1
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert stored == meeting
    assert (stored.title, stored.start, stored.end, stored.location, stored.status) == (
        "Quarterly review",
        START,
        END,
        "Room 4",
        "confirmed",
    )
    assert (stored.sequence, stored.version, stored.mailbox) == (0, 0, None)
    assert [(m.slack_user_id, m.answer) for m in stored.members] == [
        (ANA, Answer.NEEDS_ACTION),
        (BEN, Answer.NEEDS_ACTION),
    ]
    assert [(g.email, g.name, g.answer) for g in stored.guests] == [
        ("carol@client.example", "Carol Client", Answer.NEEDS_ACTION),
        ("dan@client.example", "Dan Client", Answer.NEEDS_ACTION),
    ]


async def test_a_form_submitted_twice_at_once_creates_one_meeting(
    services: MeetingServices,
) -> None:
    form = draft(new_files=(AGENDA_PDF,))
    first, second = await asyncio.gather(
        services.meetings.create(TEAM_ID, OLGA, form, source_view="V0FORM"),
        services.meetings.create(TEAM_ID, OLGA, form, source_view="V0FORM"),
    )
    downloads = len(services.uploads.fetched)
    # Slack retrying the submission later: the meeting is there, nothing is fetched again.
    retried = await services.meetings.create(TEAM_ID, OLGA, form, source_view="V0FORM")
    assert len(services.uploads.fetched) == downloads
    another_form = await services.meetings.create(TEAM_ID, OLGA, form, source_view="V0NEXT")

    assert first.id == second.id == retried.id != another_form.id
    assert [f.name for f in retried.files] == ["agenda.pdf"]
    queued = await services.outbox.new()
    assert (queued[OrganizerSummary(first.id)], queued[OrganizerSummary(another_form.id)]) == (1, 1)
    assert sum(queued.values()) == 2 * 8
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 2


async def test_meetings_created_at_once_each_invite_their_own_people(
    services: MeetingServices,
) -> None:
    # Attendees are numbered in bulk at creation (one statement for a thousand guests):
    # meetings saved together must never share or swap anyone.
    forms = [
        draft(
            title=f"Review {n}", guests=tuple(Guest(f"g{n}-{i}@client.example") for i in range(30))
        )
        for n in range(3)
    ]
    created = await asyncio.gather(*(services.meetings.create(TEAM_ID, OLGA, f) for f in forms))

    queued = await services.outbox.new()
    for n, meeting in enumerate(created):
        stored = await services.meetings.get(TEAM_ID, meeting.id)
        assert stored == meeting
        assert [g.email for g in stored.guests] == [f"g{n}-{i}@client.example" for i in range(30)]
        assert [m.slack_user_id for m in stored.members] == [ANA, BEN]
        for guest in stored.guests:
            assert queued[GuestInvitation(meeting.id, guest.id, sequence=0)] == 1
    ids = [a.id for meeting in created for a in meeting.attendees]
    assert len(set(ids)) == len(ids) == 3 * 32


async def test_attached_files_open_only_for_people_still_invited(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(new_files=(AGENDA_PDF,)))
    [attached] = meeting.files
    carol_link = services.meetings.link_token(guest_in(meeting, CAROL))
    dan_link = services.meetings.link_token(guest_in(meeting, DAN))
    now = utc_now()

    assert services.uploads.fetched == [(TEAM_ID, "F0AGENDA")]
    assert (attached.name, attached.mimetype, attached.size) == (
        "agenda.pdf",
        "application/pdf",
        len(AGENDA_BYTES),
    )
    opened = (attached, AGENDA_BYTES)
    assert await services.files.for_guest(carol_link, attached.public_key, now) == opened
    assert await services.files.for_member(attached.public_key, BEN, now) == opened
    assert await services.files.for_member(attached.public_key, ORGANIZER, now) == opened
    with pytest.raises(UnknownLink):
        await services.files.for_member(attached.public_key, "U0NOBODY", now)

    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, member_ids=(ANA,), guests=(DAN,))
    )

    with pytest.raises(UnknownLink):
        await services.files.for_guest(carol_link, attached.public_key, now)
    with pytest.raises(UnknownLink):
        await services.files.for_member(attached.public_key, BEN, now)
    assert await services.files.for_guest(dan_link, attached.public_key, now) == opened
    assert await services.files.for_member(attached.public_key, ANA, now) == opened


async def test_files_close_a_month_after_the_meeting_or_when_it_is_cancelled(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(new_files=(AGENDA_PDF,)))
    [attached] = meeting.files
    carol_link = services.meetings.link_token(guest_in(meeting, CAROL))

    _, kept = await services.files.for_guest(
        carol_link, attached.public_key, END + timedelta(days=29)
    )
    with pytest.raises(UnknownLink):
        await services.files.for_guest(carol_link, attached.public_key, END + timedelta(days=31))
    await services.meetings.cancel(TEAM_ID, ORGANIZER, meeting.id, "")
    with pytest.raises(UnknownLink):
        await services.files.for_guest(carol_link, attached.public_key, utc_now())
    with pytest.raises(UnknownLink):
        await services.files.for_member(attached.public_key, ANA, utc_now())

    assert kept == AGENDA_BYTES


async def test_only_the_organizer_can_change_or_cancel_a_meeting(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.outbox.new()

    with pytest.raises(NotOrganizer):
        await services.meetings.get_for_organizer(TEAM_ID, meeting.id, ANA)
    with pytest.raises(NotOrganizer):
        await services.meetings.update(
            TEAM_ID, ANA, meeting.id, 0, edit_of(meeting, title="Ana's review now")
        )
    with pytest.raises(NotOrganizer):
        await services.meetings.cancel(TEAM_ID, ANA, meeting.id, "I am not coming")
    with pytest.raises(MeetingNotFound):
        await services.meetings.cancel("T0OTHER", ORGANIZER, meeting.id, "Wrong workspace")

    assert await services.meetings.get(TEAM_ID, meeting.id) == meeting
    assert await services.outbox.new() == owed()
    mine = await services.meetings.get_for_organizer(TEAM_ID, meeting.id, ORGANIZER)
    assert mine.title == "Quarterly review"


async def test_an_edit_from_a_form_opened_before_another_edit_is_refused(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    first = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, description="Plans only.")
    )
    await services.outbox.new()

    with pytest.raises(EventChanged):
        await services.meetings.update(
            TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, title="Yearly review")
        )

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert (stored.title, stored.description, stored.version) == (
        "Quarterly review",
        "Plans only.",
        1,
    )
    assert first.meeting == stored
    assert await services.outbox.new() == owed()


async def test_saving_the_edit_form_unchanged_changes_nothing(services: MeetingServices) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.outbox.new()
    wakes = services.wakes.count

    revision = await services.meetings.update(TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting))

    assert (revision.changed, revision.meeting.version) == (False, 0)
    assert await services.outbox.new() == owed()
    assert services.wakes.count == wakes


async def test_cancelling_takes_the_meeting_out_of_everyones_calendar(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(reminder_minutes=60))
    ana, ben = member_in(meeting, ANA), member_in(meeting, BEN)
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    await services.outbox.new()

    cancelled = await services.meetings.cancel(
        TEAM_ID, ORGANIZER, meeting.id, "  Sorry, the client postponed.  "
    )

    assert (cancelled.status, cancelled.cancel_message) == (
        "cancelled",
        "Sorry, the client postponed.",
    )
    assert (cancelled.sequence, cancelled.version) == (1, 1)
    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ana.id),
        MemberNotice(meeting.id, ana.id, reason="cancelled"),
        MemberInvitation(meeting.id, ben.id),
        MemberNotice(meeting.id, ben.id, reason="cancelled"),
        GuestCancellation(meeting.id, carol.id, sequence=1, reason="cancelled"),
        GuestCancellation(meeting.id, dan.id, sequence=1, reason="cancelled"),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )
    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=30)) == 0
    assert await services.outbox.new() == owed()


async def test_a_cancelled_meeting_takes_no_answers_and_no_edits(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol_link = services.meetings.link_token(guest_in(meeting, CAROL))
    await services.meetings.cancel(TEAM_ID, ORGANIZER, meeting.id, "")
    await services.outbox.new()

    with pytest.raises(MeetingCancelled):
        await services.meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    with pytest.raises(MeetingCancelled):
        await services.meetings.respond_as_guest(carol_link, Answer.ACCEPTED, "")
    with pytest.raises(MeetingCancelled):
        await services.meetings.update(
            TEAM_ID, ORGANIZER, meeting.id, 1, edit_of(meeting, title="Back on")
        )
    with pytest.raises(MeetingCancelled):
        await services.meetings.get_for_organizer(TEAM_ID, meeting.id, ORGANIZER)
    with pytest.raises(MeetingCancelled):
        await services.meetings.cancel(TEAM_ID, ORGANIZER, meeting.id, "Again")

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert (stored.title, stored.version, stored.sequence) == ("Quarterly review", 1, 1)
    assert {i.answer for i in stored.invitees} == {Answer.NEEDS_ACTION}
    assert await services.outbox.new() == owed()


async def test_moving_the_time_asks_everyone_to_answer_again(services: MeetingServices) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    ana, ben = member_in(meeting, ANA), member_in(meeting, BEN)
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    await services.meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    await services.meetings.respond_as_guest(
        services.meetings.link_token(carol), Answer.ACCEPTED, "See you there"
    )
    await services.outbox.new()
    later, later_end = START + timedelta(hours=3), END + timedelta(hours=3)

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, start=later, end=later_end)
    )

    moved = Change(
        ChangedField.TIME, time_change_text(START, END), time_change_text(later, later_end)
    )
    assert revision.changes == (moved,)
    assert (revision.meeting.start, revision.meeting.end) == (later, later_end)
    assert (revision.meeting.sequence, revision.meeting.version) == (1, 1)
    assert [(i.answer, i.comment) for i in revision.meeting.invitees] == [
        (Answer.NEEDS_ACTION, "")
    ] * 4
    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ana.id),
        MemberNotice(meeting.id, ana.id, reason="changed", changes=(moved,), reset=True),
        MemberInvitation(meeting.id, ben.id),
        MemberNotice(meeting.id, ben.id, reason="changed", changes=(moved,), reset=True),
        GuestInvitation(meeting.id, carol.id, sequence=1, changes=(moved,), reset=True),
        GuestInvitation(meeting.id, dan.id, sequence=1, changes=(moved,), reset=True),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )


async def test_a_new_title_reaches_everyone_and_keeps_their_answers(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    ana, ben = member_in(meeting, ANA), member_in(meeting, BEN)
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    await services.meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    await services.outbox.new()

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, title="Quarterly review with Acme")
    )

    retitled = Change(ChangedField.TITLE, "Quarterly review", "Quarterly review with Acme")
    assert revision.changes == (retitled,)
    assert (revision.meeting.sequence, revision.meeting.version) == (0, 1)
    assert member_in(revision.meeting, ANA).answer is Answer.ACCEPTED
    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ana.id),
        MemberNotice(meeting.id, ana.id, reason="changed", changes=(retitled,)),
        MemberInvitation(meeting.id, ben.id),
        MemberNotice(meeting.id, ben.id, reason="changed", changes=(retitled,)),
        GuestInvitation(meeting.id, carol.id, sequence=0, changes=(retitled,)),
        GuestInvitation(meeting.id, dan.id, sequence=0, changes=(retitled,)),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )


async def test_a_new_place_raises_the_sequence_without_clearing_answers(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    await services.meetings.respond_as_guest(
        services.meetings.link_token(carol), Answer.ACCEPTED, ""
    )
    await services.outbox.new()

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, location="Acme HQ, floor 3")
    )

    moved = Change(ChangedField.PLACE, "Room 4", "Acme HQ, floor 3")
    assert revision.changes == (moved,)
    assert revision.meeting.sequence == 1
    assert guest_in(revision.meeting, CAROL).answer is Answer.ACCEPTED
    queued = await services.outbox.new()
    assert queued[GuestInvitation(meeting.id, carol.id, sequence=1, changes=(moved,))] == 1


async def test_removing_a_guest_sends_a_cancellation_to_them_alone(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    dan = guest_in(meeting, DAN)
    dan_link = services.meetings.link_token(dan)
    await services.outbox.new()

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, guests=(CAROL,))
    )

    assert (revision.changes, revision.added) == ((), ())
    assert [(i.id, i.removed) for i in revision.removed] == [(dan.id, True)]
    assert [g.email for g in revision.meeting.guests] == ["carol@client.example"]
    assert await services.outbox.new() == owed(
        GuestCancellation(meeting.id, dan.id, sequence=0, reason="removed"),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )
    with pytest.raises(NotInvited):
        await services.meetings.respond_as_guest(dan_link, Answer.ACCEPTED, "")


async def test_a_guest_taken_back_in_is_invited_again_and_counted_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    services = build_services(sessions, guest_cap=3)
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    dan_link = services.meetings.link_token(guest_in(meeting, DAN))
    await services.meetings.respond_as_guest(dan_link, Answer.DECLINED, "Busy that week")
    without_dan = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, guests=(CAROL,))
    )
    await services.outbox.new()

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 1, edit_of(without_dan.meeting, guests=(CAROL, DAN))
    )

    dan = guest_in(revision.meeting, DAN)
    assert [i.id for i in revision.added] == [guest_in(meeting, DAN).id]
    assert (dan.removed, dan.answer, dan.comment) == (False, Answer.NEEDS_ACTION, "")
    assert await services.outbox.new() == owed(
        GuestInvitation(meeting.id, dan.id, sequence=0),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN),
    )
    assert await services.meetings.guest_invites_left(TEAM_ID) == 1
    decision = await services.meetings.respond_as_guest(dan_link, Answer.ACCEPTED, "")
    assert (decision.invitee.id, decision.invitee.answer) == (dan.id, Answer.ACCEPTED)


async def test_members_added_or_taken_off_hear_about_it_in_slack(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    await services.outbox.new()

    revision = await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, member_ids=(ANA, CAT))
    )

    ben, cat = member_in(revision.meeting, BEN), member_in(revision.meeting, CAT)
    assert [m.slack_user_id for m in revision.meeting.members] == [ANA, CAT]
    assert (ben.removed, [i.id for i in revision.added]) == (True, [cat.id])
    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ben.id),
        MemberNotice(meeting.id, ben.id, reason="removed"),
        MemberInvitation(meeting.id, cat.id),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER, ANA, BEN, CAT),
    )
    with pytest.raises(NotInvited):
        await services.meetings.respond_as_member(TEAM_ID, meeting.id, BEN, Answer.ACCEPTED)
    joined = await services.meetings.respond_as_member(TEAM_ID, meeting.id, CAT, Answer.ACCEPTED)
    assert joined.invitee.answer is Answer.ACCEPTED


async def test_a_members_answer_pressed_twice_is_recorded_once(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    ana = member_in(meeting, ANA)
    await services.outbox.new()
    wakes = services.wakes.count

    first = await services.meetings.respond_as_member(
        TEAM_ID, meeting.id, ANA, Answer.ACCEPTED, sequence=0
    )
    second = await services.meetings.respond_as_member(
        TEAM_ID, meeting.id, ANA, Answer.ACCEPTED, sequence=0
    )

    assert (first.changed, second.changed) == (True, False)
    assert (first.invitee.id, first.invitee.answer) == (ana.id, Answer.ACCEPTED)
    assert second.meeting.tally()[Answer.ACCEPTED] == 1
    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ana.id),
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ANA, ORGANIZER),
    )
    assert services.wakes.count == wakes + 1


@pytest.mark.parametrize("answering", ["member", "guest"])
async def test_the_same_answer_arriving_twice_at_once_is_one_decision(
    answering: str,
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(notify=True))
    invitee = member_in(meeting, ANA) if answering == "member" else guest_in(meeting, CAROL)
    await services.outbox.new()

    async def answer() -> Decision:
        if answering == "member":
            return await services.meetings.respond_as_member(
                TEAM_ID, meeting.id, ANA, Answer.DECLINED
            )
        link = services.meetings.link_token(invitee)
        return await services.meetings.respond_as_guest(link, Answer.DECLINED, "")

    async with services.sessions.begin() as busy:
        # Another change to the meeting and this invitee is being saved as both arrive.
        await busy.execute(
            update(Event).where(Event.id == meeting.id).values(version=Event.version)
        )
        await busy.execute(
            update(Attendee).where(Attendee.id == invitee.id).values(comment=Attendee.comment)
        )
        both = asyncio.gather(answer(), answer())
        await asyncio.sleep(0.3)
    decisions = await both

    assert sorted(d.changed for d in decisions) == [False, True]
    queued = await services.outbox.new()
    assert queued[DecisionNotice(meeting.id, invitee.id, answer=Answer.DECLINED)] == 1


async def test_an_answer_from_an_outdated_invitation_is_refused(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    later = START + timedelta(days=1)
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, start=later, end=later + (END - START))
    )

    with pytest.raises(EventChanged):
        await services.meetings.respond_as_member(
            TEAM_ID, meeting.id, ANA, Answer.ACCEPTED, sequence=0
        )
    with pytest.raises(NotInvited):
        await services.meetings.respond_as_member(TEAM_ID, meeting.id, "U0NOBODY", Answer.ACCEPTED)

    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert member_in(stored, ANA).answer is Answer.NEEDS_ACTION
    current = await services.meetings.respond_as_member(
        TEAM_ID, meeting.id, ANA, Answer.ACCEPTED, sequence=1
    )
    assert (current.changed, current.invitee.answer) == (True, Answer.ACCEPTED)


async def test_a_guest_answers_through_their_own_link(services: MeetingServices) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol = guest_in(meeting, CAROL)
    carol_link = services.meetings.link_token(carol)
    await services.outbox.new()

    shown, invitee = await services.meetings.guest_link(carol_link)
    decision = await services.meetings.respond_as_guest(
        carol_link, Answer.TENTATIVE, "  Might be ten minutes late  "
    )

    assert (shown.title, invitee.id, shown.attendees) == ("Quarterly review", carol.id, (invitee,))
    assert decision.changed
    assert (decision.invitee.id, decision.invitee.answer, decision.invitee.comment) == (
        carol.id,
        Answer.TENTATIVE,
        "Might be ten minutes late",
    )
    # Their page shows them alone, never the other guests' addresses.
    assert decision.meeting.attendees == (decision.invitee,)
    # The summary and Home tab redraws queued at creation still wait: sent, they draw the
    # answer, so none more is queued.
    assert await services.outbox.new() == owed()
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert [(g.email, g.answer) for g in stored.guests] == [
        ("carol@client.example", Answer.TENTATIVE),
        ("dan@client.example", Answer.NEEDS_ACTION),
    ]
    with pytest.raises(UnknownLink):
        await services.meetings.respond_as_guest(carol_link[:-2], Answer.DECLINED, "")
    with pytest.raises(ValueError, match="members answer in Slack"):
        services.meetings.link_token(member_in(meeting, ANA))


async def test_an_organizer_who_asked_hears_each_decision_with_its_note(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(notify=True))
    ana, carol = member_in(meeting, ANA), guest_in(meeting, CAROL)
    await services.outbox.new()

    await services.meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.DECLINED)
    await services.meetings.respond_as_guest(
        services.meetings.link_token(carol), Answer.ACCEPTED, "Bringing the signed contract"
    )

    assert await services.outbox.new() == owed(
        MemberInvitation(meeting.id, ana.id),
        HomeRefresh(meeting.id, user_id=ANA),
        DecisionNotice(meeting.id, ana.id, answer=Answer.DECLINED, comment=""),
        DecisionNotice(
            meeting.id, carol.id, answer=Answer.ACCEPTED, comment="Bringing the signed contract"
        ),
        # The guest's answer joins the redraws the member's answer queued: they wait yet.
        OrganizerSummary(meeting.id),
        *homes(meeting.id, ORGANIZER),
    )


async def test_a_persons_agenda_lists_the_meetings_still_ahead_soonest_first(
    services: MeetingServices,
) -> None:
    ana_organizer = Organizer(ANA, "Ana Member", "ana@acme.example", "America/New_York")
    review = await services.meetings.create(TEAM_ID, OLGA, draft())
    day_before = START - timedelta(days=1)
    await services.meetings.create(
        TEAM_ID,
        OLGA,
        draft(
            title="Stand-up",
            start=day_before,
            end=day_before + timedelta(minutes=15),
            member_ids=(ANA,),
            guests=(),
        ),
    )
    await services.meetings.create(
        TEAM_ID, ana_organizer, draft(title="Ana's sync", member_ids=(ORGANIZER,), guests=())
    )
    called_off = await services.meetings.create(TEAM_ID, OLGA, draft(title="Called off"))
    await services.meetings.cancel(TEAM_ID, ORGANIZER, called_off.id, "")
    await services.meetings.create("T0OTHER", OLGA, draft(title="Another workspace's"))
    now = utc_now()

    olga = await services.meetings.agenda(TEAM_ID, ORGANIZER, now)
    ana = await services.meetings.agenda(TEAM_ID, ANA, now)

    assert [m.title for m in olga.organizing] == ["Stand-up", "Quarterly review"]
    assert [(m.title, i.slack_user_id) for m, i in olga.invited] == [("Ana's sync", ORGANIZER)]
    assert [m.title for m in ana.organizing] == ["Ana's sync"]
    assert [(m.title, i.slack_user_id) for m, i in ana.invited] == [
        ("Stand-up", ANA),
        ("Quarterly review", ANA),
    ]

    await services.meetings.update(
        TEAM_ID, ORGANIZER, review.id, 0, edit_of(review, member_ids=(BEN,))
    )
    after_stand_up = await services.meetings.agenda(
        TEAM_ID, ANA, day_before + timedelta(minutes=30)
    )
    assert [m.title for m in after_stand_up.organizing] == ["Ana's sync"]
    assert after_stand_up.invited == []


async def test_members_who_have_not_declined_are_reminded_once(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(reminder_minutes=60))
    ana = member_in(meeting, ANA)
    await services.meetings.respond_as_member(TEAM_ID, meeting.id, BEN, Answer.DECLINED)
    await services.outbox.new()

    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=61)) == 0
    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=59)) == 1
    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=58)) == 0

    # No guest reminder either: the organizer did not ask for them.
    assert await services.outbox.new() == owed(MemberReminder(meeting.id, ana.id))


async def test_guests_are_reminded_only_when_the_organizer_asked(
    services: MeetingServices,
) -> None:
    quiet = await services.meetings.create(TEAM_ID, OLGA, draft(title="Quiet"))
    reminding = await services.meetings.create(
        TEAM_ID, OLGA, draft(title="Reminding", remind_guests=True)
    )
    await services.meetings.respond_as_guest(
        services.meetings.link_token(guest_in(reminding, CAROL)), Answer.DECLINED, ""
    )
    await services.outbox.new()

    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=10)) == 2

    assert await services.outbox.new() == owed(
        MemberReminder(quiet.id, member_in(quiet, ANA).id),
        MemberReminder(quiet.id, member_in(quiet, BEN).id),
        MemberReminder(reminding.id, member_in(reminding, ANA).id),
        MemberReminder(reminding.id, member_in(reminding, BEN).id),
        GuestReminder(reminding.id, guest_in(reminding, DAN).id),
    )


async def test_a_reminder_missed_while_meetbot_was_down_is_not_sent_after_the_start(
    services: MeetingServices,
) -> None:
    await services.meetings.create(TEAM_ID, OLGA, draft(remind_guests=True))
    await services.outbox.new()

    assert await services.meetings.queue_due_reminders(START + timedelta(minutes=5)) == 0

    assert await services.outbox.new() == owed()


async def test_moving_a_meeting_reminds_everyone_again_before_the_new_time(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(guests=()))
    assert await services.meetings.queue_due_reminders(START - timedelta(minutes=10)) == 1
    next_day = START + timedelta(days=1)
    await services.meetings.update(
        TEAM_ID,
        ORGANIZER,
        meeting.id,
        0,
        edit_of(meeting, start=next_day, end=END + (next_day - START)),
    )
    await services.outbox.new()

    assert await services.meetings.queue_due_reminders(next_day - timedelta(minutes=20)) == 0
    assert await services.meetings.queue_due_reminders(next_day - timedelta(minutes=10)) == 1

    assert await services.outbox.new() == owed(
        MemberReminder(meeting.id, member_in(meeting, ANA).id),
        MemberReminder(meeting.id, member_in(meeting, BEN).id),
    )


async def test_a_meeting_that_would_overrun_the_monthly_guest_allowance_is_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    services = build_services(sessions, guest_cap=3)

    with pytest.raises(GuestQuotaExceeded) as too_many:
        await services.meetings.create(TEAM_ID, OLGA, draft(guests=(CAROL, DAN, ERIN, FAY)))

    assert (too_many.value.remaining, too_many.value.asked) == (3, 4)
    assert too_many.value.translated(Language.EN) == (
        "Your workspace can invite 3 more guests this month; this would invite 4. "
        "Remove 1 to send the invitations."
    )
    assert (await services.meetings.agenda(TEAM_ID, ORGANIZER, utc_now())).organizing == []
    assert await services.outbox.new() == owed()
    assert await services.meetings.guest_invites_left(TEAM_ID) == 3

    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(guests=(CAROL, DAN, ERIN)))
    assert await services.meetings.guest_invites_left(TEAM_ID) == 0
    assert await services.meetings.guest_invites_left("T0OTHER") == 3
    with pytest.raises(GuestQuotaExceeded) as full:
        await services.meetings.update(
            TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, guests=(CAROL, DAN, ERIN, FAY))
        )
    assert (full.value.remaining, full.value.asked) == (0, 1)
    stored = await services.meetings.get(TEAM_ID, meeting.id)
    assert [g.email for g in stored.guests] == [
        "carol@client.example",
        "dan@client.example",
        "erin@client.example",
    ]
    members_only = await services.meetings.create(TEAM_ID, OLGA, draft(guests=()))
    assert [m.slack_user_id for m in members_only.members] == [ANA, BEN]
