"""A `meetbot run` killed mid-send, or asked to stop, leaves every invitee one invitation."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from bot.outbox.queue import MARK_EVERY
from bot.outbox.worker import MAILS_IN_FLIGHT
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, texts
from tests.support.network import free_port
from tests.support.processes import (
    RunningMeetbot,
    meetbot_environment,
    nothing_owed,
    owed_messages,
    start_meetbot,
    wait_until,
)
from tests.support.signed import SlackSender

GUESTS = [f"guest{n}@client.example" for n in range(12)]
# Short, so a delivery the killed process had taken comes back within the test.
LEASE_SECONDS = "2"


def message_ids_by_recipient(mailbox: Mailbox) -> dict[str, list[str]]:
    """Return the Message-ID of every copy each address received."""
    copies: dict[str, list[str]] = {}
    for mail in mailbox.received:
        for recipient in mail.recipients:
            copies.setdefault(recipient, []).append(str(mail.message["Message-ID"]))
    return copies


async def test_a_kill_mid_send_leaves_each_guest_one_invitation(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    env = meetbot_environment(
        database_url, slack, mailbox, port, MEETBOT_OUTBOX_LEASE_SECONDS=LEASE_SECONDS
    )
    first = await start_meetbot(env, tmp_path, port, "first")
    try:
        # Four invitations are answered at once, then the server keeps the sender waiting.
        mailbox.hold_answers_after(4)
        sender = SlackSender(first.url, SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, members=[ANA], guests="\n".join(GUESTS))
        await mailbox.wait_until_held()
    finally:
        await first.kill()

    received_before = {r for mail in mailbox.received for r in mail.recipients}
    owed = await owed_messages(database_url, "guest_invitation")
    # In flight at the kill: the server has the message, the database still owes it. The
    # outbox sends a few at once and records deliveries together within milliseconds, so
    # that is at most those few.
    in_flight = {row.email for row in owed if row.state == "pending"} & received_before
    assert 1 <= len(in_flight) <= MAILS_IN_FLIGHT + MARK_EVERY, (in_flight, owed)
    assert 4 < len(received_before) < len(GUESTS)

    mailbox.answer_all()
    second = await start_meetbot(env, tmp_path, port, "second")
    try:
        await wait_until(lambda: nothing_owed(database_url), timeout=30)
    finally:
        assert await second.terminate() == 0

    copies = message_ids_by_recipient(mailbox)
    assert sorted(copies) == sorted(GUESTS)
    # Never two different messages for one change: a second copy is the same message again.
    assert {guest: len(set(ids)) for guest, ids in copies.items()} == dict.fromkeys(GUESTS, 1)
    # Only deliveries not yet recorded at the kill went again, at most the few in flight
    # (counted at the kill, the server may still have been reading the last of them).
    doubled = Counter({guest: len(ids) - 1 for guest, ids in copies.items() if len(ids) > 1})
    assert set(doubled) <= {row.email for row in owed if row.state == "pending"}
    assert sum(doubled.values()) <= MAILS_IN_FLIGHT + MARK_EVERY
    # The DM and summary went out before any e-mail: Ana was invited exactly once.
    assert len(slack.messages(slack.dm_channel(ANA))) == 1
    assert "Traceback" not in second.log()


async def test_sigterm_finishes_the_send_in_flight_and_takes_no_new_one(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    env = meetbot_environment(database_url, slack, mailbox, port)
    first = await start_meetbot(env, tmp_path, port, "first")
    try:
        mailbox.hold_answers_after(2)
        sender = SlackSender(first.url, SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, guests="\n".join(GUESTS))
        await mailbox.wait_until_held()
        first.process.send_signal(signal.SIGTERM)
        await wait_until(lambda: logged(first, "stopping"), timeout=10)
        # The server answers only now: the process must still be there to hear it.
        mailbox.answer_all()
        status = await asyncio.wait_for(first.process.wait(), 20)
    finally:
        if first.process.returncode is None:
            await first.kill()
    assert status == 0
    assert "Traceback" not in first.log()
    owed = await owed_messages(database_url, "guest_invitation")
    states = {row.email: row.state for row in owed}
    delivered = [r for mail in mailbox.received for r in mail.recipients]
    # What the server had when the signal came was finished and recorded, so it is never
    # sent again; what had been handed to the mail session still went, nothing more.
    assert [states[guest] for guest in delivered] == ["sent"] * len(delivered)
    assert 2 < len(delivered) <= 2 + MAILS_IN_FLIGHT
    # Stopping means no new sends: the rest waits in the database for the next start.
    assert sorted(states.values()).count("pending") == len(GUESTS) - len(delivered) > 0

    second = await start_meetbot(env, tmp_path, port, "second")
    try:
        await wait_until(lambda: nothing_owed(database_url), timeout=30)
    finally:
        assert await second.terminate() == 0
    copies = message_ids_by_recipient(mailbox)
    assert {guest: len(ids) for guest, ids in copies.items()} == dict.fromkeys(GUESTS, 1)


async def logged(meetbot: RunningMeetbot, text: str) -> bool:
    """Tell whether the process has logged a line containing `text`."""
    return text in meetbot.log()


async def test_a_kill_while_slack_posts_a_dm_leaves_the_member_one_invitation_to_answer(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, tmp_path: Path
) -> None:
    port = free_port()
    env = meetbot_environment(
        database_url, slack, mailbox, port, MEETBOT_OUTBOX_LEASE_SECONDS=LEASE_SECONDS
    )
    first = await start_meetbot(env, tmp_path, port, "first")
    try:
        # Slack posts Ana's invitation, but the process dies before it hears where.
        slack.hold_answers(
            "chat.postMessage", lambda args: args["channel"] == slack.dm_channel(ANA)
        )
        sender = SlackSender(first.url, SIGNING_SECRET, slack, TEAM_ID)
        await send_invitations(sender, slack, ORGANIZER, members=[ANA], guests=GUESTS[0])
        await slack.wait_until_held()
    finally:
        await first.kill()
    slack.release_answers()
    assert len(slack.messages(ANA)) == 1

    second = await start_meetbot(env, tmp_path, port, "second")
    try:
        await wait_until(lambda: nothing_owed(database_url), timeout=30)
        # The new process finds the post the dead one made (its DM history, by the post's
        # metadata) and adopts it: Ana has one invitation, kept up to date.
        [invitation] = slack.messages(ANA)
        assert "invites you to *Design review*" in texts(invitation)
        sender = SlackSender(second.url, SIGNING_SECRET, slack, TEAM_ID)
        await sender.click(ANA, invitation, slack.dm_channel(ANA), "answer_accepted")
        await eventually(lambda: "Your answer: *accepted*" in texts(slack.messages(ANA)[0]))
        await eventually(lambda: f"<@{ANA}> accepted" in texts(slack.messages(ORGANIZER)[-1]))
    finally:
        assert await second.terminate() == 0
    assert len(slack.messages(ANA)) == 1
    assert len(slack.calls_to("conversations.history")) == 1  # looked only for that entry
    assert [m.recipients for m in mailbox.received] == [(GUESTS[0],)]
