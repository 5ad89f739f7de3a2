"""A video room with one tick: one CONFERENCE link in the invitation, on the page and in DMs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Meetbot
from tests.conftest import ANA, ORGANIZER, SIGNING_SECRET, TEAM_ID, make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_settings import open_settings
from tests.support.flows import confirm_mailbox, in_days, open_create_form, send_invitations
from tests.support.mailbox import Mailbox, ReceivedMail
from tests.support.meetings import (
    answer_link,
    calendar_of,
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

VIDEO_SERVICE = "https://meet.jit.si/"
ROOM = re.compile(re.escape(VIDEO_SERVICE) + r"meetbot-[A-Za-z0-9_-]{22}")
BOB = "bob@client.example"


@pytest.fixture
async def video_meetbot(
    database_url: str, slack: FakeSlack, mailbox: Mailbox, app_port: int
) -> AsyncIterator[Meetbot]:
    """Run the app with a video service to make rooms on."""
    settings = make_settings(
        database_url, slack, mailbox, app_port, MEETBOT_VIDEO_URL=VIDEO_SERVICE
    )
    app = Meetbot(settings)
    await app.start()
    yield app
    await app.stop()


@pytest.fixture
def video_sender(video_meetbot: Meetbot, slack: FakeSlack) -> SlackSender:
    """Return a sender of signed Slack requests to the app with a video service."""
    return SlackSender(video_meetbot.settings.base_url, SIGNING_SECRET, slack, TEAM_ID)


def conferences(mail: ReceivedMail) -> list[Any]:
    """Return the CONFERENCE properties of an e-mail's calendar."""
    found = calendar_of(mail).walk("VEVENT")[0].get("CONFERENCE")
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def join_urls(message: dict[str, Any]) -> list[str]:
    """Return the links of the Join buttons in a Slack message."""
    return [
        str(element["url"])
        for block in message.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == "join_call"
    ]


async def test_a_ticked_video_call_is_one_room_in_the_invitation_the_page_and_the_dms(
    video_sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    form = await open_create_form(video_sender, slack, ORGANIZER)
    [tick] = [b for b in form["blocks"] if b.get("block_id") == "video"]
    assert tick["element"]["options"][0]["text"]["text"] == "Add a video call"
    start = in_days(3, hour=9)
    answer = await video_sender.submit_view(
        ORGANIZER,
        form,
        title="Design review",
        start=int(start.timestamp()),
        end=int((start + timedelta(minutes=30)).timestamp()),
        members=[ANA],
        guests=f"Bob Client <{BOB}>",
        video=["video"],
    )
    await confirm_mailbox(video_sender, ORGANIZER, answer.json())

    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    [conference] = conferences(invitation)
    room = str(conference)
    assert ROOM.fullmatch(room)
    assert conference.params["FEATURE"] == "VIDEO"
    assert conference.params["VALUE"] == "URI"
    assert conference.params["LABEL"] == "Join the video call"
    event = calendar_of(invitation).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == room  # no place given: the room is where it happens
    assert f"Join the video call: {room}" in str(event["DESCRIPTION"])
    assert f"Video call: {room}" in invitation.message.get_body(("plain",)).get_content()

    status, page = await fetch("GET", answer_link(invitation))
    assert status == 200
    assert f'class="join" href="{room}"' in page
    await eventually(lambda: join_urls(dm_of(slack, ANA)) == [room])
    await wait_for_summary(slack)
    assert join_urls(summary(slack)) == [room]


async def test_the_room_stays_through_an_edit_and_goes_when_unticked(
    video_sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    await send_invitations(video_sender, slack, ORGANIZER, guests=BOB, location="", video=True)
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    [room] = [str(c) for c in conferences(invitation)]
    await wait_for_summary(slack)

    # An edit keeps the room.
    edit = await open_form_from(video_sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    [tick] = [b for b in edit["blocks"] if b.get("block_id") == "video"]
    assert tick["element"]["initial_options"][0]["value"] == "video"
    await video_sender.submit_view(ORGANIZER, edit, title="Design review, second round")
    _, renamed = await wait_for_mails(mailbox, BOB, 2)
    assert [str(c) for c in conferences(renamed)] == [room]

    # Unticked: the next update carries no room, and DMs lose their Join button.
    await eventually(lambda: "second round" in texts(summary(slack)))
    edit = await open_form_from(video_sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await video_sender.submit_view(ORGANIZER, edit, video=[])
    *_, unticked = await wait_for_mails(mailbox, BOB, 3)
    assert conferences(unticked) == []
    assert "LOCATION" not in calendar_of(unticked).walk("VEVENT")[0]
    assert "Video call:" in unticked.message.get_body(("plain",)).get_content()

    # Ticked again: a room again.
    edit = await open_form_from(video_sender, slack, ORGANIZER, summary(slack), "edit_meeting")
    await video_sender.submit_view(ORGANIZER, edit, video=["video"])
    *_, again = await wait_for_mails(mailbox, BOB, 4)
    [second_room] = [str(c) for c in conferences(again)]
    assert ROOM.fullmatch(second_room)


async def test_the_video_default_in_settings_ticks_new_meetings(
    video_sender: SlackSender, slack: FakeSlack
) -> None:
    settings = await open_settings(video_sender, slack, ORGANIZER)
    assert any(b.get("block_id") == "video" for b in settings["blocks"])
    await video_sender.submit_view(ORGANIZER, settings, video=["video"])

    form = await open_create_form(video_sender, slack, ORGANIZER)
    [tick] = [b for b in form["blocks"] if b.get("block_id") == "video"]
    assert tick["element"]["initial_options"][0]["value"] == "video"


async def test_a_link_typed_into_where_is_the_join_link_and_no_room_is_offered_without_a_service(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox
) -> None:
    form = await open_create_form(sender, slack, ORGANIZER)
    assert not any(b.get("block_id") == "video" for b in form["blocks"])
    zoom = "https://acme.zoom.us/j/123456789?pwd=abc"
    await send_invitations(
        sender, slack, ORGANIZER, members=[ANA], guests=BOB, location=f"Zoom: {zoom}"
    )
    [invitation] = await wait_for_mails(mailbox, BOB, 1)
    assert [str(c) for c in conferences(invitation)] == [zoom]
    assert str(calendar_of(invitation).walk("VEVENT")[0]["LOCATION"]) == f"Zoom: {zoom}"
    await eventually(lambda: join_urls(dm_of(slack, ANA)) == [zoom])
    status, page = await fetch("GET", answer_link(invitation))
    assert status == 200 and f'class="join" href="{zoom.replace("&", "&amp;")}"' in page
