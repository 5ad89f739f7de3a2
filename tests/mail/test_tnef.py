"""Outlook's winmail.dat (TNEF) answers: read as answers and recorded like any reply, within
a budget no stream can break, and kept for a person when they hold no answer."""

from __future__ import annotations

import email.policy
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Meetbot
from bot.mail.inbound import read_inbound
from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.mail.test_replies import BOB, MAILBOX, START, invite_bob_and_ivy, organizer_dms
from tests.support import tnef
from tests.support.dkim import authentication_results
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, summary, texts
from tests.support.replies import quarantined, send_to_receiver
from tests.support.signed import SlackSender

UID = "0b5a8c1e-7d1f-4a8e-9f0e-2c3d4e5f6a7b@meetbot.example"


def mailed(winmail: bytes, *, text: str = "", authenticated: bool = False) -> bytes:
    """Return Bob's Outlook e-mail around a winmail.dat, as it reaches Meetbot's mailbox."""
    message = tnef.outlook_reply(
        winmail,
        sender=f"Bob Client <{BOB}>",
        to=MAILBOX,
        subject="Accepted: Design review",
        text=text,
    )
    raw = message.as_bytes(policy=email.policy.SMTP)
    return authentication_results("client.example") + raw if authenticated else raw


@pytest.mark.parametrize("legacy_class", [False, True])
@pytest.mark.parametrize("partstat", ["ACCEPTED", "TENTATIVE", "DECLINED"])
def test_an_outlook_answer_in_winmail_dat_is_read_as_the_senders_reply(
    partstat: str, legacy_class: bool
) -> None:
    winmail = tnef.meeting_answer(UID, partstat, sequence=2, legacy_class=legacy_class)

    mail = read_inbound(mailed(winmail))

    [answer] = mail.answers
    assert (answer.method, answer.uid, answer.sequence) == ("REPLY", UID, 2)
    assert (answer.attendee, answer.partstat) == (BOB, partstat)
    assert answer.recurrence_id is None and mail.unread_tnef == ""


def test_the_note_comes_from_the_stream_or_else_from_the_text_part() -> None:
    in_stream = tnef.meeting_answer(UID, "DECLINED", note="Sorry, travelling that week")
    only_text = tnef.meeting_answer(UID, "DECLINED")

    [from_stream] = read_inbound(mailed(in_stream)).answers
    [from_text] = read_inbound(mailed(only_text, text="On leave, ask Ana instead")).answers

    assert from_stream.comment == "Sorry, travelling that week"
    assert from_text.comment == "On leave, ask Ana instead"


def test_an_answer_to_one_meeting_of_a_series_names_that_meeting() -> None:
    occurrence = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)

    [answer] = read_inbound(
        mailed(tnef.meeting_answer(UID, "DECLINED", occurrence=occurrence))
    ).answers

    assert answer.recurrence_id == occurrence


def test_a_proposed_new_time_is_read_as_a_counter() -> None:
    proposed = (datetime(2027, 1, 12, 14, 0, tzinfo=UTC), datetime(2027, 1, 12, 15, 0, tzinfo=UTC))

    [answer] = read_inbound(
        mailed(tnef.meeting_answer(UID, "TENTATIVE", proposed=proposed))
    ).answers

    assert answer.method == "COUNTER"
    assert (answer.proposed_start, answer.proposed_end) == proposed


def test_a_winmail_dat_with_a_date_out_of_range_is_refused_as_bad_input() -> None:
    far = datetime(9999, 12, 31, tzinfo=UTC)

    mail = read_inbound(mailed(tnef.meeting_answer(UID, proposed=(far, far))))

    assert mail.answers == [] and any("out of range" in r for r in mail.refusals)


def test_a_winmail_dat_holding_only_a_file_is_no_answer() -> None:
    mail = read_inbound(mailed(tnef.file_only()))

    assert mail.answers == [] and "no meeting answer" in mail.unread_tnef


def test_a_stream_declaring_billions_of_properties_is_given_up_within_its_budget() -> None:
    began = time.monotonic()

    mail = read_inbound(mailed(tnef.property_bomb()))

    assert mail.answers == [] and "budget" in mail.unread_tnef
    assert time.monotonic() - began < 10


async def test_an_authenticated_outlook_accept_in_winmail_dat_is_recorded(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    winmail = tnef.meeting_answer(uid, "ACCEPTED", note="Looking forward to it")

    await send_to_receiver(inbound_port, mailed(winmail, authenticated=True), MAILBOX, sender=BOB)

    await eventually(lambda: "1 accepted" in texts(summary(slack)))
    await eventually(lambda: any("Looking forward" in dm for dm in organizer_dms(slack)))


async def test_an_unauthenticated_winmail_dat_proposal_goes_to_the_organizer(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot, inbound_port: int
) -> None:
    uid = await invite_bob_and_ivy(sender, slack, mailbox)
    proposed = START + timedelta(days=1)
    winmail = tnef.meeting_answer(
        uid, "TENTATIVE", proposed=(proposed, proposed + timedelta(minutes=45))
    )

    await send_to_receiver(inbound_port, mailed(winmail), MAILBOX, sender=BOB)

    await eventually(lambda: len(slack.messages(slack.dm_channel(ORGANIZER))) > 1)
    asked = texts(slack.messages(slack.dm_channel(ORGANIZER))[1])
    assert BOB in asked
    assert "2 no answer yet" in texts(summary(slack))


async def test_a_winmail_dat_without_an_answer_is_kept_for_a_person_with_the_reason(
    meetbot: Meetbot, inbound_port: int, quarantine_dir: Path
) -> None:
    raw = mailed(tnef.file_only(), authenticated=True)

    await send_to_receiver(inbound_port, raw, MAILBOX, sender=BOB)

    [(kept, reason)] = quarantined(quarantine_dir)
    assert kept == raw
    assert "winmail.dat (TNEF)" in reason and "no meeting answer" in reason
