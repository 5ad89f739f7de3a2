"""Nothing hostile gets through, nothing is done twice, and the process tells how it is."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.app import Meetbot
from bot.drafts import MeetingDraft
from bot.guests import Guest
from bot.meetings.model import Organizer
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import confirm_mailbox, in_days, open_create_form, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    eventually,
    fetch,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender, sign


async def test_a_bad_signature_or_an_old_timestamp_is_refused(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    body = urlencode(
        {
            "command": "/meet",
            "user_id": ORGANIZER,
            "team_id": TEAM_ID,
            "trigger_id": slack.new_trigger_id(),
            "text": "",
        }
    )

    forged = await sender.post(
        body, content_type="application/x-www-form-urlencoded", secret="not-the-secret"
    )
    stale = await sender.post(
        body, content_type="application/x-www-form-urlencoded", timestamp=int(time.time()) - 600
    )

    assert forged.status == 401 and stale.status == 401
    await asyncio.sleep(0.2)
    assert slack.calls_to("views.open") == []


async def test_another_workspace_cannot_touch_a_meeting(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    organizer_summary = await wait_for_summary(slack)
    intruder = SlackSender(meetbot.settings.base_url, SIGNING_SECRET, slack, "T0OTHER")

    await intruder.click(
        ORGANIZER, organizer_summary, slack.dm_channel(ORGANIZER), "cancel_meeting"
    )

    reply = await slack.wait_for_response_url()
    assert "no longer exists" in reply["text"]
    assert [
        c for c in slack.calls_to("views.open") if c.args["view"]["callback_id"] == "meet_cancel"
    ] == []
    assert "Cancelled" not in texts(summary(slack))


async def test_a_form_submitted_twice_creates_one_meeting(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    view = await open_create_form(sender, slack, ORGANIZER)
    view = {**view, "id": [v for v in slack.opened_views()][-1]["id"]}
    start = in_days(2)
    typed = {
        "title": "Only once",
        "start": int(start.timestamp()),
        "end": int((start + timedelta(hours=1)).timestamp()),
        "guests": "bob@client.example",
    }

    first, second = await asyncio.gather(
        sender.submit_view(ORGANIZER, view, **typed), sender.submit_view(ORGANIZER, view, **typed)
    )
    assert first.status == second.status == 200
    # Both submissions ask the first-guest mailbox question; both answers arrive too.
    await asyncio.gather(
        confirm_mailbox(sender, ORGANIZER, first.json()),
        confirm_mailbox(sender, ORGANIZER, second.json()),
    )
    await wait_for_mails(mailbox, "bob@client.example", 1)
    assert meetbot.services is not None
    await asyncio.sleep(0.3)
    await meetbot.services.outbox.drain()
    assert len(mailbox.to("bob@client.example")) == 1
    summaries = [
        m for m in slack.messages(slack.dm_channel(ORGANIZER)) if "Only once" in m.get("text", "")
    ]
    assert len(summaries) == 1


async def test_a_redelivered_event_is_not_handled_again(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    event = {
        "type": "app_home_opened",
        "user": ANA,
        "channel": f"D{ANA}",
        "tab": "home",
        "event_ts": "1.0",
    }
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "api_app_id": "A0MEETBOT",
            "event_id": "Ev1",
            "event_time": 1,
            "event": event,
        }
    )
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{meetbot.settings.base_url}/slack/events", data=body.encode(), headers=headers
        ) as response,
    ):
        assert response.status == 200

    await asyncio.sleep(0.3)
    assert slack.calls_to("views.publish") == []
    await sender.open_home(ANA)
    await slack.wait_for("views.publish")


async def test_answers_from_one_link_are_slowed_down_and_the_earlier_answer_kept(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    link = answer_link((await wait_for_mails(mailbox, "bob@client.example", 1))[0])
    limit = meetbot.settings.rsvp_rate_per_link

    statuses = [(await fetch("POST", link, {"answer": "accepted"}))[0] for _ in range(limit)]
    status, page = await fetch("POST", link, {"answer": "declined"})

    assert statuses == [200] * limit
    assert status == 429 and "try again" in page
    _, shown = await fetch("GET", link)
    assert "Your answer: <strong>accepted</strong>" in shown


async def test_slack_rate_limits_are_waited_out(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=1)

    await send_invitations(sender, slack, ORGANIZER, members=[ANA])

    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA), timeout=10
    )
    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER), timeout=10
    )
    assert [error for _, error in slack.rejected()] == ["ratelimited"]


async def test_line_breaks_in_user_text_never_become_mail_headers(
    slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    assert meetbot.services is not None
    start = in_days(3)
    draft = MeetingDraft(
        title="Hello\r\nBcc: victim@elsewhere.example",
        start=start,
        end=start + timedelta(hours=1),
        guests=(Guest("bob@client.example", "Bob\r\nBcc: other@elsewhere.example"),),
    )
    organizer = Organizer(ORGANIZER, "Olga\nX-Evil: 1", "olga@acme.example", "Europe/Warsaw")

    await meetbot.services.meetings.create(TEAM_ID, organizer, draft)

    [mail] = await wait_for_mails(mailbox, "bob@client.example", 1)
    await asyncio.sleep(0.3)
    assert len(mailbox.received) == 1 and mail.recipients == ("bob@client.example",)
    assert mail.message["Bcc"] is None and mail.message["X-Evil"] is None
    assert "victim@elsewhere.example" in str(mail.message["Subject"])  # kept as text, on one line


async def test_secrets_never_reach_the_logs(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    meetbot: Meetbot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    slack.fail_next("chat.postMessage", "internal_error")
    await send_invitations(sender, slack, ORGANIZER, members=[ANA], guests="bob@client.example")
    link = answer_link((await wait_for_mails(mailbox, "bob@client.example", 1))[0])
    await fetch("POST", link, {"answer": "accepted"})
    await eventually(lambda: "1 accepted" in texts(summary(slack)), timeout=15)

    # Everything Meetbot's process logs, down to DEBUG; not the test's own mail server,
    # which logs the messages it receives (links included), as any mail server may.
    logged = "\n".join(
        r.getMessage() + str(r.exc_info or "") for r in caplog.records if r.name != "mail.log"
    )
    token = link.rsplit("/", 1)[1]
    for secret in (slack.bot_token, SIGNING_SECRET, token):
        assert secret not in logged


async def test_health_and_metrics_tell_how_the_process_is(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    link = answer_link((await wait_for_mails(mailbox, "bob@client.example", 1))[0])
    await fetch("POST", link, {"answer": "accepted"})

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{meetbot.settings.base_url}/healthz") as response:
            health = await response.json()
            assert response.status == 200
        async with session.get(f"{meetbot.settings.base_url}/metrics") as response:
            exposition = await response.text()
    assert health == {"status": "ok", "database": "ok", "scheduler": "ok"}
    assert "meetbot_outbox_depth" in exposition
    assert 'meetbot_decisions_total{source="guest page"} 1.0' in exposition
    assert "meetbot_slack_ack_seconds_count" in exposition

    meetbot.scheduler.pause()
    await meetbot.background_work_finished()  # a job cut off mid-query would leak its connection
    meetbot.scheduler.shutdown(wait=False)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{meetbot.settings.base_url}/healthz") as response,
    ):
        assert response.status == 503
        assert (await response.json())["scheduler"] == "stopped"
