"""Replies and bounces that wait in an ordinary mailbox, fetched over IMAP (a real Dovecot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

from bot.app import Meetbot
from bot.mail.imap import BATCH_SIZE
from tests.conftest import ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.mail.test_receiver import counter
from tests.support.dkim import KEYS
from tests.support.flows import in_days, send_invitations
from tests.support.imap import ImapServer, running_dovecot
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    calendar_of,
    eventually,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.replies import render
from tests.support.signed import SlackSender

MAILBOX = "invites@meetbot.example"
BOB = "bob@client.example"
START = in_days(4, hour=10)


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    """Run one Dovecot for this module's tests."""
    with running_dovecot() as server:
        yield server


@pytest.fixture(params=["imaps", "imap+starttls"])
async def polling_meetbot(
    request: pytest.FixtureRequest,
    imap_server: ImapServer,
    database_url: str,
    slack: FakeSlack,
    mailbox: Mailbox,
    app_port: int,
) -> AsyncIterator[Meetbot]:
    """Run the app polling the IMAP mailbox every few tenths of a second."""
    imap_server.clear()
    url = imap_server.imaps_url if request.param == "imaps" else imap_server.imap_url
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_IMAP_URL=url,
            MEETBOT_MAIL_CA_FILE=str(imap_server.cafile),
            MEETBOT_IMAP_INTERVAL=0.3,
        ),
        dkim_resolver=KEYS.resolve,
    )
    await app.start()
    yield app
    await app.stop()


async def test_replies_in_the_mailbox_are_recorded_and_nothing_is_deleted(
    polling_meetbot: Meetbot, imap_server: ImapServer, slack: FakeSlack, mailbox: Mailbox
) -> None:
    sender = SlackSender(polling_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
    await send_invitations(sender, slack, ORGANIZER, start=START, guests=f"Bob Client <{BOB}>")
    await wait_for_summary(slack)
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    uid = str(calendar_of(invitation).walk("VEVENT")[0]["UID"])
    end = START.replace(minute=45)

    newsletter = b"From: news@shop.example\r\nSubject: Sale!\r\n\r\nBuy now.\r\n"
    await asyncio.to_thread(imap_server.append, newsletter)
    await asyncio.to_thread(imap_server.append, b"\x00\x01 not mail at all \xff")
    reply = render(
        "outlook_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        comment="On leave",
        start=START,
        end=end,
        authenticated=True,
    )
    await asyncio.to_thread(imap_server.append, reply)
    out_of_office = render("out_of_office", organizer=MAILBOX, sender=BOB)
    await asyncio.to_thread(imap_server.append, out_of_office)

    await eventually(lambda: "1 declined" in texts(summary(slack)), timeout=15)

    async def all_marked() -> list[tuple[bytes, set[str]]]:
        for _ in range(100):
            messages = await asyncio.to_thread(imap_server.messages)
            if all(flags & {"$MeetbotDone", "$MeetbotSkipped"} for _, flags in messages):
                return messages
            await asyncio.sleep(0.1)
        raise AssertionError("the poller did not mark every message")

    messages = await all_marked()
    assert len(messages) == 4
    by_subject = {
        raw.split(b"Subject: ", 1)[-1].split(b"\r\n", 1)[0]: flags for raw, flags in messages
    }
    assert {"\\Seen", "$MeetbotDone"} <= by_subject[b"Declined: Design review"]
    assert "$MeetbotDone" in by_subject[b"Out of Office: Invitation: Design review"]
    assert "$MeetbotSkipped" in by_subject[b"Sale!"] and "\\Seen" not in by_subject[b"Sale!"]


async def test_a_refused_login_is_logged_and_retried_and_leaves_mail_untouched(
    imap_server: ImapServer, database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> None:
    imap_server.clear()
    wrong = imap_server.imaps_url.replace(":inbox-secret-1@", ":wrong-password@")
    app = Meetbot(
        make_settings(
            database_url,
            slack,
            mailbox,
            app_port,
            MEETBOT_IMAP_URL=wrong,
            MEETBOT_MAIL_CA_FILE=str(imap_server.cafile),
            MEETBOT_IMAP_INTERVAL=0.2,
        )
    )
    await asyncio.to_thread(imap_server.append, b"From: a@b.example\r\nSubject: x\r\n\r\nhi\r\n")
    await app.start()
    try:
        await asyncio.sleep(0.8)  # a few refused polls; they are logged, not fatal
        assert app.scheduler.get_job("imap") is not None
    finally:
        await app.stop()
    [(_, flags)] = await asyncio.to_thread(imap_server.messages)
    assert not flags & {"\\Seen", "$MeetbotDone", "$MeetbotSkipped"}
    refused = imap_server.log_path.read_text().count("auth failed, 1 attempts")
    assert refused >= 2  # polled again after the first refusal


def append_all(server: ImapServer, messages: list[bytes]) -> None:
    """Append many messages over one connection, oldest first."""
    client = server.connect()
    try:
        for raw in messages:
            client.append("INBOX", None, None, raw)
    finally:
        client.logout()


async def test_poison_counters_are_skipped_and_newer_mail_is_still_read(
    polling_meetbot: Meetbot, imap_server: ImapServer, slack: FakeSlack, mailbox: Mailbox
) -> None:
    sender = SlackSender(polling_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
    await send_invitations(sender, slack, ORGANIZER, start=START, guests=f"Bob Client <{BOB}>")
    await wait_for_summary(slack)
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    uid = str(calendar_of(invitation).walk("VEVENT")[0]["UID"])
    # More poison than one poll takes, then Bob's real answer behind it.
    poison = [
        counter(uid, "99991231T000000Z", "0").replace(b"How about then?", f"#{n}".encode())
        for n in range(BATCH_SIZE + 10)
    ]
    reply = render(
        "outlook_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        partstat="DECLINED",
        start=START,
        end=START.replace(minute=45),
        authenticated=True,
    )
    await asyncio.to_thread(append_all, imap_server, [*poison, reply])

    await eventually(lambda: "1 declined" in texts(summary(slack)), timeout=30)

    async def poison_flags() -> list[set[str]]:
        # The poll marks its batch once every message in it is done: wait for the last mark.
        for _ in range(100):
            messages = await asyncio.to_thread(imap_server.messages)
            kept = [flags for raw, flags in messages if b"Subject: New time proposed" in raw]
            if all("$MeetbotSkipped" in flags for flags in kept):
                return kept
            await asyncio.sleep(0.1)
        raise AssertionError("the poller did not flag every poison message")

    kept = await poison_flags()
    assert len(kept) == BATCH_SIZE + 10
    assert all("\\Seen" not in flags for flags in kept)


async def test_a_message_that_keeps_failing_on_our_side_is_left_for_a_person(
    polling_meetbot: Meetbot, imap_server: ImapServer, slack: FakeSlack, mailbox: Mailbox
) -> None:
    sender = SlackSender(polling_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
    await send_invitations(sender, slack, ORGANIZER, start=START, guests=f"Bob Client <{BOB}>")
    await wait_for_summary(slack)
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    uid = str(calendar_of(invitation).walk("VEVENT")[0]["UID"])
    # Our own failure: the table held answers go to is gone.
    async with polling_meetbot.engine.begin() as connection:
        await connection.execute(text("DROP TABLE held_replies"))
    end = START.replace(minute=45)
    unverified = render(
        "outlook_reply", organizer=MAILBOX, uid=uid, guest=BOB, start=START, end=end
    )
    verified = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        start=START,
        end=end,
        authenticated=True,
    )
    await asyncio.to_thread(append_all, imap_server, [unverified, verified])

    await eventually(lambda: "1 accepted" in texts(summary(slack)), timeout=15)

    async def left_for_a_person() -> set[str]:
        for _ in range(100):
            messages = await asyncio.to_thread(imap_server.messages)
            flags = next(f for raw, f in messages if b"Subject: Declined" in raw)
            if "$MeetbotSkipped" in flags:
                return flags
            await asyncio.sleep(0.1)
        raise AssertionError("the failing message was never left for a person")

    assert "\\Seen" not in await left_for_a_person()
