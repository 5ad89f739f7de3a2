"""A reply is believed when it is authenticated and from the invited address; else the
organizer decides, with the reply quoted and buttons to record, add or ignore it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Meetbot
from tests.conftest import ANA, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.mail.test_replies import BOB, END, MAILBOX, START, invite_bob_and_ivy, organizer_dms
from tests.support.dkim import KEYS, TRUSTED_AUTHSERV_ID
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import calendar_of, eventually, summary, texts, wait_for_mails
from tests.support.replies import render, send_to_receiver
from tests.support.signed import SlackSender

IVY = "ivy@nowhere.example"


def question(slack: FakeSlack) -> dict[str, Any]:
    """Return the organizer's DM asking about an e-mailed answer."""
    return next(
        m
        for m in slack.messages(slack.dm_channel(ORGANIZER))
        if "held_answer_ignore" in str(m.get("blocks"))
    )


async def asked(slack: FakeSlack) -> dict[str, Any]:
    """Wait for the organizer to be asked about an answer, and return the DM."""
    await eventually(lambda: question(slack))
    return question(slack)


async def settled_reply(slack: FakeSlack) -> str:
    """Return what replaced the question after the organizer pressed a button."""
    return texts(await slack.wait_for_response_url())


async def test_a_co_guest_forging_the_guests_from_makes_the_organizer_decide(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    # Ivy has the UID and writes "From: Bob" herself: nothing vouches for it.
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        comment="Cancel me <!channel> https://evil.example/login",
        start=START,
        end=END,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=IVY)

    dm = await asked(slack)
    shown = texts(dm)
    assert "could not verify" in shown and "bob@client.example" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "https://evil" not in shown and "https[:]//evil.example" in shown
    assert "2 no answer yet" in texts(summary(slack))

    await sender.click(ORGANIZER, dm, slack.dm_channel(ORGANIZER), "held_answer_ignore")
    assert "Ignored the answer" in await settled_reply(slack)
    assert "2 no answer yet" in texts(summary(slack))


async def test_only_the_organizer_may_record_a_held_answer(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    raw = render(
        "outlook_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        sender="mallory@evil.example",
        partstat="DECLINED",
        start=START,
        end=END,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender="mallory@evil.example")
    dm = await asked(slack)
    assert "sent from mallory@evil.example, not from the invited address" in texts(dm)

    await sender.click(ANA, dm, slack.dm_channel(ORGANIZER), "held_answer_record")
    assert "Only the organizer" in await settled_reply(slack)
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()
    assert "2 no answer yet" in texts(summary(slack))


async def test_a_reply_from_the_guests_other_address_is_recorded_once_the_organizer_says_so(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    invitation = mailbox.to(BOB)[0].message
    # Exchange answers with Bob's primary address, in reply to the invitation it got.
    primary = "robert.client@client.example"
    raw = render(
        "outlook_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=primary,
        partstat="ACCEPTED",
        comment="Looking forward",
        start=START,
        end=END,
        authenticated=True,
    )
    raw = f"In-Reply-To: {invitation['Message-ID']}\r\n".encode() + raw
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=primary)

    dm = await asked(slack)
    assert "robert.client@client.example is not on the guest list" in texts(dm)
    assert "Record as bob@client.example's answer" in texts(dm)
    await sender.click(ORGANIZER, dm, slack.dm_channel(ORGANIZER), "held_answer_record")

    assert "as bob@client.example's" in await settled_reply(slack)
    await eventually(lambda: "1 accepted" in texts(summary(slack)))


async def test_a_forwarded_invitation_accepted_lets_the_organizer_add_the_person(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    carol = "carol@partner.example"
    raw = render(
        "thunderbird_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=carol,
        partstat="ACCEPTED",
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender=carol)

    dm = await asked(slack)
    assert "Add carol@partner.example as a guest" in texts(dm)
    assert "held_answer_record" not in str(dm["blocks"])
    await sender.click(ORGANIZER, dm, slack.dm_channel(ORGANIZER), "held_answer_add")

    assert "Invited carol@partner.example" in await settled_reply(slack)
    [invitation] = await wait_for_mails(mailbox, carol, 1)
    assert str(calendar_of(invitation)["METHOD"]) == "REQUEST"
    await eventually(lambda: "1 accepted" in texts(summary(slack)))


async def test_a_dkim_signed_reply_is_recorded_without_asking(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        start=START,
        end=END,
    )
    await send_to_receiver(inbound_port, KEYS.sign(raw, "client.example"), MAILBOX, sender=BOB)

    await eventually(lambda: "1 declined" in texts(summary(slack)))
    assert [dm for dm in organizer_dms(slack) if "held_answer" in dm] == []


async def test_a_reply_with_a_broken_signature_goes_to_the_organizer(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        start=START,
        end=END,
    )
    signed = KEYS.sign(raw, "client.example")
    tampered = signed.replace(b"PARTSTAT=DECLINED", b"PARTSTAT=ACCEPTED").replace(
        b"has accepted", b"has ACCEPTED"
    )
    await send_to_receiver(inbound_port, tampered, MAILBOX, sender=BOB)

    assert "could not verify" in texts(await asked(slack))
    assert "2 no answer yet" in texts(summary(slack))


@pytest.mark.parametrize(
    "verdicts",
    [
        # Another server's dkim=pass: it is not the server Meetbot trusts.
        [("mx.other.example", "pass")],
        # Ours said none; the sender wrote a pass with our name below it.
        [(TRUSTED_AUTHSERV_ID, "none"), (TRUSTED_AUTHSERV_ID, "pass")],
        # Ours is not on top of the run: a forged pass below a foreign server's header.
        [
            (TRUSTED_AUTHSERV_ID, "none"),
            ("mx.other.example", "none"),
            (TRUSTED_AUTHSERV_ID, "pass"),
        ],
    ],
)
async def test_results_not_written_by_the_trusted_server_do_not_count(
    verdicts: list[tuple[str, str]],
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        start=START,
        end=END,
    )
    headers = b"".join(
        f"Authentication-Results: {server}; dkim={result} header.d=client.example\r\n".encode()
        for server, result in verdicts
    )
    await send_to_receiver(inbound_port, headers + raw, MAILBOX, sender=BOB)

    assert "could not verify" in texts(await asked(slack))
    assert "2 no answer yet" in texts(summary(slack))


async def test_an_answer_from_a_dotted_gmail_address_is_offered_as_the_guests(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await send_invitations(
        sender, slack, ORGANIZER, start=START, guests="Bob Smith <bobsmith@gmail.com>"
    )
    [invitation] = await wait_for_mails(mailbox, "bobsmith@gmail.com", 1)
    uid = str(calendar_of(invitation).walk("VEVENT")[0]["UID"])
    raw = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest="bob.smith@gmail.com",
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, raw, MAILBOX, sender="bob.smith@gmail.com")

    dm = await asked(slack)
    assert "Record as bobsmith@gmail.com's answer" in texts(dm)
    await sender.click(ORGANIZER, dm, slack.dm_channel(ORGANIZER), "held_answer_record")
    await eventually(lambda: "1 accepted" in texts(summary(slack)))
