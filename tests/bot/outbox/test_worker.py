"""What a drain of the outbox delivers, and what people see when a delivery cannot go out."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import icalendar
import pytest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from sqlalchemy import update

from bot.app import Meetbot
from bot.clock import utc_now
from bot.meetings.model import Answer, Meeting
from bot.outbox.queue import retry_delay
from storage.models import OutboxEntry
from tests.bot.outbox.mail_server import MailServer
from tests.bot.outbox.steps import (
    attendee_id,
    draft,
    new_meeting,
    outbox,
    outbox_rows,
    posts_in_dm,
    rows_of,
    services,
    time_passes,
    updates_in_dm,
)
from tests.conftest import ANA, BEN, ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.mailbox import ReceivedMail, calendar_part
from tests.support.meetings import texts

BOB = "bob@client.example"
CY = "cy@client.example"
IVY = "ivy@nowhere.example"
AMY = "amy@busy.example"


def calendar_event(mail: ReceivedMail) -> icalendar.cal.Component:
    """Return the one VEVENT of an invitation's text/calendar part, checking it is a REQUEST."""
    part = calendar_part(mail.message)
    assert part.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    return event


async def remind_ana(app: Meetbot) -> Meeting:
    """Invite Ana (delivered), then queue her reminder as the reminder job would near the start."""
    meeting = await new_meeting(app, members=[ANA])
    await outbox(app).drain()
    assert await services(app).meetings.queue_due_reminders(meeting.start - timedelta(minutes=10))
    return meeting


async def drain_cut_off_while_slack_posts_to(app: Meetbot, slack: FakeSlack, user_id: str) -> None:
    """Stop a drain dead while Slack posts in someone's DM, as a process that dies there.

    Slack shows the message, but the drain never hears where it went and records nothing.
    """
    slack.hold_answers(
        "chat.postMessage", lambda args: args["channel"] == slack.dm_channel(user_id)
    )
    drain = asyncio.create_task(outbox(app).drain())
    await slack.wait_until_held()
    drain.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await drain
    slack.release_answers()


def answers_the_client_waits_out(app: Meetbot, handler: type[AsyncRetryHandler]) -> int:
    """Return how many refusals in a row Slack's client absorbs before the outbox sees one."""
    return 1 + sum(h.max_retry_count for h in app.client.retry_handlers if isinstance(h, handler))


# A new meeting


async def test_a_new_meeting_reaches_everyone_once(
    app: Meetbot, slack: FakeSlack, mail_server: MailServer
) -> None:
    meeting = await new_meeting(app, members=[ANA, BEN], guests=[BOB, CY])

    handled = await outbox(app).drain()

    [summary] = slack.messages(ORGANIZER)
    assert "Design review" in texts(summary)
    assert f"<@{ANA}>" in texts(summary) and BOB in texts(summary)
    for member in (ANA, BEN):
        [invitation] = slack.messages(member)
        assert "invites you to *Design review*" in texts(invitation)
    for guest in (BOB, CY):
        [mail] = mail_server.to(guest)
        event = calendar_event(mail)
        assert (str(event["UID"]), event.decoded("SEQUENCE")) == (meeting.uid, 0)
    assert len(mail_server.received) == 2
    homes = sorted(call.args["user_id"] for call in slack.calls_to("views.publish"))
    assert homes == sorted([ORGANIZER, ANA, BEN])
    assert slack.rejected() == []
    rows = await outbox_rows(app)
    # The summary once more when the guests' mail went out: it sums what was delivered. Marks
    # written apart queue a redraw each; the newest is drawn, an older one superseded by it.
    redraws = [row for row in rows if row.kind == "organizer_summary"][1:]
    assert 1 <= len(redraws) <= 2 and redraws[-1].state == "sent"
    assert all(row.state == "sent" for row in rows if row not in redraws)
    assert handled == len(rows) == 1 + 2 + 2 + 3 + len(redraws)
    assert "2 delivered" in texts(slack.messages(ORGANIZER)[0])
    assert await outbox(app).pending_count() == 0

    # Nothing is owed any more: a second drain sends nothing again.
    assert await outbox(app).drain() == 0
    assert len(slack.messages(ORGANIZER)) == 1 and len(mail_server.received) == 2


# Redraws: only the newest pending one of a message is sent


async def test_answers_given_before_the_first_drain_show_in_one_summary_post(
    app: Meetbot, slack: FakeSlack
) -> None:
    meeting = await new_meeting(app, members=[ANA, BEN])
    meetings = services(app).meetings
    await meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    await meetings.respond_as_member(TEAM_ID, meeting.id, BEN, Answer.DECLINED)

    await outbox(app).drain()

    # Three summaries were owed; Olga gets one message, drawn from the meeting as it is now.
    [summary] = slack.messages(ORGANIZER)
    assert f"<@{ANA}> — accepted" in texts(summary)
    assert f"<@{BEN}> — declined" in texts(summary)
    assert (posts_in_dm(slack, ORGANIZER), updates_in_dm(slack, ORGANIZER)) == (1, 0)
    [invitation] = slack.messages(ANA)
    assert "Your answer: *accepted*" in texts(invitation)
    assert (posts_in_dm(slack, ANA), updates_in_dm(slack, ANA)) == (1, 0)
    summaries = await rows_of(app, "organizer_summary")
    assert [row.state for row in summaries] == ["superseded", "superseded", "sent"]
    assert await outbox(app).pending_count() == 0


async def test_answers_after_the_summary_went_out_redraw_it_in_place(
    app: Meetbot, slack: FakeSlack
) -> None:
    meeting = await new_meeting(app, members=[ANA, BEN])
    await outbox(app).drain()
    [posted] = slack.messages(ORGANIZER)
    meetings = services(app).meetings
    await meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    await meetings.respond_as_member(TEAM_ID, meeting.id, BEN, Answer.DECLINED)

    await outbox(app).drain()

    [summary] = slack.messages(ORGANIZER)
    assert summary["ts"] == posted["ts"]
    assert f"<@{ANA}> — accepted" in texts(summary)
    assert f"<@{BEN}> — declined" in texts(summary)
    # One post and one redraw: the older of the two pending redraws was not sent.
    assert (posts_in_dm(slack, ORGANIZER), updates_in_dm(slack, ORGANIZER)) == (1, 1)


# Mail the server refuses


async def test_an_address_the_mail_server_refuses_is_given_up_at_once_and_olga_told(
    app: Meetbot, slack: FakeSlack, mail_server: MailServer
) -> None:
    mail_server.refuse(IVY, "550 5.1.1 User unknown")
    meeting = await new_meeting(app, guests=[IVY, BOB])

    await outbox(app).drain()

    assert [mail.recipients for mail in mail_server.received] == [(BOB,)]
    assert mail_server.times_asked_for(IVY) == 1
    ivy = await attendee_id(app, meeting, IVY)
    [row] = [row for row in await rows_of(app, "guest_invitation") if row.attendee_id == ivy]
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error and "550" in row.last_error
    summary, notice = slack.messages(ORGANIZER)
    assert (
        f"Could not deliver the invitation to *{IVY}* for *Design review*: "
        "550 5.1.1 User unknown" in texts(notice)
    )
    assert "undeliverable (550 5.1.1 User unknown)" in texts(summary)
    assert await outbox(app).pending_count() == 0

    # Given up means given up: no later drain asks the server again.
    await time_passes(app)
    assert await outbox(app).drain() == 0
    assert mail_server.times_asked_for(IVY) == 1


async def test_a_mail_server_that_says_try_later_gets_the_invitation_again_after_the_delay(
    app: Meetbot, slack: FakeSlack, mail_server: MailServer
) -> None:
    mail_server.refuse(AMY, "451 4.3.0 Mailbox busy, try again later")
    await new_meeting(app, guests=[AMY])

    before = utc_now()
    await outbox(app).drain()
    after = utc_now()

    assert mail_server.to(AMY) == []
    [row] = await rows_of(app, "guest_invitation")
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error and "451" in row.last_error
    assert before + retry_delay(1) <= row.available_at <= after + retry_delay(1)
    assert len(slack.messages(ORGANIZER)) == 1  # only the summary: no word of a failure
    assert await outbox(app).pending_count() == 1
    # Not before its time.
    assert await outbox(app).drain() == 0
    assert mail_server.times_asked_for(AMY) == 1

    mail_server.accept(AMY)
    await time_passes(app)
    await outbox(app).drain()

    [mail] = mail_server.to(AMY)
    assert calendar_event(mail).decoded("SEQUENCE") == 0
    [row] = await rows_of(app, "guest_invitation")
    assert (row.state, row.attempts) == ("sent", 2)
    assert len(slack.messages(ORGANIZER)) == 1


async def test_a_guest_the_mail_server_could_not_take_for_two_days_is_given_up_and_olga_told(
    app: Meetbot, slack: FakeSlack, mail_server: MailServer
) -> None:
    await new_meeting(app, guests=[BOB])
    mail_server.stop()
    # Owed for just over two days, the server down all along.
    async with app.sessions.begin() as session:
        await session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.kind == "guest_invitation")
            .values(created_at=utc_now() - timedelta(days=2, minutes=1))
        )

    await outbox(app).drain()

    [row] = await rows_of(app, "guest_invitation")
    assert (row.state, row.attempts) == ("failed", 1)
    summary, notice = slack.messages(ORGANIZER)
    assert (
        f"Could not deliver the invitation to *{BOB}* for *Design review*: "
        "the mail server could not be reached for two days" in texts(notice)
    )
    assert "undeliverable (the mail server could not be reached" in texts(summary)


# Slack refusing a DM


async def test_a_reminder_slack_refuses_for_good_is_not_tried_again(
    app: Meetbot, slack: FakeSlack
) -> None:
    await remind_ana(app)
    slack.fail_next("chat.postMessage", "channel_not_found")

    await outbox(app).drain()

    [row] = await rows_of(app, "member_reminder")
    assert (row.state, row.attempts) == ("failed", 1)
    assert row.last_error and "channel_not_found" in row.last_error
    await time_passes(app)
    assert await outbox(app).drain() == 0
    [invitation] = slack.messages(ANA)  # and never a reminder
    assert "invites you to" in texts(invitation)
    assert [error for _, error in slack.rejected()] == ["channel_not_found"]


@pytest.mark.parametrize(
    ("error", "status", "handler"),
    [
        ("ratelimited", 429, AsyncRateLimitErrorRetryHandler),
        ("internal_error", 500, AsyncServerErrorRetryHandler),
    ],
    ids=["rate_limited", "server_error"],
)
async def test_a_reminder_slack_cannot_take_now_is_posted_after_the_delay(
    app: Meetbot,
    slack: FakeSlack,
    error: str,
    status: int,
    handler: type[AsyncRetryHandler],
) -> None:
    await remind_ana(app)
    # More refusals than Slack's client waits out itself: the outbox has to come back later.
    refusals = answers_the_client_waits_out(app, handler)
    for _ in range(refusals):
        slack.fail_next("chat.postMessage", error, status=status, retry_after=0)

    before = utc_now()
    await outbox(app).drain()
    after = utc_now()

    [row] = await rows_of(app, "member_reminder")
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error and error in row.last_error
    assert before + retry_delay(1) <= row.available_at <= after + retry_delay(1)
    assert len(slack.messages(ANA)) == 1
    assert await outbox(app).drain() == 0  # not before its time

    await time_passes(app)
    await outbox(app).drain()

    invitation, reminder = slack.messages(ANA)
    assert "invites you to" in texts(invitation)
    assert "Reminder: Design review starts soon" in texts(reminder)
    assert [e for _, e in slack.rejected()] == [error] * refusals


async def test_a_member_whose_account_was_deactivated_is_given_up_and_olga_told(
    app: Meetbot, slack: FakeSlack
) -> None:
    slack.add_user(ANA, real_name="Ana Member", email="ana@acme.example", deleted=True)
    meeting = await new_meeting(app, members=[ANA, BEN])

    await outbox(app).drain()

    assert slack.messages(ANA) == []
    [invitation] = slack.messages(BEN)
    assert "invites you to *Design review*" in texts(invitation)
    ana = await attendee_id(app, meeting, ANA)
    [row] = [row for row in await rows_of(app, "member_invitation") if row.attendee_id == ana]
    assert (row.state, row.attempts) == ("failed", 1)
    summary, notice = slack.messages(ORGANIZER)
    assert (
        f"Could not deliver the invitation to <@{ANA}> for *Design review*: "
        "Slack answered user_disabled" in texts(notice)
    )
    assert "undeliverable (Slack answered user_disabled)" in texts(summary)


# Entries that can never be sent


async def test_an_entry_no_one_can_read_is_given_up_without_holding_up_the_rest(
    app: Meetbot, slack: FakeSlack, mail_server: MailServer
) -> None:
    earlier = await new_meeting(app, guests=[BOB])
    await outbox(app).drain()
    async with app.sessions.begin() as session:
        session.add_all(
            [
                # A guest invitation that does not say which guest.
                OutboxEntry(
                    team_id=TEAM_ID,
                    kind="guest_invitation",
                    event_id=earlier.id,
                    attendee_id=None,
                    payload={"sequence": 0},
                ),
                # A kind this Meetbot does not know.
                OutboxEntry(team_id=TEAM_ID, kind="carrier_pigeon", payload={}),
            ]
        )
    await new_meeting(app, members=[ANA], guests=[CY])

    await outbox(app).drain()

    unreadable = [row for row in await outbox_rows(app) if row.state == "failed"]
    assert [(row.kind, row.attempts) for row in unreadable] == [
        ("guest_invitation", 1),
        ("carrier_pigeon", 1),
    ]
    assert all(
        (row.last_error or "").startswith("PermanentFailure: unreadable") for row in unreadable
    )
    # Everything queued after them went out.
    [invitation] = slack.messages(ANA)
    assert "invites you to *Design review*" in texts(invitation)
    assert len(mail_server.to(CY)) == 1 and len(mail_server.to(BOB)) == 1
    assert len(slack.messages(ORGANIZER)) == 2  # the two summaries, no notice of a failure
    assert await outbox(app).pending_count() == 0


async def test_an_invitation_queued_before_the_time_moved_is_not_sent(
    app: Meetbot, mail_server: MailServer
) -> None:
    meeting = await new_meeting(app, guests=[BOB])
    moved = draft(days=3, guests=[BOB])
    await services(app).meetings.update(TEAM_ID, ORGANIZER, meeting.id, meeting.version, moved)

    await outbox(app).drain()

    # Bob gets one invitation, at the new time: never one for a time that no longer holds.
    [mail] = mail_server.to(BOB)
    event = calendar_event(mail)
    assert event.decoded("SEQUENCE") == 1
    assert event.decoded("DTSTART") == moved.start
    # The first was never sent, and the delivery ledger says so.
    states = [row.state for row in await rows_of(app, "guest_invitation")]
    assert states == ["superseded", "sent"]


# After a drain was cut off mid-post: adopt what Slack shows, never post it twice


async def test_an_invitation_a_cut_off_drain_had_posted_is_adopted_not_posted_again(
    app: Meetbot, slack: FakeSlack
) -> None:
    meeting = await new_meeting(app, members=[ANA, BEN])
    await drain_cut_off_while_slack_posts_to(app, slack, ANA)
    assert len(slack.messages(ANA)) == 1 and slack.messages(BEN) == []

    await time_passes(app)  # the lease of the cut-off drain runs out
    await outbox(app).drain()

    [invitation] = slack.messages(ANA)
    assert (posts_in_dm(slack, ANA), updates_in_dm(slack, ANA)) == (1, 1)
    # Ben's was never begun: looked for, not found, posted once.
    [_] = slack.messages(BEN)
    assert posts_in_dm(slack, BEN) == 1
    # Adopted means remembered: Ana's answer redraws that very message.
    await services(app).meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)
    await outbox(app).drain()
    [answered] = slack.messages(ANA)
    assert answered["ts"] == invitation["ts"]
    assert "Your answer: *accepted*" in texts(answered)
    assert posts_in_dm(slack, ANA) == 1


async def test_a_summary_cut_off_mid_post_is_adopted_though_a_newer_redraw_waits(
    app: Meetbot, slack: FakeSlack
) -> None:
    meeting = await new_meeting(app, members=[ANA])
    await drain_cut_off_while_slack_posts_to(app, slack, ORGANIZER)
    await services(app).meetings.respond_as_member(TEAM_ID, meeting.id, ANA, Answer.ACCEPTED)

    await time_passes(app)
    await outbox(app).drain()

    [summary] = slack.messages(ORGANIZER)
    assert f"<@{ANA}> — accepted" in texts(summary)
    assert posts_in_dm(slack, ORGANIZER) == 1
    assert await outbox(app).pending_count() == 0


async def test_a_reminder_a_cut_off_drain_had_posted_is_not_posted_again(
    app: Meetbot, slack: FakeSlack
) -> None:
    await remind_ana(app)
    await drain_cut_off_while_slack_posts_to(app, slack, ANA)
    assert len(slack.messages(ANA)) == 2

    await time_passes(app)
    await outbox(app).drain()

    invitation, reminder = slack.messages(ANA)
    assert "invites you to" in texts(invitation)
    assert "Reminder: Design review starts soon" in texts(reminder)
    assert posts_in_dm(slack, ANA) == 2
    assert len(slack.calls_to("conversations.history")) == 1
    assert [row.state for row in await rows_of(app, "member_reminder")] == ["sent"]
