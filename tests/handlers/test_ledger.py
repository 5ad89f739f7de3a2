"""The delivery ledger: where every guest's e-mail stands, summed on the organizer's summary,
listed in the Guests view, with Resend and Fix address."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.app import Meetbot
from bot.blocks.ledger import shown_page
from tests.conftest import ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_home import home_of
from tests.mail.test_replies import MAILBOX
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox, ReceivedMail
from tests.support.meetings import (
    answer_link,
    calendar_of,
    eventually,
    fetch,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.replies import render, send_to_receiver
from tests.support.signed import SlackSender

BOB = "bob@client.example"
IVY = "ivy@nowhere.example"
GUESTS_VIEW = "ledger_view"


async def report(
    inbound_port: int, template: str, recipient: str, *, quoting: ReceivedMail, to: ReceivedMail
) -> None:
    """Send a delivery report quoting one e-mail's Message-ID to another's return path.

    The receiver records a report before it answers 250, so it is noted once this returns.
    """
    message_id = str(quoting.message["Message-ID"])
    mail = render(template, organizer=MAILBOX, recipient=recipient, message_id=message_id)
    await send_to_receiver(inbound_port, mail, to.envelope_from)


async def invite_bob_and_ivy(sender: SlackSender, slack: FakeSlack) -> None:
    """Invite two guests; the organizer's summary is posted at once."""
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=in_days(3, hour=9),
        guests=f"Bob Client <{BOB}>, {IVY}",
        notify=False,
    )
    await wait_for_summary(slack)


def sum_line(slack: FakeSlack) -> str:
    """Return the ledger's line on the organizer's summary ("" while there is none)."""
    for block in summary(slack)["blocks"]:
        if block["type"] == "context" and ":incoming_envelope:" in block["elements"][0]["text"]:
            return str(block["elements"][0]["text"])
    return ""


def guests_view(slack: FakeSlack) -> dict[str, Any]:
    """Return the Guests view as it is now (its id, hash and view)."""
    return [v for v in slack.opened_views() if v["view"].get("callback_id") == GUESTS_VIEW][-1]


def guest_rows(slack: FakeSlack) -> list[str]:
    """Return the Guests view's text about each guest, in order."""
    blocks = guests_view(slack)["view"]["blocks"]
    return [
        str(blocks[i - 1]["text"]["text"])
        for i, block in enumerate(blocks)
        if block.get("block_id", "").startswith("guest_")
    ]


def row_of(slack: FakeSlack, address: str) -> str:
    """Return the Guests view's text about one guest."""
    [row] = [text for text in guest_rows(slack) if address in text.split("\n")[0]]
    return row


async def open_guests(sender: SlackSender, slack: FakeSlack) -> dict[str, Any]:
    """Press Guests on the summary and return the view Slack was asked to open."""
    before = len(slack.calls_to("views.open"))
    await sender.click(ORGANIZER, summary(slack), slack.dm_channel(ORGANIZER), "ledger_guests")
    await slack.wait_for("views.open", lambda _: len(slack.calls_to("views.open")) > before)
    return guests_view(slack)


async def press(sender: SlackSender, slack: FakeSlack, action_id: str, address: str) -> None:
    """Press a guest's button in the Guests view and wait for the view to be redrawn."""
    opened = guests_view(slack)
    block = next(
        b
        for b in opened["view"]["blocks"]
        if b["type"] == "section" and address in b["text"]["text"].split("\n")[0]
    )
    blocks = opened["view"]["blocks"]
    buttons = blocks[blocks.index(block) + 1]
    value = next(e["value"] for e in buttons["elements"] if e["action_id"] == action_id)
    redrawn = len(slack.calls_to("views.update")) + len(slack.calls_to("views.push"))
    await sender.press_in_view(ORGANIZER, opened, action_id, value)
    await eventually(
        lambda: len(slack.calls_to("views.update")) + len(slack.calls_to("views.push")) > redrawn
    )


async def test_the_ledger_follows_each_guest_from_queued_to_accepted_delayed_and_bounced(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    mailbox.hold_answers_after(0)  # the server takes the mail but has not said 250 yet
    await invite_bob_and_ivy(sender, slack)
    await mailbox.wait_until_held()
    await open_guests(sender, slack)
    assert "No tracking pixels are used." in texts(guests_view(slack)["view"])
    assert "Invitation" in row_of(slack, BOB) and ": queued" in row_of(slack, BOB)

    mailbox.answer_all()
    await eventually(lambda: sum_line(slack).endswith("2 delivered, 0 answered"))
    [to_bob] = await wait_for_mails(mailbox, BOB, 1)
    [to_ivy] = await wait_for_mails(mailbox, IVY, 1)
    await open_guests(sender, slack)
    assert f"accepted by the mail server (queue id `{to_bob.queue_id}`)" in row_of(slack, BOB)

    await report(inbound_port, "gmail_delay", IVY, quoting=to_ivy, to=to_ivy)
    await eventually(lambda: "1 delivered, 1 delayed, 0 answered" in sum_line(slack))
    await open_guests(sender, slack)
    assert "delayed (421 4.2.0 Service not available, try again later)" in row_of(slack, IVY)
    assert "keeps trying" in row_of(slack, IVY)

    await report(inbound_port, "dsn_bounce", IVY, quoting=to_ivy, to=to_ivy)
    await eventually(lambda: "1 delivered, 1 bounced, 0 answered" in sum_line(slack))

    await open_guests(sender, slack)
    assert "bounced (550 5.1.1 User unknown)" in row_of(slack, IVY)
    # Trouble first: the organizer sees the bounced guest at the top.
    assert IVY in guest_rows(slack)[0].split("\n")[0]


async def test_an_open_guests_view_follows_the_ledger_until_it_is_closed(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    mailbox.hold_answers_after(0)
    await invite_bob_and_ivy(sender, slack)
    await mailbox.wait_until_held()
    opened = await open_guests(sender, slack)
    opens = len(slack.calls_to("views.open"))
    assert ": queued" in row_of(slack, BOB)

    mailbox.answer_all()  # nobody presses anything: the view follows
    [to_ivy] = await wait_for_mails(mailbox, IVY, 1)
    await eventually(lambda: "accepted by the mail server" in row_of(slack, IVY))
    await eventually(lambda: "accepted by the mail server" in row_of(slack, BOB))
    assert len(slack.calls_to("views.open")) == opens
    assert guests_view(slack)["id"] == opened["id"]

    slack.close_view(opened["id"])
    await report(inbound_port, "dsn_bounce", IVY, quoting=to_ivy, to=to_ivy)
    # Slack says the closed view is gone; Meetbot forgets it and tries it no more.
    await eventually(lambda: any(error == "not_found" for _, error in slack.rejected()))
    assert meetbot.services is not None
    ledger = meetbot.services.ledger
    shown = shown_page(opened["view"])
    assert shown is not None
    meeting, _ = await ledger.of_meeting(TEAM_ID, ORGANIZER, shown[0])
    for _ in range(200):
        if await ledger.open_view(meeting) is None:
            break
        await asyncio.sleep(0.01)
    assert await ledger.open_view(meeting) is None


async def test_a_report_quoting_an_earlier_message_marks_that_message_not_the_latest(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await invite_bob_and_ivy(sender, slack)
    [invitation] = await wait_for_mails(mailbox, IVY, 1)
    await eventually(lambda: "2 delivered" in sum_line(slack))
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    later = in_days(3, hour=11)
    moved = {"start": int(later.timestamp()), "end": int((later + timedelta(hours=1)).timestamp())}
    assert (await sender.submit_view(ORGANIZER, form, **moved)).json() == {}
    _, update = await wait_for_mails(mailbox, IVY, 2)
    assert update.message["Message-ID"] != invitation.message["Message-ID"]
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()  # the update's acceptance is noted

    # A report naming Bob's message, sent to Ivy's return path, is believed for Ivy only,
    # and then only on her latest e-mail: the Message-ID is not one of hers.
    [to_bob, _] = mailbox.to(BOB)
    await report(inbound_port, "gmail_delay", IVY, quoting=to_bob, to=update)
    await eventually(lambda: "1 delayed" in sum_line(slack))
    await open_guests(sender, slack)
    first, second = row_of(slack, IVY).split("\n")[1:]
    assert "Invitation" in first and "accepted by the mail server" in first
    assert "Update" in second and "delayed" in second
    assert "delayed" not in row_of(slack, BOB)

    await report(inbound_port, "dsn_bounce", IVY, quoting=invitation, to=invitation)
    await open_guests(sender, slack)
    first, second = row_of(slack, IVY).split("\n")[1:]
    assert "Invitation" in first and "bounced (550 5.1.1 User unknown)" in first
    assert "Update" in second and "bounced" not in second


async def test_answers_count_in_the_sum_and_say_how_they_came(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await invite_bob_and_ivy(sender, slack)
    [to_bob] = await wait_for_mails(mailbox, BOB, 1)
    await eventually(lambda: sum_line(slack).endswith("2 delivered, 0 answered"))

    status, _ = await fetch("POST", answer_link(to_bob), {"answer": "accepted"})
    assert status == 200
    event = calendar_of(to_bob).walk("VEVENT")[0]
    reply = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=str(event["UID"]),
        guest=IVY,
        partstat="DECLINED",
        start=event.decoded("DTSTART"),
        end=event.decoded("DTEND"),
        authenticated=True,
    )
    await send_to_receiver(inbound_port, reply, MAILBOX, sender=IVY)
    await eventually(lambda: sum_line(slack).endswith("2 delivered, 2 answered"))
    # From the Home tab too, beside the meeting.
    home = await home_of(sender, slack, ORGANIZER)
    await sender.click_on_home(ORGANIZER, home, "ledger_guests")
    await eventually(lambda: len(slack.calls_to("views.open")) == 2)
    assert "accepted (on their answer page)" in row_of(slack, BOB)
    assert "declined (from their calendar, by e-mail)" in row_of(slack, IVY)


async def test_resend_sends_the_invitation_once_more_as_a_new_message_of_the_same_event(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_bob_and_ivy(sender, slack)
    [first] = await wait_for_mails(mailbox, IVY, 1)
    await eventually(lambda: "2 delivered" in sum_line(slack))
    await open_guests(sender, slack)

    mailbox.hold_answers_after(0)
    await press(sender, slack, "ledger_resend", IVY)
    await mailbox.wait_until_held()
    await press(sender, slack, "ledger_resend", IVY)  # pressed again while it is on its way
    # The view also follows the ledger by itself; the press's own answer comes with a note.
    await eventually(lambda: "It is already on its way." in texts(guests_view(slack)["view"]))
    mailbox.answer_all()

    await eventually(lambda: "2 delivered" in sum_line(slack))
    assert meetbot.services is not None
    await meetbot.services.outbox.drain()
    [_, again] = mailbox.to(IVY)
    assert again.message["Message-ID"] != first.message["Message-ID"]
    old, new = calendar_of(first).walk("VEVENT")[0], calendar_of(again).walk("VEVENT")[0]
    assert (new["UID"], new["SEQUENCE"]) == (old["UID"], old["SEQUENCE"])
    await open_guests(sender, slack)
    assert row_of(slack, IVY).count("accepted by the mail server") == 2


async def test_fix_address_invites_the_right_one_and_takes_back_the_wrong_one(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_bob_and_ivy(sender, slack)
    [to_bob] = await wait_for_mails(mailbox, BOB, 1)
    await eventually(lambda: "2 delivered" in sum_line(slack))
    await open_guests(sender, slack)

    await press(sender, slack, "ledger_fix", BOB)
    form = slack.calls_to("views.push")[-1].args["view"]
    refused = await sender.submit_view(ORGANIZER, form, address=IVY)
    assert refused.json()["response_action"] == "errors"
    assert "invited already" in refused.json()["errors"]["address"]
    refused = await sender.submit_view(ORGANIZER, form, address="not an address")
    assert "is not an e-mail address" in refused.json()["errors"]["address"]

    answer = await sender.submit_view(ORGANIZER, form, address="Bob Client <bob@client2.example>")
    assert answer.json() == {}
    [invitation] = await wait_for_mails(mailbox, "bob@client2.example", 1)
    assert str(calendar_of(invitation)["METHOD"]) == "REQUEST"
    # The wrong address had the invitation, so it hears it is taken back.
    _, cancellation = await wait_for_mails(mailbox, BOB, 2)
    assert str(calendar_of(cancellation)["METHOD"]) == "CANCEL"
    note = "Invited bob@client2.example instead. bob@client.example was sent a cancellation."
    await eventually(lambda: note in texts(guests_view(slack)["view"]))
    invited = [row.split("\n")[0] for row in guest_rows(slack)]
    assert len(invited) == 2 and any("bob@client2.example" in row for row in invited)
    assert not any(BOB in row for row in invited)
    assert to_bob.recipients == (BOB,)


async def test_a_bounced_address_fixed_gets_no_cancellation(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    await invite_bob_and_ivy(sender, slack)
    [to_ivy] = await wait_for_mails(mailbox, IVY, 1)
    await eventually(lambda: "2 delivered" in sum_line(slack))
    await report(inbound_port, "dsn_bounce", IVY, quoting=to_ivy, to=to_ivy)
    await eventually(lambda: "1 bounced" in sum_line(slack))
    await open_guests(sender, slack)

    await press(sender, slack, "ledger_fix", IVY)
    form = slack.calls_to("views.push")[-1].args["view"]
    answer = await sender.submit_view(ORGANIZER, form, address="ivy@somewhere.example")
    assert answer.json() == {}
    await wait_for_mails(mailbox, "ivy@somewhere.example", 1)
    note = "Nothing reached ivy@nowhere.example, so it gets no cancellation."
    await eventually(lambda: note in texts(guests_view(slack)["view"]))
    assert len(mailbox.to(IVY)) == 1
