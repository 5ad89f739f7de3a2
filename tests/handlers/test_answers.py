"""Answers coming back: members' buttons, guests' page, and what the organizer is told."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import aiohttp
import icalendar

from bot.app import Meetbot
from tests.conftest import ANA, BEN, ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import send_invitations
from tests.support.mailbox import Mailbox
from tests.support.signed import SlackSender

LINK = re.compile(r"http://127\.0\.0\.1:\d+/rsvp/[A-Za-z0-9_-]+")


async def guest_link(mailbox: Mailbox, address: str) -> str:
    """Return the answer link in the invitation a guest received."""
    for _ in range(200):
        if mailbox.to(address):
            break
        await mailbox.wait_for(len(mailbox.received) + 1)
    text = mailbox.to(address)[0].message.get_body(("plain",)).get_content()
    match = LINK.search(text)
    assert match, text
    return match.group(0)


async def fetch(method: str, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    """Load a page as a guest's browser would."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data) as response,
    ):
        return response.status, await response.text()


def dm_of(slack: FakeSlack, user_id: str) -> dict:
    """Return the first message in a person's DM with the app."""
    return slack.messages(slack.dm_channel(user_id))[0]


async def test_member_accepts_and_their_dm_and_the_summary_show_it(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, members=[ANA, BEN], notify=True)
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER)
    )

    response = await sender.click(ANA, dm_of(slack, ANA), slack.dm_channel(ANA), "answer_accepted")
    assert response.status == 200

    await slack.wait_for("chat.update", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    assert "Your answer: *accepted*" in str(dm_of(slack, ANA)["blocks"])
    notice = await slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.args["channel"] == slack.dm_channel(ORGANIZER)
            and "accepted" in c.args.get("text", "")
        ),
    )
    assert f"<@{ANA}>" in str(notice.args["blocks"])
    await slack.wait_for(
        "chat.update",
        lambda c: (
            c.args["channel"] == slack.dm_channel(ORGANIZER)
            and "1 accepted" in str(c.args["blocks"])
        ),
    )
    assert f"<@{ANA}> — accepted" in str(dm_of(slack, ORGANIZER)["blocks"])


async def test_someone_not_invited_cannot_answer_with_a_copied_button(
    sender: SlackSender, slack: FakeSlack, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, members=[ANA])
    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))

    await sender.click(BEN, dm_of(slack, ANA), slack.dm_channel(ANA), "answer_declined")

    reply = await slack.wait_for_response_url()
    assert "not addressed to you" in reply["text"]
    summary = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER)
    )
    assert "declined" not in str(summary.args["blocks"]).replace("0 declined", "")


async def test_guest_page_shows_without_recording_then_records_the_answer(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(
        sender, slack, ORGANIZER, guests="Bob Client <bob@client.example>", notify=True
    )
    link = await guest_link(mailbox, "bob@client.example")

    status, page = await fetch("GET", link)
    assert status == 200
    assert (
        "Design review" in page and "Olga Organizer" in page and "You have not answered yet" in page
    )
    await meetbot.services.outbox.drain() if meetbot.services else None
    assert not any("accepted" in c.args.get("text", "") for c in slack.calls_to("chat.postMessage"))

    status, page = await fetch(
        "POST", link, {"answer": "accepted", "comment": "Looking forward <b>!</b>"}
    )
    assert status == 200
    assert "You accepted" in page
    assert "&lt;b&gt;" in page and "<b>!</b>" not in page
    notice = await slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.args["channel"] == slack.dm_channel(ORGANIZER)
            and "accepted" in c.args.get("text", "")
        ),
    )
    shown = str(notice.args["blocks"])
    assert "Bob Client &lt;bob@client.example&gt;" in shown
    assert "Looking forward &lt;b&gt;!&lt;/b&gt;" in shown

    status, page = await fetch("POST", link, {"answer": "declined", "comment": "Sorry, on leave"})
    assert "You declined" in page
    await slack.wait_for(
        "chat.update",
        lambda c: (
            c.args["channel"] == slack.dm_channel(ORGANIZER)
            and "1 declined" in str(c.args["blocks"])
        ),
    )


async def test_without_notify_the_organizer_gets_no_decision_dm_but_the_summary_updates(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example", notify=False)
    link = await guest_link(mailbox, "bob@client.example")

    await fetch("POST", link, {"answer": "tentative"})

    await slack.wait_for(
        "chat.update",
        lambda c: (
            c.args["channel"] == slack.dm_channel(ORGANIZER) and "1 maybe" in str(c.args["blocks"])
        ),
    )
    organizer_posts = [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args["channel"] == slack.dm_channel(ORGANIZER)
    ]
    assert len(organizer_posts) == 1


async def test_an_altered_link_gets_a_plain_not_found_page(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    link = await guest_link(mailbox, "bob@client.example")
    altered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")

    for method in ("GET", "POST"):
        status, page = await fetch(
            method, altered, {"answer": "accepted"} if method == "POST" else None
        )
        assert status == 404
        assert "Invitation not found" in page
        assert "Design review" not in page


async def test_guest_downloads_the_event_as_ics(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    link = await guest_link(mailbox, "bob@client.example")

    async with aiohttp.ClientSession() as session, session.get(f"{link}/invite.ics") as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        calendar = icalendar.Calendar.from_ical(await response.read())
    assert calendar.walk("VEVENT")[0]["SUMMARY"] == "Design review"


async def test_a_guest_link_keeps_working_after_a_restart(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    restart: Callable[[], Awaitable[Meetbot]],
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    link = await guest_link(mailbox, "bob@client.example")

    await restart()
    status, page = await fetch("POST", link, {"answer": "accepted"})
    assert status == 200 and "You accepted" in page
