"""Guests of one meeting share its e-mail, but each gets their own personal parts."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar

from bot.ical import GuestCalendars, cancel_calendar, request_calendar
from bot.meetings.model import (
    Answer,
    AttachedFile,
    Invitee,
    Meeting,
    Organizer,
    recipient_hash,
)
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.calendar_readers import needs_ical_js, read_with_ical_js, read_with_vobject
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox, ReceivedMail, calendar_part
from tests.support.meetings import answer_link, fetch
from tests.support.signed import SlackSender

BOB = "bob@client.example"
IVY = "ivy@partner.example"


def invite_ics(mail: ReceivedMail) -> icalendar.Calendar:
    """Return the invite.ics attachment, parsed."""
    [attachment] = [
        part for part in mail.message.iter_attachments() if part.get_filename() == "invite.ics"
    ]
    return icalendar.Calendar.from_ical(attachment.get_content())


async def test_two_guests_of_one_meeting_get_their_own_personal_parts(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    await send_invitations(
        sender, slack, ORGANIZER, guests=f"Bob Client <{BOB}>, Ivy Partner <{IVY}>"
    )

    await mailbox.wait_for(2)
    [bob] = mailbox.to(BOB)
    [ivy] = mailbox.to(IVY)

    assert bob.message["To"] == f"Bob Client <{BOB}>"
    assert ivy.message["To"] == f"Ivy Partner <{IVY}>"
    assert recipient_hash(BOB) in bob.message["Message-ID"]
    assert recipient_hash(IVY) in ivy.message["Message-ID"]
    assert bob.message["Message-ID"] != ivy.message["Message-ID"]
    # What the meeting is, they share.
    assert bob.message["Subject"] == ivy.message["Subject"]
    assert bob.message["From"] == ivy.message["From"]

    links = {}
    for mail, address, name in ((bob, BOB, "Bob Client"), (ivy, IVY, "Ivy Partner")):
        link = answer_link(mail)
        links[address] = link
        assert link in mail.message.get_body(("html",)).get_content()
        for calendar in (
            icalendar.Calendar.from_ical(calendar_part(mail.message).get_content()),
            invite_ics(mail),
        ):
            [event] = calendar.walk("VEVENT")
            # Only their own ATTENDEE line: guests never see each other's addresses.
            attendee = event["ATTENDEE"]
            assert str(attendee) == f"mailto:{address}"
            assert attendee.params["CN"] == name
            assert str(event["URL"]) == link
        other = IVY if address == BOB else BOB
        assert other not in mail.message.as_string()
    assert links[BOB] != links[IVY]

    bob_event = icalendar.Calendar.from_ical(calendar_part(bob.message).get_content())
    ivy_event = icalendar.Calendar.from_ical(calendar_part(ivy.message).get_content())
    for field in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"):
        assert bob_event.walk("VEVENT")[0][field] == ivy_event.walk("VEVENT")[0][field]

    # Each link is that guest's own: the page greets them, and answering records for them.
    status, page = await fetch("GET", links[BOB])
    assert status == 200 and "Bob Client &lt;bob@client.example&gt;" in page
    assert IVY not in page
    status, page = await fetch("POST", links[IVY], {"answer": "declined", "comment": ""})
    assert status == 200 and "You declined." in page
    assert "Ivy Partner &lt;ivy@partner.example&gt;" in page and BOB not in page


def guest(number: int, name: str, answer: Answer = Answer.NEEDS_ACTION) -> Invitee:
    """Return an outside guest of the meeting below."""
    return Invitee(
        id=number,
        kind="guest",
        slack_user_id=None,
        email=f"guest{number}@client.example",
        name=name,
        answer=answer,
        comment="",
        token_salt=f"salt{number}",
    )


GUESTS = (
    guest(1, "Bob Client"),
    guest(
        2, 'Zoë "Q", Ünïcode; a name long enough to be folded over several lines', Answer.ACCEPTED
    ),
    guest(3, ""),
)
AGENDA = AttachedFile(1, "agenda.pdf", "application/pdf", 1024, "k1")
MEETING = Meeting(
    id=7,
    uid="a1b2c3@meetbot",
    team_id="T1",
    organizer=Organizer("U1", "Olga Organizer", "olga@acme.example", "Europe/Warsaw"),
    title="Design review",
    start=datetime(2026, 3, 28, 13, 0, tzinfo=UTC),
    end=datetime(2026, 3, 30, 14, 0, tzinfo=UTC),
    location="Room 4; https://meet.example/abc",
    description="Walk through, line one.\nLine two, with a comma.",
    notify_on_decision=True,
    sequence=2,
    version=3,
    status="confirmed",
    created_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    attendees=GUESTS,
)


def test_a_calendar_built_once_for_many_guests_equals_each_one_built_alone() -> None:
    stamp = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    calendars = GuestCalendars(
        "REQUEST", MEETING, organizer_address="invites@meetbot.example", stamp=stamp
    )

    for invitee in GUESTS:
        url = f"https://meetbot.example/rsvp/{'t' * 43}{invitee.id}"
        files = [(AGENDA, f"{url}/files/{AGENDA.public_key}")]
        shared = icalendar.Calendar.from_ical(calendars.to_ical(invitee, url=url, files=files))
        alone = request_calendar(
            MEETING,
            invitee,
            organizer_address="invites@meetbot.example",
            stamp=stamp,
            url=url,
            files=files,
        )
        assert shared == icalendar.Calendar.from_ical(alone.to_ical())
        [event] = shared.walk("VEVENT")
        assert str(event["ATTENDEE"]) == f"mailto:{invitee.email}"
        assert str(event["URL"]) == url
        assert str(event["ATTACH"]) == f"{url}/files/{AGENDA.public_key}"
        assert str(event["DESCRIPTION"]).endswith(f"Answer: {url}")


def calendars_across_the_spring_change() -> list[bytes]:
    """Return every calendar guests get of MEETING: by e-mail, downloaded, and cancelled."""
    stamp = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    sender = "invites@meetbot.example"
    shared = GuestCalendars("REQUEST", MEETING, organizer_address=sender, stamp=stamp)
    return [
        *(shared.to_ical(invitee, url="https://meetbot.example/rsvp/t") for invitee in GUESTS),
        request_calendar(MEETING, GUESTS[0], organizer_address=sender, stamp=stamp).to_ical(),
        cancel_calendar(MEETING, GUESTS[0], organizer_address=sender, stamp=stamp).to_ical(),
    ]


@needs_ical_js
def test_thunderbirds_parser_places_a_meeting_across_the_spring_change_as_meant() -> None:
    # MEETING starts on Saturday at 14:00 winter time in Warsaw and ends on Monday at 16:00
    # summer time, the clocks having gone forward on the Sunday night between.
    calendars = calendars_across_the_spring_change()

    assert read_with_ical_js(calendars) == [(MEETING.start, MEETING.end)] * len(calendars)


def test_vobject_places_a_meeting_across_the_spring_change_as_meant() -> None:
    calendars = calendars_across_the_spring_change()

    assert read_with_vobject(calendars) == [(MEETING.start, MEETING.end)] * len(calendars)
