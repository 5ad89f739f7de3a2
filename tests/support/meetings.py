"""Steps of the organizer's and invitees' life after the invitations went out."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import icalendar

from tests.conftest import ORGANIZER
from tests.fakes.slack_api import FakeSlack
from tests.support.mailbox import Mailbox, ReceivedMail, calendar_part
from tests.support.signed import SlackSender

LINK = re.compile(r"http://127\.0\.0\.1:\d+/rsvp/[A-Za-z0-9_-]+")


def summary(slack: FakeSlack) -> dict[str, Any]:
    """Return the organizer's (first) summary message as it looks now.

    Found by the delivery tag Meetbot posts it with, not by place: a decision notice can
    come first when posting the summary had to be tried again.
    """
    for message in slack.messages(slack.dm_channel(ORGANIZER)):
        payload = message.get("metadata", {}).get("event_payload", {})
        if str(payload.get("delivery", "")).startswith("summary:"):
            return message
    raise IndexError("the organizer has no summary message yet")


def dm_of(slack: FakeSlack, user_id: str) -> dict[str, Any]:
    """Return the first message in a person's DM with the app (their invitation)."""
    return slack.messages(slack.dm_channel(user_id))[0]


def texts(message: dict[str, Any]) -> str:
    """Return everything a message shows, as one string."""
    return str(message.get("blocks", "")) + str(message.get("text", ""))


async def eventually(check: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until `check()` is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not _holds(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)


def _holds(check: Any) -> bool:
    # A message not posted yet is "not yet", not a failure.
    try:
        return bool(check())
    except (IndexError, KeyError, StopIteration):
        return False


async def wait_for_summary(slack: FakeSlack) -> dict[str, Any]:
    """Wait until the organizer has the summary, and return it."""
    await slack.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == slack.dm_channel(ORGANIZER)
    )
    return summary(slack)


async def open_form_from(
    sender: SlackSender, slack: FakeSlack, user_id: str, message: dict[str, Any], action_id: str
) -> dict[str, Any]:
    """Press Edit or Cancel in a message and return the form Slack was asked to open."""
    before = len(slack.calls_to("views.open"))
    await sender.click(user_id, message, slack.dm_channel(user_id), action_id)
    await slack.wait_for("views.open", lambda _: len(slack.calls_to("views.open")) > before)
    view = slack.calls_to("views.open")[-1].args["view"]
    assert isinstance(view, dict)
    return view


def mails_to(mailbox: Mailbox, address: str) -> list[ReceivedMail]:
    """Return the messages one address received, oldest first."""
    return mailbox.to(address)


def calendar_of(mail: ReceivedMail) -> Any:
    """Return the parsed iCalendar object of an invitation, update or cancellation."""
    return icalendar.Calendar.from_ical(calendar_part(mail.message).get_content())


async def wait_for_mails(mailbox: Mailbox, address: str, count: int) -> list[ReceivedMail]:
    """Wait until an address has received `count` messages."""
    await eventually(lambda: len(mailbox.to(address)) >= count, timeout=15)
    return mailbox.to(address)


def answer_link(mail: ReceivedMail) -> str:
    """Return the answer link in an invitation."""
    match = LINK.search(mail.message.get_body(("plain",)).get_content())
    assert match
    return match.group(0)


async def fetch(method: str, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    """Load a page as a guest's browser would."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=data) as response,
    ):
        return response.status, await response.text()
