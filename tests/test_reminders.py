"""Reminders shortly before a meeting: who gets one, and how they follow changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Meetbot
from storage.models import Event
from tests.conftest import ANA, BEN, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import open_create_form, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import dm_of, eventually, open_form_from, summary, wait_for_summary
from tests.support.signed import SlackSender

LEAD = timedelta(seconds=2)


def reminders_to(slack: FakeSlack, user_id: str) -> list[str]:
    """Return the reminder DMs a person received."""
    return [
        m.get("text", "")
        for m in slack.messages(slack.dm_channel(user_id))
        if m.get("text", "").startswith("Reminder")
    ]


def soon(lead: timedelta = LEAD) -> datetime:
    """Return a start whose five-minute reminder is due in a moment."""
    return datetime.now(UTC) + timedelta(minutes=5) + lead


async def test_members_who_did_not_decline_are_reminded_and_guests_only_when_asked(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=soon(),
        reminder="5",
        members=[ANA, BEN],
        guests="bob@client.example",
    )
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(BEN))
    await sender.click(BEN, dm_of(slack, BEN), slack.dm_channel(BEN), "answer_declined")
    await mailbox.wait_for(1)

    await eventually(lambda: reminders_to(slack, ANA) != [], timeout=15)
    await asyncio.sleep(0.5)
    assert reminders_to(slack, ANA) == ["Reminder: Design review starts soon"]
    assert reminders_to(slack, BEN) == []
    assert len(mailbox.to("bob@client.example")) == 1


async def test_guests_get_a_reminder_email_when_the_organizer_asks(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(
        sender,
        slack,
        ORGANIZER,
        start=soon(),
        reminder="5",
        remind_guests=True,
        guests="bob@client.example",
    )

    mails = await mailbox.wait_for(2, timeout=15)
    reminder = mails[1].message
    assert reminder["Subject"].startswith("Reminder: Design review")
    assert "starts soon" in reminder.get_body(("plain",)).get_content()


async def test_a_reminder_moves_with_the_time_and_vanishes_on_cancel(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(
        sender, slack, ORGANIZER, title="Moved", start=soon(), reminder="5", members=[ANA]
    )
    await wait_for_summary(slack)
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    later = soon() + timedelta(days=1)
    await sender.submit_view(
        ORGANIZER,
        form,
        start=int(later.timestamp()),
        end=int((later + timedelta(hours=1)).timestamp()),
    )
    await asyncio.sleep(LEAD.total_seconds() + 1.5)
    assert reminders_to(slack, ANA) == []


async def test_no_reminder_for_a_cancelled_meeting(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, start=soon(), reminder="5", members=[ANA])
    await wait_for_summary(slack)
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "cancel_meeting")
    await sender.submit_view(ORGANIZER, form)

    await asyncio.sleep(LEAD.total_seconds() + 1.5)
    assert reminders_to(slack, ANA) == []


async def test_a_reminder_due_while_meetbot_was_stopped_goes_out_after_the_restart(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    restart: Callable[[], Awaitable[Meetbot]],
) -> None:
    lead = timedelta(seconds=5)
    await send_invitations(sender, slack, ORGANIZER, start=soon(lead), reminder="5", members=[ANA])
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    await meetbot.stop()
    await asyncio.sleep(lead.total_seconds() + 0.5)
    assert reminders_to(slack, ANA) == []

    await restart()
    await eventually(lambda: reminders_to(slack, ANA) != [], timeout=10)


async def test_a_series_starting_sooner_than_its_reminder_is_reminded_from_the_next_meeting(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    # The first meeting starts in two minutes; its fifteen-minute reminder time has passed.
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=3)
    view = await open_create_form(sender, slack, ORGANIZER)
    answer = await sender.submit_view(
        ORGANIZER,
        view,
        title="Standup",
        start=int(start.timestamp()),
        end=int((start + timedelta(minutes=15)).timestamp()),
        members=[ANA],
        reminder="15",
        repeats="daily",
        repeat_count="5",
    )
    assert answer.status == 200
    await wait_for_summary(slack)

    # The scheduler's next reminder is the second meeting's, not none at all.
    async with meetbot.sessions() as session:
        [due] = (await session.scalars(select(Event.reminder_due_at))).all()
    assert due == start + timedelta(days=1) - timedelta(minutes=15)
