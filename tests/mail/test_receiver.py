"""The built-in SMTP receiver holds up against abuse: bounded sessions and recipients,
big messages read off the event loop, and what it cannot act on kept for a person."""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import text

from bot.app import Meetbot
from bot.mail.receiver import MAX_RECIPIENTS, MAX_SESSIONS
from tests.fakes.slack_api import FakeSlack
from tests.mail.test_replies import BOB, END, MAILBOX, START, invite_bob_and_ivy
from tests.support.dkim import authentication_results
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, summary, texts
from tests.support.replies import quarantined, render, send_to_receiver
from tests.support.signed import SlackSender


async def greeting(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    """Open a connection to the receiver and return its first line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return await asyncio.wait_for(reader.readline(), 5), writer


@contextlib.asynccontextmanager
async def loop_watch() -> AsyncIterator[list[float]]:
    """Yield the longest gap so far between ticks of a task that wants to run every 20 ms."""
    longest = [0.0]
    loop = asyncio.get_running_loop()

    async def tick() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.02)
            now = loop.time()
            longest[0] = max(longest[0], now - last)
            last = now

    ticker = asyncio.create_task(tick())
    try:
        yield longest
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


def counter(uid: str, dtstart: str, sequence: str, *, dtend: str | None = None) -> bytes:
    """Return Bob's authenticated COUNTER with the given values, as his server passes it on."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Evil//Poison 1.0//EN",
        "METHOD:COUNTER",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        "DTSTAMP:20261126T120000Z",
        f"DTSTART:{dtstart}",
        *([f"DTEND:{dtend}"] if dtend else []),
        f"ATTENDEE;PARTSTAT=TENTATIVE:mailto:{BOB}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    message = EmailMessage()
    message["From"] = f"Bob Client <{BOB}>"
    message["To"] = MAILBOX
    message["Subject"] = "New time proposed: Design review"
    message.set_content("How about then?")
    message.add_alternative(
        "\r\n".join(lines).encode(),
        maintype="text",
        subtype="calendar",
        params={"method": "COUNTER"},
    )
    return authentication_results("client.example") + message.as_bytes(policy=email.policy.SMTP)


def big_calendars(parts: int, size: int) -> bytes:
    """Return a message of many large calendar parts, as the attacker sent."""
    message = EmailMessage()
    message["From"] = "mallory@evil.example"
    message["To"] = MAILBOX
    message["Subject"] = "Calendars"
    message.set_content("see attached")
    padding = ("X-PAD:" + "A" * 68 + "\r\n") * (size // 76)
    calendar = f"BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\n{padding}END:VEVENT\r\n"
    for index in range(parts):
        message.add_attachment(
            (calendar + "END:VCALENDAR\r\n").encode(),
            maintype="text",
            subtype="calendar",
            filename=f"part{index}.ics",
            cte="7bit",
        )
    return message.as_bytes(policy=email.policy.SMTP)


@pytest.mark.parametrize(("parts", "size"), [(9, 1_000_000), (36, 250_000)])
async def test_a_nine_megabyte_message_does_not_stall_the_event_loop(
    parts: int,
    size: int,
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    raw = big_calendars(parts, size)
    assert 8_500_000 < len(raw) < 10 * 1024 * 1024

    async with loop_watch() as longest:
        await send_to_receiver(inbound_port, raw, MAILBOX, sender="mallory@evil.example")
        reply = render(
            "gmail_reply",
            organizer=MAILBOX,
            uid=uid,
            guest=BOB,
            start=START,
            end=END,
            authenticated=True,
        )
        await send_to_receiver(inbound_port, reply, MAILBOX, sender=BOB)
        await eventually(lambda: "1 accepted" in texts(summary(slack)))

    assert longest[0] < 1.0


@pytest.mark.parametrize(
    ("dtstart", "sequence", "why"),
    [
        ("99991231T000000Z", "0", "DTSTART 9999-12-31 is out of range"),
        ("20261201T100000Z", str(2**70), "SEQUENCE 1180591620"),
        ("20990101T100000Z", "0", "out of range"),
    ],
)
async def test_a_poison_counter_is_accepted_and_quarantined_not_retried(
    dtstart: str,
    sequence: str,
    why: str,
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
    quarantine_dir: Path,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    poison = counter(uid, dtstart, sequence)

    await send_to_receiver(inbound_port, poison, MAILBOX, sender=BOB)  # 250, not 451

    [(kept, reason)] = quarantined(quarantine_dir)
    assert kept == poison
    assert "bad input" in reason or "COUNTER" in reason
    assert why in reason
    reply = render(
        "gmail_reply",
        organizer=MAILBOX,
        uid=uid,
        guest=BOB,
        start=START,
        end=END,
        authenticated=True,
    )
    await send_to_receiver(inbound_port, reply, MAILBOX, sender=BOB)
    await eventually(lambda: "1 accepted" in texts(summary(slack)))


async def test_a_winmail_dat_reply_is_kept_for_a_person_with_the_reason(
    meetbot: Meetbot, inbound_port: int, quarantine_dir: Path
) -> None:
    message = EmailMessage()
    message["From"] = f"Bob Client <{BOB}>"
    message["To"] = MAILBOX
    message["Subject"] = "Accepted: Design review"
    message.set_content("")
    message.add_attachment(
        b"\x78\x9f\x3e\x22" + bytes(200),
        maintype="application",
        subtype="ms-tnef",
        filename="winmail.dat",
    )

    await send_to_receiver(
        inbound_port, message.as_bytes(policy=email.policy.SMTP), MAILBOX, sender=BOB
    )

    [(_, reason)] = quarantined(quarantine_dir)
    assert "winmail.dat (TNEF)" in reason


async def test_connections_beyond_the_cap_are_told_421(meetbot: Meetbot, inbound_port: int) -> None:
    opened = [await greeting(inbound_port) for _ in range(MAX_SESSIONS)]
    try:
        assert all(line.startswith(b"220") for line, _ in opened)
        refused, writer = await greeting(inbound_port)
        assert refused.startswith(b"421")
        writer.close()
    finally:
        for _, writer in opened:
            writer.close()
            await writer.wait_closed()

    async def welcomed() -> bool:
        line, writer = await greeting(inbound_port)
        writer.close()
        await writer.wait_closed()
        return line.startswith(b"220")

    for _ in range(100):  # the closed sessions are counted out as their ends arrive
        if await welcomed():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the receiver did not take new sessions after the old ones closed")


async def test_recipients_beyond_the_cap_are_told_452(meetbot: Meetbot, inbound_port: int) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=inbound_port, start_tls=False) as client:
        await client.mail("someone@client.example")
        for index in range(MAX_RECIPIENTS):
            accepted = await client.rcpt(f"invites+{index}@meetbot.example")
            assert accepted.code == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("invites@meetbot.example")
        assert refused.value.code == 452


async def test_a_message_that_keeps_failing_on_our_side_is_kept_after_three_tries(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    inbound_port: int,
    quarantine_dir: Path,
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    # Our own failure: the table held answers go to is gone.
    async with meetbot.engine.begin() as connection:
        await connection.execute(text("DROP TABLE held_replies"))
    unverified = render("gmail_reply", organizer=MAILBOX, uid=uid, guest=BOB, start=START, end=END)

    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError) as retry:
            await send_to_receiver(inbound_port, unverified, MAILBOX, sender=BOB)
        assert retry.value.code == 451
    await send_to_receiver(inbound_port, unverified, MAILBOX, sender=BOB)

    [(kept, reason)] = quarantined(quarantine_dir)
    assert kept == unverified and "failed 3 times" in reason
