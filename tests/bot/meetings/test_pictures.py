"""The meeting as guests' e-mails show it, kept between a fan-out's batches."""

from __future__ import annotations

from bot.meetings.model import Answer
from bot.meetings.pictures import GuestMailPictures
from tests.bot.meetings.services import (
    CAROL,
    DAN,
    OLGA,
    MeetingServices,
    draft,
    edit_of,
    guest_in,
)
from tests.conftest import ORGANIZER, TEAM_ID


async def test_guest_mail_shows_each_guest_as_they_are_and_the_meeting_as_last_edited(
    services: MeetingServices,
) -> None:
    pictures = GuestMailPictures(services.sessions)
    meeting = await services.meetings.create(TEAM_ID, OLGA, draft())
    carol, dan = guest_in(meeting, CAROL), guest_in(meeting, DAN)
    first = await pictures.for_guests(TEAM_ID, meeting.id, [carol.id])
    assert first == meeting

    # Answering moves no version: the kept picture is used, with the guest's own row fresh.
    dan_link = services.meetings.link_token(dan)
    await services.meetings.respond_as_guest(dan_link, Answer.ACCEPTED, "See you")
    later = await pictures.for_guests(TEAM_ID, meeting.id, [dan.id])
    assert (later.invitee(dan.id).answer, later.invitee(dan.id).comment) == (
        Answer.ACCEPTED,
        "See you",
    )
    assert later.title == "Quarterly review"

    # An edit moves the version: the next batch's guests see the meeting as it is now.
    await services.meetings.update(
        TEAM_ID, ORGANIZER, meeting.id, 0, edit_of(meeting, title="Budget review")
    )
    edited = await pictures.for_guests(TEAM_ID, meeting.id, [carol.id])
    assert (edited.title, edited.version) == ("Budget review", meeting.version + 1)
    assert edited == await services.meetings.get(TEAM_ID, meeting.id)
