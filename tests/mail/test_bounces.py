"""Delivery reports count only when they refer to a message Meetbot sent, and only for that
guest; a delay is a delay, and what a report says reaches the organizer defanged."""

from __future__ import annotations

from pathlib import Path

from bot.app import Meetbot
from bot.mail.inbound import read_inbound
from tests.fakes.slack_api import FakeSlack
from tests.mail.test_replies import MAILBOX, invite_bob_and_ivy, organizer_dms
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, summary, texts
from tests.support.replies import quarantined, render, send_to_receiver
from tests.support.signed import SlackSender

IVY = "ivy@nowhere.example"
BOB = "bob@client.example"


async def drained(meetbot: Meetbot) -> None:
    """Deliver everything owed, so what was not sent is known not to be coming."""
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()


async def test_a_report_naming_only_an_address_is_ignored_and_kept_for_a_person(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
    quarantine_dir: Path,
) -> None:
    await invite_bob_and_ivy(sender, slack, mailbox)
    forged = render(
        "dsn_bounce",
        organizer=MAILBOX,
        recipient=BOB,
        message_id="<phish-0001@evil.example>",
    ).replace(b"550 5.1.1 User unknown", b"550 <!channel> log in at https://evil.example/x")

    await send_to_receiver(inbound_port, forged, MAILBOX)

    await drained(meetbot)
    assert organizer_dms(slack) == []
    assert "undeliverable" not in texts(summary(slack))
    [(_, reason)] = quarantined(quarantine_dir)
    assert "refers to no message Meetbot sent" in reason


async def test_a_report_sent_to_a_guests_return_path_marks_that_guest(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await invite_bob_and_ivy(sender, slack, mailbox)
    return_path = mailbox.to(IVY)[0].envelope_from
    assert return_path.startswith("invites+b") and return_path.endswith("@meetbot.example")
    # A report that quotes nothing of the message, delivered to the return path only.
    report = render(
        "dsn_bounce", organizer=MAILBOX, recipient=IVY, message_id="<lost@nowhere.example>"
    ).replace(b"550 5.1.1 User unknown", b"550 5.1.1 <!here> see https://nowhere.example/why")

    await send_to_receiver(inbound_port, report, return_path)

    await eventually(lambda: any("Could not deliver" in dm for dm in organizer_dms(slack)))
    [notice] = [dm for dm in organizer_dms(slack) if "Could not deliver" in dm]
    assert IVY in notice and BOB not in notice
    assert "<!here>" not in notice and "&lt;!here&gt;" in notice
    assert "https://nowhere" not in notice and "https[:]//nowhere.example/why" in notice
    await eventually(lambda: "undeliverable" in texts(summary(slack)))


async def test_a_return_path_with_a_wrong_tag_or_another_guests_message_marks_no_one(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await invite_bob_and_ivy(sender, slack, mailbox)
    return_path = mailbox.to(IVY)[0].envelope_from
    local, _, domain = return_path.partition("@")
    forged_path = local[:-4] + "0000@" + domain
    report = render(
        "dsn_bounce", organizer=MAILBOX, recipient=IVY, message_id="<lost@nowhere.example>"
    )
    await send_to_receiver(inbound_port, report, forged_path)
    # Bob's Message-ID, in a report that says it is about Ivy.
    bobs = render(
        "dsn_bounce",
        organizer=MAILBOX,
        recipient=IVY,
        message_id=str(mailbox.to(BOB)[0].message["Message-ID"]),
    )
    await send_to_receiver(inbound_port, bobs, MAILBOX)

    await drained(meetbot)
    assert organizer_dms(slack) == []
    assert "undeliverable" not in texts(summary(slack))


async def test_a_delay_notice_is_not_reported_as_a_failed_delivery(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
    quarantine_dir: Path,
) -> None:
    await invite_bob_and_ivy(sender, slack, mailbox)
    invitation = mailbox.to(IVY)[0]
    delay = render(
        "gmail_delay",
        organizer=MAILBOX,
        recipient=IVY,
        message_id=str(invitation.message["Message-ID"]),
    )

    await send_to_receiver(inbound_port, delay, invitation.envelope_from)

    await drained(meetbot)
    assert organizer_dms(slack) == []
    assert "undeliverable" not in texts(summary(slack))
    assert quarantined(quarantine_dir) == []


UID = "0f8fd8a4-1111-4222-8333-944455556666"
HASH = "0123456789abcdef"


def test_a_report_names_the_outbox_entry_of_the_message_it_quotes() -> None:
    ours = f"<{UID}.2.request.{HASH}.4711@meetbot.example>"
    report = render("dsn_bounce", organizer=MAILBOX, recipient=IVY, message_id=ours)
    bounce = read_inbound(report).bounce
    assert bounce is not None
    assert bounce.entries == ((UID, HASH, 4711),)
    assert bounce.message_ids == ((UID, 2, "request", HASH),)


def test_an_id_too_long_to_be_ours_names_no_entry() -> None:
    hostile = f"<{UID}.2.request.{HASH}.{'9' * 40}@meetbot.example>"
    report = render("dsn_bounce", organizer=MAILBOX, recipient=IVY, message_id=hostile)
    bounce = read_inbound(report).bounce
    assert bounce is not None and bounce.entries == () and bounce.message_ids == ()
