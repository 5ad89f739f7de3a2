"""The App Home tab and `/meet list`: a person's upcoming meetings and what they can do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.app import Meetbot
from bot.drafts import MeetingDraft
from bot.meetings.model import Organizer
from tests.conftest import ANA, BEN, ORGANIZER, TEAM_ID
from tests.fakes.slack_api import FakeSlack
from tests.support.flows import in_days, send_invitations
from tests.support.mailbox import Mailbox
from tests.support.meetings import eventually, summary, texts, wait_for_summary
from tests.support.signed import SlackSender, find_button


def published_homes(slack: FakeSlack, user_id: str) -> list[dict[str, Any]]:
    """Return every Home tab published for a person, oldest first."""
    return [c.args["view"] for c in slack.calls_to("views.publish") if c.args["user_id"] == user_id]


async def home_of(sender: SlackSender, slack: FakeSlack, user_id: str) -> dict[str, Any]:
    """Open the person's Home tab and return what it shows."""
    before = len(published_homes(slack, user_id))
    response = await sender.open_home(user_id)
    assert response.status == 200
    await eventually(lambda: len(published_homes(slack, user_id)) > before)
    return published_homes(slack, user_id)[-1]


async def test_home_lists_what_i_organize_and_what_i_am_invited_to(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, members=[ANA], guests="bob@client.example")
    await wait_for_summary(slack)

    mine = await home_of(sender, slack, ORGANIZER)
    assert "Organizing (1)" in texts(mine) and "Invited (0)" in texts(mine)
    assert "Design review" in texts(mine) and "2 no answer yet" in texts(mine)
    find_button(mine, "edit_meeting")
    find_button(mine, "cancel_meeting")

    anas = await home_of(sender, slack, ANA)
    assert "Organizing (0)" in texts(anas) and "Invited (1)" in texts(anas)
    assert "Your answer: *no answer yet*" in texts(anas)
    assert "edit_meeting" not in texts(anas)

    await sender.click_on_home(ANA, anas, "answer_tentative")
    await eventually(lambda: "Your answer: *maybe*" in texts(published_homes(slack, ANA)[-1]))
    await eventually(lambda: "1 maybe" in texts(summary(slack)))
    assert "Your answer: *maybe*" in texts(await home_of(sender, slack, ANA))

    await sender.click_on_home(BEN, anas, "answer_accepted")
    told = await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] in (BEN, slack.dm_channel(BEN))
    )
    assert "not addressed to you" in told.args["text"]


async def test_edit_and_cancel_work_from_home(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, guests="bob@client.example")
    await wait_for_summary(slack)
    home = await home_of(sender, slack, ORGANIZER)

    await sender.click_on_home(ORGANIZER, home, "edit_meeting")
    edit = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["callback_id"] == "meet_edit"
    )
    title = next(b for b in edit.args["view"]["blocks"] if b["block_id"] == "title")
    assert title["element"]["initial_value"] == "Design review"

    await sender.click_on_home(ORGANIZER, home, "cancel_meeting")
    cancel = await slack.wait_for(
        "views.open", lambda c: c.args["view"]["callback_id"] == "meet_cancel"
    )
    await sender.submit_view(ORGANIZER, cancel.args["view"])
    await eventually(lambda: "Organizing (0)" in texts(published_homes(slack, ORGANIZER)[-1]))


async def test_many_meetings_stay_within_slacks_limits_with_show_more(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    assert meetbot.services is not None
    organizer = Organizer(ORGANIZER, "Olga Organizer", "olga@acme.example", "Europe/Warsaw")
    for n in range(30):
        start = in_days(1 + n)
        draft = MeetingDraft(
            title=f"Weekly sync {n}", start=start, end=start + timedelta(minutes=30)
        )
        await meetbot.services.meetings.create(TEAM_ID, organizer, draft)

    home = await home_of(sender, slack, ORGANIZER)
    assert "Weekly sync 9" in texts(home) and "Weekly sync 10" not in texts(home)
    assert "…and 20 more" in texts(home)

    await sender.click_on_home(ORGANIZER, home, "home_show_more")
    await eventually(lambda: "Weekly sync 19" in texts(published_homes(slack, ORGANIZER)[-1]))
    assert slack.rejected() == []


async def test_home_still_shows_my_meetings_after_a_restart(
    sender: SlackSender,
    slack: FakeSlack,
    mailbox: Mailbox,
    restart: Callable[[], Awaitable[Meetbot]],
) -> None:
    await send_invitations(sender, slack, ORGANIZER, members=[ANA])
    await wait_for_summary(slack)

    await restart()
    home = await home_of(sender, slack, ANA)
    assert "Invited (1)" in texts(home) and "Design review" in texts(home)


async def test_meet_list_and_help_answer_only_me(
    sender: SlackSender, slack: FakeSlack, mailbox: Mailbox, meetbot: Meetbot
) -> None:
    await send_invitations(sender, slack, ORGANIZER, members=[ANA])
    await wait_for_summary(slack)

    await sender.command(ANA, "list")
    listing = await slack.wait_for_response_url()
    assert listing["response_type"] == "ephemeral"
    assert "Invited (1)" in texts(listing) and "Design review" in texts(listing)

    slack.responses.clear()
    await sender.command(ANA, "help")
    helping = await slack.wait_for_response_url()
    assert helping["response_type"] == "ephemeral"
    assert "/meet list" in texts(helping)
    assert slack.calls_to("views.open") == [
        c for c in slack.calls_to("views.open") if c.args["view"]["callback_id"] == "meet_create"
    ]
