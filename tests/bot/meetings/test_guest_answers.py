"""Guests' answers written together: one decision per press, whatever runs beside."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.deliveries import DecisionNotice, HomeRefresh, OrganizerSummary
from bot.meetings.errors import MeetingCancelled, NotInvited, UnknownLink
from bot.meetings.model import Answer
from storage.models import Attendee, OutboxEntry
from tests.bot.meetings.services import (
    CAROL,
    DAN,
    OLGA,
    MeetingServices,
    build_services,
    draft,
    edit_of,
    guest_in,
    owed,
)
from tests.conftest import ORGANIZER, TEAM_ID


@pytest.fixture
def services(sessions: async_sessionmaker[AsyncSession]) -> MeetingServices:
    """Return the meeting services with no monthly cap on guests."""
    return build_services(sessions)


async def test_the_same_press_on_two_processes_at_once_is_one_decision(
    services: MeetingServices,
) -> None:
    # Two services, two writers: as two processes behind a balancer, each with its batch.
    other = build_services(services.sessions).meetings
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(notify=True))
    carol = guest_in(meeting, CAROL)
    link = services.meetings.link_token(carol)
    await services.outbox.new()

    async with services.sessions.begin() as busy:
        # Another change to this guest is being saved as both presses arrive.
        await busy.execute(
            update(Attendee).where(Attendee.id == carol.id).values(comment=Attendee.comment)
        )
        both = asyncio.gather(
            services.meetings.respond_as_guest(link, Answer.DECLINED, "Away"),
            other.respond_as_guest(link, Answer.DECLINED, "Away"),
        )
        await asyncio.sleep(0.2)
        assert not both.done()
    decisions = await both
    other.close()

    assert sorted(d.changed for d in decisions) == [False, True]
    assert all(d.invitee.answer is Answer.DECLINED for d in decisions)
    queued = await services.outbox.new()
    assert queued[DecisionNotice(meeting.id, carol.id, answer=Answer.DECLINED, comment="Away")] == 1


async def test_answers_pressed_together_are_stored_together_with_one_redraw(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft(notify=True))
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    await services.outbox.new()
    async with services.sessions.begin() as session:
        # The outbox has sent everything since: the answers owe a new summary and Home tab.
        await session.execute(update(OutboxEntry).values(state="sent"))

    carol_link = services.meetings.link_token(carol)
    decisions = await asyncio.gather(
        services.meetings.respond_as_guest(carol_link, Answer.ACCEPTED, ""),
        services.meetings.respond_as_guest(
            services.meetings.link_token(dan), Answer.TENTATIVE, "Late"
        ),
        # The same link pressed again in the same moment: recorded after the first.
        services.meetings.respond_as_guest(carol_link, Answer.DECLINED, "Sorry"),
    )

    assert [(d.invitee.answer, d.changed) for d in decisions] == [
        (Answer.ACCEPTED, True),
        (Answer.TENTATIVE, True),
        (Answer.DECLINED, True),
    ]
    assert [d.meeting.attendees for d in decisions] == [(d.invitee,) for d in decisions]
    page, invitee = await services.meetings.guest_link(carol_link)
    assert (page.title, invitee.answer, invitee.comment) == (
        "Quarterly review",
        Answer.DECLINED,
        "Sorry",
    )
    # Every decision told, and one redraw of what shows them all: one waits until sent.
    assert await services.outbox.new() == owed(
        DecisionNotice(meeting.id, carol.id, answer=Answer.ACCEPTED, comment=""),
        DecisionNotice(meeting.id, dan.id, answer=Answer.TENTATIVE, comment="Late"),
        DecisionNotice(meeting.id, carol.id, answer=Answer.DECLINED, comment="Sorry"),
        OrganizerSummary(meeting.id),
        HomeRefresh(meeting.id, user_id=ORGANIZER),
    )


async def test_a_refused_press_among_others_records_nothing_for_it(
    services: MeetingServices,
) -> None:
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, guests=(CAROL,))
    )
    carol_link, dan_link = (services.meetings.link_token(g) for g in (carol, dan))

    outcomes = await asyncio.gather(
        services.meetings.respond_as_guest(carol_link, Answer.ACCEPTED, ""),
        services.meetings.respond_as_guest(dan_link, Answer.ACCEPTED, ""),
        services.meetings.respond_as_guest(carol_link[:-2], Answer.ACCEPTED, ""),
        return_exceptions=True,
    )

    assert [type(o).__name__ for o in outcomes] == ["Decision", "NotInvited", "UnknownLink"]
    assert isinstance(outcomes[1], NotInvited) and isinstance(outcomes[2], UnknownLink)
    await services.meetings.cancel(TEAM_ID, ORGANIZER, meeting.id, "")
    with pytest.raises(MeetingCancelled):
        await services.meetings.respond_as_guest(carol_link, Answer.DECLINED, "")
    page, invitee = await services.meetings.guest_link(carol_link)
    assert (page.cancelled, invitee.answer) == (True, Answer.ACCEPTED)
