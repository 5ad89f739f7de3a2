"""Files attached in the form reach guests' e-mails and pages and members' DMs."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.app import Meetbot
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import confirm_mailbox, in_days, open_create_form
from tests.support.mailbox import Mailbox
from tests.support.meetings import (
    answer_link,
    dm_of,
    eventually,
    fetch,
    open_form_from,
    summary,
    texts,
    wait_for_mails,
    wait_for_summary,
)
from tests.support.signed import SlackSender

AGENDA = b"%PDF-1.7 the agenda " + bytes(range(256)) * 8
SLIDES = b"%PDF-1.7 the slides " + bytes(range(256)) * 16


async def download(url: str) -> tuple[int, bytes]:
    """Fetch a link as a person's browser would."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def invite_with_files(
    sender: SlackSender, slack: FakeSlack, files: list[dict[str, object]]
) -> None:
    """Set up a meeting with Ana and Bob, attaching files."""
    form = await open_create_form(sender, slack, ORGANIZER)
    start = in_days(2)
    response = await sender.submit_view(
        ORGANIZER,
        form,
        title="Contract review",
        start=int(start.timestamp()),
        end=int(start.timestamp()) + 3600,
        members=[ANA],
        guests="Bob Client <bob@client.example>",
        files=files,
    )
    # Bob is the organizer's first guest: the mailbox notice is confirmed, everything closes.
    assert await confirm_mailbox(sender, ORGANIZER, response.json()) == {"response_action": "clear"}


def attachments(mail_message: object) -> dict[str, bytes]:
    """Return an e-mail's attachments by file name."""
    return {
        part.get_filename(): part.get_content()
        for part in mail_message.iter_attachments()  # type: ignore[attr-defined]
    }


async def test_files_go_to_guests_as_attachments_and_to_members_as_links(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    agenda = slack.add_file("agenda.pdf", AGENDA)

    await invite_with_files(sender, slack, [agenda])

    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    attached = attachments(invitation.message)
    assert attached["agenda.pdf"] == AGENDA
    assert "invite.ics" in attached
    assert slack.file_downloads == [(agenda["id"], True)]

    status, page = await fetch("GET", answer_link(invitation))
    assert "agenda.pdf" in page
    file_path = re.search(r'href="(/rsvp/[^"]+/files/[^"]+)"', page)
    assert file_path
    status, content = await download(f"{meetbot.settings.base_url}{file_path.group(1)}")
    assert status == 200 and content == AGENDA

    await slack.wait_for("chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ANA))
    member_link = re.search(
        r"<(http://[^|>]+/files/[^|>]+)\|agenda\.pdf>", texts(dm_of(slack, ANA))
    )
    assert member_link
    # Slack shows the link with its `&amp;` read back as `&`.
    ana_link = html.unescape(member_link.group(1))
    status, content = await download(ana_link)
    assert status == 200 and content == AGENDA
    assert (await download(f"{meetbot.settings.base_url}/files/not-a-key"))[0] == 404
    # The link is Ana's own: handed to someone else, or stretched past its date, it is dead.
    assert (await download(ana_link.replace(f"for={ANA}", "for=U0MALLORY")))[0] == 404
    until = re.search(r"until=([0-9]+)", ana_link)
    assert until
    later = str(int(until.group(1)) + 86400 * 365)
    assert (await download(ana_link.replace(until.group(1), later)))[0] == 404
    assert (await download(ana_link.split("?")[0]))[0] == 404

    # Taken off the meeting, Ana's link stops working.
    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await sender.submit_view(ORGANIZER, form, members=[])
    await eventually(lambda: len(slack.messages(slack.dm_channel(ANA))) >= 2)
    assert (await download(ana_link))[0] == 404


@pytest.fixture
async def small_limit_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app with a 1 KB limit on attachments."""
    app = Meetbot(
        make_settings(database_url, slack, mailbox, app_port, MEETBOT_ATTACHMENT_LIMIT_MB=0.001)
    )
    await app.start()
    yield app
    await app.stop()


async def test_files_over_the_size_limit_are_sent_as_links_only(
    slack: FakeSlack, mailbox: Mailbox, small_limit_meetbot: Meetbot
) -> None:
    sender = SlackSender(small_limit_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)
    await invite_with_files(sender, slack, [slack.add_file("agenda.pdf", AGENDA)])

    [invitation] = await wait_for_mails(mailbox, "bob@client.example", 1)
    assert set(attachments(invitation.message)) == {"invite.ics"}
    text = invitation.message.get_body(("plain",)).get_content()
    link = re.search(r"agenda\.pdf: (http://\S+)", text)
    assert link
    status, content = await download(link.group(1))
    assert status == 200 and content == AGENDA


async def test_editing_removes_and_adds_files(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await invite_with_files(sender, slack, [slack.add_file("agenda.pdf", AGENDA)])
    await wait_for_summary(slack)
    await wait_for_mails(mailbox, "bob@client.example", 1)

    form = await open_form_from(sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    kept = next(b for b in form["blocks"] if b["block_id"] == "kept_files")
    assert [o["text"]["text"] for o in kept["element"]["initial_options"]] == ["agenda.pdf"]
    await sender.submit_view(
        ORGANIZER, form, kept_files=[], files=[slack.add_file("slides.pdf", SLIDES)]
    )

    _, update = await wait_for_mails(mailbox, "bob@client.example", 2)
    attached = attachments(update.message)
    assert attached["slides.pdf"] == SLIDES
    assert "agenda.pdf" not in attached
    assert "Files: agenda.pdf → slides.pdf" in update.message.get_body(("plain",)).get_content()
    await eventually(lambda: "slides.pdf" in texts(summary(slack)))
