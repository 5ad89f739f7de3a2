"""Guests of one meeting share its e-mail, but each gets their own personal parts."""

from __future__ import annotations

import icalendar

from bot.meetings import recipient_hash
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
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
