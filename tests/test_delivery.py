"""Deliveries survive a mail server that is down and give up on addresses that do not exist."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.app import Meetbot
from storage.models import OutboxEntry
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.signed import SlackSender


async def guest_deliveries(meetbot: Meetbot) -> list[OutboxEntry]:
    """Return the outbox entries of guest invitations."""
    async with meetbot.sessions() as session:
        rows = await session.scalars(
            select(OutboxEntry).where(OutboxEntry.kind == "guest_invitation")
        )
        return list(rows)


async def outbox_states(meetbot: Meetbot) -> dict[str, str]:
    """Return each guest invitation's delivery state, by attendee."""
    return {str(row.attendee_id): row.state for row in await guest_deliveries(meetbot)}


async def test_an_invitation_waits_out_a_mail_server_outage(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    mailbox.stop()
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    deliveries: list[OutboxEntry] = []
    for _ in range(100):
        deliveries = await guest_deliveries(meetbot)
        if deliveries and deliveries[0].attempts:
            break
        await asyncio.sleep(0.05)
    [delivery] = deliveries
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error and "Connect" in delivery.last_error

    mailbox.start()
    mails = await mailbox.wait_for(1, timeout=30)
    assert mails[0].recipients == ("bob@client.example",)


async def test_an_address_the_server_refuses_is_given_up_while_others_arrive(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    mailbox.refuse("ivy@nowhere.example")

    await send_invitations(
        sender, slack, ORGANIZER, guests="ivy@nowhere.example, bob@client.example"
    )

    mails = await mailbox.wait_for(1)
    assert [m.recipients for m in mails] == [("bob@client.example",)]
    for _ in range(100):
        states = sorted((await outbox_states(meetbot)).values())
        if states == ["failed", "sent"]:
            break
        await asyncio.sleep(0.05)
    assert states == ["failed", "sent"]


async def test_every_guest_of_a_large_meeting_gets_one_invitation(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    guests = [f"guest{n}@client{n % 3}.example" for n in range(120)]

    await send_invitations(sender, slack, ORGANIZER, guests="\n".join(guests))

    await mailbox.wait_for(len(guests), timeout=60)
    for _ in range(100):
        deliveries = await guest_deliveries(meetbot)
        if all(row.state == "sent" for row in deliveries):
            break
        await asyncio.sleep(0.05)
    assert sorted(r for m in mailbox.received for r in m.recipients) == sorted(guests)
    assert len({m.message["Message-ID"] for m in mailbox.received}) == len(guests)
    assert len(deliveries) == len(guests)
    assert all(row.state == "sent" and row.attempts == 1 for row in deliveries)
