"""Guests answer from their own mail program: replies, counter-proposals, bounces, junk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiosmtplib
import icalendar
import pytest

from bot.app import Meetbot
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    calendar_of,
    eventually,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.replies import quarantined, render, send_to_receiver
from tests.support.signed import SlackSender

MAILBOX = "invites@meetbot.example"
BOB = "bob@client.example"
START = in_days(5, hour=13)
END = START + timedelta(minutes=45)


async def invite_bob_and_ivy(sender: SlackSender, slack: FakeSlack, mailbox: Mailbox) -> str:
    """Invite two guests and return the event's UID from Bob's invitation."""
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=START,
        guests=f"Bob Client <{BOB}>, ivy@nowhere.example",
        notify=True,
    )
    await wait_for_summary(slack)
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    await wait_for_mails(mailbox, "ivy@nowhere.example", 1)
    return str(calendar_of(invitation).walk("VEVENT")[0]["UID"])


def organizer_dms(slack: FakeSlack) -> list[str]:
    """Return the texts of the messages the organizer got, after the summary."""
    return [texts(m) for m in slack.messages(slack.dm_channel(ORGANIZER))[1:]]


@pytest.mark.parametrize(
    ("fixture", "partstat", "word", "comment"),
    [
        ("gmail_reply", "ACCEPTED", "1 accepted", "Happy to join; bringing Ana, our designer"),
        ("outlook_reply", "DECLINED", "1 declined", "Sorry, on leave that week"),
        ("apple_reply", "TENTATIVE", "1 maybe", ""),
        ("thunderbird_reply", "ACCEPTED", "1 accepted", "See you; bringing the slides"),
    ],
)
async def test_a_reply_from_the_guests_mail_program_is_recorded_and_told(
    fixture: str,
    partstat: str,
    word: str,
    comment: str,
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)

    raw = render(
        fixture,
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat=partstat,
        comment=comment,
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    await eventually(lambda: word in texts(summary(slack)))
    await eventually(lambda: any("Bob Client" in dm for dm in organizer_dms(slack)))
    notice = next(dm for dm in organizer_dms(slack) if "Bob Client" in dm)
    if comment:
        assert comment.split(",")[0] in notice


async def test_a_reply_to_the_old_time_is_recorded_and_the_organizer_warned(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    later = START + timedelta(hours=2)
    await sender.submit_view(
        ORGANIZER,
        form,
        start=int(later.timestamp()),
        end=int((later + timedelta(hours=1)).timestamp()),
    )
    await wait_for_mails(mailbox, BOB, 2)

    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        sequence=0,
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    await eventually(lambda: any("earlier version" in dm for dm in organizer_dms(slack)))
    await eventually(lambda: "1 accepted" in texts(summary(slack)))


async def test_a_reply_about_no_meeting_of_ours_changes_nothing_and_is_kept_for_a_person(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
    quarantine_dir: Path,
) -> None:
    # Someone else answering for Bob, or a stranger answering: see tests/mail/test_trust.py.
    await invite_bob_and_ivy(sender, slack, mailbox)
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid="not-ours@elsewhere.example",
        guest=BOB,
        partstat="DECLINED",
        start=START,
        end=END,
        authenticated=True,
    )

    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    assert meetbot.services is not None
    await meetbot.services.outbox.drain()
    assert "2 no answer yet" in texts(summary(slack))
    assert organizer_dms(slack) == []
    [(kept, reason)] = quarantined(quarantine_dir)
    assert kept == raw
    assert "no event with UID" in reason


@pytest.mark.parametrize("fixture", ["outlook_counter", "google_counter"])
async def test_a_proposed_new_time_can_be_accepted_and_the_meeting_moves(
    fixture: str,
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    proposed = START + timedelta(days=1)
    raw = render(
        fixture,
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        comment="Could we do the next day?",
        start=proposed,
        end=proposed + timedelta(minutes=45),
        authenticated=True,
    )

    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    await eventually(lambda: len(slack.messages(slack.dm_channel(ORGANIZER))) > 1)
    proposal = slack.messages(slack.dm_channel(ORGANIZER))[1]
    assert "proposes a new time" in texts(proposal) and "next day" in texts(proposal)
    assert f"<!date^{int(proposed.timestamp())}^" in texts(proposal)

    await sender.click(ORGANIZER, proposal, slack.dm_channel(ORGANIZER), "counter_accept")

    for guest in (BOB, "ivy@nowhere.example"):
        update = (await wait_for_mails(mailbox, guest, 2))[1]
        event = calendar_of(update).walk("VEVENT")[0]
        assert event.decoded("DTSTART") == proposed
        assert int(event["SEQUENCE"]) == 1
    reply = await slack.wait_for_response_url()
    assert "You accepted" in reply["text"]


async def test_a_declined_proposal_sends_the_guest_a_declinecounter(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    proposed = START + timedelta(days=1)
    raw = render(
        "outlook_counter",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        start=proposed,
        end=proposed + timedelta(hours=1),
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)
    await eventually(lambda: len(slack.messages(slack.dm_channel(ORGANIZER))) > 1)

    proposal = slack.messages(slack.dm_channel(ORGANIZER))[1]
    await sender.click(ORGANIZER, proposal, slack.dm_channel(ORGANIZER), "counter_decline")

    answer = (await wait_for_mails(mailbox, BOB, 2))[1]
    calendar = calendar_of(answer)
    assert str(calendar["METHOD"]) == "DECLINECOUNTER"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == uid
    assert len(mailbox.to("ivy@nowhere.example")) == 1


@pytest.mark.parametrize("fixture", ["dsn_bounce", "classic_bounce"])
async def test_a_bounce_marks_the_guest_and_tells_the_organizer(
    fixture: str,
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    await invite_bob_and_ivy(sender, slack, mailbox)
    invitation = mailbox.to("ivy@nowhere.example")[0].message
    raw = render(
        fixture,
        organizer=MAILBOX,
        recipient="ivy@nowhere.example",
        message_id=str(invitation["Message-ID"]),
    )

    await send_to_receiver(inbound_port, raw, MAILBOX)

    await eventually(lambda: any("Could not deliver" in dm for dm in organizer_dms(slack)))
    notice = next(dm for dm in organizer_dms(slack) if "Could not deliver" in dm)
    assert "ivy@nowhere.example" in notice and "550 5.1.1 User unknown" in notice
    await eventually(lambda: "undeliverable" in texts(summary(slack)))
    await sender.open_home(ORGANIZER)
    await eventually(
        lambda: any(
            "Could not deliver to ivy@nowhere.example" in texts(c.args["view"])
            for c in slack.calls_to("views.publish")
        )
    )


async def test_auto_replies_and_junk_are_skipped_and_the_receiver_keeps_going(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)

    await send_to_receiver(
        inbound_port, render("out_of_office", organizer=MAILBOX, sender=BOB), MAILBOX
    )
    await send_to_receiver(inbound_port, b"\x00\xff\xfe garbage \r\n\r\n\x89PNG", MAILBOX)
    await send_to_receiver(
        inbound_port, b"Subject: hi\r\nContent-Type: multipart/mixed\r\n\r\nno boundary", MAILBOX
    )
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        await send_to_receiver(
            inbound_port, b"Subject: relay me\r\n\r\nplease", "victim@elsewhere.example"
        )

    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)
    await eventually(lambda: "1 accepted" in texts(summary(slack)))
    assert [dm for dm in organizer_dms(slack) if "Out of Office" in dm] == []


async def test_a_huge_message_is_refused_and_the_receiver_keeps_going(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    huge = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 11_000

    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send_to_receiver(inbound_port, huge, MAILBOX, sender=BOB)
    assert refused.value.code == 552

    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)
    await eventually(lambda: "1 accepted" in texts(summary(slack)))


def test_the_reply_fixtures_carry_real_calendars() -> None:
    raw = render(
        "outlook_reply", organizer=MAILBOX, uid="u@meetbot", guest=BOB, start=START, end=END
    )
    assert b"method=REPLY" in raw
    calendar = icalendar.Calendar.from_ical(render_calendar_of(raw))
    assert str(calendar["METHOD"]) == "REPLY"


def render_calendar_of(raw: bytes) -> bytes:
    """Return the calendar inside a rendered fixture."""
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload
